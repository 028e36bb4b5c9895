"""`nasbench baseline`: torchvision's classic models trained under the proxy protocol, stored as rows."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nasbench.models import baseline_image_size, build_baseline
from nasbench.results import store


@pytest.mark.slow
def test_baseline_trains_two_small_models_on_digits_and_stores_reference_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'nasbench.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "nasbench.cli", "baseline", "--models",
         "mobilenet_v3_small,shufflenet_v2_x0_5", "--epochs", "1", "--train-fraction", "0.3",
         "--storage", url, "--study-name", "refs"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = store.load_results(url, ["refs"])
    assert sorted(rows["name"]) == ["mobilenet_v3_small", "shufflenet_v2_x0_5"]
    assert set(rows["source"]) == {"baseline"} and set(rows["status"]) == {"complete"}
    assert rows["val_acc"].between(0, 100).all()
    assert (rows["macs"] > 0).all() and (rows["params"] > 0).all()
    assert set(rows["image_size"]) == {32}  # digits' 8x8 raised to what the classic stems need
    table = subprocess.run(
        [sys.executable, "-m", "nasbench.cli", "table", "--storage", url, "--format", "csv"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "mobilenet_v3_small" in table.stdout


def test_baseline_models_are_adapted_to_channels_and_classes():
    import torch

    model = build_baseline("resnet18", num_classes=10, in_channels=1, image_size=32)
    assert model(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    assert baseline_image_size("resnet18", 8) == 32
    assert baseline_image_size("vit_b_16", 8) == 32


@pytest.mark.slow
def test_unknown_baseline_model_is_one_line_exit_2(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "nasbench.cli", "baseline", "--models", "resnet18,notamodel",
         "--storage", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "notamodel" in done.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("name", ["googlenet", "efficientnet_b0"])
def test_other_families_build_for_small_inputs(name):
    import torch

    model = build_baseline(name, num_classes=10, in_channels=3, image_size=32).eval()
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 10)
