"""Our zero-cost proxies against NASLib's published scores on the 725 CIFAR-10 NAS-Bench-201 cells.

    OMP_NUM_THREADS=1 python experiments/zero_cost_nb201.py [--batch-size 32 64] [--cells 725]
        [--seed 0] [--data ../shared/data] [--out reports/zero_cost_nb201.md]

For each batch size: one seeded batch of CIFAR-10 training images read from cifar10_jpeg.zip (only
those images are decompressed), every cell of nb201_zero_cost_725.csv (dataset cifar10) built as
NAS-Bench-201's network and initialised from its row index, each proxy of nasbench.zero_cost timed
on its own (one thread), and per proxy: Spearman of our scores with NASLib's published ones, of
both with the cells' validation accuracy, the gap, the median ratio of our score to the published
one, pass/fail against issue 14's thresholds, and seconds per cell. Prints the tables and writes
them to the report. Params and MACs (ours, nasbench.measure) are the baselines.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the validation helpers the test uses

from zero_cost_validation import (  # noqa: E402
    MAX_ACCURACY_RHO_GAP,
    build_cell,
    cifar10_batch_from_zip,
    cifar10_cells,
    compare,
    score_cells,
    spearman_nan_last,
)

from nasbench.measure import count_macs, count_params, cpu_name  # noqa: E402
from nasbench.zero_cost import ZERO_COST_PROXIES  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "reports" / "zero_cost_nb201.md"


def baselines(cells: pd.DataFrame) -> pd.DataFrame:
    """Params and MACs of each cell's network against accuracy, ours beside NB201's own counts."""
    ours = pd.DataFrame(
        [
            {"params": count_params(m), "macs": count_macs(m, (1, 3, 32, 32)).macs}
            for m in (build_cell(arch, 0) for arch in cells["arch"])
        ],
        index=cells.index,
    )
    rows = []
    for name, published in (("params", "params_m"), ("macs", "flops_m")):
        rows.append(
            {
                "baseline": name,
                "rho_vs_nb201_count": spearman_nan_last(ours[name], cells[published]),
                "rho_vs_acc": spearman_nan_last(ours[name], cells["valid_acc"]),
            }
        )
    return pd.DataFrame(rows).set_index("baseline")


def proxy_table(figures: pd.DataFrame, seconds: pd.Series) -> str:
    table = pd.DataFrame(
        {
            "rho ours vs published": figures["rho_vs_published"].map("{:.3f}".format),
            "min": figures["min_rho"].map("{:.2f}".format),
            "rho ours vs acc": figures["rho_ours_vs_acc"].map("{:.3f}".format),
            "rho published vs acc": figures["rho_published_vs_acc"].map("{:.3f}".format),
            "difference": figures["acc_rho_gap"].map("{:+.3f}".format),
            "median ours / published": figures["median_ours_over_published"].map("{:.2f}".format),
            "result": figures["passes"].map({True: "pass", False: "FAIL"}),
            "s / cell": seconds.map("{:.2f}".format),
        }
    )
    table.index.name = "proxy"
    return table.to_markdown(disable_numparse=True, colalign=["left"] + ["right"] * table.shape[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--cells", type=int, default=None, help="first N cells (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="which images form the batch")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)

    cells = cifar10_cells(args.data / "nb201_zero_cost_725.csv")
    if args.cells is not None:
        cells = cells.iloc[: args.cells]
    command = "OMP_NUM_THREADS=1 python experiments/zero_cost_nb201.py " + " ".join(sys.argv[1:])
    lines = [
        f"# Zero-cost proxies on NAS-Bench-201 CIFAR-10: ours against NASLib's ({len(cells)} cells)",
        "",
        f"Produced by `{command.strip()}` on {datetime.now(UTC):%Y-%m-%d} (torch "
        f"{torch.__version__}, 1 thread, {cpu_name()}).",
        "",
        "Published: NASLib's scores in `../shared/data/nb201_zero_cost_725.csv` (Apache-2.0) and the"
        " cells' NAS-Bench-201 validation accuracy. Ours: `nasbench.zero_cost` on each cell's"
        " `nb201` network (10 classes, PyTorch's default initialisation seeded by the row index),"
        " one seeded batch of CIFAR-10 training images from `cifar10_jpeg.zip` normalised with"
        " NASLib's CIFAR-10 mean and std, true labels. Spearman rho throughout; a NaN score (the one"
        " cell whose output ignores the image) ranks last, as the published 0 / -inf does. Pass:"
        " rho ours vs published at least `min`, and |difference| at most"
        f" {MAX_ACCURACY_RHO_GAP}. `median ours / published`: the scale of the scores (NASLib"
        " reports synflow as its log, as we do). Seconds: each proxy alone, per cell, one thread.",
        "",
    ]
    print(lines[0], flush=True)
    for batch_size in args.batch_size:
        inputs, targets = cifar10_batch_from_zip(
            args.data / "cifar10_jpeg.zip", batch_size, seed=args.seed
        )
        start = time.perf_counter()
        ours = score_cells(cells, inputs, targets, timed=True)
        elapsed = time.perf_counter() - start
        figures = compare(ours, cells)
        seconds = pd.Series({name: ours[f"{name}_s"].mean() for name in ZERO_COST_PROXIES})
        nan_cells = int(ours[list(ZERO_COST_PROXIES)].isna().any(axis=1).sum())
        section = [
            f"## Batch of {batch_size} images",
            "",
            proxy_table(figures, seconds),
            "",
            f"{len(cells)} cells in {elapsed / 60:.1f} min ({elapsed / len(cells):.2f} s a cell for"
            f" all four); cells with a NaN score: {nan_cells}.",
            "",
        ]
        print("\n".join(section), flush=True)
        lines += section

    base = baselines(cells)
    section = [
        "## Baselines (no data, no gradient)",
        "",
        base.to_markdown(floatfmt=".3f"),
        "",
        "rho_vs_nb201_count: against NAS-Bench-201's own `params_m` / `flops_m` columns (its FLOPs"
        " count batch-norm and pooling too).",
        "",
    ]
    print("\n".join(section))
    lines += section
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    if not np.isfinite(base.to_numpy()).all():
        raise SystemExit("a baseline correlation is not finite")


if __name__ == "__main__":
    main()
