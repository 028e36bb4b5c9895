"""The report's parameter view and failure reasons, read in a real headless Chromium at 1280 px:
parallel coordinates of at most 10 axes whose labels do not overlap, other axes chosen in the
page, and long reasons that open on click. Screenshots go to /tmp/report_shots/ for a person."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
from test_report import OpenedPage, browser  # noqa: F401 (browser: a fixture)

from nasbench.arch import arch_hash
from nasbench.report.page import write_report
from nasbench.report.parcoords import MAX_AXES, choose_axes, stage_summaries
from nasbench.results import store
from nasbench.spaces import load_space

SHOTS = Path("/tmp/report_shots")
WIDTH = 1280
LONG_ERROR = (
    "RuntimeError: mat1 and mat2 shapes cannot be multiplied (64x1568 and 3136x10) in head.fc: "
    "the backbone's last map is 7x7x32 but the head was built for 14x14x16, raised at "
    "/usr/lib/python3/dist-packages/torch/nn/modules/linear.py:125:forward_" + "x" * 120
)
PRUNED = (
    "stopped early at epoch 2/10: val_acc 11.2% trails a finished trial that costs no more "
    "(54.3% at that epoch)"
)
# the axis titles' boxes that overlap one another, measured in the page
OVERLAPS = """div => {
  const boxes = Array.from(div.querySelectorAll('.axis-title')).map(t => t.getBoundingClientRect());
  const pairs = [];
  boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => {
    if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom)
      pairs.push([i, i + 1 + j]);
  }));
  return pairs;
}"""
AXES = "div => div.data[0].dimensions.map(d => d.label)"


def _write_study(url: str, space_name: str, trials: int) -> str:
    """A study of the space's own sampled archs with made-up results: accuracy grows with the
    total depth; trial 3 failed with a long reason, trial 5 was pruned."""
    space = load_space(space_name)
    name = f"{space_name}_digits"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    rng = random.Random(0)
    for number in range(trials):
        arch = space.suggest(sampler.ask())
        depth = sum(arch["depths"])
        macs = int(1e5 * depth * (1 + rng.random()))
        row = {
            "study_name": name,
            "trial_number": number,
            "source": "search",
            "name": f"trial {number}",
            "space": space_name,
            "arch": arch,
            "arch_hash": arch_hash(arch),
            "status": "complete",
            "val_acc": 60 + 3 * depth + rng.uniform(-2, 2),
            "macs": macs,
            "params": macs // 10,
            "latency_ms": 1.0,
            "dataset": "digits",
        }
        if number == 3:
            row.update(status="failed", error=LONG_ERROR, val_acc=None, macs=None, params=None)
        elif number == 5:
            row.update(status="pruned", error=PRUNED)
        store.write_result(url, row)
    study = optuna.create_study(study_name=name, storage=url, directions=["maximize", "minimize"])
    study.set_user_attr("objectives", ["acc", "macs"])
    study.set_user_attr("space", space_name)
    return name


@pytest.fixture(scope="module")
def reports(browser, tmp_path_factory) -> Iterator[dict[str, OpenedPage]]:  # noqa: F811
    folder = tmp_path_factory.mktemp("parameters")
    url = f"sqlite:///{folder / 'nasbench.db'}"
    names = {"mobilenet": _write_study(url, "mobilenet", 40), "swin": _write_study(url, "swin", 30)}
    opened = {
        space: OpenedPage(browser, write_report(url, [name], str(folder / f"{name}.html")), WIDTH)
        for space, name in names.items()
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield opened
    for page in opened.values():
        page.page.close()


def _parcoords(opened: OpenedPage):
    return opened.page.locator("#parameters .js-plotly-plot").first


@pytest.mark.slow
@pytest.mark.parametrize("space", ["mobilenet", "swin"])
def test_parallel_coordinates_show_at_most_10_axes_with_labels_apart(reports, space):
    opened = reports[space]
    figure = _parcoords(opened)
    labels = figure.evaluate(AXES)
    assert opened.errors == []
    assert 2 < len(labels) <= MAX_AXES
    assert labels[-2:] == ["MACs (M)", "val acc (%)"]  # the study's objectives, accuracy last
    # the parameters the importance figure ranks highest, in its order
    bars = opened.page.locator("#parameters .importance .ytick text").all_text_contents()[::-1]
    assert labels[:-2] == bars[: len(labels) - 2]
    assert figure.evaluate(OVERLAPS) == []
    assert figure.bounding_box()["width"] <= WIDTH
    opened.page.locator("#parameters").screenshot(path=SHOTS / f"{space}_parameters.png")


@pytest.mark.slow
def test_ticking_an_axis_redraws_the_figure_with_it(reports):
    opened = reports["mobilenet"]
    page, figure = opened.page, _parcoords(opened)
    chooser = page.locator("#parameters details.axes-chooser").first
    chooser.locator("summary").click()
    shown = figure.evaluate(AXES)
    assert chooser.locator("summary").inner_text().startswith(f"Axes: {len(shown)} of 45 shown")
    # 38 parameters, 5 per-stage summaries, 2 objectives
    assert chooser.locator("input[type=checkbox]").count() == 45
    for parameter in shown[:2]:
        chooser.get_by_label(re.compile(rf"^{parameter} ")).uncheck()
    for summary in ("depths total", "kernel_sizes mean"):
        chooser.get_by_label(summary, exact=True).check()
    labels = figure.evaluate(AXES)
    assert set(shown[:2]) & set(labels) == set()
    assert {"depths total", "kernel_sizes mean"} <= set(labels)
    assert len(labels) == len(shown) and labels[-1] == "val acc (%)"
    assert chooser.locator("summary").inner_text().startswith(f"Axes: {len(labels)} of 45")
    assert figure.evaluate(OVERLAPS) == [] and opened.errors == []
    assert opened.requests == [opened.path.as_uri()]  # drawn from the page itself: offline
    page.locator("#parameters").screenshot(path=SHOTS / "mobilenet_parameters_chosen.png")


@pytest.mark.slow
@pytest.mark.parametrize("space", ["mobilenet", "swin"])
def test_long_reasons_open_on_click_and_short_ones_wrap_in_the_page(reports, space):
    page = reports[space].page
    page.fill("#trials-filter", "mat1 and mat2")
    cell = page.locator("#trials-table td.reason")
    assert cell.count() == 1
    details = cell.locator("details")
    assert details.locator("summary").inner_text().endswith("…")
    assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")
    page.locator("#trials").screenshot(path=SHOTS / f"{space}_trials_failed_closed.png")
    details.locator("summary").click()
    assert details.evaluate("d => d.open") is True
    assert LONG_ERROR in cell.inner_text().replace("\n", "")
    wrap = page.locator("#trials .table-wrap")
    assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")
    assert wrap.evaluate("w => w.scrollWidth <= w.clientWidth")  # no column beyond the edge
    page.locator("#trials").screenshot(path=SHOTS / f"{space}_trials_failed.png")
    page.fill("#trials-filter", "")
    page.select_option("#trials-status", "pruned")
    assert cell.inner_text() == PRUNED and cell.locator("details").count() == 0
    assert cell.evaluate("td => td.scrollWidth <= td.clientWidth")
    page.locator("#trials").screenshot(path=SHOTS / f"{space}_trials_pruned.png")
    page.select_option("#trials-status", "")


ARCHS = [
    {"width": 0.5, "depths": [1, 2], "kernels": [3, 5], "se": [False, True], "act": ["relu"] * 2},
    {"width": 1.0, "depths": [2, 2], "kernels": [7, 5], "se": [True, True], "act": ["relu"] * 2},
    {"width": 0.5, "depths": [1, 1], "kernels": [3, 3], "se": [False, False], "act": ["relu"] * 2},
]


def test_per_stage_lists_are_summarised_as_total_depth_mean_and_stages_with_a_value():
    summaries = stage_summaries(pd.Series(ARCHS, index=[4, 5, 6]))
    # act is the same everywhere: no summary
    assert list(summaries.columns) == ["depths total", "kernels mean", "se stages"]
    assert summaries.loc[5].tolist() == [4.0, 6.0, 2.0] and summaries.index.tolist() == [4, 5, 6]
    two_values = stage_summaries(pd.Series([{"act": ["relu", "hardswish"]}, {"act": ["relu"] * 2}]))
    assert two_values["relu stages"].tolist() == [1.0, 2.0]


def test_axes_are_the_top_ranked_parameters_then_the_objectives_at_most_ten():
    flat = pd.DataFrame({f"p_{i}": [i % 3, 1, 2] for i in range(12)})
    rows = pd.DataFrame({"arch": ARCHS, "macs": [1e6, 2e6, 3e6], "val_acc": [50.0, 60.0, 70.0]})
    ranked = {f"p_{i}": 1 / (i + 1) for i in reversed(range(12))}
    axes = choose_axes(
        flat, rows, ["acc", "macs"], dict(sorted(ranked.items(), key=lambda kv: -kv[1]))
    )
    shown = [axes.names[i] for i in axes.shown]
    assert shown == [*(f"p_{i}" for i in range(8)), "MACs (M)", "val acc (%)"]
    assert axes.names[12:15] == ["depths total", "kernels mean", "se stages"]  # offered, not ranked
    assert axes.importance[0] == 1.0 and axes.importance[12] is None
    # without a ranking, single fields and summaries first; a latency objective with no values
    # measured is left out
    flat = pd.DataFrame({"width": [0.5, 1.0, 0.5], "depths_0": [1, 2, 1], "kernels_0": [3, 7, 3]})
    axes = choose_axes(flat, rows.assign(latency_ms=None), ["acc", "latency"], None)
    assert [axes.names[i] for i in axes.shown] == [
        "width",
        "depths total",
        "kernels mean",
        "se stages",
        "depths_0",
        "kernels_0",
        "val acc (%)",
    ]
