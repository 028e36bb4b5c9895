"""`nasbench studies`: the studies of a database with their trial counts by status."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from nasbench import arguments
from nasbench.results.vocabulary import STATUSES

if TYPE_CHECKING:
    import pandas as pd


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_studies(args.storage, output_format=args.format)


def run_studies(url: str, *, output_format: str = "table") -> int:
    import optuna
    import pandas as pd

    from nasbench.results import store
    from nasbench.results.formats import render

    store.check_storage(url, create=False)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    counts = store.result_counts(url)
    records = []
    # reading Optuna's studies creates its tables where there are none: look first
    summaries = (
        optuna.get_all_study_summaries(storage=url, include_best_trial=False)
        if store.has_optuna_tables(url)
        else []
    )
    for summary in summaries:
        record = {"study_name": summary.study_name, "trials": summary.n_trials}
        record.update(_counts(counts, summary.study_name))
        record["space"] = summary.user_attrs.get("space")
        record["dataset"] = summary.user_attrs.get("dataset")
        record["created"] = summary.datetime_start
        records.append(record)
    known = {r["study_name"] for r in records}
    for name in store.list_study_names(url):  # baseline-only studies have no Optuna study
        if name not in known:
            records.append({"study_name": name, "trials": 0, **_counts(counts, name)})
    sys.stdout.write(render(pd.DataFrame(records, dtype=object), output_format))
    return 0


def _counts(counts: pd.DataFrame, study_name: str) -> dict[str, int]:
    """Results rows of the study by status (every status, 0 when it has none)."""
    if study_name not in counts.index:
        return dict.fromkeys(STATUSES, 0)
    return {status: int(counts.loc[study_name, status]) for status in STATUSES}
