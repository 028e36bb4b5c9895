"""Output formats of every command: exact machine formats (json, csv) and rounded human ones.

`json` and `csv` carry raw column names (`macs`, `val_acc`, ...) and exact values: integers stay
integers, a mean and its spread are two columns, nested values (an arch) stay JSON. `table`, `md`
and `latex` are for people: labelled columns (`MACs (M)`), scaled and rounded, empty columns left
out. One `render` serves every command, so the formats mean the same everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from nasbench.errors import UsageError
from nasbench.results.vocabulary import SHOWN, plain

FORMATS = ("table", "json", "csv", "md", "latex")
MACHINE_FORMATS = ("json", "csv")
MISSING = {"table": "-", "md": "–", "latex": "--"}


@dataclass(frozen=True)
class Column:
    """How a person reads a column: its label, the scale and decimals of its numbers, or a
    function that writes the whole column as text (an arch as its one-line summary)."""

    name: str
    label: str | None = None
    scale: float = 1.0
    decimals: int | None = None
    text: Callable[[pd.Series], Sequence[str]] | None = None

    @property
    def heading(self) -> str:
        return self.label or self.name


def shown_column(name: str, /, **changes: Any) -> Column:
    """The Column of a results column as the one table (vocabulary.SHOWN) shows it, with
    `changes` (e.g. text=...); a column not in the table shows its raw name."""
    shown = SHOWN.get(name)
    base = Column(name) if shown is None else Column(name, shown.label, shown.scale, shown.decimals)
    return dataclasses.replace(base, **changes)


def check_format(output_format: str) -> None:
    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}; valid: {', '.join(FORMATS)}")


def is_machine(output_format: str) -> bool:
    return output_format in MACHINE_FORMATS


def render(frame: pd.DataFrame, output_format: str, columns: Sequence[Column] | None = None) -> str:
    """`frame` (raw columns, exact values) as text. `columns` say how people read some of them;
    others are shown as they are, floats with 3 decimals."""
    check_format(output_format)
    if output_format == "json":
        return json.dumps(records(frame), indent=2) + "\n"
    if output_format == "csv":
        return _csv(frame)
    return _human(frame, output_format, {c.name: c for c in columns or ()})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as JSON-ready dicts: Python numbers, None for missing, ISO text for times."""
    return [
        {str(k): json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")
    ]


def json_value(value: Any) -> Any:
    """One cell as JSON: missing and non-finite numbers are null; nested values stay nested."""
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _csv(frame: pd.DataFrame) -> str:
    cells = frame.copy()
    for name in cells.columns:
        if cells[name].dtype == object:  # nested values as JSON text, the rest unchanged
            cells[name] = cells[name].map(_csv_cell)
    return cells.to_csv(index=False)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(json_value(value), separators=(",", ":"))
    return plain(value)


def human_cells(
    frame: pd.DataFrame, columns: Sequence[Column] | dict[str, Column] = ()
) -> tuple[pd.DataFrame, list[bool]]:
    """`frame` as people read it: one text cell per value under each column's heading (empty
    columns left out), and whether each shown column holds numbers (for alignment)."""
    if not isinstance(columns, dict):
        columns = {c.name: c for c in columns}
    text = pd.DataFrame(index=frame.index)
    numeric = []
    for name in frame.columns:
        column = columns.get(name, Column(name))
        values = frame[name]
        if column.text is not None:
            cells = list(column.text(values))
        else:
            cells = [_cell(v, column) for v in values]
        if not any(cells):  # nothing recorded in this column (no GPU, no test split...)
            continue
        text[column.heading] = cells
        numeric.append(column.text is None and _is_numeric(values))
    return text, numeric


def _human(frame: pd.DataFrame, output_format: str, columns: dict[str, Column]) -> str:
    text, numeric = human_cells(frame, columns)
    if output_format == "table":
        if not len(text):
            return "(no rows)\n"
        return text.replace("", MISSING["table"]).to_string(index=False) + "\n"
    text = text.replace("", MISSING[output_format])
    if output_format == "md":
        align = ["right" if n else "left" for n in numeric]
        return text.to_markdown(index=False, disable_numparse=True, colalign=align or None) + "\n"
    return text.to_latex(index=False, escape=True)


def _cell(value: Any, column: Column) -> str:
    value = plain(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, dict):  # e.g. uncounted ops {"aten::foo": 2} -> "aten::foo x2"
        return ", ".join(f"{k} x{v}" for k, v in value.items())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if column.scale != 1.0 or column.decimals is not None or isinstance(value, float):
        decimals = 3 if column.decimals is None else column.decimals
        return f"{value * column.scale:.{decimals}f}"
    return str(value)


def _is_numeric(values: pd.Series) -> bool:
    present = [plain(v) for v in values if not _missing(v)]
    return bool(present) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in present
    )


def _missing(value: Any) -> bool:
    value = plain(value)
    return value is None or (isinstance(value, float) and math.isnan(value))
