"""Benchmark script: search strategies on NAS-Bench-201 (CIFAR-10 table), as `nasbench compare-samplers`.

    python experiments/compare_samplers_nb201.py [--benchmark ../shared/data/nb201_cifar10.csv]
        [--samplers random,tpe,local] [--trials 100] [--seeds 20] [--objectives acc] [--out DIR]

Prints the mean +- std test accuracy of the best-by-validation cell at a few trial counts and writes
DIR/compare_samplers.csv (every trial count) and DIR/compare_samplers.html (the figure, self-contained).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from nasbench.search.compare import compare_figure, compare_samplers

DEFAULT_BENCHMARK = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201_cifar10.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default=str(DEFAULT_BENCHMARK))
    parser.add_argument("--samplers", default="random,tpe,local")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--objectives", default="acc")
    parser.add_argument("--out", default="reports")
    args = parser.parse_args()

    start = time.perf_counter()
    summary = compare_samplers(
        "nb201",
        args.benchmark,
        args.samplers.split(","),
        args.trials,
        args.seeds,
        args.objectives.split(","),
        progress=True,
    )
    elapsed = time.perf_counter() - start
    checkpoints = sorted({t for t in (10, 25, 50, 100, 200, args.trials) if t <= args.trials})
    shown = summary[summary["trial"].isin(checkpoints)]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{args.seeds} seeds x {args.trials} trials per sampler in {elapsed:.1f} s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "compare_samplers.csv", index=False)
    compare_figure(summary).write_html(out / "compare_samplers.html", include_plotlyjs=True)


if __name__ == "__main__":
    main()
