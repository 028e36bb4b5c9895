"""MobileNetV2's published width x resolution grid (TF-slim, 22 rows) is reproduced by the mobilenet space."""

from __future__ import annotations

import csv

import pytest
import torch
import torchvision
from torch import nn

from nasbench.measure import count_macs, count_params
from nasbench.spaces import load_space

torch.set_num_threads(1)

GRID = "published/mobilenet_v2_grid.csv"
NUM_CLASSES = 1001  # the TF-slim checkpoints have a background class


def params_without_batch_norm(model: nn.Module) -> int:
    """The table's params: batch-norm parameters left out."""
    norms = (m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    return count_params(model) - sum(p.numel() for m in norms for p in m.parameters())


@pytest.fixture(scope="module")
def grid(shared_data) -> list[dict[str, str]]:
    with open(shared_data(GRID), newline="") as table:
        return list(csv.DictReader(table))


def test_the_grid_has_22_rows_of_six_widths_and_five_resolutions(grid):
    assert len(grid) == 22
    assert {float(r["width_mult"]) for r in grid} == {0.35, 0.5, 0.75, 1.0, 1.3, 1.4}
    assert {int(r["resolution"]) for r in grid} == {96, 128, 160, 192, 224}


@pytest.mark.parametrize("width_mult", [0.35, 0.5, 0.75, 1.0, 1.3, 1.4])
def test_mobilenet_v2_arch_has_the_params_of_torchvisions_mobilenet_v2(width_mult):
    space = load_space("mobilenet")
    with torch.device("meta"):  # shapes only: no weights to initialise
        ours = space.build(space.mobilenet_v2_arch(width_mult), NUM_CLASSES, 3, 224)
        theirs = torchvision.models.mobilenet_v2(num_classes=NUM_CLASSES, width_mult=width_mult)
    assert count_params(ours) == count_params(theirs)


def test_every_row_has_the_published_macs_truncated_and_params_without_batch_norm(grid):
    space = load_space("mobilenet")
    mismatches = []
    for row in grid:
        width, resolution = float(row["width_mult"]), int(row["resolution"])
        model = space.build(space.mobilenet_v2_arch(width), NUM_CLASSES, 3, resolution)
        counted = count_macs(model, (1, 3, resolution, resolution))
        assert counted.uncounted_ops == {}
        # the table truncates MACs to whole millions (153.9 -> 153) and rounds params to 10^4
        # (truncating them instead gives the same 22 values)
        mmacs = counted.macs // 10**6
        params_m = round(params_without_batch_norm(model) / 1e6, 2)
        if (mmacs, params_m) != (int(row["mmacs"]), float(row["params_m"])):
            mismatches.append(f"{row['name']}: ours {mmacs} MMACs {params_m} M, published "
                              f"{row['mmacs']} MMACs {row['params_m']} M")  # fmt: skip
    assert not mismatches, "\n".join(mismatches)
