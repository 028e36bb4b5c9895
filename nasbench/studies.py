"""`nasbench studies`: the studies of a database with their trial counts by status."""

from __future__ import annotations

import optuna

from nasbench import store
from nasbench.output import print_records


def run_studies(url: str, *, output_format: str = "table") -> int:
    store.check_storage(url, create=False)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    counts = store.result_counts(url)
    records = []
    for summary in optuna.get_all_study_summaries(storage=url, include_best_trial=False):
        record = {"study_name": summary.study_name, "trials": summary.n_trials}
        for status in ("complete", "reused", "pruned", "infeasible", "failed"):
            record[status] = _count(counts, summary.study_name, status)
        record["space"] = summary.user_attrs.get("space")
        record["dataset"] = summary.user_attrs.get("dataset")
        record["created"] = summary.datetime_start
        records.append(record)
    known = {r["study_name"] for r in records}
    for name in store.list_study_names(url):  # baseline-only studies have no Optuna study
        if name not in known:
            record = {"study_name": name, "trials": 0}
            for status in ("complete", "reused", "pruned", "infeasible", "failed"):
                record[status] = _count(counts, name, status)
            records.append(record)
    print_records(records, output_format)
    return 0


def _count(counts, study_name: str, status: str) -> int:
    try:
        return int(counts.loc[study_name, status])
    except KeyError:
        return 0
