"""Benchmark the default search: wall time, harness overhead per trial, and the span of the front.

Runs `nasbench search` with every default except the storage (a fresh SQLite file), then reads the
database: a trial's wall time is finished_at - started_at; its training and evaluation time is
train_s + eval_s; everything else (sampling, building, MACs, latency, database writes) is harness overhead.

    python experiments/bench_search.py                    # the default: mobilenet, 200 trials
    python experiments/bench_search.py --trials 20 --space resnet
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

from nasbench import store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="mobilenet")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--keep", default=None, help="keep the database at this path")
    args = parser.parse_args()

    folder = Path(args.keep or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'bench.db'}"
    command = [sys.executable, "-m", "nasbench.cli", "search", "--space", args.space,
               "--trials", str(args.trials), "--storage", url, "--workers", str(args.workers)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started

    rows = store.load_results(url)
    trial_wall = (rows["finished_at"] - rows["started_at"]).dt.total_seconds()
    trained = rows[rows["train_s"].notna() & (rows["train_s"] > 0)]
    trained_wall = trial_wall[trained.index]
    overhead = trained_wall - trained["train_s"] - trained["eval_s"]
    study = optuna.load_study(study_name=f"{args.space}_digits", storage=url)
    front = [t for t in study.best_trials if t.user_attrs.get("status") != "infeasible"]
    front_macs = [t.values[1] for t in front]

    print(f"space {args.space}, {args.trials} trials, {args.workers} worker(s), digits defaults")
    print(f"wall time of the whole command:     {wall:8.1f} s ({wall / 60:.1f} min)")
    print(f"trials per hour:                    {args.trials / wall * 3600:8.0f}")
    print(f"statuses:                           {rows['status'].value_counts().to_dict()}")
    print(f"median trial wall time (trained):   {trained_wall.median():8.2f} s")
    print(f"median training time (train_s):     {trained['train_s'].median():8.2f} s")
    print(f"median evaluation time (eval_s):    {trained['eval_s'].median():8.2f} s")
    print(f"median harness overhead per trial:  {overhead.median():8.2f} s "
          f"({(overhead / trained_wall).median() * 100:.1f}% of the trial's wall time)")  # fmt: skip
    print(f"overhead outside trials (startup):  {wall - trial_wall.sum():8.1f} s")
    print(f"best val_acc:                       {rows['val_acc'].max():8.2f} %")
    print(f"Pareto front: {len(front)} archs, MACs {min(front_macs) / 1e6:.2f} M .. "
          f"{max(front_macs) / 1e6:.2f} M (span {max(front_macs) / min(front_macs):.1f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
