"""Write the benchmark tables shipped in nasbench/benchmark_tables/ from ../shared/data (run once).

Only tables whose licence allows shipping them are written (see NOTICE.md there): NAS-Bench-201's
results on CIFAR-10, CIFAR-100 and ImageNet16-120 (MIT; the CIFAR-100 validation and ImageNet16-120
columns as extracted by NASLib, Apache-2.0), HELP's NB201 latencies (MIT) and NAS-Bench-Macro
(Apache-2.0). Columns are renamed to the names a user's table uses (`valid_acc`, `test_acc`,
`latency_ms_DEVICE`); values and row order are unchanged.

    python experiments/make_benchmark_tables.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parent.parent / "nasbench" / "benchmark_tables"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    data = Path(parser.parse_args().data)
    read = lambda name: pd.read_csv(data / name, dtype={"arch": str})  # noqa: E731

    cifar10 = read("nb201_cifar10.csv")
    others = read("nb201_cifar100_imagenet16.csv")
    latency = read("nb201_latency_ms.csv")
    assert (others["arch"] == cifar10["arch"]).all() and (latency["arch"] == cifar10["arch"]).all()
    tables = {
        "nb201_cifar10": cifar10[["arch", "params", "cifar10_valid_acc", "cifar10_test_acc"]]
        .rename(columns={"cifar10_valid_acc": "valid_acc", "cifar10_test_acc": "test_acc"}),
        "nb201_cifar100": others[["arch", "cifar100_valid_acc", "cifar100_test_acc"]]
        .rename(columns={"cifar100_valid_acc": "valid_acc", "cifar100_test_acc": "test_acc"}),
        "nb201_imagenet16": others[["arch", "imagenet16_120_valid_acc"]]
        .rename(columns={"imagenet16_120_valid_acc": "valid_acc"}),
        "nb201_latency": latency.rename(
            columns={c: f"latency_ms_{c}" for c in latency.columns if c != "arch"}
        ),
        "nas_bench_macro": read("nas_bench_macro_cifar10.csv"),
    }  # fmt: skip
    OUT.mkdir(exist_ok=True)
    for name, frame in tables.items():
        path = OUT / f"{name}.csv.gz"
        # mtime=0 keeps the gzip bytes (and so each table's fingerprint) the same on every run
        frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
        print(f"{path.name}: {len(frame)} rows, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
