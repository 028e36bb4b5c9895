"""Benchmark script: does the parallel default search find as good a front as one worker?

Runs the README's default search (mobilenet on digits, accuracy against MACs, 200 trials) with one
worker and with N workers (default: the machine's default, one per core) for each seed, each in its
own SQLite file under --out (a file already there is read, not run again), then prints per run the
hypervolume of the front at 200 trials (accuracy against MACs; reference: accuracy 0 and 1.1 x the
largest MACs of all runs, so that every run is measured in the same box), the best accuracy, the
front's size and the wall time; and per worker count the mean and the spread over seeds.

    python experiments/compare_workers.py [--seeds 3] [--trials 200] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench.results import store
from nasbench.results.pareto import hypervolume, non_dominated
from nasbench.search.workers import MAX_CPU_WORKERS, available_cores

DIRECTIONS = ["maximize", "minimize"]


def run(out: Path, workers: int, seed: int, trials: int) -> tuple[Path, float | None]:
    """The run's database, searched now unless it is there already (then no wall time)."""
    path = out / f"w{workers}_s{seed}.db"
    if path.exists():
        return path, None
    command = [sys.executable, "-m", "nasbench.cli", "search", "--space", "mobilenet",
               "--trials", str(trials), "--workers", str(workers), "--seed", str(seed),
               "--storage", f"sqlite:///{path}", "--study-name", "cmp"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path, time.perf_counter() - start


def points(path: Path) -> np.ndarray:
    rows = store.load_results(f"sqlite:///{path}", ["cmp"])
    rows = rows[(rows["source"] == "search") & rows["status"].isin(["complete", "reused"])]
    return rows[["val_acc", "macs"]].astype(float).to_numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=min(available_cores(), MAX_CPU_WORKERS))
    parser.add_argument("--out", type=Path, default=Path("reports/compare_workers"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = []
    for workers in dict.fromkeys([1, args.workers]):
        for seed in range(args.seeds):
            path, seconds = run(args.out, workers, seed, args.trials)
            runs.append({"workers": workers, "seed": seed, "points": points(path), "s": seconds})
    largest = max(float(r["points"][:, 1].max()) for r in runs)
    reference = [0.0, 1.1 * largest]
    rows = []
    for r in runs:
        found = r["points"]
        rows.append({
            "workers": r["workers"], "seed": r["seed"], "evaluated": len(found),
            "hypervolume": hypervolume(found, DIRECTIONS, reference),
            "best_acc": float(found[:, 0].max()),
            "front": int(non_dominated(found, DIRECTIONS).sum()),
            "wall_s": r["s"],
        })  # fmt: skip
    table = pd.DataFrame(rows)
    # one format per column: workers, seed, evaluated, hypervolume, best_acc, front, wall_s
    print(table.to_markdown(index=False, floatfmt=("g", "g", "g", ".4f", ".2f", "g", ".0f")))
    for workers, group in table.groupby("workers"):
        hv, best = group["hypervolume"], group["best_acc"]
        print(f"workers {workers}: hypervolume {hv.mean():.4f} (range {hv.min():.4f}-"
              f"{hv.max():.4f}), best accuracy {best.mean():.2f} % (range {best.min():.2f}-"
              f"{best.max():.2f}); sd over seeds {statistics.stdev(hv) if len(hv) > 1 else 0:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
