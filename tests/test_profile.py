"""`nasbench profile`: torchvision's published params and MACs reproduced, output formats, bad inputs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from nasbench.cli import main
from nasbench.commands.profile import run_profile
from nasbench.spaces import load_space

# The classic families (AlexNet to ConvNeXt), plus two whose published figures are at a larger crop.
FAMILIES = [
    "alexnet", "vgg16", "googlenet", "resnet50", "mobilenet_v2", "mobilenet_v3_large",
    "mnasnet1_0", "efficientnet_b0", "regnet_y_400mf", "shufflenet_v2_x1_0", "convnext_tiny",
    "vit_b_16", "swin_t", "inception_v3", "efficientnet_b1",
]  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One CPU thread: the 2-core CI machine runs other work, and spinning threads only slow it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def zoo_rows() -> dict[str, dict]:
    """One `run_profile` over all families (input size: each weights' own crop), by name."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run_profile(FAMILIES, latency=False, output_format="json") == 0
    return {row["name"]: row for row in json.loads(out.getvalue())}


@pytest.mark.slow
@pytest.mark.parametrize("name", FAMILIES)
def test_torchvision_params_and_macs_match_the_published_metadata(zoo_rows, name) -> None:
    meta = torchvision.models.get_model_weights(name).DEFAULT.meta
    row = zoo_rows[name]
    assert row["params"] == meta["num_params"]
    published_macs = meta["_ops"] * 1e9
    assert abs(row["macs"] - published_macs) <= 0.005 * published_macs
    assert row["gmacs"] == meta["_ops"]  # equal at the 3 decimals torchvision publishes
    assert row["uncounted_ops"] == {}
    assert (row["published_params"], row["published_gflops"]) == (meta["num_params"], meta["_ops"])
    assert row["imagenet_top1"] == meta["_metrics"]["ImageNet-1K"]["acc@1"]


@pytest.mark.slow
def test_each_torchvision_model_is_measured_at_its_weights_crop_size(zoo_rows) -> None:
    assert zoo_rows["inception_v3"]["input_size"] == "3x299x299"
    assert zoo_rows["efficientnet_b1"]["input_size"] == "3x240x240"
    assert zoo_rows["resnet50"]["input_size"] == "3x224x224"


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["profile", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_output_has_latency_and_provenance_fields(capsys) -> None:
    status, out, err = _run(
        capsys, "mobilenet_v3_small", "resnet:resnet18", "--input-size", "32", "--threads", "1",
        "--batch-size", "2", "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    rows = json.loads(out)
    assert [row["name"] for row in rows] == ["mobilenet_v3_small", "resnet:resnet18"]
    for row in rows:
        assert row["params"] > 0 and row["macs"] > 0
        assert row["latency_ms"] > 0 and row["latency_iqr_ms"] >= 0
        assert row["device"] == "cpu" and row["device_name"]
        assert (row["threads"], row["batch_size"], row["input_size"]) == (1, 2, "3x32x32")
        assert {"torch_version", "cuda_version", "dtype"} <= set(row)
    assert rows[0]["published_gflops"] is None  # published at 224, measured at 32
    assert rows[1]["published_params"] is None  # not a torchvision model


def test_no_latency_leaves_out_timing_and_device_fields(capsys) -> None:
    status, out, _ = _run(capsys, "resnet18", "--input-size", "32", "--no-latency", "--format",
                          "json")  # fmt: skip
    assert status == 0
    (row,) = json.loads(out)
    assert "latency_ms" not in row and "device_name" not in row
    assert row["input_size"] == "3x32x32" and row["params"] == 11689512


def test_space_reference_and_arch_file_profile_the_same_model(capsys, tmp_path) -> None:
    arch_file = tmp_path / "my_resnet.json"
    arch_file.write_text(json.dumps(load_space("resnet").REFERENCE_ARCHS["resnet18"]))
    status, out, _ = _run(capsys, "resnet:resnet18", f"resnet:{arch_file}", "--no-latency",
                          "--format", "json")  # fmt: skip
    assert status == 0
    reference, from_file = json.loads(out)
    assert from_file["name"] == "resnet:my_resnet"
    assert from_file["params"] == reference["params"] == 11689512
    assert from_file["macs"] == reference["macs"]


def test_csv_output_is_one_row_per_model(capsys) -> None:
    status, out, _ = _run(capsys, "squeezenet1_1", "alexnet", "--input-size", "64", "--no-latency",
                          "--format", "csv")  # fmt: skip
    assert status == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["name"] for row in rows] == ["squeezenet1_1", "alexnet"]
    assert int(rows[1]["params"]) == 61100840 and int(rows[1]["macs"]) > 0


def test_md_output_names_the_command_that_produced_it(capsys) -> None:
    status, out, _ = _run(capsys, "squeezenet1_1", "--input-size", "64", "--no-latency",
                          "--format", "md")  # fmt: skip
    assert status == 0
    header, blank, columns, rule, row = out.strip("\n").splitlines()
    assert header.startswith(
        "Produced by `nasbench profile squeezenet1_1 --input-size 64 --no-latency --format md`"
    )
    assert blank == "" and columns.startswith("| name") and set(rule) <= set("|:- ")
    assert row.startswith("| squeezenet1_1")


def test_table_output_aligns_one_line_per_model(capsys) -> None:
    status, out, _ = _run(capsys, "squeezenet1_1", "mobilenet_v3_small", "--input-size", "32",
                          "--no-latency")  # fmt: skip
    assert status == 0
    lines = out.strip("\n").splitlines()
    assert len(lines) == 3 and lines[0].split()[0] == "name"
    assert len({len(line) for line in lines}) == 1  # aligned columns


def _bad_arch_file(tmp_path: Path) -> str:
    arch = dict(load_space("resnet").REFERENCE_ARCHS["resnet18"])
    arch["block"] = "triangle"
    path = tmp_path / "bad_field.json"
    path.write_text(json.dumps(arch))
    return f"resnet:{path}"


BAD_INPUTS = {
    "unknown model": (lambda tmp: "resnet_9000", "resnet_9000"),
    "unknown space": (lambda tmp: "nospace:foo", "nospace"),
    "missing file": (lambda tmp: f"resnet:{tmp}/missing.json", "does not exist"),
    "malformed json": (lambda tmp: _write(tmp / "broken.json", "{not json"), "not valid JSON"),
    "invalid arch field": (_bad_arch_file, "block"),
    "too small for the model": (lambda tmp: "alexnet --input-size 8", "alexnet"),
}


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return f"resnet:{path}"


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_and_exit_status_2(capsys, tmp_path, case) -> None:
    make_spec, named = BAD_INPUTS[case]
    status, out, err = _run(capsys, *make_spec(tmp_path).split(), "--no-latency")
    assert status == 2
    assert out == ""
    assert len(err.strip("\n").splitlines()) == 1, err
    assert err.startswith("nasbench: error:") and named in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_the_module_entry_point_reports_bad_input_without_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nasbench.cli", "profile", "not_a_model"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "not_a_model" in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_asking_for_cuda_without_a_gpu_is_bad_input(capsys) -> None:
    status, out, err = _run(capsys, "resnet18", "--device", "cuda", "--no-latency")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "CUDA is not available" in err
