"""Benchmark the default search: wall time, harness overhead per trial, and the span of the front.

Runs `nasbench search` with every default except the storage (a fresh SQLite file), then reads the
database. A trial's cycle runs from its start to the start of its worker's next trial (Optuna's
datetime_start). Its training and evaluation time is train_s + eval_s; the rest of the cycle (ask and
sampling, building, MACs, latency, database writes, tell, callbacks) is harness overhead. Its share
is printed as the median over all trained trials, and apart for each kind of trial: trained once to
the end of the budget, stopped early (shorter, so the same overhead weighs more), confirmed.

With --breakdown the search runs in this process, with a timer around each step of the harness
(public entry points only: the sampler's sample_relative/sample_independent, Trial.set_user_attr,
the space's suggest, our own functions), and prints where the overhead goes, per trial.

    python experiments/bench_search.py                    # the default: mobilenet, 200 trials
    python experiments/bench_search.py --trials 20 --space resnet
    python experiments/bench_search.py --breakdown        # and where the overhead goes
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from nasbench import cli, measure
from nasbench.evaluation import trained
from nasbench.results import store
from nasbench.search import objective, progress
from nasbench.spaces import load_space


def trial_cycles(study: optuna.Study) -> pd.DataFrame:
    """Per trial: its start (UTC) and its cycle, the time until its worker started its next trial.

    A cycle holds everything a trial costs its worker: ask and sampling, the objective, tell and the
    callbacks. A worker's last trial has no successor and is left out.
    """
    by_worker: dict[str, list[optuna.trial.FrozenTrial]] = {}
    for trial in study.get_trials(deepcopy=False):
        by_worker.setdefault(str(trial.user_attrs.get("worker")), []).append(trial)
    records = []
    for trials in by_worker.values():
        trials.sort(key=lambda t: t.datetime_start)
        for trial, following in zip(trials, trials[1:], strict=False):
            # Optuna stores naive local times; our results table stores UTC
            start = trial.datetime_start.astimezone(UTC)
            cycle = (following.datetime_start - trial.datetime_start).total_seconds()
            records.append({"trial_number": trial.number, "start": start, "cycle_s": cycle})
    return pd.DataFrame.from_records(records).set_index("trial_number")


class StepTimers:
    """Wall time spent in chosen functions, by step. Steps can nest (suggest holds the sampling):
    each is timed whole, and the table says which contains which."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def wrap(self, owner: Any, name: str, step: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[step] += time.perf_counter() - started
                self.calls[step] += 1

        setattr(owner, name, timed)


# (owner, function, step); an indented step is part of the one above it
TIMED_STEPS = (
    (optuna.Study, "ask", "ask: a new trial row"),
    ("space", "suggest", "space.suggest: sampling + one commit per parameter"),
    ("sampler", "sample_relative", "  the sampler's joint sampling"),
    ("sampler", "sample_independent", "  the sampler's per-parameter sampling"),
    (objective, "over_budget", "budget check"),
    (objective.Objective, "_stored_result", "stored-result lookup (+ arch attributes)"),
    (trained, "build_for", "building the model (also for confirmations)"),
    (measure, "count_macs", "MAC count"),
    (measure, "measure_latency", "latency"),
    (store, "write_result", "result row write"),
    (optuna.Trial, "set_user_attr", "trial attributes (each a commit)"),
    (optuna.Trial, "set_constraint", "trial constraints (each a commit)"),
    (optuna.Study, "get_trials", "study.get_trials (budget, running trials, after trial)"),
    (objective.Objective, "refresh", "after trial: curves and front taken in"),
    (progress.Progress, "update", "after trial: progress bar"),
)


def run_in_process(command: list[str], space: str) -> StepTimers:
    """Run `nasbench search` here with every step of TIMED_STEPS timed."""
    timers = StepTimers()
    # TPE: the default sampler of every trained search with two objectives
    owners = {"space": load_space(space), "sampler": optuna.samplers.TPESampler}
    for owner, name, step in TIMED_STEPS:
        timers.wrap(owners.get(owner, owner), name, step)
    status = cli.main(command)
    if status != 0:
        raise SystemExit(f"the search failed with status {status}")
    return timers


def print_breakdown(timers: StepTimers, trials: int, overhead_s: float) -> None:
    """Per trial: the mean time of each step, against the measured overhead per trial."""
    print(f"where the overhead goes (mean per trial over {trials} trials; the measured overhead "
          f"per trial is {overhead_s * 1e3:.0f} ms):")  # fmt: skip
    for _owner, _name, step in TIMED_STEPS:
        if timers.calls[step]:
            print(f"  {step:58s}{timers.seconds[step] / trials * 1e3:7.1f} ms "
                  f"({timers.calls[step] / trials:.1f} calls)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="mobilenet")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="the search's --seed")
    parser.add_argument("--keep", default=None, help="keep the database at this path")
    parser.add_argument(
        "--confirm-runs",
        type=int,
        default=None,
        help="the search's --confirm-runs (default: its own)",
    )
    parser.add_argument(
        "--breakdown", action="store_true", help="run in this process and time each harness step"
    )
    args = parser.parse_args()

    folder = Path(args.keep or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'bench.db'}"
    command = ["search", "--space", args.space, "--trials", str(args.trials), "--storage", url,
               "--workers", str(args.workers), "--seed", str(args.seed)]  # fmt: skip
    if args.confirm_runs is not None:
        command += ["--confirm-runs", str(args.confirm_runs)]
    if args.breakdown and args.workers != 1:
        parser.error("--breakdown times one process: use --workers 1")
    started = time.perf_counter()
    if args.breakdown:
        timers = run_in_process(command, args.space)
    else:
        subprocess.run([sys.executable, "-m", "nasbench.cli", *command], check=True)
    wall = time.perf_counter() - started

    rows = store.load_results(url).set_index("trial_number")
    study = optuna.load_study(study_name=f"{args.space}_digits", storage=url)
    cycles = trial_cycles(study)
    trained = rows[(rows["train_s"] > 0) & rows.index.isin(cycles.index)]
    cycle = cycles.loc[trained.index]
    work = trained["train_s"] + trained["eval_s"]
    overhead = cycle["cycle_s"] - work
    # the three parts of the overhead, in the order a trial meets them
    before = (trained["started_at"] - cycle["start"]).dt.total_seconds()
    inside = (trained["finished_at"] - trained["started_at"]).dt.total_seconds() - work
    after = cycle["cycle_s"] - before - inside - work
    front = [t for t in study.best_trials if t.user_attrs.get("status") != "infeasible"]
    front = sorted(front, key=lambda t: t.values[1])
    front_macs = [t.values[1] for t in front]

    print(f"space {args.space}, {args.trials} trials, {args.workers} worker(s), digits defaults")
    print(f"wall time of the whole command:     {wall:8.1f} s ({wall / 60:.1f} min)")
    print(f"trials per hour:                    {args.trials / wall * 3600:8.0f}")
    print(f"statuses:                           {rows['status'].value_counts().to_dict()}")
    print(f"trained trials measured:            {len(trained):8d}")
    print(f"median trial cycle (trained):       {cycle['cycle_s'].median():8.2f} s")
    print(f"median training time (train_s):     {trained['train_s'].median():8.2f} s")
    print(f"median evaluation time (eval_s):    {trained['eval_s'].median():8.2f} s")
    print(f"median harness overhead per trial:  {overhead.median():8.2f} s "
          f"({(overhead / cycle['cycle_s']).median() * 100:.1f}% of the trial's cycle)")  # fmt: skip
    share = overhead / cycle["cycle_s"]
    kinds = {
        "trained the full budget once": (trained["status"] == "complete")
        & (trained["train_runs"] == 1),
        "stopped early (pruned)": trained["status"] == "pruned",
        "confirmed (several trainings)": trained["train_runs"] > 1,
    }
    for kind, chosen in kinds.items():
        if chosen.any():
            print(
                f"  {kind + ':':34s}{share[chosen].median() * 100:5.1f}% of {int(chosen.sum())} trials"
            )
    print(f"  ask and joint sampling:           {before.median():8.3f} s")
    print(f"  in the objective (suggest, build, MACs, latency, writes): {inside.median():.3f} s")
    print(f"  tell, callbacks, progress bar:    {after.median():8.3f} s")
    if args.workers == 1:  # with several workers cycles overlap, and their sum exceeds the wall
        print(f"overhead outside trials (startup):  {wall - cycles['cycle_s'].sum():8.1f} s")
    print(f"trials trained more than once:      {int((rows['train_runs'] > 1).sum()):8d} "
          f"(confirmations of front entrants)")  # fmt: skip
    if args.breakdown:
        print_breakdown(timers, len(rows), overhead.mean())
    print(f"best val_acc:                       {rows['val_acc'].max():8.2f} %")
    print(f"Pareto front: {len(front)} archs, MACs {min(front_macs) / 1e6:.2f} M .. "
          f"{max(front_macs) / 1e6:.2f} M (span {max(front_macs) / min(front_macs):.1f}x)")  # fmt: skip
    for t in front:
        row = rows.loc[t.number]
        spread = "" if pd.isna(row["val_acc_std"]) else f" +- {row['val_acc_std']:.2f}"
        print(f"  trial {t.number:4d}: {t.values[1] / 1e6:6.2f} M MACs  val_acc {t.values[0]:6.2f}%"
              f"{spread} over {row['train_runs']} training(s)")  # fmt: skip


if __name__ == "__main__":
    main()
