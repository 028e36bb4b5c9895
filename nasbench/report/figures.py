"""The report's plotly figures, drawn from the plain data of nasbench.report.info."""

from __future__ import annotations

import math
from html import escape as esc
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from nasbench.config import OBJECTIVES
from nasbench.report.info import labels
from nasbench.report.load import Study
from nasbench.results.pareto import pareto_mask
from nasbench.results.vocabulary import SHOWN, Shown

COLORS = qualitative.Plotly
BASELINE_COLOR = "#222222"
ACCURACY = SHOWN["val_acc"]
# the y (x) value in plotly's hover text, an accuracy rounded as the tables round it
Y_ACCURACY = "%{y:." + str(ACCURACY.decimals) + "f} %"
X_ACCURACY = "%{x:." + str(ACCURACY.decimals) + "f} %"

# Trace names, legend groups and axis labels are plotly pseudo-HTML: user text in them is escaped.
# Hover text is not set here: a trace's meta.hover_rows lists the rows whose text (stored once in
# the page) the page's script fills in.


def study_colors(studies: list[Study]) -> dict[str, str]:
    """One colour per study, the same in every figure and in the overview table."""
    return {s.name: COLORS[i % len(COLORS)] for i, s in enumerate(studies)}


def _layout(height: int = 460) -> dict[str, Any]:
    return dict(
        template="plotly_white",
        height=height,
        margin=dict(l=60, r=20, t=30, b=50),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        hovermode="closest",
    )


def pareto_figure(
    studies: list[Study], usable: pd.DataFrame, cost: Shown, colors: dict[str, str]
) -> go.Figure | None:
    """Accuracy against one cost: each study's searched archs and front, and the reference
    models; `usable` are the evaluated rows with both values. None when there is nothing to draw."""
    fig = go.Figure()
    many = len(usable) > 500
    for s in studies:
        _add_true_front(fig, s, cost, colors[s.name])
        rows = usable[(usable["study_name"] == s.name) & (usable["source"] == "search")]
        if not len(rows):
            continue
        x = rows[cost.column].astype(float).to_numpy() * cost.scale
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
                x=baselines[cost.column].astype(float).to_numpy() * cost.scale,
                y=baselines["val_acc"].astype(float).to_numpy(),
                mode="markers+text",
                name="reference models",
                text=[esc(label) for label in labels(baselines)],
                textposition="top center",
                textfont=dict(size=11, color=BASELINE_COLOR),
                marker=dict(symbol="diamond", size=11, color=BASELINE_COLOR),
                hoverinfo="text",
                meta={"hover_rows": baselines.index.tolist()},
            )
        )
    if not fig.data:
        return None
    fig.update_layout(
        xaxis=dict(type="log", title=cost.label),
        yaxis=dict(title=ACCURACY.label),
        **_layout(),
    )
    return fig


def _add_true_front(fig: go.Figure, study: Study, cost: Shown, color: str) -> None:
    """A benchmark study's true front of this cost (stored with the study), drawn dashed under
    the found one."""
    objectives = study.attrs.get("objectives") or []
    true_front = pd.DataFrame(study.attrs.get("true_front") or [])
    # a front of accuracy against one cost is drawn on that cost's panel only
    if len(objectives) != 2 or OBJECTIVES[objectives[1]].column != cost.column:
        return
    if cost.column not in true_front.columns:  # not a benchmark study
        return
    true_front = true_front.sort_values(cost.column, kind="stable")
    name = (study.attrs.get("benchmark") or {}).get("name", "benchmark")
    fig.add_trace(
        go.Scatter(
            x=true_front[cost.column].astype(float).to_numpy() * cost.scale,
            y=true_front["val_acc"].astype(float).to_numpy(),
            mode="lines+markers",
            line_shape="hv",
            name=f"{esc(study.name)}: true front of {esc(name)}",
            legendgroup=esc(study.name),
            line=dict(color=color, width=1.5, dash="dash"),
            marker=dict(color=color, size=5, symbol="circle-open"),
            opacity=0.6,
            text=[esc(str(a)) for a in true_front.get("arch", [])],
            hovertemplate="%{text}<br>" + Y_ACCURACY + " at %{x}<extra>true front</extra>",
        )
    )


def best_accuracy_figure(
    studies: list[Study], histories: dict[str, pd.DataFrame], colors: dict[str, str]
) -> go.Figure:
    """Each study's trials' accuracy in trial order, and the best so far."""
    fig = go.Figure()
    for s in studies:
        rows = histories[s.name]
        if not len(rows):
            continue
        x = rows["trial_number"].astype(float).to_numpy()
        y = rows["val_acc"].astype(float).to_numpy()
        fig.add_trace(
            go.Scatter(
                x=x.astype(np.float32),
                y=y.astype(np.float32),
                mode="markers",
                name=f"{esc(s.name)} trials",
                legendgroup=esc(s.name),
                marker=dict(color=colors[s.name], size=4, opacity=0.3),
                hovertemplate="trial %{x}: " + Y_ACCURACY + "<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x.astype(np.float32),
                y=np.maximum.accumulate(y).astype(np.float32),
                mode="lines",
                line_shape="hv",
                name=f"{esc(s.name)} best",
                legendgroup=esc(s.name),
                line=dict(color=colors[s.name], width=2),
                hovertemplate="after trial %{x}: best " + Y_ACCURACY + "<extra></extra>",
            )
        )
    fig.update_layout(xaxis_title="trial", yaxis_title=ACCURACY.label, **_layout(380))
    return fig


def hypervolume_figure(
    studies: list[Study],
    histories: dict[str, pd.DataFrame],
    curves: dict[str, np.ndarray],
    colors: dict[str, str],
) -> go.Figure:
    """Each study's hypervolume curve (`curves`, one value per row of its history) by trial."""
    fig = go.Figure()
    for s in studies:
        if s.name not in curves:
            continue
        fig.add_trace(
            go.Scatter(
                x=histories[s.name]["trial_number"].astype(float).to_numpy(np.float32),
                y=curves[s.name].astype(np.float32),
                mode="lines",
                line_shape="hv",
                name=esc(s.name),
                line=dict(color=colors[s.name], width=2),
                hovertemplate="after trial %{x}: %{y:.4f}<extra>" + esc(s.name) + "</extra>",
            )
        )
    fig.update_layout(xaxis_title="trial", yaxis_title="hypervolume", **_layout(380))
    return fig


def importance_figure(importances: dict[str, float]) -> go.Figure:
    """Horizontal bars of parameter importance, the most important on top."""
    # drawn here rather than with optuna.visualization.plot_param_importances, whose hover text
    # deep-copies every trial once per parameter (minutes for 1,000 trials of 40 parameters)
    names = list(importances)[::-1]
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


def fidelity_scatter_figure(rows: pd.DataFrame, summary: pd.DataFrame) -> go.Figure:
    """One panel per budget: each sampled arch's proxy value against the table's truth."""
    from plotly.subplots import make_subplots

    budgets = summary["budget"].tolist()
    tau = dict(zip(summary["budget"], summary["kendall_tau"], strict=True))
    columns = min(4, len(budgets))
    n_rows = -(-len(budgets) // columns)
    fig = make_subplots(
        rows=n_rows,
        cols=columns,
        horizontal_spacing=0.06,
        vertical_spacing=0.12,
        subplot_titles=[f"{esc(b)} (tau {tau[b]:.2f})" for b in budgets],
    )
    for k, budget in enumerate(budgets):
        group = rows[rows["budget"] == budget]
        fig.add_trace(
            go.Scatter(
                x=group["proxy"].astype(float),
                y=group["truth_acc"].astype(float),
                mode="markers",
                showlegend=False,
                marker=dict(size=6, color=qualitative.Plotly[0]),
                text=[esc(str(n)) for n in group["name"]],
                hovertemplate="%{text}<br>proxy %{x:.4g}<br>truth %{y:.2f} %<extra></extra>",
            ),
            row=k // columns + 1,
            col=k % columns + 1,
        )
    fig.update_yaxes(title_text="truth (%)", col=1)
    fig.update_layout(**{**_layout(300 * n_rows), "title": "proxy against full training"})
    return fig


def fidelity_cost_figure(summary: pd.DataFrame) -> go.Figure:
    """Kendall tau (bootstrap 95 % interval) against seconds per arch, one point per budget."""
    seconds = summary["seconds_per_arch"].astype(float).clip(lower=1e-3)
    fig = go.Figure(
        go.Scatter(
            x=seconds,
            y=summary["kendall_tau"],
            mode="markers+text",
            text=[esc(str(b)) for b in summary["budget"]],
            textposition="top center",
            error_y=dict(
                type="data",
                symmetric=False,
                array=summary["kendall_tau_high"] - summary["kendall_tau"],
                arrayminus=summary["kendall_tau"] - summary["kendall_tau_low"],
            ),
            marker=dict(size=9, color=qualitative.Plotly[1]),
            hovertemplate="%{text}<br>tau %{y:.3f}<br>%{x:.3g} s an arch<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis=dict(type="log", title="seconds per arch (free proxies at 0.001)"),
        yaxis=dict(title="Kendall tau against the truth", range=[-1, 1]),
        **_layout(),
    )
    return fig


def retrained_figure(table: pd.DataFrame, tau: float) -> go.Figure:
    """Each retrained trial's proxy accuracy against its retrained test accuracy (mean, and the
    standard deviation over seeds as an error bar): how well the proxy ranked, by the user's own
    measure."""
    trials = table[table["proxy_acc"].notna()]
    accuracies = f"proxy {X_ACCURACY}<br>retrained test {Y_ACCURACY}"
    fig = go.Figure(
        go.Scatter(
            x=trials["proxy_acc"].astype(float),
            y=trials["test_acc_mean"].astype(float),
            error_y=dict(type="data", array=trials["test_acc_std"].astype(float).fillna(0)),
            mode="markers",
            marker=dict(size=8, color=qualitative.Plotly[0]),
            text=[esc(str(n)) for n in trials["name"]],
            customdata=trials["seeds"],
            hovertemplate="%{text}<br>" + accuracies + " (%{customdata} seeds)<extra></extra>",
        )
    )
    title = "proxy against retrained" + ("" if math.isnan(tau) else f" (Kendall tau {tau:.2f})")
    fig.update_layout(
        xaxis=dict(title=SHOWN["proxy_acc"].label),
        yaxis=dict(title=f"retrained {SHOWN['test_acc'].label}"),
        **{**_layout(), "title": title},
    )
    return fig
