"""The figure of a sampler comparison (`nasbench compare-samplers --output`): plotly, no torch."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots


def compare_figure(summary: pd.DataFrame) -> Any:
    """A plotly figure of `compare_samplers`' frame: reported accuracy (mean +- std band) per trial
    count for each sampler, and the hypervolume ratio beside it when the frame has one."""
    panels = [("test_acc", "reported accuracy of the best-by-selection arch (%)")]
    if "hv_ratio_mean" in summary.columns:
        panels.append(("hv_ratio", "hypervolume / true front's"))
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
                go.Scatter(
                    x=band_x,
                    y=band_y,
                    fill="toself",
                    fillcolor=color,
                    opacity=0.15,
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=name,
                ),
                row=1,
                col=col,
            )
            figure.add_trace(
                go.Scatter(
                    x=rows["trial"],
                    y=mean,
                    mode="lines",
                    line={"color": color},
                    name=f"{name} ({seeds} seeds)",
                    legendgroup=name,
                    showlegend=col == 1,
                    customdata=std,
                    hovertemplate="%{y:.3f} +- %{customdata:.3f}",
                ),
                row=1,
                col=col,
            )
            figure.update_xaxes(title_text="trials", row=1, col=col)
    figure.update_layout(title="Search strategies on a benchmark table (mean +- std over seeds)")
    return figure
