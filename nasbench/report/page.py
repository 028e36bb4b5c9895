"""The report's HTML page: its sections, the figures' JSON, the CSS and script; write_report."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape as esc
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd
import plotly
import plotly.graph_objects as go
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs

from nasbench import __version__
from nasbench.config import LATENCY_BUDGET_S
from nasbench.errors import UsageError
from nasbench.report import figures, info, parcoords
from nasbench.report.load import Study, load_studies, select_studies
from nasbench.results.formats import Column, human_cells
from nasbench.results.latency import on_device
from nasbench.results.pareto import REFERENCE_COST_MARGIN
from nasbench.results.publishable import (
    has_retrained_rows,
    publishable_columns,
    publishable_table,
)
from nasbench.results.ranking import fidelity_rows, rank_agreement, summarize_fidelity
from nasbench.results.vocabulary import COSTS

IMPORTANCE_MIN_TRIALS = 20  # PED-ANOVA compares the top 10 % with the rest: it needs 2 on top
# parallel coordinates are WebGL: without a GPU (software rendering) 10,000 lines take a minute
PARCOORDS_MAX_LINES = 1000
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

# report.js: parses each figure's JSON, fills its hover text from the shared list (stored once,
# not once per figure) and draws it; redraws parallel coordinates with the axes ticked; builds
# the trials table with textContent only (never innerHTML), sorts and filters it.
CSS = files("nasbench.report").joinpath("report.css").read_text(encoding="utf-8")
SCRIPT = files("nasbench.report").joinpath("report.js").read_text(encoding="utf-8")


@dataclass
class Section:
    """One section of the page: a heading (and its anchor in the navigation) and HTML parts."""

    title: str
    anchor: str
    parts: list[str] = field(default_factory=list)  # HTML fragments, in order


class Page:
    """Collects figures (as JSON for the loader script) and the HTML around them."""

    def __init__(self) -> None:
        self.figures: list[tuple[str, str]] = []  # (div id, figure JSON)
        self.axes: list[tuple[str, str]] = []  # (div id, JSON of every axis one may choose)

    def figure(self, fig: go.Figure, css_class: str = "figure") -> str:
        div_id = f"fig-{len(self.figures)}"
        self.figures.append((div_id, fig.to_json()))
        return f'<div id="{div_id}" class="{css_class}"></div>'

    def parcoords(self, axes: parcoords.Axes, accuracy: pd.Series) -> str:
        """Parallel coordinates of the shown axes, under a checkbox per axis that redraws them."""
        figure = self.figure(parcoords.parcoords_figure(axes, accuracy))
        div_id = self.figures[-1][0]
        choices = {
            "dimensions": axes.dimensions,
            "max_axes": parcoords.MAX_AXES,
            "tilted": parcoords.TILTED,
            "top_margins": [parcoords.TOP_MARGINS[False], parcoords.TOP_MARGINS[True]],
        }
        self.axes.append((div_id, to_json_plotly(choices)))
        boxes = "".join(
            f'<label><input type="checkbox" value="{i}"{" checked" if i in axes.shown else ""}>'
            f"{esc(name)}"
            + ("" if weight is None else f' <span class="weight">{weight:.2f}</span>')
            + "</label>"
            for i, (name, weight) in enumerate(zip(axes.names, axes.importance, strict=True))
        )
        return (
            f'<details class="axes-chooser"><summary>Axes: <span class="axes-count">'
            f"{len(axes.shown)} of {len(axes.names)}</span> shown; choose others</summary>"
            f'<fieldset data-target="{div_id}"><legend>Axes left to right (importance beside '
            f"each ranked parameter)</legend>{boxes}</fieldset></details>{figure}"
        )


def write_report(
    url: str,
    study_names: list[str] | None = None,
    output: str | None = None,
    latency_device: str | None = None,
) -> Path:
    """Write the HTML report of the named studies (all in the database when None); return its path.
    `latency_device`: show the latency measured on that device (nasbench measure --label).

    Default path: reports/<study>.html, or reports/<a>_vs_<b>.html for several studies; an
    `output` that is a folder gets that file name inside it.
    """
    selection = select_studies(url, study_names)
    path = Path(output) if output else Path("reports") / f"{_file_stem(selection.names)}.html"
    if output and path.is_dir():  # a folder: the default file name inside it
        path = path / f"{_file_stem(selection.names)}.html"
    if output and not path.parent.is_dir():
        raise UsageError(f"cannot write {output}: folder {path.parent} does not exist")
    studies = load_studies(url, selection)
    if latency_device is not None:
        everything = pd.concat([s.rows for s in studies]) if studies else pd.DataFrame()
        on_label = on_device(everything, latency_device)  # one line when unknown
        for s in studies:
            s.rows = on_label[on_label["study_name"] == s.name]
    page = render_report(studies)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _file_stem(names: list[str]) -> str:
    stem = "_vs_".join(re.sub(r"[^A-Za-z0-9._-]+", "_", n).strip("._") or "study" for n in names)
    return stem[:150]


def render_report(studies: list[Study]) -> str:
    """The whole HTML page for these studies."""
    page = Page()
    rows = info.report_rows(studies)
    hover = info.hover_texts(rows.evaluated, rows.summaries)
    colors = figures.study_colors(studies)
    fidelity = [s for s in studies if len(fidelity_rows(s.rows))]
    searches = [s for s in studies if s not in fidelity]
    sections = [_overview_section(studies, colors)]
    if fidelity:
        sections.append(_fidelity_section(page, fidelity))
    if searches or not fidelity:
        sections += [
            _pareto_section(page, searches or studies, rows.evaluated, colors),
            _history_section(page, searches or studies, colors),
            _parameters_section(page, searches or studies, rows.evaluated),
        ]
    retrained = [s for s in searches if has_retrained_rows(s.rows)]
    if retrained:
        sections.insert(2, _retrained_section(page, retrained))
    sections.append(_trials_section(rows.frame, rows.summaries))
    title = "nasbench report: " + " vs ".join(s.name for s in studies)
    return _page_html(title, sections, page, hover)


SEARCH_LATENCY_NOTE = (
    "A search times each trial's latency in a few milliseconds (a handful of timed blocks at the "
    "proxy's input size): enough to rank architectures where latency is an objective or a limit, "
    "and only recorded where it is not. These are not figures to quote: <code>nasbench "
    f"measure</code> re-measures a study's architectures with the full budget ({LATENCY_BUDGET_S:g} s "
    "each by default), and <code>nasbench report --latency-device LABEL</code> plots those."
)


def _missing(text: str) -> str:
    return f'<p class="missing">{text}</p>'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


# ---------------------------------------------------------------- sections


def _overview_section(studies: list[Study], colors: dict[str, str]) -> Section:
    section = Section("Studies", "studies")
    table = [info.overview_rows(s) for s in studies]
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
    for s in studies:
        bench = s.attrs.get("benchmark")
        if bench:
            section.parts.append(_note(info.benchmark_note(s.name, bench)))
    for cost in COSTS:
        usable = info.plottable(evaluated, cost.column)
        searched = usable[usable["source"] == "search"]
        section.parts.append(f"<h3>Accuracy against {esc(cost.label)}</h3>")
        if cost.column == "latency_ms" and len(searched):
            section.parts.append(_note(SEARCH_LATENCY_NOTE))
        for s in studies:
            n_usable = int((searched["study_name"] == s.name).sum())
            n_searched = int((s.rows["source"] == "search").sum()) if len(s.rows) else 0
            if n_usable == 0 and n_searched:
                section.parts.append(
                    _missing(
                        f"Study {esc(s.name)}: no evaluated architecture has both an "
                        f"accuracy and {esc(cost.label)}, so there is no front to draw."
                    )
                )
            elif n_usable == 1:
                section.parts.append(
                    _note(
                        f"Study {esc(s.name)} has one evaluated architecture: its front is "
                        "that single point."
                    )
                )
        fig = figures.pareto_figure(studies, usable, cost, colors)
        if fig is None:
            section.parts.append(
                _missing(
                    f"Nothing to plot: no study has an evaluated architecture with both an "
                    f"accuracy and {esc(cost.label)}"
                    + (" (latency was not measured?)" if cost.column == "latency_ms" else "")
                    + "."
                )
            )
        else:
            section.parts.append(page.figure(fig))
    return section


def _fidelity_section(page: Page, studies: list[Study]) -> Section:
    section = Section("Proxy fidelity", "fidelity")
    section.parts.append(
        _note(
            "How well each proxy budget ranks the sampled architectures against the benchmark's "
            "full-training accuracy: Kendall tau with a bootstrap 95 % interval, Spearman rho, "
            "and the share of the truth's top 20 % that the proxy's top 20 % holds. Params and "
            "MACs are free baselines: a trained budget earns its cost only where it beats them."
        )
    )
    for s in studies:
        rows = fidelity_rows(s.rows)
        summary = summarize_fidelity(s.rows)
        sample = s.attrs.get("fidelity") or {}
        section.parts.append(
            f"<h3>{esc(s.name)}</h3>"
            + _note(
                f"{esc(str(sample.get('archs', '?')))} archs of {esc(str(sample.get('benchmark')))}"
                f" (truth: {esc(str(sample.get('truth')))}), trained on "
                f"{esc(str(sample.get('dataset')))}; sample seed {esc(str(sample.get('seed')))}."
            )
        )
        section.parts.append(
            summary.round(3).to_html(index=False, classes="trials", border=0, na_rep="-")
        )
        section.parts.append(page.figure(figures.fidelity_cost_figure(summary)))
        section.parts.append(page.figure(figures.fidelity_scatter_figure(rows, summary)))
    return section


def _retrained_section(page: Page, studies: list[Study]) -> Section:
    section = Section("Retrained", "retrained")
    section.parts.append(
        _note(
            "Trials retrained by <code>nasbench retrain</code> (longer recipe, whole training "
            "split, several seeds) beside the baselines of the same study, sorted by MACs; test "
            "accuracy is the mean over seeds ± its standard deviation. The scatter is the "
            "proxy's ranking judged by the retrained accuracy."
        )
    )
    for s in studies:
        table = publishable_table(s.rows)
        shown, columns = publishable_columns(table, "md")
        trials = table[table["proxy_acc"].notna()]
        tau = rank_agreement(trials["proxy_acc"], trials["test_acc_mean"])["kendall_tau"]
        section.parts.append(f"<h3>{esc(s.name)}</h3>")
        section.parts.append(_table_html(shown, columns))
        section.parts.append(page.figure(figures.retrained_figure(table, tau)))
    return section


def _table_html(frame: pd.DataFrame, columns: list[Column]) -> str:
    """A table as people read it (labels, scales, decimals, as `table` prints it), in HTML."""
    text, _ = human_cells(frame, columns)
    return text.to_html(index=False, classes="trials", border=0, na_rep="-")


def _history_section(page: Page, studies: list[Study], colors: dict[str, str]) -> Section:
    section = Section("History", "history")
    histories = {s.name: info.history_rows(s.rows) for s in studies}
    for s in studies:
        n = len(histories[s.name])
        if not n:
            section.parts.append(
                _missing(
                    f"Study {esc(s.name)}: no searched trial with an accuracy yet, so no history."
                )
            )
        elif n == 1:
            section.parts.append(
                _note(f"Study {esc(s.name)} has one evaluated trial: its history is one point.")
            )
    if not any(len(r) for r in histories.values()):
        return section

    section.parts.append("<h3>Best accuracy over trials</h3>")
    section.parts.append(page.figure(figures.best_accuracy_figure(studies, histories, colors)))

    cost = info.hypervolume_cost(studies)
    section.parts.append(f"<h3>Hypervolume over trials (accuracy against {esc(cost.label)})</h3>")
    reference = info.hypervolume_reference(list(histories.values()), cost.column)
    if reference is None:
        section.parts.append(_missing(f"No evaluated trial has {esc(cost.label)}: no hypervolume."))
        return section
    curves = {
        name: info.hypervolume_curve(rows, cost.column, reference)
        for name, rows in histories.items()
        if len(rows)
    }
    section.parts.append(
        _note(
            f"Area dominated by the front in (accuracy / 100, {esc(cost.label)} / reference) "
            f"with reference point (0 %, {REFERENCE_COST_MARGIN:g} × the largest "
            f"{esc(cost.label)} in this report): 1 would be 100 % accuracy at no cost. Computed "
            "from the results rows, the same for every study."
        )
    )
    section.parts.append(
        page.figure(figures.hypervolume_figure(studies, histories, curves, colors))
    )
    return section


def _parameters_section(page: Page, studies: list[Study], evaluated: pd.DataFrame) -> Section:
    section = Section("Architecture parameters", "parameters")
    section.parts.append(
        _note(
            "Parallel coordinates: one line per evaluated architecture of the study, coloured "
            f"by accuracy, on at most {parcoords.MAX_AXES} axes: the study's objectives and the "
            "parameters ranked most important below (without a ranking, the single fields and "
            "the per-stage summaries). Per-stage lists are split into field_0, field_1, ... and "
            "summarised as a total (depths), a mean (other numbers) or the number of stages "
            "with a value; tick others under <i>Axes</i>; drag along an axis to filter. "
            "Parameter importance: PED-ANOVA (optuna.importance) of each parameter for reaching "
            "the top 10 % of accuracy, computed from the results rows."
        )
    )
    for s in studies:
        rows = info.parameter_rows(evaluated, s.name)
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
        flat, constant = info.flat_params(rows)
        if constant:
            section.parts.append(_note("Same in every architecture: " + esc(", ".join(constant))))
        if flat.shape[1] == 0:
            section.parts.append(
                _missing("Every architecture of this study is the same: nothing to compare.")
            )
            continue
        n = len(rows)
        enough = n >= IMPORTANCE_MIN_TRIALS
        importances = info.parameter_importances(flat, rows["val_acc"]) if enough else None
        if n > PARCOORDS_MAX_LINES:
            keep = info.seeded_sample(n, PARCOORDS_MAX_LINES)
            section.parts.append(
                _note(
                    f"Parallel coordinates of a random sample of {PARCOORDS_MAX_LINES} of the "
                    f"{n} architectures (seed 0)."
                )
            )
            flat, rows = flat.iloc[keep], rows.iloc[keep]
        axes = parcoords.choose_axes(flat, rows, s.attrs.get("objectives"), importances)
        section.parts.append(page.parcoords(axes, rows["val_acc"]))
        if importances is None:
            section.parts.append(
                _missing(
                    f"Parameter importance needs at least {IMPORTANCE_MIN_TRIALS} evaluated "
                    f"architectures; study {esc(s.name)} has {n}."
                )
            )
            continue
        if n > info.IMPORTANCE_MAX_TRIALS:
            section.parts.append(
                _note(
                    f"Importance from a random sample of {info.IMPORTANCE_MAX_TRIALS} of the "
                    f"{n} architectures (seed 0)."
                )
            )
        section.parts.append(
            page.figure(figures.importance_figure(importances), "figure importance")
        )
    return section


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
    data = _script_json(info.trials_data(frame, summaries))
    section.parts.append(f'<script type="application/json" id="trials-data">{data}</script>')
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


def _page_html(title: str, sections: list[Section], page: Page, hover: list[str]) -> str:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    import optuna

    nav = "".join(f'<a href="#{s.anchor}">{esc(s.title)}</a>' for s in sections)
    body = "".join(
        f'<section id="{s.anchor}"><h2>{esc(s.title)}</h2>{"".join(s.parts)}</section>'
        for s in sections
    )
    figure_data = "".join(
        f'<script type="application/json" class="figure-data" data-target="{div_id}">'
        f"{_script_json(fig_json)}</script>"
        for div_id, fig_json in page.figures
    ) + "".join(
        f'<script type="application/json" class="axes-data" data-target="{div_id}">'
        f"{_script_json(axes_json)}</script>"
        for div_id, axes_json in page.axes
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>\n{CSS}</style></head><body>"
        f"<h1>{esc(title)}</h1>"
        f'<p class="meta">Written {generated} by nasbench {esc(__version__)} '
        f"(plotly {esc(plotly.__version__)}, optuna {esc(optuna.__version__)}); "
        "self-contained: works offline.</p>"
        f"<nav>{nav}</nav>{body}"
        f'<script type="application/json" id="hover-data">{_script_json(hover)}</script>'
        f'<script type="application/json" id="plotly-config">{_script_json(PLOTLY_CONFIG)}</script>'
        f"{figure_data}"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"<script>\n{SCRIPT}</script>"
        "</body></html>\n"
    )
