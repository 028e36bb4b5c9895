"""Benchmark script: search strategies on the shipped benchmark tables, the README's strategy tables.

    python experiments/compare_samplers.py [--trials 100] [--seeds 20] [--out reports]

Single objective (best-by-selection arch's reported accuracy) on nb201-cifar10, nb201-cifar100 and
nb201-imagenet16 for random, tpe and local; several objectives (hypervolume of the found front over
the true front's) on nb201-cifar10 (acc,macs and acc,latency on pixel3) and nas-bench-macro
(acc,macs), the harness's default multi-objective sampler paired with random search seed by seed.
Prints the tables and writes them to OUT/compare_samplers.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from nasbench.benchmarks import load_benchmark
from nasbench.results.formats import Column, render
from nasbench.search.compare import paired_against, reference_note, run_comparison, summarize
from nasbench.search.samplers import default_sampler_name
from nasbench.spaces import load_space

SINGLE = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16")
MULTI = (
    ("nb201-cifar10", "acc,macs", None),
    ("nb201-cifar10", "acc,latency", "pixel3"),
    ("nas-bench-macro", "acc,macs", None),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--out", default="reports")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# Search strategies on the shipped benchmark tables ({args.seeds} seeds, "
        f"{args.trials} trials)\n",
        f"Produced by `python experiments/compare_samplers.py --trials {args.trials} "
        f"--seeds {args.seeds}`.\n",
    ]

    lines.append("## One objective: reported accuracy of the best-by-selection arch\n")
    rows = []
    for name in SINGLE:
        start = time.perf_counter()
        runs = run_comparison(name, ["random", "tpe", "local"], args.trials, args.seeds)
        final = summarize(runs).query("trial == @args.trials")
        rows += [{"benchmark": name, **r} for r in final.to_dict("records")]
        print(f"{name}: {time.perf_counter() - start:.0f} s")
    single = pd.DataFrame(rows).drop(columns=["trial"])
    lines.append(render(single, "md", [Column(c, decimals=2) for c in single.columns[3:]]))

    lines.append("\n## Several objectives: hypervolume of the found front / the true front's\n")
    for name, objectives, device in MULTI:
        bench = load_benchmark(name)
        names = objectives.split(",")
        default = default_sampler_name(load_space(bench.space), len(names))
        start = time.perf_counter()
        runs = run_comparison(name, ["random", default], args.trials, args.seeds, names,
                              latency_device=device)  # fmt: skip
        paired = paired_against(runs, "random", args.trials, "hv_ratio")
        on = f" on {device}" if device else ""
        lines.append(f"\n### {name}, {objectives}{on} (default sampler: {default})\n")
        lines.append(reference_note(bench, names) + ".\n")
        lines.append(render(paired, "md", [Column(c, decimals=4) for c in paired.columns[3:6]]))
        print(f"{name} {objectives}{on}: {time.perf_counter() - start:.0f} s")
    text = "\n".join(lines)
    print(text)
    (out / "compare_samplers.md").write_text(text)


if __name__ == "__main__":
    main()
