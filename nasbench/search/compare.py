"""Sampler comparison on a benchmark table: the best-by-selection arch's reported accuracy per trial count
and, with cost objectives, the found front's hypervolume as a fraction of the table's true front's.

Every sampler runs `seeds` in-memory Optuna studies of `trials` trials each. A trial's objective
values come from the table (selection accuracy; params, MACs and latency from the table or computed
once per arch: nasbench.evaluation.tabular), so a study of a hundred trials takes seconds. After
each trial the study's choice is the trial with the best selection accuracy so far; its *reported*
accuracy (test, or validation for a validation-only table) is what the comparison shows, mean and
standard deviation over the seeds. Every trial counts, a revisited arch included.

With cost objectives, `hv_ratio` is the hypervolume of the trials so far divided by the hypervolume
of the table's true front (nasbench.results.pareto's normalisation: losses 0 at 100 % accuracy and
zero cost, 1 at the reference point of 0 % accuracy and REFERENCE_COST_MARGIN x the table's
largest cost), both on the selection accuracy: 1 means the search found the whole true front.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd

from nasbench.benchmarks import DEFAULT_LATENCY_DEVICE, TabularBenchmark, load_benchmark
from nasbench.config import OBJECTIVES, directions
from nasbench.errors import UsageError
from nasbench.evaluation.tabular import objective_table, true_front
from nasbench.results.pareto import REFERENCE_COST_MARGIN, hypervolume, hypervolume_history
from nasbench.search import samplers as sampler_table
from nasbench.spaces import load_space

# the objectives a table answers; the first must be accuracy (the table's selection accuracy)
COMPARE_OBJECTIVES = ("acc", "macs", "params", "latency")


def run_comparison(
    benchmark: str,
    samplers: Sequence[str],
    trials: int,
    seeds: int,
    objectives: Sequence[str] = ("acc",),
    *,
    space: str | None = None,
    select_column: str | None = None,
    report_column: str | None = None,
    latency_device: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (sampler, seed, trial): the best-so-far's val/test accuracy, and hv_ratio."""
    objectives = _check(samplers, trials, seeds, objectives)
    bench = load_benchmark(benchmark, space, select_column, report_column)
    device = _latency_device(bench, objectives, latency_device)
    space_module = load_space(bench.space)
    table = _lookup_table(bench, objectives, device)
    reference, true_volume = _reference(bench, objectives, device, table)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    runs = [(name, seed) for name in samplers for seed in range(seeds)]
    if progress:
        from tqdm import tqdm

        runs = tqdm(runs, desc="compare-samplers", unit="study")
    frames = []
    for name, seed in runs:
        history = _run_study(space_module, bench, table, name, seed, trials, objectives)
        curves = _curves(history, objectives, reference, true_volume)
        frames.append(curves.assign(sampler=name, seed=seed))
    columns = ["sampler", "seed", "trial", "val_acc", "test_acc"]
    if len(objectives) > 1:
        columns.append("hv_ratio")
    return pd.concat(frames, ignore_index=True)[columns]


def compare_samplers(
    benchmark: str,
    samplers: Sequence[str],
    trials: int,
    seeds: int,
    objectives: Sequence[str] = ("acc",),
    **options: Any,
) -> pd.DataFrame:
    """Per sampler and trial count 1..trials: mean and std over seeds of the best-by-selection
    arch's reported accuracy (and selection accuracy, and hv_ratio for several objectives).

    Columns: sampler, trial, seeds, test_acc_mean, test_acc_std, val_acc_mean, val_acc_std
    [, hv_ratio_mean, hv_ratio_std]; std is the population standard deviation over seeds.
    Options: those of run_comparison (space, select_column, report_column, latency_device,
    progress).
    """
    return summarize(run_comparison(benchmark, samplers, trials, seeds, objectives, **options))


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Aggregate `run_comparison` rows over seeds, keeping the samplers in their given order."""
    metrics = [c for c in ("test_acc", "val_acc", "hv_ratio") if c in runs.columns]
    grouped = runs.groupby(["sampler", "trial"], sort=False)
    summary = grouped[metrics].agg(["mean", lambda s: s.std(ddof=0)])
    summary.columns = [f"{m}_{'mean' if stat == 'mean' else 'std'}" for m, stat in summary.columns]
    summary.insert(0, "seeds", grouped["seed"].nunique())
    return summary.reset_index()


def paired_against(runs: pd.DataFrame, baseline: str, trial: int, metric: str) -> pd.DataFrame:
    """Each sampler against `baseline` at `trial`, seed by seed: mean of `metric`, its spread,
    and on how many seeds the sampler did strictly better, tied, or worse."""
    at = runs[runs["trial"] == trial].pivot(index="seed", columns="sampler", values=metric)
    if baseline not in at.columns:
        raise UsageError(f"the comparison has no {baseline!r} runs to pair against")
    rows = []
    for name in dict.fromkeys(runs["sampler"]):
        diff = at[name] - at[baseline]
        rows.append(
            {
                "sampler": name,
                "trial": trial,
                "seeds": len(at),
                f"{metric}_mean": at[name].mean(),
                f"{metric}_std": at[name].std(ddof=0),
                f"vs_{baseline}_mean_diff": diff.mean(),
                "better": int((diff > 0).sum()),
                "tied": int((diff == 0).sum()),
                "worse": int((diff < 0).sum()),
            }
        )
    return pd.DataFrame(rows)


def reference_note(bench: TabularBenchmark, objectives: Sequence[str]) -> str:
    """One line stating what hv_ratio is measured against."""
    costs = ", ".join(objectives[1:])
    return (
        f"hv_ratio: hypervolume of the found front / of the true front of {bench.name} "
        f"({bench.select_label} against {costs}); reference point 0 % accuracy and "
        f"{REFERENCE_COST_MARGIN} x the table's largest {costs}; losses normalised to [0, 1]"
    )


# ---- internals -------------------------------------------------------------------------------


def _check(
    samplers: Sequence[str], trials: int, seeds: int, objectives: Sequence[str]
) -> list[str]:
    objectives = list(objectives)
    unknown = [o for o in objectives if o not in COMPARE_OBJECTIVES]
    if unknown or not objectives:
        raise UsageError(
            f"compare-samplers objective(s) {', '.join(unknown) or '(none)'} not available; "
            f"choose from {', '.join(COMPARE_OBJECTIVES)} (accuracy first)"
        )
    if objectives[0] != "acc" or len(set(objectives)) != len(objectives):
        raise UsageError(
            "objectives must start with acc and name each objective once, e.g. acc,macs"
        )
    if not samplers:
        raise UsageError(f"name at least one sampler: {', '.join(sampler_table.SAMPLER_NAMES)}")
    for name in samplers:
        if name not in sampler_table.SAMPLER_NAMES:
            raise UsageError(
                f"unknown sampler {name!r}; valid samplers: {', '.join(sampler_table.SAMPLER_NAMES)}"
            )
    if trials < 1 or seeds < 1:
        raise UsageError(f"trials and seeds must be at least 1, got {trials} and {seeds}")
    return objectives


def _latency_device(
    bench: TabularBenchmark, objectives: list[str], device: str | None
) -> str | None:
    if "latency" not in objectives:
        return None
    if not bench.latency_devices:
        raise UsageError(f"benchmark {bench.name} has no latency; use macs or params")
    device = device or DEFAULT_LATENCY_DEVICE
    bench.latency_column(device)
    return device


def _lookup_table(
    bench: TabularBenchmark, objectives: list[str], device: str | None
) -> dict[str, tuple[float, ...]]:
    """arch string -> (selection acc, reported acc, costs...): a dict, as look-ups must be fast."""
    frame = objective_table(bench, objectives, device)
    reported = frame["test_acc"] if "test_acc" in frame else frame["val_acc"]
    costs = [frame[OBJECTIVES[o].column].astype(float) for o in objectives[1:]]
    return dict(zip(frame.index, zip(frame["val_acc"], reported, *costs, strict=True), strict=True))


def _reference(
    bench: TabularBenchmark,
    objectives: list[str],
    device: str | None,
    table: dict[str, tuple[float, ...]],
) -> tuple[np.ndarray | None, float]:
    if len(objectives) < 2:
        return None, 1.0
    costs = np.array([values[2:] for values in table.values()])
    reference = np.array([0.0, *(REFERENCE_COST_MARGIN * costs.max(axis=0))])
    front = true_front(bench, objectives, device)
    columns = [OBJECTIVES[o].column for o in objectives]
    return reference, hypervolume(front[columns].to_numpy(), directions(objectives), reference)


def _run_study(
    space: Any,
    bench: TabularBenchmark,
    table: dict[str, tuple[float, ...]],
    sampler_name: str,
    seed: int,
    trials: int,
    objectives: list[str],
) -> list[tuple[float, ...]]:
    """Run one study; return per trial (val_acc, reported acc, cost...) in trial order."""
    sampler = sampler_table.make_sampler(
        sampler_name, seed=seed, n_objectives=len(objectives), space=space, parallel=False
    )
    study = optuna.create_study(directions=directions(objectives), sampler=sampler)
    history: list[tuple[float, ...]] = []
    for _ in range(trials):
        trial = study.ask()
        key = bench.key(space.suggest(trial))
        if key not in table:
            raise UsageError(
                f"benchmark {bench.name} has no row for {key}: it must hold every arch"
            )
        values = table[key]
        study.tell(trial, [values[0], *values[2:]])
        history.append(values)
    return history


def _curves(
    history: list[tuple[float, ...]],
    objectives: list[str],
    reference: np.ndarray | None,
    true_volume: float,
) -> pd.DataFrame:
    values = np.asarray(history, dtype=float)
    val, test = values[:, 0], values[:, 1]
    # index of the best selection accuracy so far (the first one on ties)
    best = np.zeros(len(val), dtype=int)
    for i in range(1, len(val)):
        best[i] = i if val[i] > val[best[i - 1]] else best[i - 1]
    frame = pd.DataFrame(
        {"trial": np.arange(1, len(val) + 1), "val_acc": val[best], "test_acc": test[best]}
    )
    if reference is not None:
        points = np.column_stack([val, values[:, 2:]])
        volume = hypervolume_history(points, directions(objectives), reference)
        frame["hv_ratio"] = volume / true_volume
    return frame
