"""Sampler comparison on a tabular benchmark: best-by-validation test accuracy per trial count, and a figure.

Every sampler runs `seeds` in-memory Optuna studies of `trials` trials each. A trial's objective
values come from the table (validation accuracy; params) or are measured once per cell (MACs), so a
study of a hundred trials takes seconds. After each trial the study's choice is the trial with the
best validation accuracy so far; its *test* accuracy is what the comparison reports, mean and
standard deviation over the seeds. Every trial counts, a revisited cell included. With several
objectives the comparison also reports the hypervolume of the trials so far (nasbench.results.pareto).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from nasbench.benchmarks import TabularBenchmark, load_benchmark
from nasbench.config import directions
from nasbench.errors import UsageError
from nasbench.evaluation.tabular import macs_of_cell
from nasbench.results.pareto import hypervolume_history
from nasbench.search import samplers as sampler_table
from nasbench.spaces import load_space

# the objectives a table answers; the first must be accuracy (validation accuracy from the table)
COMPARE_OBJECTIVES = ("acc", "macs", "params")
# hypervolume reference: 0 % accuracy, and 1.1 x the cost of the costliest cell of the space
REFERENCE_COST_MARGIN = 1.1


def run_comparison(
    space_name: str,
    benchmark_path: str | Path,
    samplers: Sequence[str],
    trials: int,
    seeds: int,
    objectives: Sequence[str] = ("acc",),
    progress: bool = False,
) -> pd.DataFrame:
    """One row per (sampler, seed, trial): the best-so-far's val/test accuracy, and hypervolume."""
    objectives = _check(space_name, samplers, trials, seeds, objectives)
    benchmark = load_benchmark(benchmark_path)
    if benchmark.space != space_name:
        raise UsageError(
            f"benchmark {benchmark.path} holds cells of space {benchmark.space!r}, not {space_name!r}"
        )
    space = load_space(space_name)
    table = _table(benchmark)
    reference = _reference_costs(benchmark, space, objectives[1:])
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    runs = [(name, seed) for name in samplers for seed in range(seeds)]
    if progress:
        from tqdm import tqdm

        runs = tqdm(runs, desc="compare-samplers", unit="study")
    frames = []
    for name, seed in runs:
        history = _run_study(space, table, name, seed, trials, objectives)
        frames.append(_curves(history, objectives, reference).assign(sampler=name, seed=seed))
    columns = ["sampler", "seed", "trial", "val_acc", "test_acc"]
    if len(objectives) > 1:
        columns.append("hypervolume")
    return pd.concat(frames, ignore_index=True)[columns]


def compare_samplers(
    space_name: str,
    benchmark_path: str | Path,
    samplers: Sequence[str],
    trials: int,
    seeds: int,
    objectives: Sequence[str] = ("acc",),
    progress: bool = False,
) -> pd.DataFrame:
    """Per sampler and trial count 1..trials: mean and std over seeds of the best-by-validation
    arch's test accuracy (and validation accuracy, and hypervolume for several objectives).

    Columns: sampler, trial, seeds, test_acc_mean, test_acc_std, val_acc_mean, val_acc_std
    [, hypervolume_mean, hypervolume_std]; std is the population standard deviation over seeds.
    """
    runs = run_comparison(space_name, benchmark_path, samplers, trials, seeds, objectives, progress)
    return summarize(runs)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Aggregate `run_comparison` rows over seeds, keeping the samplers in their given order."""
    metrics = [c for c in ("test_acc", "val_acc", "hypervolume") if c in runs.columns]
    grouped = runs.groupby(["sampler", "trial"], sort=False)
    summary = grouped[metrics].agg(["mean", lambda s: s.std(ddof=0)])
    summary.columns = [f"{m}_{'mean' if stat == 'mean' else 'std'}" for m, stat in summary.columns]
    summary.insert(0, "seeds", grouped["seed"].nunique())
    return summary.reset_index()


def compare_figure(summary: pd.DataFrame) -> Any:
    """A plotly figure of `compare_samplers`' frame: test accuracy (mean +- std band) per trial
    count for each sampler, and the hypervolume beside it when the frame has one."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    panels = [("test_acc", "test accuracy of the best-by-validation arch (%)")]
    if "hypervolume_mean" in summary.columns:
        panels.append(("hypervolume", "hypervolume (fraction of the reference box)"))
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[t for _, t in panels])
    colors = qualitative.Plotly
    for k, (name, rows) in enumerate(summary.groupby("sampler", sort=False)):
        color = colors[k % len(colors)]
        seeds = int(rows["seeds"].iloc[0])
        for col, (metric, _) in enumerate(panels, start=1):
            mean, std = rows[f"{metric}_mean"], rows[f"{metric}_std"]
            band_x = pd.concat([rows["trial"], rows["trial"][::-1]])
            band_y = pd.concat([mean + std, (mean - std)[::-1]])
            figure.add_trace(
                go.Scatter(x=band_x, y=band_y, fill="toself", fillcolor=color, opacity=0.15,
                           line={"width": 0}, hoverinfo="skip", showlegend=False, legendgroup=name),
                row=1, col=col,
            )  # fmt: skip
            figure.add_trace(
                go.Scatter(x=rows["trial"], y=mean, mode="lines", line={"color": color},
                           name=f"{name} ({seeds} seeds)", legendgroup=name, showlegend=col == 1,
                           customdata=std, hovertemplate="%{y:.3f} +- %{customdata:.3f}"),
                row=1, col=col,
            )  # fmt: skip
            figure.update_xaxes(title_text="trials", row=1, col=col)
    figure.update_layout(
        title="Search strategies on the tabular benchmark (mean +- std over seeds)"
    )
    return figure


# ---- internals -------------------------------------------------------------------------------


def _check(
    space_name: str, samplers: Sequence[str], trials: int, seeds: int, objectives: Sequence[str]
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
    load_space(space_name)  # SpaceError for an unknown space
    return objectives


def _table(benchmark: TabularBenchmark) -> dict[str, tuple[float, float, int]]:
    """arch string -> (val_acc, test_acc, params): a dict, as thousands of look-ups must be fast."""
    frame = benchmark.frame
    return dict(
        zip(frame.index, zip(frame["val_acc"], frame["test_acc"], frame["params"], strict=True),
            strict=True)
    )  # fmt: skip


def _run_study(
    space: Any,
    table: dict[str, tuple[float, float, int]],
    sampler_name: str,
    seed: int,
    trials: int,
    objectives: list[str],
) -> list[tuple[float, ...]]:
    """Run one study; return per trial (val_acc, test_acc, cost...) in trial order."""
    sampler = sampler_table.make_sampler(
        sampler_name, seed=seed, n_objectives=len(objectives), space=space
    )
    study = optuna.create_study(directions=directions(objectives), sampler=sampler)
    history: list[tuple[float, ...]] = []
    for _ in range(trials):
        trial = study.ask()
        arch = space.suggest(trial)
        key = space.to_nb201_string(arch)
        if key not in table:
            raise UsageError(f"the benchmark has no row for {key}: it must hold every cell")
        val_acc, test_acc, params = table[key]
        costs = [
            float(params) if o == "params" else float(macs_of_cell(space, arch))
            for o in objectives[1:]
        ]
        study.tell(trial, [val_acc, *costs])
        history.append((val_acc, test_acc, *costs))
    return history


def _curves(
    history: list[tuple[float, ...]], objectives: list[str], reference: np.ndarray | None
) -> pd.DataFrame:
    values = np.asarray(history, dtype=float)
    val, test = values[:, 0], values[:, 1]
    # index of the best validation accuracy so far (the first one on ties)
    best = np.zeros(len(val), dtype=int)
    for i in range(1, len(val)):
        best[i] = i if val[i] > val[best[i - 1]] else best[i - 1]
    frame = pd.DataFrame(
        {"trial": np.arange(1, len(val) + 1), "val_acc": val[best], "test_acc": test[best]}
    )
    if reference is not None:
        points = np.column_stack([val, values[:, 2:]])
        frame["hypervolume"] = hypervolume_history(points, directions(objectives), reference)
    return frame


def _reference_costs(
    benchmark: TabularBenchmark, space: Any, costs: list[str]
) -> np.ndarray | None:
    if not costs:
        return None
    largest = {
        "params": float(benchmark.frame["params"].max()),
        # MACs grow with every convolution: the all-3x3 cell is the costliest
        "macs": float(macs_of_cell(space, space.REFERENCE_ARCHS["all_conv_3x3"])),
    }
    return np.array([0.0] + [REFERENCE_COST_MARGIN * largest[c] for c in costs])
