"""Check script: params and MACs of every row of the benchmark tables against the networks we build.

    OMP_NUM_THREADS=1 python experiments/check_benchmark_costs.py [--data-dir ../shared/data]
        [--tables nas_bench_macro,channel_bench_mobilenet,channel_bench_resnet,nb201] [--limit N]

For each table: build the row's arch with its space (10 classes, 3x32x32), count its parameters
(batch-norm included) and multiply-adds (nasbench.measure.count_macs), and compare them with the
table's `params` and `macs` columns (nb201_cifar10.csv has params only). Prints one line per table:
rows checked, params equal, MACs equal, seconds; and the first few mismatches, if any. Exit status 1
when any row differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from nasbench.arch_strings import parse_arch_string
from nasbench.measure import count_macs, count_params
from nasbench.spaces import load_space

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
IMAGE_SIZE = 32
NUM_CLASSES = 10


@dataclass(frozen=True)
class Table:
    space: str
    file: str
    macs: bool  # whether the table has a macs column
    # meta builds allocate no weights (fast for the wide ResNet), but batch-norm runs slower on
    # meta tensors than it computes on the CPU for the small networks: measured per table
    device: str


TABLES = {
    t.space: t
    for t in (
        Table("nas_bench_macro", "nas_bench_macro_cifar10.csv", True, "cpu"),
        Table("channel_bench_mobilenet", "channel_bench_macro_mobilenet_cifar10.csv", True, "cpu"),
        Table("channel_bench_resnet", "channel_bench_macro_resnet_cifar10.csv", True, "meta"),
        Table("nb201", "nb201_cifar10.csv", False, "meta"),
    )
}


def check_table(table: Table, data_dir: Path, limit: int | None) -> dict[str, object]:
    """Build every row (or the first `limit`) and count how many match the table's costs."""
    frame = pd.read_csv(data_dir / table.file, dtype={"arch": str})
    if limit is not None:
        frame = frame.head(limit)
    space = load_space(table.space)
    shape = (1, 3, IMAGE_SIZE, IMAGE_SIZE)
    start = time.perf_counter()
    params_equal = macs_equal = 0
    mismatches = []
    macs_column = frame["macs"] if table.macs else [None] * len(frame)
    for arch_string, params, macs in zip(frame["arch"], frame["params"], macs_column, strict=True):
        with torch.device(table.device):
            model = space.build(
                parse_arch_string(table.space, arch_string), NUM_CLASSES, 3, IMAGE_SIZE
            )
        ours_params = count_params(model)
        ours_macs = count_macs(model, shape).macs if table.macs else None
        params_equal += ours_params == params
        macs_equal += ours_macs == macs
        if (ours_params != params or ours_macs != macs) and len(mismatches) < 5:
            mismatches.append(
                f"  {arch_string}: params {ours_params} vs {params}, macs {ours_macs} vs {macs}"
            )
    return {
        "table": table.file,
        "space": table.space,
        "rows": len(frame),
        "params_equal": params_equal,
        "macs_equal": macs_equal if table.macs else "n/a",
        "seconds": round(time.perf_counter() - start, 1),
        "mismatches": mismatches,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--limit", type=int, default=None, help="check only the first N rows")
    args = parser.parse_args()
    torch.set_num_threads(1)

    ok = True
    print("table                                        rows  params equal  MACs equal   seconds")
    for name in args.tables.split(","):
        result = check_table(TABLES[name], args.data_dir, args.limit)
        rows = result["rows"]
        ok &= result["params_equal"] == rows and result["macs_equal"] in (rows, "n/a")
        print(
            f"{result['table']:<42} {rows:>6}  {result['params_equal']:>12}  "
            f"{result['macs_equal']!s:>10}  {result['seconds']:>8}",
            flush=True,
        )
        for line in result["mismatches"]:
            print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
