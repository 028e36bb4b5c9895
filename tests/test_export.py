"""`nasbench export`: arch JSON, a .pt2 program that plain PyTorch loads (retrained weights inside),
ONNX checked in ONNX Runtime, and `profile` of the .pt2 agreeing with the trial's row."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import pytest
import torch

from nasbench.cli import main
from nasbench.export import Normalized
from nasbench.results import store
from nasbench.spaces import load_space


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


PLAIN_TORCH = """
import sys, json, torch
sys.modules["nasbench"] = None  # importing nasbench now fails: the file must not need it
sys.modules["search_spaces"] = None
program = torch.export.load(sys.argv[1])
images = torch.load(sys.argv[2])
print(json.dumps(program.module()(images).tolist()))
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_export_writes_a_program_plain_pytorch_runs_with_the_retrained_weights(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--space", "mobilenet", "--trials", "3", "--epochs", "1",
                       "--train-fraction", "0.3", "--storage", url, "--study-name", "s")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("retrain", "--storage", url, "--study-name", "s", "--trial", "1",
                       "--epochs", "1", "--seeds", "1")  # fmt: skip
    assert code == 0, err
    out = tmp_path / "out"
    code, snippet, err = cli("export", "--storage", url, "--study-name", "s", "--trial", "1",
                             "--trial", "2", "--output", str(out), "--onnx")  # fmt: skip
    assert code == 0, err
    assert "torch.export.load" in snippet and "load_space('mobilenet')" in snippet
    manifest = json.loads((out / "export.json").read_text())
    by_trial = {t["trial"]: t for t in manifest["trials"]}
    assert by_trial[1]["weights"].startswith("retrained: seed 0")
    assert by_trial[2]["weights"].startswith("untrained")
    assert all(t["onnx_max_error"] < 1e-4 for t in manifest["trials"])
    rows = store.load_results(url, ["s"])
    search = rows[rows["source"] == "search"].set_index("trial_number")
    assert json.loads((out / "trial1.json").read_text()) == search.loc[1, "arch"]

    # plain PyTorch, nasbench unimportable, gives nasbench's model's logits on the same images
    images = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    torch.save(images, tmp_path / "images.pt")
    done = subprocess.run(
        [sys.executable, "-c", PLAIN_TORCH, str(out / "trial1.pt2"), str(tmp_path / "images.pt")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    logits = torch.tensor(json.loads(done.stdout.strip().splitlines()[-1]))
    retrained = rows[rows["source"] == "retrain"].iloc[0]
    payload = torch.load(retrained["weights_path"], weights_only=True)
    model = load_space("mobilenet").build(payload["arch"], 10, 1, 8)
    model.load_state_dict(payload["state_dict"])
    reference = Normalized(model, payload["mean"], payload["std"]).eval()
    with torch.no_grad():
        assert torch.allclose(logits, reference(images), atol=1e-5)

    code, out_text, err = cli("profile", str(out / "trial1.pt2"), str(out / "trial2.pt2"),
                              "--no-latency", "--format", "json")  # fmt: skip
    assert code == 0, err
    profiled = json.loads(out_text)
    for trial, row in zip((1, 2), profiled, strict=True):
        assert (row["params"], row["macs"]) == (
            search.loc[trial, "params"],
            search.loc[trial, "macs"],
        )


def test_profile_of_a_file_that_is_not_an_exported_program_is_one_line(tmp_path):
    bogus = tmp_path / "model.pt2"
    bogus.write_bytes(b"not a zip")
    for spec, complaint in [(str(bogus), "is not a torch.export program"),
                            (str(tmp_path / "absent.pt2"), "does not exist")]:  # fmt: skip
        code, _, err = cli("profile", spec, "--no-latency")
        assert code == 2 and complaint in err and len(err.strip().splitlines()) == 1, err


def test_export_of_a_benchmark_study_or_without_trials_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    code, _, err = cli("search", "--space", "nas_bench_macro", "--benchmark", "nas-bench-macro",
                       "--trials", "3", "--storage", url, "--study-name", "m")  # fmt: skip
    assert code == 0, err
    out = tmp_path / "out"
    code, _, err = cli("export", "--storage", url, "--study-name", "m", "--pareto",
                       "--output", str(out))  # fmt: skip
    assert code == 2 and "no trained proxy to export" in err and not out.exists()
    code, _, err = cli("export", "--storage", url, "--study-name", "m", "--output", str(out))
    assert code == 2 and "--pareto, or --trial N" in err, err
