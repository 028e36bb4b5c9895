"""`nasbench report`: plotly figures of one or more studies in one self-contained, offline HTML page."""

from __future__ import annotations

import html
import json
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs

from nasbench import __version__
from nasbench.arch import arch_summaries, flatten_arch
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.pareto import pareto_mask
from nasbench.results.table import evaluated_rows
from nasbench.results.vocabulary import EVALUATED

COSTS = (  # column, axis label, scale to the plotted unit
    ("macs", "MACs (M)", 1e-6),
    ("latency_ms", "latency (ms)", 1.0),
    ("params", "params (M)", 1e-6),
)
COST_OF_OBJECTIVE = {"macs": "macs", "latency": "latency_ms", "params": "params"}
STATUSES = ("complete", "failed", "infeasible", "pruned", "reused")
IMPORTANCE_MIN_TRIALS = 20  # PED-ANOVA compares the top 10 % with the rest: it needs 2 on top
IMPORTANCE_MAX_TRIALS = 500  # a seeded subsample beyond this keeps the report within seconds
# parallel coordinates are WebGL: without a GPU (software rendering) 10,000 lines take a minute
PARCOORDS_MAX_LINES = 1000
HYPERVOLUME_MARGIN = 1.1  # reference cost: 1.1 x the largest cost, so the costliest point counts
COLORS = qualitative.Plotly
BASELINE_COLOR = "#222222"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
esc = html.escape


@dataclass
class Study:
    """What the report knows about one study: its results rows and its Optuna user attrs, if any."""

    name: str
    rows: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)
    directions: list[str] = field(default_factory=list)
    in_optuna: bool = False


@dataclass
class Section:
    title: str
    anchor: str
    parts: list[str] = field(default_factory=list)  # HTML fragments, in order


class Page:
    """Collects figures (as JSON for the loader script) and the HTML around them."""

    def __init__(self) -> None:
        self.figures: list[tuple[str, str]] = []  # (div id, figure JSON)

    def figure(self, fig: go.Figure, css_class: str = "figure") -> str:
        div_id = f"fig-{len(self.figures)}"
        self.figures.append((div_id, fig.to_json()))
        return f'<div id="{div_id}" class="{css_class}"></div>'


# ---------------------------------------------------------------- entry points


def write_report(url: str, study_names: list[str] | None = None, output: str | None = None) -> Path:
    """Write the HTML report of the named studies (all in the database when None); return its path.

    Default path: reports/<study>.html, or reports/<a>_vs_<b>.html for several studies.
    """
    store.check_storage(url, create=False)
    optuna_studies = _optuna_studies(url)
    known = sorted(set(store.list_study_names(url)) | set(optuna_studies))
    if study_names:
        unknown = [n for n in study_names if n not in known]
        if unknown:
            raise UsageError(
                f"unknown study {', '.join(map(repr, unknown))}; "
                f"studies in this database: {', '.join(known) or 'none'}"
            )
        names = list(dict.fromkeys(study_names))
    else:
        names = known
        if not names:
            raise UsageError("the database holds no study yet; run nasbench search first")
    path = Path(output) if output else Path("reports") / f"{_file_stem(names)}.html"
    if output and not path.parent.is_dir():
        raise UsageError(f"cannot write {output}: folder {path.parent} does not exist")
    frame = store.load_results(url, names)
    studies = []
    for name in names:
        attrs, directions = optuna_studies.get(name, ({}, []))
        rows = frame[frame["study_name"] == name]
        studies.append(Study(name, rows, attrs, directions, name in optuna_studies))
    page = render_report(studies)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _file_stem(names: list[str]) -> str:
    stem = "_vs_".join(re.sub(r"[^A-Za-z0-9._-]+", "_", n).strip("._") or "study" for n in names)
    return stem[:150]


def _optuna_studies(url: str) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Study name -> (user attrs, directions) from Optuna's tables; empty when there are none."""
    import sqlalchemy as sa

    with store.get_engine(url).connect() as conn:
        if not sa.inspect(conn).has_table("studies"):
            return {}
    import optuna

    # skip_table_creation: a report must not add Optuna's tables to a results-only database
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs=store.engine_kwargs(url),
        skip_compatibility_check=True,
        skip_table_creation=True,
    )
    try:
        return {
            s.study_name: (dict(s.user_attrs), [d.name.lower() for d in s.directions])
            for s in storage.get_all_studies()
        }
    finally:
        storage.engine.dispose()


# ---------------------------------------------------------------- the page


def render_report(studies: list[Study]) -> str:
    """The whole HTML page for these studies."""
    page = Page()
    frame = pd.concat([s.rows for s in studies]) if studies else pd.DataFrame()
    evaluated = evaluated_rows(frame) if len(frame) else frame
    evaluated = evaluated.reset_index(drop=True)
    # one arch text per row for the whole page, so abbreviations agree between hover and table
    summaries = pd.Series(
        arch_summaries(frame["arch"]) if len(frame) else [],
        dtype=object,
        index=frame["id"] if len(frame) else None,
    )
    hover = _hover_texts(evaluated, summaries)
    colors = {s.name: COLORS[i % len(COLORS)] for i, s in enumerate(studies)}
    sections = [
        _overview_section(studies, colors),
        _pareto_section(page, studies, evaluated, colors),
        _history_section(page, studies, colors),
        _parameters_section(page, studies, evaluated),
        _trials_section(frame, summaries),
    ]
    title = "nasbench report: " + " vs ".join(s.name for s in studies)
    return _page_html(title, sections, page, hover)


def _missing(text: str) -> str:
    return f'<p class="missing">{text}</p>'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _distinct(values: pd.Series) -> list[str]:
    return [str(v) for v in pd.unique(values.dropna())]


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
    return _distinct(rows[name]) if name in rows else []


def _overview_rows(study: Study) -> dict[str, str | None]:
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
    if len(train_s):
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
        best = f"{float(top['val_acc']):.2f} % ({_labels(top.to_frame().T)[0]})"
    return {
        "space": _joined(a.get("space"), _column(rows, "space")),
        "dataset": _joined(a.get("dataset"), _column(rows, "dataset")),
        "proxy budget": " · ".join(budget) or None,
        "objectives": _joined(objectives),
        "sampler": _joined(a.get("sampler")),
        "device": " · ".join([device] + extra) if device else None,
        "versions": " · ".join(versions) or None,
        "results rows": f"{len(rows)}: {count_text}"
        + (f" ({n_baselines} reference models)" if n_baselines else ""),
        "best val accuracy": best,
        "Optuna study": "present" if study.in_optuna else "none (results rows only)",
    }


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _overview_section(studies: list[Study], colors: dict[str, str]) -> Section:
    section = Section("Studies", "studies")
    table = [_overview_rows(s) for s in studies]
    head = "".join(
        f'<th scope="col"><span class="swatch" style="background:{colors[s.name]}"></span>'
        f"{esc(s.name)}</th>"
        for s in studies
    )
    body = []
    for key in table[0] if table else []:
        cells = "".join(
            f"<td>{esc(t[key])}</td>" if t[key] else '<td class="unset">not recorded</td>'
            for t in table
        )
        body.append(f'<tr><th scope="row">{esc(key)}</th>{cells}</tr>')
    section.parts.append(
        f'<table class="overview"><thead><tr><th></th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    for s in studies:
        if not len(s.rows):
            section.parts.append(
                _missing(
                    f"Study {esc(s.name)} has no results rows yet: every section below is empty "
                    "for it. Run <code>nasbench search</code> (or <code>nasbench baseline</code>) "
                    "to fill it."
                )
            )
    return section


# ---------------------------------------------------------------- hover text


def _labels(rows: pd.DataFrame) -> list[str]:
    return [
        name
        if isinstance(name, str) and name
        else (f"trial {int(number)}" if not pd.isna(number) else "?")
        for name, number in zip(rows["name"], rows["trial_number"], strict=True)
    ]


def _wrap(text: str, width: int = 64) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def _hover_texts(rows: pd.DataFrame, summaries: pd.Series) -> list[str]:
    """Plotly hover text of each row: user text escaped, plotly's own tags (<b>, <br>) added."""
    if not len(rows):
        return []
    columns = {
        "acc": _formatted(rows["val_acc"], 2, 1.0, " %"),
        "std": _formatted(rows["val_acc_std"], 2, 1.0, ""),
        "test": _formatted(rows["test_acc"], 2, 1.0, " %"),
        "macs": _formatted(rows["macs"], 2, 1e-6, " M"),
        "params": _formatted(rows["params"], 3, 1e-6, " M"),
        "latency": _formatted(rows["latency_ms"], 3, 1.0, " ms"),
    }
    texts = []
    for i, (label, study, summary) in enumerate(
        zip(
            _labels(rows), rows["study_name"], summaries.reindex(rows["id"]).fillna(""), strict=True
        )
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


def _formatted(values: pd.Series, digits: int, scale: float, unit: str) -> list[str]:
    return [
        "–" if np.isnan(v) else f"{v * scale:.{digits}f}{unit}"
        for v in values.astype(float).to_numpy()
    ]


# ---------------------------------------------------------------- Pareto fronts


def _pareto_section(
    page: Page, studies: list[Study], evaluated: pd.DataFrame, colors: dict[str, str]
) -> Section:
    section = Section("Pareto fronts", "pareto")
    section.parts.append(
        _note(
            "Each point is one evaluated architecture (reused results counted once per study); "
            "the line is the study's front: no other architecture of the study is at least as "
            "accurate for less. Diamonds are reference models. Axes are shared across studies."
        )
    )
    for column, label, scale in COSTS:
        fig, notes = _pareto_figure(studies, evaluated, column, label, scale, colors)
        section.parts.append(f"<h3>Accuracy against {esc(label)}</h3>")
        section.parts.extend(notes)
        if fig is not None:
            section.parts.append(page.figure(fig))
    return section


def _usable(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    if not len(rows):
        return rows
    cost = rows[column].astype(float)
    return rows[rows["val_acc"].notna() & cost.notna() & (cost > 0)]


def _pareto_figure(
    studies: list[Study],
    evaluated: pd.DataFrame,
    column: str,
    label: str,
    scale: float,
    colors: dict[str, str],
) -> tuple[go.Figure | None, list[str]]:
    usable = _usable(evaluated, column)
    fig = go.Figure()
    notes = []
    many = len(usable) > 500
    for s in studies:
        rows = usable[(usable["study_name"] == s.name) & (usable["source"] == "search")]
        if not len(rows):
            if len(s.rows[s.rows["source"] == "search"]) if len(s.rows) else 0:
                notes.append(
                    _missing(
                        f"Study {esc(s.name)}: no evaluated architecture has both an "
                        f"accuracy and {esc(label)}, so there is no front to draw."
                    )
                )
            continue
        if len(rows) == 1:
            notes.append(
                _note(
                    f"Study {esc(s.name)} has one evaluated architecture: its front is "
                    "that single point."
                )
            )
        x = rows[column].astype(float).to_numpy() * scale
        y = rows["val_acc"].astype(float).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=x.astype(np.float32),
                y=y.astype(np.float32),
                mode="markers",
                name=esc(s.name),
                legendgroup=esc(s.name),
                marker=dict(color=colors[s.name], size=6, opacity=0.45 if many else 0.8),
                hoverinfo="text",
                meta={"hover_rows": rows.index.tolist()},
            )
        )
        front = np.flatnonzero(pareto_mask(y, x))
        front = front[np.argsort(x[front], kind="stable")]
        fig.add_trace(
            go.Scatter(
                x=x[front],
                y=y[front],
                mode="lines+markers",
                line_shape="hv",
                name=f"{esc(s.name)} front",
                legendgroup=esc(s.name),
                line=dict(color=colors[s.name], width=2),
                marker=dict(color=colors[s.name], size=9, line=dict(color="white", width=1)),
                hoverinfo="text",
                meta={"hover_rows": rows.index[front].tolist()},
            )
        )
    baselines = usable[usable["source"] == "baseline"]
    if len(baselines):
        fig.add_trace(
            go.Scatter(
                x=baselines[column].astype(float).to_numpy() * scale,
                y=baselines["val_acc"].astype(float).to_numpy(),
                mode="markers+text",
                name="reference models",
                text=[esc(label) for label in _labels(baselines)],
                textposition="top center",
                textfont=dict(size=11, color=BASELINE_COLOR),
                marker=dict(symbol="diamond", size=11, color=BASELINE_COLOR),
                hoverinfo="text",
                meta={"hover_rows": baselines.index.tolist()},
            )
        )
    if not fig.data:
        notes.append(
            _missing(
                f"Nothing to plot: no study has an evaluated architecture with both an "
                f"accuracy and {esc(label)}"
                + (" (latency was not measured?)" if column == "latency_ms" else "")
                + "."
            )
        )
        return None, notes
    fig.update_layout(
        xaxis=dict(type="log", title=label),
        yaxis=dict(title="val accuracy (%)"),
        **_layout(),
    )
    return fig, notes


def _layout(height: int = 460) -> dict[str, Any]:
    return dict(
        template="plotly_white",
        height=height,
        margin=dict(l=60, r=20, t=30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        hovermode="closest",
    )


# ---------------------------------------------------------------- history


def _history_section(page: Page, studies: list[Study], colors: dict[str, str]) -> Section:
    section = Section("History", "history")
    per_study = {}
    for s in studies:
        rows = s.rows
        if len(rows):
            rows = rows[
                (rows["source"] == "search")
                & rows["status"].isin(EVALUATED)
                & rows["val_acc"].notna()
                & rows["trial_number"].notna()
            ]
            rows = rows.sort_values("trial_number", kind="stable")
        per_study[s.name] = rows
        if not len(rows):
            section.parts.append(
                _missing(
                    f"Study {esc(s.name)}: no searched trial with an accuracy yet, so no history."
                )
            )
        elif len(rows) == 1:
            section.parts.append(
                _note(f"Study {esc(s.name)} has one evaluated trial: its history is one point.")
            )
    if not any(len(r) for r in per_study.values()):
        return section

    best = go.Figure()
    for s in studies:
        rows = per_study[s.name]
        if not len(rows):
            continue
        x = rows["trial_number"].astype(float).to_numpy()
        y = rows["val_acc"].astype(float).to_numpy()
        best.add_trace(
            go.Scatter(
                x=x.astype(np.float32),
                y=y.astype(np.float32),
                mode="markers",
                name=f"{esc(s.name)} trials",
                legendgroup=esc(s.name),
                marker=dict(color=colors[s.name], size=4, opacity=0.3),
                hovertemplate="trial %{x}: %{y:.2f} %<extra></extra>",
            )
        )
        best.add_trace(
            go.Scatter(
                x=x.astype(np.float32),
                y=np.maximum.accumulate(y).astype(np.float32),
                mode="lines",
                line_shape="hv",
                name=f"{esc(s.name)} best",
                legendgroup=esc(s.name),
                line=dict(color=colors[s.name], width=2),
                hovertemplate="after trial %{x}: best %{y:.2f} %<extra></extra>",
            )
        )
    best.update_layout(xaxis_title="trial", yaxis_title="val accuracy (%)", **_layout(380))
    section.parts.append("<h3>Best accuracy over trials</h3>")
    section.parts.append(page.figure(best))

    cost_column, cost_label = _hypervolume_cost(studies)
    costs = pd.concat([r[cost_column] for r in per_study.values() if len(r)]).astype(float)
    costs = costs[costs > 0]
    section.parts.append(f"<h3>Hypervolume over trials (accuracy against {esc(cost_label)})</h3>")
    if not len(costs):
        section.parts.append(_missing(f"No evaluated trial has {esc(cost_label)}: no hypervolume."))
        return section
    reference = float(costs.max()) * HYPERVOLUME_MARGIN
    hv = go.Figure()
    for s in studies:
        rows = per_study[s.name]
        if not len(rows):
            continue
        values = hypervolume_history(
            rows["val_acc"].astype(float).to_numpy(),
            rows[cost_column].astype(float).to_numpy(),
            reference,
        )
        hv.add_trace(
            go.Scatter(
                x=rows["trial_number"].astype(float).to_numpy(np.float32),
                y=values.astype(np.float32),
                mode="lines",
                line_shape="hv",
                name=esc(s.name),
                line=dict(color=colors[s.name], width=2),
                hovertemplate="after trial %{x}: %{y:.4f}<extra>" + esc(s.name) + "</extra>",
            )
        )
    hv.update_layout(xaxis_title="trial", yaxis_title="hypervolume", **_layout(380))
    section.parts.append(
        _note(
            f"Area dominated by the front in (accuracy / 100, {esc(cost_label)} / reference) "
            f"with reference point (0 %, {HYPERVOLUME_MARGIN:g} × the largest {esc(cost_label)} "
            "in this report): 1 would be 100 % accuracy at no cost. Computed from the results "
            "rows, the same for every study."
        )
    )
    section.parts.append(page.figure(hv))
    return section


def _hypervolume_cost(studies: list[Study]) -> tuple[str, str]:
    """The studies' shared cost objective (their second objective), else MACs."""
    chosen = {tuple(s.attrs["objectives"][1:2]) for s in studies if s.attrs.get("objectives")}
    if len(chosen) == 1:
        (objective,) = chosen
        if objective and objective[0] in COST_OF_OBJECTIVE:
            column = COST_OF_OBJECTIVE[objective[0]]
            return column, next(label for c, label, _ in COSTS if c == column)
    return "macs", "MACs (M)"


def hypervolume_history(
    accuracy: np.ndarray, cost: np.ndarray, reference_cost: float
) -> np.ndarray:
    """Hypervolume of (accuracy %, cost) after each point in order, normalised to [0, 1].

    Hand-written 2-D sweep: Optuna's hypervolume (optuna._hypervolume) is private and its
    plot_hypervolume_history needs a study; this works from results rows alone.
    """
    out = np.zeros(len(accuracy))
    front: list[tuple[float, float]] = []  # (cost, accuracy), no point dominating another
    volume = 0.0
    for i, (a, c) in enumerate(zip(accuracy, cost, strict=True)):
        if not (np.isnan(a) or np.isnan(c) or c >= reference_cost) and not any(
            fa >= a and fc <= c for fc, fa in front
        ):
            front = [(fc, fa) for fc, fa in front if not (a >= fa and c <= fc)] + [(c, a)]
            front.sort()
            edges = [fc for fc, _ in front[1:]] + [reference_cost]
            volume = sum(
                (fa / 100) * (edge - fc) / reference_cost
                for (fc, fa), edge in zip(front, edges, strict=True)
            )
        out[i] = volume
    return out


# ---------------------------------------------------------------- architecture parameters


def _parameters_section(page: Page, studies: list[Study], evaluated: pd.DataFrame) -> Section:
    section = Section("Architecture parameters", "parameters")
    section.parts.append(
        _note(
            "Parallel coordinates: one line per evaluated architecture of the study, coloured "
            "by accuracy; per-stage lists are split into field_0, field_1, ...; drag along an "
            "axis to filter. Parameter importance: PED-ANOVA (optuna.importance) of each "
            "parameter for reaching the top 10 % of accuracy, computed from the results rows."
        )
    )
    for s in studies:
        rows = evaluated[(evaluated["study_name"] == s.name) & (evaluated["source"] == "search")]
        if len(rows):
            rows = rows[rows["val_acc"].notna() & rows["arch"].map(lambda a: isinstance(a, dict))]
        section.parts.append(f"<h3>{esc(s.name)}</h3>")
        if len(rows) < 2:
            section.parts.append(
                _missing(
                    f"Study {esc(s.name)} has {len(rows)} evaluated architecture"
                    f"{'' if len(rows) == 1 else 's'}: parallel coordinates and parameter "
                    "importance need at least 2 (importance needs "
                    f"{IMPORTANCE_MIN_TRIALS})."
                )
            )
            continue
        flat, constant = _flat_params(rows)
        if constant:
            section.parts.append(_note("Same in every architecture: " + esc(", ".join(constant))))
        if flat.shape[1] == 0:
            section.parts.append(
                _missing("Every architecture of this study is the same: nothing to compare.")
            )
            continue
        if len(rows) > PARCOORDS_MAX_LINES:
            keep = _sample(len(rows), PARCOORDS_MAX_LINES)
            section.parts.append(
                _note(
                    f"Parallel coordinates of a random sample of {PARCOORDS_MAX_LINES} of the "
                    f"{len(rows)} architectures (seed 0)."
                )
            )
            section.parts.append(page.figure(_parcoords_figure(flat.iloc[keep], rows.iloc[keep])))
        else:
            section.parts.append(page.figure(_parcoords_figure(flat, rows)))
        if len(rows) < IMPORTANCE_MIN_TRIALS:
            section.parts.append(
                _missing(
                    f"Parameter importance needs at least {IMPORTANCE_MIN_TRIALS} evaluated "
                    f"architectures; study {esc(s.name)} has {len(rows)}."
                )
            )
            continue
        if len(rows) > IMPORTANCE_MAX_TRIALS:
            section.parts.append(
                _note(
                    f"Importance from a random sample of {IMPORTANCE_MAX_TRIALS} of the "
                    f"{len(rows)} architectures (seed 0)."
                )
            )
        importances = parameter_importances(flat, rows["val_acc"])
        section.parts.append(page.figure(_importance_figure(importances), "figure importance"))
    return section


def _flat_params(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Flattened arch fields that vary (columns) and the 'field=value' text of those that do not."""
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
    return flat[varying], constant


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _compact(values: np.ndarray) -> np.ndarray:
    """The smallest array type that holds the values exactly (base64 in the page: size matters)."""
    if np.isfinite(values).all() and (values == np.round(values)).all():
        for dtype in (np.int8, np.int16, np.int32):
            info = np.iinfo(dtype)
            if values.min() >= info.min and values.max() <= info.max:
                return values.astype(dtype)
    return values.astype(np.float32)


def _is_number(values: list[Any]) -> bool:
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        for v in values
    )


def _parcoords_figure(flat: pd.DataFrame, rows: pd.DataFrame) -> go.Figure:
    dims = []
    for column in flat.columns:
        values = flat[column]
        distinct = list(pd.unique(values.dropna()))
        if _is_number(distinct):
            dim = dict(label=esc(column), values=_compact(values.astype(float).to_numpy()))
            if len(distinct) <= 10:
                dim["tickvals"] = sorted(distinct)
        else:
            categories = sorted(distinct, key=_order)
            codes = values.map({v: i for i, v in enumerate(categories)})
            dim = dict(
                label=esc(column),
                values=_compact(codes.astype(float).to_numpy()),
                tickvals=list(range(len(categories))),
                # parcoords tick text is plain SVG text (no pseudo-HTML): not escaped
                ticktext=[str(v) for v in categories],
            )
        dims.append(dim)
    for column, label, scale in COSTS[:1]:
        cost = rows[column].astype(float)
        if cost.notna().all():
            dims.append(dict(label=label, values=(cost * scale).to_numpy(np.float32)))
    accuracy = rows["val_acc"].astype(float).to_numpy(np.float32)
    dims.append(dict(label="val acc (%)", values=accuracy))
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            line=dict(
                color=accuracy,
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title="val acc (%)"),
            ),
            labelangle=-30 if len(dims) > 10 else 0,
            labelside="top",
        )
    )
    fig.update_layout(template="plotly_white", height=520, margin=dict(l=60, r=60, t=110, b=30))
    return fig


def parameter_importances(flat: pd.DataFrame, accuracy: pd.Series) -> dict[str, float]:
    """PED-ANOVA importance (optuna.importance) of each column of `flat` for reaching the top
    10 % of accuracy, through an in-memory Optuna study rebuilt from the rows, so it works
    without the search's own study (results-only databases, baseline studies)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import create_trial

    if len(flat) > IMPORTANCE_MAX_TRIALS:
        keep = _sample(len(flat), IMPORTANCE_MAX_TRIALS)
        flat, accuracy = flat.iloc[keep], accuracy.iloc[keep]
    distributions = {
        c: CategoricalDistribution(sorted({_hashable(v) for v in flat[c].dropna()}, key=_order))
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


def _sample(n: int, size: int) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, size, replace=False))


def _order(value: Any) -> tuple[int, float, str]:
    """Numbers in numeric order, then everything else by its text."""
    if _is_number([value]):
        return 0, float(value), ""
    return 1, 0.0, f"{type(value).__name__}:{value}"


def _importance_figure(importances: dict[str, float]) -> go.Figure:
    # drawn here rather than with optuna.visualization.plot_param_importances, whose hover text
    # deep-copies every trial once per parameter (minutes for 1,000 trials of 40 parameters)
    names = list(importances)[::-1]  # most important on top
    values = [importances[n] for n in names]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[esc(n) for n in names],
            orientation="h",
            marker_color="#636efa",
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        template="plotly_white",
        height=max(240, 20 * len(names) + 70),
        margin=dict(l=150, r=40, t=20, b=40),
        xaxis=dict(title="importance for the top 10 % of val accuracy (PED-ANOVA)"),
    )
    return fig


# ---------------------------------------------------------------- trials table

TRIAL_COLUMNS: tuple[tuple[str, str, Callable[[pd.DataFrame], pd.Series] | None], ...] = (
    ("study", "study_name", None),
    ("trial", "trial_number", None),
    ("name", "name", None),
    ("source", "source", None),
    ("status", "status", None),
    ("space", "space", None),
    ("arch", "arch", None),
    ("params (M)", "params", lambda r: (r["params"].astype(float) / 1e6).round(3)),
    ("MACs (M)", "macs", lambda r: (r["macs"].astype(float) / 1e6).round(2)),
    ("latency (ms)", "latency_ms", lambda r: r["latency_ms"].astype(float).round(3)),
    ("val acc (%)", "val_acc", lambda r: r["val_acc"].astype(float).round(2)),
    ("val acc std", "val_acc_std", lambda r: r["val_acc_std"].astype(float).round(2)),
    ("runs", "train_runs", None),
    ("test acc (%)", "test_acc", lambda r: r["test_acc"].astype(float).round(2)),
    ("train (s)", "train_s", lambda r: r["train_s"].astype(float).round(1)),
    ("reason", "error", None),
)
NUMERIC_COLUMNS = {
    "trial",
    "params (M)",
    "MACs (M)",
    "latency (ms)",
    "val acc (%)",
    "val acc std",
    "runs",
    "test acc (%)",
    "train (s)",
}


def trials_data(frame: pd.DataFrame, summaries: pd.Series) -> dict[str, Any]:
    """Every results row as JSON-ready columns and rows, for the table's script."""
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
    values = [[_json_scalar(v) for v in row] for row in table.itertuples(index=False)]
    labels = list(columns)
    return {"columns": labels, "numeric": [c in NUMERIC_COLUMNS for c in labels], "rows": values}


def _json_scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _trials_section(frame: pd.DataFrame, summaries: pd.Series) -> Section:
    section = Section("All trials", "trials")
    if not len(frame):
        section.parts.append(_missing("No results rows in the selected studies: no trial to list."))
        return section
    statuses = sorted(frame["status"].dropna().unique())
    options = "".join(f'<option value="{esc(s)}">{esc(s)}</option>' for s in statuses)
    section.parts.append(
        '<div class="controls"><label>Filter <input id="trials-filter" type="search" '
        'placeholder="text in any column" size="32"></label> '
        f'<label>Status <select id="trials-status"><option value="">any</option>{options}'
        '</select></label> <button id="trials-prev" type="button">« previous</button> '
        '<button id="trials-next" type="button">next »</button> <span id="trials-count"></span></div>'
        '<div class="table-wrap"><table id="trials-table" class="trials"><thead></thead><tbody></tbody>'
        "</table></div>"
    )
    section.parts.append(
        f'<script type="application/json" id="trials-data">{_script_json(trials_data(frame, summaries))}</script>'
    )
    section.parts.append(
        _note(
            "Click a column header to sort (again to reverse); the filter "
            "keeps rows containing the text in any column; 200 rows a page."
        )
    )
    return section


# ---------------------------------------------------------------- HTML


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no '<', '>' or '&' can end it or open a comment."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, separators=(",", ":"), allow_nan=False)
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1400px;
padding:0 24px 48px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin:24px 0 4px}h2{margin-top:36px;border-bottom:1px solid #ddd}
h3{font-size:1.05em;margin:20px 0 6px}nav a{margin-right:14px}
.meta{color:#666;font-size:.9em}.note{color:#555;font-size:.9em;margin:4px 0}
.missing{background:#fff4e5;border-left:4px solid #f0a030;padding:8px 12px;margin:8px 0}
table.overview{border-collapse:collapse;font-size:.9em}
table.overview th,table.overview td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
table.overview td.unset{color:#999;font-style:italic}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.figure{width:100%;min-height:300px}
.controls{margin:8px 0}.table-wrap{max-height:640px;overflow:auto;border:1px solid #ddd}
table.trials{border-collapse:collapse;font-size:.82em;width:100%}
table.trials th{position:sticky;top:0;background:#f4f4f4;cursor:pointer;user-select:none;
white-space:nowrap;padding:4px 6px;border-bottom:1px solid #ccc;text-align:left}
table.trials th[aria-sort=ascending]::after{content:" \\25B2"}
table.trials th[aria-sort=descending]::after{content:" \\25BC"}
table.trials td{padding:2px 6px;border-bottom:1px solid #eee;vertical-align:top}
table.trials td.num{text-align:right;font-variant-numeric:tabular-nums}
table.trials tr.status-failed td{color:#a01010}
"""

# Loader: parse each figure's JSON, fill hover text from the shared list (stored once, not once
# per figure), draw. Table: build rows with textContent only (never innerHTML), sort, filter.
SCRIPT = """
(function(){
  var hover = JSON.parse(document.getElementById('hover-data').textContent);
  var config = JSON.parse(document.getElementById('plotly-config').textContent);
  document.querySelectorAll('script.figure-data').forEach(function(node){
    var fig = JSON.parse(node.textContent);
    fig.data.forEach(function(trace){
      if (trace.meta && trace.meta.hover_rows){
        trace.hovertext = trace.meta.hover_rows.map(function(i){ return hover[i]; });
        delete trace.meta;
      }
    });
    Plotly.newPlot(document.getElementById(node.dataset.target), fig.data, fig.layout, config);
  });
  var dataNode = document.getElementById('trials-data');
  if (!dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var table = document.getElementById("trials-table"), tbody = table.tBodies[0];
  var filter = document.getElementById('trials-filter');
  var status = document.getElementById('trials-status');
  var count = document.getElementById('trials-count');
  var statusCol = data.columns.indexOf('status');
  var text = data.rows.map(function(r){
    return r.map(function(v){ return v === null ? '' : String(v); }).join(' \\u0001 ').toLowerCase();
  });
  var order = data.rows.map(function(_, i){ return i; });
  var sortCol = -1, sortDir = 1;
  var headRow = document.createElement('tr');
  data.columns.forEach(function(name, c){
    var th = document.createElement('th');
    th.textContent = name; th.scope = 'col';
    th.addEventListener('click', function(){ sortBy(c); });
    headRow.appendChild(th);
  });
  table.tHead.appendChild(headRow);
  function compare(a, b){
    var x = data.rows[a][sortCol], y = data.rows[b][sortCol];
    if (x === null && y === null) return a - b;
    if (x === null) return 1;
    if (y === null) return -1;
    var d = data.numeric[sortCol] ? x - y : String(x).localeCompare(String(y), undefined, {numeric: true});
    return d !== 0 ? sortDir * d : a - b;
  }
  function sortBy(c){
    sortDir = (sortCol === c) ? -sortDir : 1;
    sortCol = c;
    first = 0;
    order.sort(compare);
    Array.prototype.forEach.call(headRow.children, function(th, i){
      if (i === c) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    });
    render();
  }
  var pageSize = 200, first = 0;
  var prev = document.getElementById('trials-prev'), next = document.getElementById('trials-next');
  function render(){
    var q = filter.value.trim().toLowerCase(), st = status.value;
    var matching = order.filter(function(i){
      return (!st || data.rows[i][statusCol] === st) && (!q || text[i].indexOf(q) >= 0);
    });
    if (first >= matching.length) first = Math.max(0, matching.length - pageSize);
    var frag = document.createDocumentFragment();
    matching.slice(first, first + pageSize).forEach(function(i){
      var row = data.rows[i];
      var tr = document.createElement('tr');
      tr.className = 'status-' + String(row[statusCol]);
      row.forEach(function(v, c){
        var td = document.createElement('td');
        td.textContent = v === null ? '' : String(v);
        if (data.numeric[c]) td.className = 'num';
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    var last = Math.min(first + pageSize, matching.length);
    count.textContent = (matching.length ? (first + 1) + '\u2013' + last + ' of ' : '0 of ') +
      matching.length + ' matching rows (' + data.rows.length + ' in all)';
    prev.disabled = first === 0;
    next.disabled = last >= matching.length;
  }
  prev.addEventListener('click', function(){ first = Math.max(0, first - pageSize); render(); });
  next.addEventListener('click', function(){ first += pageSize; render(); });
  filter.addEventListener('input', function(){ first = 0; render(); });
  status.addEventListener('change', function(){ first = 0; render(); });
  render();
})();
"""


def _page_html(title: str, sections: list[Section], page: Page, hover: list[str]) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    import optuna

    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{"".join(s.parts)}</section>'
        for s in sections
    )
    figures = "".join(
        f'<script type="application/json" class="figure-data" data-target="{div_id}">'
        f"{_script_json(fig_json)}</script>"
        for div_id, fig_json in page.figures
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">Written {generated} by nasbench {esc(__version__)} '
        f"(plotly {esc(plotly.__version__)}, optuna {esc(optuna.__version__)}); "
        "self-contained: works offline.</p>"
        f"<nav>{nav}</nav>{body}"
        f'<script type="application/json" id="hover-data">{_script_json(hover)}</script>'
        f'<script type="application/json" id="plotly-config">{_script_json(PLOTLY_CONFIG)}</script>'
        f"{figures}"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"<script>{SCRIPT}</script>"
        "</body></html>\n"
    )
