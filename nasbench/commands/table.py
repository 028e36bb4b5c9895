"""`nasbench table`: the accuracy-versus-MACs table of the named studies, in any output format."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.formats import check_format, render
from nasbench.results.latency import on_device
from nasbench.results.pareto import pareto_mask
from nasbench.results.publishable import (
    has_retrained_rows,
    publishable_columns,
    publishable_table,
)
from nasbench.results.ranking import SUMMARY_COLUMNS, summarize_fidelity
from nasbench.results.table import SORT_KEYS, results_table, sort_column, table_columns


def run_table(
    url: str,
    study_names: list[str] | None,
    *,
    pareto: bool = False,
    sort: str | None = None,
    output_format: str = "table",
    latency_device: str | None = None,
) -> int:
    """Print the table of the named studies (all when None); `latency_device`: the latency
    measured on that device (nasbench measure --label) in place of the search machine's."""
    check_format(output_format)
    store.check_storage(url, create=False)
    if study_names:
        known = store.list_study_names(url)
        unknown = [n for n in study_names if n not in known]
        if unknown:
            raise UsageError(
                f"no results for study {', '.join(map(repr, unknown))}; "
                f"studies with results: {', '.join(known) or 'none'}"
            )
    frame = on_device(store.load_results(url, study_names or None), latency_device)
    fidelity = frame["source"] == "fidelity" if len(frame) else pd.Series(dtype=bool)
    if fidelity.any():
        if not fidelity.all():
            raise UsageError(
                "these studies mix proxy-fidelity studies and searches; name one kind with "
                f"--study-name (fidelity: {', '.join(frame[fidelity]['study_name'].unique())})"
            )
        summary = pd.concat(
            [summarize_fidelity(rows).assign(study=name) for name, rows in
             frame.groupby("study_name", sort=False)],
            ignore_index=True,
        )  # fmt: skip
        summary = summary[["study", *summary.columns[:-1]]]
        sys.stdout.write(render(summary, output_format, SUMMARY_COLUMNS))
        return 0
    if has_retrained_rows(frame):
        table = _sorted(publishable_table(frame), pareto, sort)
        shown, columns = publishable_columns(table, output_format)
        sys.stdout.write(render(shown, output_format, columns))
        return 0
    table = results_table(frame, pareto=pareto, sort=sort, output_format=output_format)
    sys.stdout.write(render(table, output_format, table_columns(table, output_format)))
    return 0


# the publishable table's column for each sort key of the proxy table
RETRAINED_SORT = {"val_acc": "proxy_acc", "test_acc": "test_acc_mean"}


def _sorted(table: pd.DataFrame, pareto: bool, sort: str | None) -> pd.DataFrame:
    """The publishable table's front of test accuracy against MACs per study, and its order."""
    if pareto:
        keep = np.zeros(len(table), dtype=bool)
        for positions in table.groupby("study_name", sort=False).indices.values():
            part = table.iloc[positions]
            keep[positions] = pareto_mask(part["test_acc_mean"], part["macs"].astype(float))
        table = table[keep]
    if sort is not None:
        key = sort_column(sort)
        column = RETRAINED_SORT.get(key, key)
        table = table.sort_values(
            column, ascending=SORT_KEYS[key], kind="stable", na_position="last"
        )
    return table.reset_index(drop=True)
