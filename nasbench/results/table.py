"""The accuracy-versus-MACs table: one row per evaluated architecture (the table papers print)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nasbench.arch import arch_summaries
from nasbench.errors import UsageError
from nasbench.results.formats import Column, is_machine, shown_column
from nasbench.results.pareto import pareto_mask
from nasbench.results.vocabulary import EVALUATED

# the table's columns: raw name (json, csv) and how people read it (table, md, latex)
# what names an architecture and what it costs: the first columns of every table of archs
ARCH_COLUMNS = (
    shown_column("study_name"),
    shown_column("name"),
    shown_column("arch", text=arch_summaries),
    *(shown_column(name) for name in ("params", "macs", "latency_ms")),
)
COLUMNS = (
    *ARCH_COLUMNS,
    *(
        shown_column(name)
        for name in ("val_acc", "val_acc_std", "train_runs", "truth_acc", "test_acc")
    ),
)
# shown only when some row has it: the benchmark table's truth of a judged search's archs
OPTIONAL = ("truth_acc",)
_BY_NAME = {c.name: c for c in COLUMNS}
# sort key -> ascending; accuracy sorts best first
SORT_KEYS = {
    "study_name": True,
    "name": True,
    "params": True,
    "macs": True,
    "latency_ms": True,
    "val_acc": False,
    "truth_acc": False,
    "test_acc": False,
}
SORT_ALIASES = {"study": "study_name", "latency": "latency_ms", "truth": "truth_acc"}


def evaluated_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (study, arch) with a measured accuracy: its highest rung's, complete rows
    first, then reused rows whose original lives in another study (a reused row adds nothing new
    inside its own study)."""
    # a re-measured latency (source "measure") is not an evaluation
    rows = frame[frame["status"].isin(EVALUATED) & (frame["source"] != "measure")].copy()
    rows["_rank"] = (rows["status"] != "complete").astype(int)
    # rows without a hash (hand-written baselines) are all distinct
    rows["_key"] = rows["arch_hash"].where(
        rows["arch_hash"].notna(), "id:" + rows["id"].astype(str)
    )
    # successive halving: an arch's highest rung is what its study knows best of it
    rows["_rung"] = -rows["rung"].fillna(0).astype(int) if "rung" in rows else 0
    rows = rows.sort_values(["_rung", "_rank", "id"], kind="stable")
    rows = rows.drop_duplicates(["study_name", "_key"], keep="first")
    return rows.sort_values("id", kind="stable").drop(columns=["_rung", "_rank", "_key"])


def sort_column(sort: str) -> str:
    """The raw column a --sort value names: a raw name, an alias, or a printed heading."""
    name = SORT_ALIASES.get(sort, sort)
    if name in SORT_KEYS:
        return name
    for column in COLUMNS:
        if sort == column.heading and column.name in SORT_KEYS:
            return column.name
    valid = [*SORT_KEYS, *SORT_ALIASES]
    raise UsageError(f"unknown sort column {sort!r}; valid: {', '.join(valid)}")


def results_table(
    frame: pd.DataFrame,
    pareto: bool = False,
    sort: str | None = None,
    output_format: str = "table",
) -> pd.DataFrame:
    """The paper table of `frame` (results rows), raw columns and exact values: study, name, arch,
    params, MACs, latency, accuracy (with its spread and number of trainings), the benchmark's
    truth when some row has one, one row per architecture; with pareto, each study's front of
    accuracy against MACs.

    For the human formats the front is taken on the printed (rounded) figures, so that the
    printed rows are visibly non-dominated; the machine formats use the exact values.
    """
    column = sort_column(sort) if sort is not None else None
    rows = evaluated_rows(frame)
    names = [
        n if isinstance(n, str) and n else _trial_label(t)
        for n, t in zip(rows["name"], rows["trial_number"], strict=True)
    ]
    shown = [c.name for c in COLUMNS if c.name not in OPTIONAL or _has_values(rows, c.name)]
    table = rows[shown].assign(name=names).reset_index(drop=True)
    if pareto:
        keep = np.zeros(len(table), dtype=bool)
        accuracy, macs = table["val_acc"].astype(float), table["macs"].astype(float)
        if not is_machine(output_format):
            accuracy = accuracy.round(_BY_NAME["val_acc"].decimals)
            macs = (macs * _BY_NAME["macs"].scale).round(_BY_NAME["macs"].decimals)
        for positions in table.groupby("study_name", sort=False).indices.values():
            keep[positions] = pareto_mask(accuracy.iloc[positions], macs.iloc[positions])
        table = table[keep]
    if column is None:
        table = table.sort_values(["study_name", "macs"], kind="stable", na_position="last")
    else:
        if column not in table or (table[column].isna().all() and column == "test_acc"):
            what = "benchmark truth" if column == "truth_acc" else "test accuracy"
            raise UsageError(f"cannot sort by {sort!r}: no row has a {what}")
        table = table.sort_values(
            column, ascending=SORT_KEYS[column], kind="stable", na_position="last"
        )
    return table.reset_index(drop=True)


def table_columns(table: pd.DataFrame, output_format: str) -> list[Column]:
    """The columns to print: all of the table's for machines; for people, the spread and number
    of trainings only when some accuracy is a mean of several."""
    present = [c for c in COLUMNS if c.name in table.columns]
    if is_machine(output_format):
        return present
    several = (table["train_runs"].astype(float) > 1).any()
    return [c for c in present if several or c.name not in ("val_acc_std", "train_runs")]


def _has_values(rows: pd.DataFrame, name: str) -> bool:
    return name in rows.columns and bool(rows[name].notna().any())


def _trial_label(number: object) -> str:
    return "" if number is None or pd.isna(number) else f"trial {int(number)}"
