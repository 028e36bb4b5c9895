"""`nasbench report`: the page written from a database, and opened in a real headless Chromium
(Debian's) to check that it draws offline and shows user text as text."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import sqlalchemy as sa

from nasbench.arch import arch_hash
from nasbench.cli import main
from nasbench.errors import UsageError
from nasbench.report import info
from nasbench.report.page import _file_stem, _script_json, write_report
from nasbench.results import store

ROOT = Path(__file__).resolve().parent.parent
XSS_STUDY = "<img src=x onerror=alert(1)>"
XSS_ARCH_VALUE = "<svg onload=alert(2)>"
XSS_ERROR = "<script>alert(3)</script> shape mismatch"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _arch(rng: random.Random, activation: str | None = None) -> dict:
    return {
        "width_mult": rng.choice([0.25, 0.5, 1.0]),
        "depths": [rng.choice([1, 2, 3]) for _ in range(3)],
        "kernel_sizes": [rng.choice([3, 5, 7]) for _ in range(3)],
        "activations": [activation or rng.choice(["relu", "hardswish"]) for _ in range(3)],
        "se": [rng.choice([False, True]) for _ in range(3)],
    }


def _search_row(study: str, number: int, arch: dict, rng: random.Random, **extra) -> dict:
    macs = rng.randint(10**6, 10**8)
    return {
        "study_name": study,
        "trial_number": number,
        "source": "search",
        "name": f"trial {number}",
        "space": "mobilenet",
        "arch": arch,
        "arch_hash": arch_hash(arch),
        "status": "complete",
        "val_acc": 45 + 5 * np.log10(macs) + rng.uniform(-3, 3),
        "macs": macs,
        "params": rng.randint(10**4, 10**6),
        "latency_ms": rng.uniform(0.1, 5),
        "train_s": rng.uniform(1, 5),
        "epochs": 2,
        "dataset": "digits",
        "image_size": 8,
        "batch_size": 64,
        "device": "cpu",
        "device_name": "test cpu",
        "torch_version": "2.14.1",
        "code_version": "0.1.0",
        **extra,
    }


def _write_database(url: str) -> None:
    rng = random.Random(0)
    rows = []
    for number in range(30):
        arch = _arch(rng, XSS_ARCH_VALUE if number == 7 else None)
        rows.append(_search_row("mobilenet_digits", number, arch, rng))
    rows[3].update(
        status="failed", error=XSS_ERROR, val_acc=None, macs=None, params=None, latency_ms=None
    )
    rows[4].update(status="infeasible", error="macs 90000000 > max_macs 50000000", val_acc=0.0)
    rows.append(
        {
            **rows[0],
            "trial_number": 30,
            "name": "trial 30",
            "status": "reused",
            "reused_from": 0,
            "train_s": 0.0,
        }
    )
    for name, macs, acc in (("resnet18", 37_000_000, 97.5), ("mobilenet_v2", 2_000_000, 95.0)):
        rows.append(
            {
                "study_name": "mobilenet_digits",
                "source": "baseline",
                "name": name,
                "space": "torchvision",
                "arch": {"model": name},
                "arch_hash": arch_hash({"model": name}),
                "status": "complete",
                "val_acc": acc,
                "macs": macs,
                "params": 10**6,
                "latency_ms": 1.0,
            }
        )
    for number in range(6):
        rows.append(_search_row(XSS_STUDY, number, _arch(rng), rng))
    rows.append(_search_row("one", 0, _arch(rng), rng))
    for row in rows:
        store.write_result(url, row)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name="mobilenet_digits", storage=url, directions=["maximize", "minimize"]
    )
    for key, value in {
        "space": "mobilenet",
        "dataset": "digits",
        "objectives": ["acc", "macs"],
        "sampler": "TPESampler",
        "epochs": 2,
        "optuna_version": optuna.__version__,
    }.items():
        study.set_user_attr(key, value)
    optuna.create_study(study_name="empty", storage=url)  # a study that has run no trial yet


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'nasbench.db'}"
    _write_database(url)
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OpenedPage:
    """A report opened in Chromium, with everything it logged, requested and tried to pop up."""

    def __init__(self, browser, path: Path, width: int = 1300) -> None:
        self.path = path
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), timeout=90_000)
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('div.figure'))"
            ".every(d => d.querySelector('.main-svg'))",
            timeout=90_000,
        )

    def missing_text(self) -> str:
        return " ".join(self.page.locator(".missing").all_inner_texts())


@pytest.fixture(scope="module")
def comparison(browser, url, tmp_path_factory) -> Iterator[OpenedPage]:
    path = write_report(
        url,
        ["mobilenet_digits", XSS_STUDY],
        str(tmp_path_factory.mktemp("out") / "comparison.html"),
    )
    opened = OpenedPage(browser, path)
    yield opened
    opened.page.close()


@pytest.mark.slow
def test_every_figure_is_drawn_with_no_error_and_no_network(comparison):
    page = comparison.page
    assert comparison.errors == []
    assert comparison.requests == [comparison.path.as_uri()]
    n_figures = page.locator("script.figure-data").count()
    # 3 fronts, best accuracy, hypervolume, 2 parallel coordinates, 1 importance (30 trials)
    assert n_figures == page.locator("div.figure").count() == 8
    drawn = page.evaluate(
        "Array.from(document.querySelectorAll('div.figure'))"
        ".map(d => d.querySelectorAll('.plot-container .main-svg').length)"
    )
    assert all(n >= 1 for n in drawn), drawn
    front_points = page.locator("#pareto .scatterlayer .point").count()
    assert front_points > 3 * 30  # every evaluated arch in each of the three fronts
    assert page.locator("#pareto text", has_text="resnet18").count() == 3  # labelled references
    assert page.locator("#parameters .parcoords").count() == 2
    # the search's latency is said to be a ranking figure, and where quotable ones come from
    assert "These are not figures to quote" in page.locator("#pareto").inner_text()


@pytest.mark.slow
def test_user_text_is_shown_as_text_and_runs_nothing(comparison):
    page = comparison.page
    assert page.get_by_role("columnheader", name=XSS_STUDY).is_visible()
    legends = page.locator("#pareto .legendtext").all_text_contents()
    assert legends.count(XSS_STUDY) == legends.count(f"{XSS_STUDY} front") == 3
    # the activations are not among the axes drawn first: ticked, they are drawn from the page
    chooser = page.locator("#parameters details.axes-chooser").first
    chooser.locator("summary").click()
    chooser.get_by_label(re.compile(r"^activations_0 ")).check()
    ticks = page.locator("#parameters .parcoords text").all_text_contents()
    assert XSS_ARCH_VALUE in ticks
    assert page.locator("img").count() == 0 and page.locator("body svg[onload]").count() == 0
    assert comparison.dialogs == []
    html = comparison.path.read_text()
    for text in (XSS_STUDY, XSS_ARCH_VALUE, XSS_ERROR):
        assert text[:12] not in html  # "<img src=x o", "<svg onload=", "<script>aler"


def _column(page, label: str) -> list[str]:
    index = page.locator("#trials-table thead th").all_inner_texts().index(label)
    return page.locator(f"#trials-table tbody tr td:nth-child({index + 1})").all_inner_texts()


@pytest.mark.slow
def test_trials_table_sorts_by_clicked_column_and_filters_by_typed_text(comparison):
    page = comparison.page
    count = page.locator("#trials-count")
    assert count.inner_text().endswith(
        "(39 in all)"
    )  # 30 + 1 reused + 2 references + 6, failed included
    header = page.locator("#trials-table thead th", has_text="val acc (%)")
    header.click()
    ascending = [float(v) for v in _column(page, "val acc (%)") if v]
    assert ascending == sorted(ascending) and ascending[0] == 0.0  # the infeasible row
    assert header.evaluate("th => getComputedStyle(th, '::after').content") == '" \u25b2"'
    header.click()
    descending = [float(v) for v in _column(page, "val acc (%)") if v]
    assert descending == sorted(descending, reverse=True) and descending[0] == 97.5

    page.fill("#trials-filter", "resnet18")
    assert _column(page, "name") == ["resnet18"]
    assert count.inner_text().startswith("1–1 of 1 matching")
    page.fill("#trials-filter", "")
    page.select_option("#trials-status", "failed")
    assert _column(page, "status") == ["failed"]
    assert _column(page, "reason") == [XSS_ERROR]  # the reason, shown as plain text
    page.select_option("#trials-status", "")
    page.fill("#trials-filter", "activations=<<<")  # the arch value, abbreviated in the text
    assert _column(page, "name") == ["trial 7"]


@pytest.mark.parametrize(
    "study, expected, n_figures",
    [
        (
            "empty",
            [
                "has no results rows yet",
                "Nothing to plot",
                "no searched trial",
                "has 0 evaluated architectures",
                "No results rows in the selected studies",
            ],
            0,
        ),
        (
            "one",
            [
                "has 1 evaluated architecture: parallel coordinates and parameter importance "
                "need at least 2",
                "front is that single point",
            ],
            5,  # what can be drawn is drawn: one point on each front, its history
        ),
    ],
)
def test_empty_and_one_trial_studies_say_what_is_missing(url, tmp_path, study, expected, n_figures):
    text = write_report(url, [study], str(tmp_path / f"{study}.html")).read_text()
    for sentence in expected:
        assert sentence in text
    assert text.count('class="figure"') == text.count('class="figure-data"') == n_figures


@pytest.mark.slow
def test_report_never_imports_torch(url, tmp_path):
    code = (
        "import sys\n"
        "from nasbench.report.page import write_report\n"
        f"write_report({url!r}, None, {str(tmp_path / 'all.html')!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "all.html").stat().st_size > 4_000_000  # plotly.js is in the page


def test_default_output_is_named_after_the_studies(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert write_report(url, ["one"]) == Path("reports/one.html")
    assert (
        _file_stem(["mobilenet_digits", XSS_STUDY])
        == "mobilenet_digits_vs_img_src_x_onerror_alert_1"
    )


def test_unknown_study_is_a_usage_error_listing_the_studies(url, tmp_path, capsys):
    with pytest.raises(
        UsageError, match="studies in this database: .*empty, mobilenet_digits, one"
    ):
        write_report(url, ["nope"], str(tmp_path / "x.html"))
    assert main(["report", "--storage", url, "--study-name", "nope"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_results_only_database_is_reported_without_adding_optuna_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'results_only.db'}"
    rng = random.Random(1)
    for number in range(3):
        store.write_result(url, _search_row("results_only", number, _arch(rng), rng))
    path = write_report(url, None, str(tmp_path / "r.html"))
    assert "none (results rows only)" in path.read_text()
    engine = sa.create_engine(url)
    try:
        assert sa.inspect(engine).get_table_names() == ["results"]
    finally:
        engine.dispose()


def test_report_reads_a_postgresql_database(postgres_db_url, tmp_path):
    rng = random.Random(2)
    for number in range(3):
        store.write_result(postgres_db_url, _search_row("pg_study", number, _arch(rng), rng))
    study = optuna.create_study(study_name="pg_study", storage=postgres_db_url)
    study.set_user_attr("sampler", "GridSampler")
    text = write_report(postgres_db_url, None, str(tmp_path / "pg.html")).read_text()
    assert "pg_study" in text and "GridSampler" in text


def test_embedded_json_cannot_end_its_script_element():
    text = _script_json({"name": "</script><script>alert(1)</script><!--", "x": "a&b"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert '"\\u003c/script\\u003e' in text


def test_hypervolume_curve_grows_only_when_the_front_improves():
    history = pd.DataFrame({"val_acc": [50.0, 40.0, 50.0, 100.0], "macs": [5.0, 8.0, 2.0, 10.0]})
    # ref 10: (50 %, 5) -> 0.5 * 0.5; (40, 8) is dominated; (50, 2) -> 0.5 * 0.8; (100, 10) at ref
    curve = info.hypervolume_curve(history, "macs", 10.0)
    assert curve.tolist() == pytest.approx([0.25, 0.25, 0.4, 0.4], abs=1e-12)


def test_hypervolume_figure_shares_one_reference_across_studies(url, tmp_path):
    """The page's curves use 1.1 x the largest MACs of all the studies shown, so a study alone
    and the same study beside a costlier one get different, comparable values."""
    alone = _hypervolume_trace(write_report(url, ["one"], str(tmp_path / "a.html")), "one")
    both = write_report(url, ["one", XSS_STUDY], str(tmp_path / "b.html"))
    beside = _hypervolume_trace(both, "one")
    frame = store.load_results(url, ["one", XSS_STUDY])
    row = frame[frame["study_name"] == "one"].iloc[0]
    for trace, largest in ((alone, row["macs"]), (beside, frame["macs"].max())):
        reference = 1.1 * float(largest)
        expected = row["val_acc"] / 100 * (1 - row["macs"] / reference)
        assert trace == pytest.approx([expected], rel=1e-6)
    assert beside[0] > alone[0]


def _hypervolume_trace(path: Path, study: str) -> list[float]:
    """The y values of `study`'s trace in the page's hypervolume figure."""
    for payload in re.findall(r'class="figure-data"[^>]*>(.*?)</script>', path.read_text()):
        figure = json.loads(payload)
        if figure["layout"].get("yaxis", {}).get("title", {}).get("text") != "hypervolume":
            continue
        (trace,) = [t for t in figure["data"] if t["name"] == study]
        y = trace["y"]
        if isinstance(y, dict):  # plotly's typed array: {"dtype": "f4", "bdata": base64}
            return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
        return list(y)
    raise AssertionError(f"no hypervolume figure in {path}")
