"""What the report shows, as plain data: overview text, hover text, parameters, curves, the table."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from html import escape as esc
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from nasbench.arch import arch_summaries, flatten_arch
from nasbench.config import OBJECTIVES
from nasbench.report.load import Study
from nasbench.results.pareto import REFERENCE_COST_MARGIN, hypervolume_history
from nasbench.results.table import evaluated_rows
from nasbench.results.vocabulary import COST_BY_COLUMN, EVALUATED, SHOWN, STATUSES, Shown, plain

IMPORTANCE_MAX_TRIALS = 500  # a seeded subsample beyond this keeps the report within seconds


class ReportRows(NamedTuple):
    """The rows every section of the page draws from."""

    frame: pd.DataFrame  # every results row of the studies
    evaluated: pd.DataFrame  # the evaluated ones, indexed 0..n-1: the positions of the hover texts
    summaries: pd.Series  # arch text by row id


def report_rows(studies: list[Study]) -> ReportRows:
    """All the studies' rows, their evaluated rows and one arch text per row."""
    frame = pd.concat([s.rows for s in studies]) if studies else pd.DataFrame()
    evaluated = evaluated_rows(frame) if len(frame) else frame
    evaluated = evaluated.reset_index(drop=True)
    # one arch text per row for the whole page, so abbreviations agree between hover and table
    summaries = pd.Series(
        arch_summaries(frame["arch"]) if len(frame) else [],
        dtype=object,
        index=frame["id"] if len(frame) else None,
    )
    return ReportRows(frame, evaluated, summaries)


# ---------------------------------------------------------------- overview


def overview_rows(study: Study) -> dict[str, str | None]:
    """The study's overview table column: row title -> text, None where nothing was recorded."""
    a, rows = study.attrs, study.rows
    settings = a.get("settings") or {}
    budget = []
    epochs = _joined(a.get("epochs"), _column(rows, "epochs"))
    size = _joined(a.get("image_size"), _column(rows, "image_size"))
    batch = _joined(a.get("batch_size"), _column(rows, "batch_size"))
    if epochs:
        budget.append(f"{epochs} epoch{'' if epochs == '1' else 's'}")
    if size:
        budget.append(f"{size}×{size} px images" if size.isdigit() else f"{size} px images")
    if batch:
        budget.append(f"batch {batch}")
    if settings.get("train_fraction") not in (None, 1, 1.0):
        budget.append(f"{settings['train_fraction']:g} of the training set")
    train_s = rows["train_s"].dropna().astype(float) if "train_s" in rows else pd.Series()
    if a.get("rungs"):  # successive halving: each rung's budget and the archs it trained
        budget.append(_rungs_text(a["rungs"], rows))
    if isinstance(a.get("prescreen"), dict):  # --prescreen: which archs trained first
        screen = a["prescreen"]
        budget.append(
            f"prescreen: {screen.get('proxy')} scored {screen.get('candidates')} random archs "
            f"in {_duration(float(screen.get('seconds', 0)))}, the best {screen.get('queued')} "
            "trained first"
        )
    if a.get("zero_cost"):
        budget = [f"none: each arch scored with the zero-cost proxy {a['zero_cost']['proxy']}"]
    if a.get("benchmark"):
        budget = ["none: every result looked up in the benchmark table"]
    elif len(train_s):
        budget.append(
            f"training {_duration(train_s.sum())} in all, median {_duration(train_s.median())} a trial"
        )
    objectives = a.get("objectives")
    if objectives and len(study.directions) == len(objectives):
        objectives = [f"{o} ({d[:3]})" for o, d in zip(objectives, study.directions, strict=True)]
    device = _joined(_column(rows, "device_name"), a.get("device"), _column(rows, "device"))
    extra = [
        f"{k} {v}"
        for k, v in (
            ("dtype", _joined(_column(rows, "dtype"))),
            ("threads", _joined(_column(rows, "threads"))),
        )
        if v
    ]
    versions = [
        f"{label} {value}"
        for label, value in (
            ("torch", _joined(_column(rows, "torch_version"), a.get("torch_version"))),
            ("CUDA", _joined(_column(rows, "cuda_version"))),
            ("optuna", _joined(a.get("optuna_version"))),
            ("nasbench", _joined(_column(rows, "code_version"), a.get("code_version"))),
        )
        if value
    ]
    counts = rows["status"].value_counts() if len(rows) else pd.Series(dtype=int)
    statuses = [*STATUSES, *sorted(set(counts.index) - set(STATUSES))]
    count_text = ", ".join(f"{int(counts.get(s, 0))} {s}" for s in statuses)
    n_baselines = int((rows["source"] == "baseline").sum()) if len(rows) else 0
    searched = (
        rows[(rows["source"] == "search") & rows["status"].isin(EVALUATED)] if len(rows) else rows
    )
    best = None
    if len(searched) and searched["val_acc"].notna().any():
        top = searched.loc[searched["val_acc"].astype(float).idxmax()]
        accuracy = _formatted(top[["val_acc"]], SHOWN["val_acc"])[0]
        best = f"{accuracy} ({labels(top.to_frame().T)[0]})"
    return {
        "space": _joined(a.get("space"), _column(rows, "space")),
        "dataset": _joined(a.get("dataset"), _column(rows, "dataset")),
        "benchmark": _benchmark_text(a.get("benchmark")),
        "proxy budget": " · ".join(budget) or None,
        "searched choices": _choices_text(settings.get("choices")),
        "recipe": _recipe_text(a.get("recipe"), settings.get("train")),
        "objectives": _joined(objectives),
        "sampler": _joined(a.get("sampler")),
        "device": " · ".join([device] + extra) if device else None,
        "versions": " · ".join(versions) or None,
        "results rows": f"{len(rows)}: {count_text}"
        + (f" ({n_baselines} reference models)" if n_baselines else ""),
        "best val accuracy": best,
        "Optuna study": "present" if study.in_optuna else "none (results rows only)",
    }


def _rungs_text(rungs: list[dict[str, Any]], rows: pd.DataFrame) -> str:
    """'rungs: 0 steps=1053 (12 archs) → 1 steps=3159 (4 archs)'."""
    finished = rows[rows["source"] == "search"] if len(rows) else rows
    parts = []
    for entry in rungs:
        at_rung = finished[finished["rung"].fillna(0) == entry["rung"]] if len(finished) else []
        archs = len(at_rung["arch_hash"].unique()) if len(at_rung) else 0
        parts.append(f"{entry['rung']} {entry['budget']} ({archs} archs)")
    return "successive halving, rungs " + " → ".join(parts)


def _choices_text(choices: dict[str, list[Any]] | None) -> str | None:
    """An experiment file's [choices]: 'depths 1/2/3 · se false/true' (the space's own otherwise)."""
    if not choices:
        return None
    return " · ".join(
        f"{field} {'/'.join(json.dumps(v) for v in values)}" for field, values in choices.items()
    )


RECIPE_SUMMARY = ("optimizer", "lr", "weight_decay", "warmup_epochs", "label_smoothing", "augment")


def _recipe_text(recipe: dict[str, Any] | None, train: dict[str, Any] | None) -> str | None:
    """The recipe's main fields and every one an experiment file's [train] set."""
    if not recipe:
        return None
    shown = [*RECIPE_SUMMARY, *(k for k in train or {} if k not in RECIPE_SUMMARY)]
    return ", ".join(f"{k} {recipe[k]}" for k in shown if k in recipe)


def _benchmark_text(bench: dict[str, Any] | None) -> str | None:
    if not bench:
        return None
    device = bench.get("latency_device")
    return (
        f"{bench.get('name')}: selects on {bench.get('selected_on')}, "
        + (
            "validation only"
            if bench.get("validation_only")
            else f"reports {bench.get('reported')}"
        )
        + (f", latency on {device}" if device else "")
        + " (looked up, not trained)"
    )


def benchmark_note(study_name: str, bench: dict[str, Any]) -> str:
    """What a benchmark study's accuracies are, as one sentence of HTML."""
    reported = (
        "it has no test accuracy: every figure here is validation only"
        if bench.get("validation_only")
        else f"its reported accuracy (test_acc) is the table's {esc(str(bench.get('reported')))}"
    )
    return (
        f"Study {esc(study_name)} looked its results up in the benchmark table "
        f"{esc(str(bench.get('name')))} ({esc(str(bench.get('source')))}): val accuracy is the "
        f"table's {esc(str(bench.get('selected_on')))}, {reported}. The dashed line is the "
        "table's true front of the study's objectives: the best any search could find."
    )


def _joined(*candidates: Any) -> str | None:
    """The first candidate that is set: a scalar, or a list of distinct values joined."""
    for value in candidates:
        if isinstance(value, list):
            if value:
                return ", ".join(dict.fromkeys(str(v) for v in value))
        elif value is not None and value != "":
            return str(value)
    return None


def _column(rows: pd.DataFrame, name: str) -> list[str]:
    """The distinct values of a column as text, in order of appearance; none if no such column."""
    return [str(v) for v in pd.unique(rows[name].dropna())] if name in rows else []


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------- hover text


def labels(rows: pd.DataFrame) -> list[str]:
    """Each row's name: its own (a reference model's), else its trial number."""
    return [
        name
        if isinstance(name, str) and name
        else (f"trial {int(number)}" if not pd.isna(number) else "?")
        for name, number in zip(rows["name"], rows["trial_number"], strict=True)
    ]


def hover_texts(rows: pd.DataFrame, summaries: pd.Series) -> list[str]:
    """Plotly hover text of each row: user text escaped, plotly's own tags (<b>, <br>) added."""
    if not len(rows):
        return []
    columns = {
        key: _formatted(rows[name], SHOWN[name])
        for key, name in (
            ("acc", "val_acc"),
            ("std", "val_acc_std"),
            ("test", "test_acc"),
            ("macs", "macs"),
            ("params", "params"),
            ("latency", "latency_ms"),
        )
    }
    texts = []
    for i, (label, study, summary) in enumerate(
        zip(labels(rows), rows["study_name"], summaries.reindex(rows["id"]).fillna(""), strict=True)
    ):
        lines = [f"<b>{esc(label)}</b> · {esc(str(study))}"]
        lines += [esc(line) for line in _wrap(summary)]
        test = columns["test"][i]
        spread = columns["std"][i]
        runs = rows["train_runs"].iloc[i]
        several = spread != "–" and pd.notna(runs) and runs > 1
        mean = f" ± {spread} (mean of {int(runs)} trainings)" if several else ""
        lines.append(
            f"val acc {columns['acc'][i]}{mean}" + (f" · test acc {test}" if test != "–" else "")
        )
        lines.append(
            f"MACs {columns['macs'][i]} · params {columns['params'][i]}"
            f" · latency {columns['latency'][i]}"
        )
        texts.append("<br>".join(lines))
    return texts


def _wrap(text: str, width: int = 64) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _formatted(values: pd.Series, shown: Shown) -> list[str]:
    """Each value scaled and rounded as `shown` says, with its unit ("12.35 M")."""
    unit = f" {shown.unit}" if shown.unit else ""
    return [
        "–" if np.isnan(v) else f"{v * shown.scale:.{shown.decimals}f}{unit}"
        for v in values.astype(float).to_numpy()
    ]


# ---------------------------------------------------------------- fronts and history


def plottable(evaluated: pd.DataFrame, column: str) -> pd.DataFrame:
    """The evaluated rows with an accuracy and a positive cost in `column` (log axes need > 0)."""
    if not len(evaluated):
        return evaluated
    cost = evaluated[column].astype(float)
    return evaluated[evaluated["val_acc"].notna() & cost.notna() & (cost > 0)]


def history_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """A study's searched trials with an accuracy, in trial order."""
    if not len(rows):
        return rows
    rows = rows[
        (rows["source"] == "search")
        & rows["status"].isin(EVALUATED)
        & rows["val_acc"].notna()
        & rows["trial_number"].notna()
    ]
    return rows.sort_values("trial_number", kind="stable")


def hypervolume_cost(studies: list[Study]) -> Shown:
    """The studies' shared cost objective (their second objective), else MACs."""
    chosen = {tuple(s.attrs["objectives"][1:2]) for s in studies if s.attrs.get("objectives")}
    if len(chosen) == 1:
        (objective,) = chosen
        if objective and objective[0] in OBJECTIVES:
            column = OBJECTIVES[objective[0]].column
            if column in COST_BY_COLUMN:
                return COST_BY_COLUMN[column]
    return COST_BY_COLUMN["macs"]


def hypervolume_reference(histories: list[pd.DataFrame], column: str) -> float | None:
    """The reference cost shared by every study's curve: a margin over the largest cost; None
    when no row has a positive one."""
    costs = pd.concat([rows[column] for rows in histories if len(rows)]).astype(float)
    costs = costs[costs > 0]
    if not len(costs):
        return None
    return float(costs.max()) * REFERENCE_COST_MARGIN


def hypervolume_curve(history: pd.DataFrame, column: str, reference: float) -> np.ndarray:
    """Hypervolume of (accuracy, cost) after each row of `history`, normalised to [0, 1] with
    reference point (0 %, `reference`)."""
    points = np.column_stack(
        [history["val_acc"].astype(float).to_numpy(), history[column].astype(float).to_numpy()]
    )
    return hypervolume_history(points, ["maximize", "minimize"], [0.0, reference])


# ---------------------------------------------------------------- architecture parameters


class FlatParams(NamedTuple):
    """A study's arch fields, with per-stage lists split into field_0, field_1, ..."""

    varying: pd.DataFrame  # one column per field that differs between archs, one row per arch
    constant: list[str]  # "field=value" of the fields every arch shares


def parameter_rows(evaluated: pd.DataFrame, study_name: str) -> pd.DataFrame:
    """The study's searched archs with an accuracy and parameters (an arch dict) to compare."""
    rows = evaluated[(evaluated["study_name"] == study_name) & (evaluated["source"] == "search")]
    if len(rows):
        rows = rows[rows["val_acc"].notna() & rows["arch"].map(lambda a: isinstance(a, dict))]
    return rows


def flat_params(rows: pd.DataFrame) -> FlatParams:
    """The flattened arch fields of these rows, split into those that vary and those that don't."""
    flat = pd.DataFrame.from_records([flatten_arch(a) for a in rows["arch"]], index=rows.index)
    for column in flat.columns:  # nested values (rare) become their JSON text
        if flat[column].dtype == object and flat[column].map(type).isin((dict, list)).any():
            flat[column] = flat[column].map(_hashable)
    constant, varying = [], []
    for column in flat.columns:
        values = flat[column]
        if values.nunique(dropna=True) < 2 and values.notna().all():
            constant.append(f"{column}={_hashable(values.iloc[0])}")
        else:
            varying.append(column)
    return FlatParams(flat[varying], constant)


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return plain(value)


def is_number(values: list[Any]) -> bool:
    """Whether every value is a number (booleans are not: they are categories)."""
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values
    )


def value_order(value: Any) -> tuple[int, float, str]:
    """Sort key of parameter values: numbers in numeric order, then everything else by its text."""
    if is_number([value]):
        return 0, float(value), ""
    return 1, 0.0, f"{type(value).__name__}:{value}"


def seeded_sample(n: int, size: int) -> np.ndarray:
    """`size` of the positions 0..n-1, in order, the same every time (seed 0)."""
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


def parameter_importances(flat: pd.DataFrame, accuracy: pd.Series) -> dict[str, float]:
    """PED-ANOVA importance (optuna.importance) of each column of `flat` for reaching the top
    10 % of accuracy, most important first, through an in-memory Optuna study rebuilt from the
    rows, so it works without the search's own study (results-only databases, baseline studies)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    if len(flat) > IMPORTANCE_MAX_TRIALS:
        keep = seeded_sample(len(flat), IMPORTANCE_MAX_TRIALS)
        flat, accuracy = flat.iloc[keep], accuracy.iloc[keep]
    distributions = {
        c: CategoricalDistribution(
            sorted({_hashable(v) for v in flat[c].dropna()}, key=value_order)
        )
        for c in flat.columns
    }
    trials = []
    for params, value in zip(flat.to_dict(orient="records"), accuracy.astype(float), strict=True):
        present = {k: _hashable(v) for k, v in params.items() if not pd.isna(v)}
        trials.append(
            create_trial(
                params=present,
                distributions={k: distributions[k] for k in present},
                value=value,
            )
        )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.create_study(direction="maximize")
            study.add_trials(trials)
            return get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
    finally:
        optuna.logging.set_verbosity(verbosity)


# ---------------------------------------------------------------- trials table

# the trials table's numbers, scaled and rounded as vocabulary.SHOWN says
TRIAL_NUMBERS = (
    "params",
    "macs",
    "latency_ms",
    "val_acc",
    "val_acc_std",
    "train_runs",
    "test_acc",
    "train_s",
)


def _shown_values(name: str) -> Callable[[pd.DataFrame], pd.Series] | None:
    """How the trials table writes a column: scaled and rounded, or as it is."""
    shown = SHOWN[name]
    if shown.decimals is None:
        return None
    return lambda rows: (rows[name].astype(float) * shown.scale).round(shown.decimals)


TRIAL_COLUMNS: tuple[tuple[str, str, Callable[[pd.DataFrame], pd.Series] | None], ...] = (
    (SHOWN["study_name"].label, "study_name", None),
    ("trial", "trial_number", None),
    ("name", "name", None),
    ("source", "source", None),
    ("status", "status", None),
    ("space", "space", None),
    ("arch", "arch", None),
    *((SHOWN[name].label, name, _shown_values(name)) for name in TRIAL_NUMBERS),
    (SHOWN["error"].label, "error", None),
)
NUMERIC_COLUMNS = {"trial", *(SHOWN[name].label for name in TRIAL_NUMBERS)}


def trials_data(frame: pd.DataFrame, summaries: pd.Series) -> dict[str, Any]:
    """Every results row as JSON-ready columns and rows, for the table's script: "columns" (the
    labels), "numeric" (a flag per column: sorted as numbers) and "rows" (lists of plain values,
    None where unset), sorted by study, trial number and row id."""
    rows = frame.sort_values(
        ["study_name", "trial_number", "id"], kind="stable", na_position="last"
    )
    columns = {}
    for label, source, convert in TRIAL_COLUMNS:
        if source == "arch":
            columns[label] = pd.Series(summaries.reindex(rows["id"]).to_numpy(), index=rows.index)
        elif convert is not None:
            columns[label] = convert(rows)
        else:
            columns[label] = rows[source]
    table = pd.DataFrame(columns).astype(object)
    table = table.where(table.notna(), None)
    values = [[plain(v) for v in row] for row in table.itertuples(index=False)]
    names = list(columns)
    return {"columns": names, "numeric": [c in NUMERIC_COLUMNS for c in names], "rows": values}
