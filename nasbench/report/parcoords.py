"""The parameters' parallel coordinates: the objectives and the most important parameters as axes.

A space samples dozens of parameters (mobilenet: 38, seven stages of five lists), and one axis
each cannot be read. The figure draws at most MAX_AXES axes: the study's objectives (accuracy on
the right, beside its colour bar) and, to their left, the parameters the report's PED-ANOVA
importance ranks highest, so the axes are the top bars of the importance figure below them.
With too few trials for importance, the scalar fields and the per-stage summaries come first.

Each per-stage list also gets one summary axis, which reads better than seven: the total of a
depth list ("depths total": blocks in all), the mean of any other list of numbers ("kernel_sizes
mean"), and the number of stages with the later of a list's two values ("se stages": stages with
squeeze-excite; "relu stages"). Names stay short: ten one-line labels fit side by side on a
1280 px page. They are offered for choosing, not ranked: importance is computed on the
sampled parameters only. Every other axis is embedded in the page (Axes.dimensions) for the
page's script to draw with Plotly.react when a reader ticks it.
"""

from __future__ import annotations

from html import escape as esc
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasbench.config import OBJECTIVES
from nasbench.report.info import is_number, value_order
from nasbench.results.vocabulary import SHOWN, Shown

MAX_AXES = 10
# beyond MAX_AXES (a reader's choice) labels tilt so as not to overlap, and need a higher margin;
# report.js applies the same rule
TILTED = -30
TOP_MARGINS = {False: 70, True: 110}
DEFAULT_OBJECTIVES = ("acc", "macs")


class Axes(NamedTuple):
    """Every axis one may draw, in the figure's left-to-right order, and those drawn first."""

    dimensions: list[dict[str, Any]]  # plotly parcoords dimensions (labels escaped)
    names: list[str]  # each axis's parameter, summary or objective name, plain text
    importance: list[float | None]  # each parameter's importance, None where not ranked
    shown: list[int]  # positions in `dimensions` of the axes drawn first


def stage_summaries(archs: pd.Series) -> pd.DataFrame:
    """One column per per-stage list field that differs between these archs: its total
    ("depths total") for a depth list, its mean ("kernel_sizes mean", 2 decimals) for other
    numbers, and for a list of two values the stages holding the later one: "se stages" (stages
    with squeeze-excite) for booleans, "relu stages" for relu/hardswish; none for other lists."""
    fields = dict.fromkeys(k for a in archs for k, v in a.items() if isinstance(v, list))
    columns = {}
    for field in fields:
        lists = [a.get(field) if isinstance(a.get(field), list) else None for a in archs]
        items = [item for v in lists if v for item in v]
        if not items or not all(isinstance(i, (int, float, str, bool)) for i in items):
            continue
        distinct = sorted(set(items), key=value_order)
        if is_number(distinct):
            name, summary = (
                (f"{field} total", sum)
                if "depth" in field
                else (f"{field} mean", lambda v: round(float(np.mean(v)), 2))
            )
        elif len(distinct) == 2:
            later = distinct[1]
            name = f"{field} stages" if later is True else f"{later} stages"
            summary = lambda v, later=later: sum(i == later for i in v)  # noqa: E731
        else:
            continue
        values = pd.Series([float(summary(v)) if v else np.nan for v in lists], index=archs.index)
        if values.nunique() > 1 and name not in columns:
            columns[name] = values
    return pd.DataFrame(columns, index=archs.index)


def objective_columns(objectives: list[str] | None) -> list[Shown]:
    """The study's objectives as shown columns, costs first and accuracy last."""
    shown = []
    for name in objectives or DEFAULT_OBJECTIVES:
        if name in OBJECTIVES:
            column = OBJECTIVES[name].column
            shown.append(SHOWN.get(column, Shown(column, column)))
    return sorted(shown, key=lambda s: s.column == "val_acc")


def parameter_order(
    flat: pd.DataFrame,
    summaries: pd.DataFrame,
    archs: pd.Series,
    importances: dict[str, float] | None,
) -> list[str]:
    """Parameters and summaries, most worth an axis first: by importance, then the summaries;
    without importance, the scalar fields and summaries before the per-stage parameters."""
    extra = [c for c in summaries.columns if c not in flat.columns]
    if importances:
        ranked = [c for c in importances if c in flat.columns]
        rest = [c for c in flat.columns if c not in importances]
        return [*ranked, *extra, *rest]
    per_stage_fields = {k for a in archs for k, v in a.items() if isinstance(v, list)}
    per_stage = [c for c in flat.columns if c.rpartition("_")[0] in per_stage_fields]
    first = [c for c in flat.columns if c not in per_stage]
    return [*first, *extra, *per_stage]


def choose_axes(
    flat: pd.DataFrame,
    rows: pd.DataFrame,
    objectives: list[str] | None,
    importances: dict[str, float] | None,
) -> Axes:
    """The parallel coordinates' axes of these rows (one per arch; `flat` their varying
    parameters): every parameter, summary and objective, the first MAX_AXES of them shown."""
    summaries = stage_summaries(rows["arch"])
    objective_axes = [
        s
        for s in objective_columns(objectives)
        if s.column in rows and rows[s.column].notna().all()
    ]
    order = parameter_order(flat, summaries, rows["arch"], importances)
    dims, names, weights = [], [], []
    for name in order:
        values = flat[name] if name in flat.columns else summaries[name]
        dims.append(_dimension(name, values))
        names.append(name)
        weights.append((importances or {}).get(name))
    n_parameters = len(dims)
    for shown in objective_axes:
        values = rows[shown.column].astype(float) * shown.scale
        dims.append(dict(label=esc(shown.label), values=values.to_numpy(np.float32)))
        names.append(shown.label)
        weights.append(None)
    first = list(range(min(n_parameters, MAX_AXES - len(objective_axes))))
    return Axes(dims, names, weights, first + list(range(n_parameters, len(dims))))


def _dimension(name: str, values: pd.Series) -> dict[str, Any]:
    # one line: a second one would run into the axis's range text below it
    label = esc(name)
    distinct = list(pd.unique(values.dropna()))
    if is_number(distinct):
        dim = dict(label=label, values=_compact(values.astype(float).to_numpy()))
        if len(distinct) <= 10:
            dim["tickvals"] = sorted(distinct)
        return dim
    categories = sorted(distinct, key=value_order)
    codes = values.map({v: i for i, v in enumerate(categories)})
    return dict(
        label=label,
        values=_compact(codes.astype(float).to_numpy()),
        tickvals=list(range(len(categories))),
        # parcoords tick text is plain SVG text (no pseudo-HTML): not escaped
        ticktext=[str(v) for v in categories],
    )


def _compact(values: np.ndarray) -> np.ndarray:
    """The smallest array type that holds the values exactly (base64 in the page: size matters)."""
    if np.isfinite(values).all() and (values == np.round(values)).all():
        for dtype in (np.int8, np.int16, np.int32):
            info = np.iinfo(dtype)
            if values.min() >= info.min and values.max() <= info.max:
                return values.astype(dtype)
    return values.astype(np.float32)


def parcoords_figure(axes: Axes, accuracy: pd.Series) -> go.Figure:
    """One line per arch through the shown axes, coloured by accuracy."""
    accuracy_label = SHOWN["val_acc"].label
    fig = go.Figure(
        go.Parcoords(
            dimensions=[axes.dimensions[i] for i in axes.shown],
            line=dict(
                color=accuracy.astype(float).to_numpy(np.float32),
                colorscale="Viridis",
                showscale=True,
                colorbar=dict(title=accuracy_label),
            ),
            labelangle=TILTED if len(axes.shown) > MAX_AXES else 0,
            labelside="top",
        )
    )
    top = TOP_MARGINS[len(axes.shown) > MAX_AXES]
    fig.update_layout(template="plotly_white", height=520, margin=dict(l=60, r=60, t=top, b=30))
    return fig
