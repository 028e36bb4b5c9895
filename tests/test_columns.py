"""One table of the results columns people read (vocabulary.SHOWN): its labels, scales and
rounding are the ones table, report, benchmarks and train print, and no reader spells them again."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from nasbench.results.formats import render, shown_column
from nasbench.results.table import COLUMNS
from nasbench.results.vocabulary import SHOWN

PACKAGE = Path(__file__).resolve().parent.parent / "nasbench"


def test_no_module_outside_the_vocabulary_spells_a_shown_label():
    labels = {shown.label for shown in SHOWN.values() if "(" in shown.label}
    pattern = re.compile("|".join(re.escape(f'"{label}"') for label in labels))
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "vocabulary.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []


def test_the_paper_table_columns_come_from_the_one_table():
    for column in COLUMNS:
        if column.name in SHOWN:
            shown = SHOWN[column.name]
            assert (column.label, column.scale, column.decimals) == (
                shown.label,
                shown.scale,
                shown.decimals,
            )


def test_a_shown_column_is_scaled_and_rounded_for_people_and_exact_for_programs():
    frame = pd.DataFrame({"macs": [12_345_678], "val_acc": [97.12345], "other": [1.23456789]})
    columns = [shown_column("macs"), shown_column("val_acc"), shown_column("other")]
    people = render(frame, "md", columns)
    assert "MACs (M)" in people and "12.35" in people and "97.12" in people
    machines = render(frame, "json", columns)
    assert "12345678" in machines and "97.12345" in machines and "MACs (M)" not in machines
