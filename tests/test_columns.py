"""One table of the results columns people read (vocabulary.SHOWN): its labels, scales and
rounding are the ones table, report, benchmarks, train, measure and profile print, and no reader
spells them again."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from nasbench.commands import benchmarks, measure, profile, train
from nasbench.commands import table as table_command
from nasbench.report import figures, info
from nasbench.results import publishable, table
from nasbench.results.formats import Column, render, shown_column
from nasbench.results.pareto import REFERENCE_COST_MARGIN
from nasbench.results.vocabulary import SHOWN

PACKAGE = Path(__file__).resolve().parent.parent / "nasbench"
PRINTED_COLUMNS = {
    "table": table.COLUMNS,
    "publishable": publishable.COLUMNS,
    "table --benchmark": table_command.BENCHMARK_COLUMNS,
    "train": train.SHOWN,
    "measure": measure.COLUMNS,
    "profile": profile.COLUMNS,
    "benchmarks": (shown_column("best_reportable_acc"),),
}


def _sources() -> list[tuple[Path, str]]:
    return [(path, path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))]


def test_no_module_outside_the_vocabulary_spells_a_shown_label():
    # the labels only the table could be the source of: a unit, several words or a slash
    labels = {
        s.label for s in SHOWN.values() if s.label != s.column and re.search(r"[ (/]", s.label)
    }
    pattern = re.compile("|".join(re.escape(f'"{label}"') for label in labels))
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path, text in _sources()
        if path.name != "vocabulary.py"
        for number, line in enumerate(text.splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_the_hypervolume_margin_is_one_constant():
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path, text in _sources()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and node.value == REFERENCE_COST_MARGIN
    ]
    assert len(found) == 1 and found[0].startswith("results/pareto.py:"), found


@pytest.mark.parametrize("output", sorted(PRINTED_COLUMNS))
def test_every_labelled_or_rounded_column_printed_comes_from_the_one_table(output):
    shown = {(s.label, s.scale, s.decimals) for s in SHOWN.values()}
    for column in PRINTED_COLUMNS[output]:
        if column.text is None and (column.label, column.decimals) != (None, None):
            assert (column.label, column.scale, column.decimals) in shown, column
        if column.name in SHOWN:
            assert column == shown_column(column.name), column


def test_the_report_trials_table_labels_and_rounds_as_the_one_table():
    by_label = {label: name for label, name, _ in info.TRIAL_COLUMNS}
    for name in ("params", "macs", "latency_ms", "val_acc", "test_acc", "train_s", "error"):
        assert by_label[SHOWN[name].label] == name
    row = dict(id=1, study_name="s", trial_number=0, name=None, source="search", status="complete")
    costs = dict(params=1_234_567, macs=12_345_678, latency_ms=1.23456, train_s=12.345)
    accuracy = dict(val_acc=97.12345, val_acc_std=None, train_runs=1, test_acc=None)
    frame = pd.DataFrame([{**row, "space": "m", "arch": {}, **costs, **accuracy, "error": None}])
    data = info.trials_data(frame, pd.Series(["arch text"], index=[1]))
    shown = dict(zip(data["columns"], data["rows"][0], strict=True))
    assert shown["MACs (M)"] == 12.35 and shown["params (M)"] == 1.235
    assert shown["val acc (%)"] == 97.12 and shown["latency (ms)"] == 1.235
    assert shown["train (s)"] == 12.3
    hover = info.hover_texts(frame, pd.Series(["arch text"], index=[1]))[0]
    assert "val acc 97.12 %" in hover
    assert "MACs 12.35 M · params 1.235 M · latency 1.235 ms" in hover


def test_the_report_axes_are_the_one_table_labels():
    rows = pd.DataFrame(
        [dict(study_name="s", source="search", name=None, trial_number=0, macs=12e6, val_acc=90.0)]
    )
    study = type("S", (), {"name": "s", "attrs": {}})()
    fig = figures.pareto_figure([study], rows, SHOWN["macs"], {"s": "#000"})
    assert fig.layout.xaxis.title.text == "MACs (M)"
    assert fig.layout.yaxis.title.text == SHOWN["val_acc"].label
    assert fig.data[0].x[0] == pytest.approx(12.0)  # scaled by 1e-6


def test_a_shown_column_is_scaled_and_rounded_for_people_and_exact_for_programs():
    frame = pd.DataFrame({"macs": [12_345_678], "val_acc": [97.12345], "other": [1.23456789]})
    columns = [shown_column("macs"), shown_column("val_acc"), shown_column("other")]
    people = render(frame, "md", columns)
    assert "MACs (M)" in people and "12.35" in people and "97.12" in people
    assert "1.235" in people  # an unknown column: its raw name, 3 decimals
    machines = render(frame, "json", columns)
    assert "12345678" in machines and "97.12345" in machines and "MACs (M)" not in machines


def test_each_command_prints_the_one_table_labels():
    measured = pd.DataFrame({"latency_ms": [1.23456], "latency_iqr_ms": [0.1], "params": [5]})
    assert "latency (ms)" in render(measured, "table", train.SHOWN)
    assert "latency IQR (ms)" in render(measured, "table", measure.COLUMNS)
    profiled = render(measured.assign(peak_memory_mb=[12.34]), "table", profile.COLUMNS)
    assert "latency (ms)" in profiled and "peak memory (MB)" in profiled and "1.235" in profiled
    # profile reproduces published params and MACs: they stay exact, under their raw names
    assert "params" in profiled.split("\n")[0] and " 5" in profiled
    costs = render(measured.assign(macs=[2_500_000]), "md", table_command.BENCHMARK_COLUMNS)
    assert "MACs (M)" in costs and "2.50" in costs


def test_the_benchmarks_list_keeps_its_raw_heading(capsys):
    assert benchmarks.run_benchmarks("table") == 0
    heading = capsys.readouterr().out.splitlines()[0]
    assert "best_reportable_acc" in heading


def test_shown_column_accepts_changes_and_knows_unknown_columns():
    assert shown_column("test_acc", name="test_acc_mean").heading == "test acc (%)"
    assert shown_column("epochs") == Column("epochs")
    assert [SHOWN[name].unit for name in ("macs", "val_acc", "study_name")] == ["M", "%", ""]
