"""The report's plain data (nasbench.report.info), read from a real results table, no browser."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from nasbench.arch import arch_hash
from nasbench.report import info
from nasbench.report.load import Study, load_studies, select_studies
from nasbench.report.page import _overview_section
from nasbench.results import store


def _row(study: str, number: int | None, **values) -> dict:
    arch = values.pop("arch", {"width": 1.0})
    return {
        "study_name": study,
        "trial_number": number,
        "source": "search",
        "space": "mobilenet",
        "arch": arch,
        "arch_hash": arch_hash(arch),
        "status": "complete",
        **values,
    }


def _studies(tmp_path, rows: list[dict], names: list[str] | None = None) -> list[Study]:
    """Write the rows to a fresh results table and read them back as the report does."""
    url = f"sqlite:///{tmp_path / 'results.db'}"
    for row in rows:
        store.write_result(url, row)
    return load_studies(url, select_studies(url, names))


def test_overview_states_budget_counts_by_status_and_best_searched_accuracy(tmp_path):
    common = dict(epochs=2, image_size=32, batch_size=64, dataset="cifar10", device_name="H200")
    (study,) = _studies(
        tmp_path,
        [
            _row("s", 0, val_acc=90.0, train_s=30.0, **common),
            _row("s", 1, val_acc=92.5, train_s=90.0, **common),
            _row("s", 2, status="failed", error="out of memory", **common),
            _row("s", 3, status="reused", reused_from=1, val_acc=92.5, train_s=0.0, **common),
            # stopped early: its accuracy is not a final one, so not the study's best
            _row("s", 4, status="pruned", val_acc=95.0, **common),
            # a reference model, more accurate than any searched arch: not the study's best
            _row("s", None, source="baseline", name="resnet18", val_acc=99.0, **common),
        ],
    )
    study.attrs = {"objectives": ["acc", "macs"], "sampler": "TPESampler"}
    study.directions = ["maximize", "minimize"]
    overview = info.overview_rows(study)
    assert overview["proxy budget"] == (
        "2 epochs · 32×32 px images · batch 64 · training 2.0 min in all, median 30.0 s a trial"
    )
    assert overview["results rows"] == (
        "6: 3 complete, 1 failed, 0 infeasible, 1 pruned, 1 reused (1 reference models)"
    )
    assert overview["best val accuracy"] == "92.50 % (trial 1)"
    assert overview["objectives"] == "acc (max), macs (min)"
    assert overview["dataset"] == "cifar10" and overview["device"] == "H200"
    assert overview["Optuna study"] == "none (results rows only)"
    assert overview["versions"] is None  # no row or attr names a version


def test_overview_table_says_not_recorded_where_a_study_has_no_value(tmp_path):
    studies = _studies(tmp_path, [_row("a", 0, val_acc=50.0), _row("b", 0, val_acc=60.0)])
    studies[0].attrs = {"sampler": "<i>TPE</i>"}
    html = _overview_section(studies, {"a": "#000", "b": "#111"}).parts[0]
    sampler_row = html[html.index('<th scope="row">sampler</th>') :].split("</tr>")[0]
    assert sampler_row.endswith(
        '<td>&lt;i&gt;TPE&lt;/i&gt;</td><td class="unset">not recorded</td>'
    )
    assert info.overview_rows(studies[1])["sampler"] is None


def test_hover_text_escapes_user_text_and_keeps_plotly_tags(tmp_path):
    (study,) = _studies(
        tmp_path,
        [
            _row(
                "<img src=x>",
                4,
                name="<script>alert(1)</script>",
                arch={"act": "<svg onload=alert(2)>"},
                val_acc=91.234,
                val_acc_std=0.4,
                train_runs=3,
                macs=12_345_678,
                params=500_000,
                latency_ms=1.2344,
            )
        ],
    )
    rows = info.report_rows([study])
    (text,) = info.hover_texts(rows.evaluated, rows.summaries)
    assert text.split("<br>") == [
        "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> · &lt;img src=x&gt;",
        "act=&lt;svg onload=alert(2)&gt;",
        "val acc 91.23 % ± 0.40 (mean of 3 trainings)",  # no test accuracy: left out
        "MACs 12.35 M · params 0.500 M · latency 1.234 ms",
    ]


def test_flat_params_split_per_stage_lists_and_list_the_constant_fields():
    archs = [
        {"width": 1.0, "depths": [1, 2], "kernels": [3, 5], "se": True},
        {"width": 1.0, "depths": [1, 3], "kernels": [5, 5], "se": True},
        {"width": 1.0, "depths": [1, 2], "kernels": [7, 5], "se": True},
    ]
    flat, constant = info.flat_params(pd.DataFrame({"arch": archs}, index=[10, 11, 12]))
    assert constant == ["width=1.0", "depths_0=1", "kernels_1=5", "se=True"]
    assert list(flat.columns) == ["depths_1", "kernels_0"]
    assert flat.loc[11].tolist() == [3, 5] and flat.index.tolist() == [10, 11, 12]


def test_parameter_importance_ranks_the_parameter_that_decides_accuracy_first():
    rng = random.Random(0)
    deciding = [rng.choice([1, 2, 3]) for _ in range(200)]
    noise = [rng.choice(["relu", "gelu", "silu"]) for _ in range(200)]
    accuracy = pd.Series([60.0 + 10 * d + rng.uniform(-1, 1) for d in deciding])
    flat = pd.DataFrame({"noise": noise, "depth": deciding})
    importances = info.parameter_importances(flat, accuracy)
    assert list(importances) == ["depth", "noise"]  # most important first
    assert importances["depth"] > 0.8 and sum(importances.values()) == pytest.approx(1.0)


def test_trials_data_gives_one_row_per_results_row_with_numeric_flags(tmp_path):
    studies = _studies(
        tmp_path,
        [
            _row("b", 1, val_acc=80.0, macs=12_345_678, params=2_500_000, latency_ms=0.12345),
            _row("a", 7, status="failed", error="<oops>"),
            _row("b", 0, val_acc=70.0, macs=1_000_000, params=100_000, train_runs=2),
            _row("b", 0, status="reused", reused_from=0, val_acc=70.0),
        ],
    )
    rows = info.report_rows(studies)
    data = info.trials_data(rows.frame, rows.summaries)
    columns = data["columns"]
    assert len(data["rows"]) == 4
    assert [c for c, numeric in zip(columns, data["numeric"], strict=True) if numeric] == [
        "trial",
        "params (M)",
        "MACs (M)",
        "latency (ms)",
        "val acc (%)",
        "val acc std",
        "runs",
        "test acc (%)",
        "train (s)",
    ]
    by_column = [dict(zip(columns, row, strict=True)) for row in data["rows"]]
    # sorted by study, trial number, then row id; a row is never merged with its reuse
    assert [(r["study"], r["trial"], r["status"]) for r in by_column] == [
        ("a", 7, "failed"),
        ("b", 0, "complete"),
        ("b", 0, "reused"),
        ("b", 1, "complete"),
    ]
    last = by_column[3]
    assert (last["MACs (M)"], last["params (M)"], last["latency (ms)"]) == (12.35, 2.5, 0.123)
    assert by_column[0]["reason"] == "<oops>" and by_column[0]["val acc (%)"] is None
    assert by_column[1]["runs"] == 2 and by_column[1]["arch"] == "width=1"
    # plain Python values: what json.dumps takes as they are
    assert {type(v) for row in data["rows"] for v in row} <= {str, int, float, type(None)}


@pytest.mark.parametrize(
    "objectives, column",
    [
        ([["acc", "latency"], ["acc", "latency", "macs"]], "latency_ms"),
        ([["acc", "params"]], "params"),
        ([["acc", "latency"], ["acc", "params"]], "macs"),  # no shared cost: MACs
        ([["acc"]], "macs"),
    ],
)
def test_hypervolume_cost_is_the_studies_shared_second_objective_else_macs(objectives, column):
    studies = [Study(f"s{i}", pd.DataFrame(), {"objectives": o}) for i, o in enumerate(objectives)]
    assert info.hypervolume_cost(studies).column == column
