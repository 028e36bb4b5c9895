"""MobileNetV2's published width x resolution table next to the mobilenet space's reproduction of it.

    python experiments/mobilenet_v2_grid.py [--grid ../shared/data/published/mobilenet_v2_grid.csv]
        [--out reports/mobilenet_v2_grid.md]

For each row, builds `search_spaces.mobilenet.mobilenet_v2_arch(width)` at the row's resolution with
1001 classes, counts its MACs and its params without batch-norm, and writes a Markdown table of the
published figures, ours under the table's conventions, and the published accuracies.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
import torchvision
from torch import nn

from nasbench.measure import count_macs, count_params
from nasbench.results.formats import Column, render
from nasbench.spaces import load_space

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GRID = REPO.parent / "shared" / "data" / "published" / "mobilenet_v2_grid.csv"
DEFAULT_OUT = REPO / "reports" / "mobilenet_v2_grid.md"
NUM_CLASSES = 1001  # the TF-slim checkpoints have a background class

COLUMNS = [
    Column("width_mult", "width", decimals=2),
    Column("resolution", "resolution"),
    Column("mmacs", "MMACs published"),
    Column("macs", "MMACs ours", scale=1e-6, decimals=1),
    Column("macs_truncated", "MMACs ours, truncated"),
    Column("params_m", "params (M) published", decimals=2),
    Column("params_no_bn", "params (M) ours", scale=1e-6, decimals=2),
    Column("match", "match"),
    Column("top1", "top-1 (%)", decimals=1),
    Column("top5", "top-5 (%)", decimals=1),
]


def params_without_batch_norm(model: nn.Module) -> int:
    """The table's params: batch-norm parameters left out."""
    norms = (m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    return count_params(model) - sum(p.numel() for m in norms for p in m.parameters())


def reproduce(grid: pd.DataFrame) -> pd.DataFrame:
    """The published rows with our MACs and params beside them, and whether both match."""
    space = load_space("mobilenet")
    rows = []
    for row in grid.itertuples():
        model = space.build(space.mobilenet_v2_arch(row.width_mult), NUM_CLASSES, 3, row.resolution)
        macs = count_macs(model, (1, 3, row.resolution, row.resolution)).macs
        params = params_without_batch_norm(model)
        match = macs // 10**6 == row.mmacs and round(params / 1e6, 2) == row.params_m
        rows.append({"macs": macs, "params_no_bn": params, "match": "yes" if match else "no"})
    ours = pd.DataFrame(rows, index=grid.index).assign(macs_truncated=lambda f: f.macs // 10**6)
    return pd.concat([grid, ours], axis=1)[[c.name for c in COLUMNS]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=Path, default=DEFAULT_GRID)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.set_num_threads(1)
    table = reproduce(pd.read_csv(args.grid))
    matched = (table["match"] == "yes").sum()
    header = (
        "MobileNetV2 on ImageNet (1001 classes), width x resolution. Published: the TF-slim\n"
        "MobileNet README (Apache-2.0). Ours: `mobilenet_v2_arch(width)` of the `mobilenet` space.\n"
        "The published table's conventions: MMACs are our multiply-add count truncated to whole\n"
        "millions; params leave out batch-norm, in millions rounded to two decimals.\n"
        f"{matched} of {len(table)} rows match both.\n\n"
        f"Produced by `python experiments/mobilenet_v2_grid.py` (torch {torch.__version__}, "
        f"torchvision {torchvision.__version__}).\n\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + render(table, "md", COLUMNS))
    print(f"{matched}/{len(table)} rows match; wrote {args.out}")


if __name__ == "__main__":
    main()
