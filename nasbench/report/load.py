"""Reading the report's studies from the database: the names asked for, their rows and attrs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd

from nasbench.errors import UsageError
from nasbench.results import store


@dataclass
class Study:
    """What the report knows about one study: its results rows and its Optuna user attrs, if any."""

    name: str
    rows: pd.DataFrame
    attrs: dict[str, Any] = field(default_factory=dict)
    directions: list[str] = field(default_factory=list)
    in_optuna: bool = False


class OptunaStudy(NamedTuple):
    """What Optuna's own tables say about a study."""

    attrs: dict[str, Any]
    directions: list[str]  # "maximize" / "minimize", one per objective


class Selection(NamedTuple):
    """The studies to report on, checked against the database, before their rows are read."""

    names: list[str]
    optuna: dict[str, OptunaStudy]  # every study of the database that Optuna knows


def select_studies(url: str, study_names: list[str] | None) -> Selection:
    """The named studies (all in the database when None or empty), each checked to exist."""
    store.check_storage(url, create=False)
    optuna_studies = read_optuna_studies(url)
    known = sorted(set(store.list_study_names(url)) | set(optuna_studies))
    if study_names:
        unknown = [n for n in study_names if n not in known]
        if unknown:
            raise UsageError(
                f"unknown study {', '.join(map(repr, unknown))}; "
                f"studies in this database: {', '.join(known) or 'none'}"
            )
        names = list(dict.fromkeys(study_names))
    else:
        names = known
        if not names:
            raise UsageError("the database holds no study yet; run nasbench search first")
    return Selection(names, optuna_studies)


def load_studies(url: str, selection: Selection) -> list[Study]:
    """One Study per selected name, in order, with its results rows (none yet is fine)."""
    frame = store.load_results(url, selection.names)
    studies = []
    for name in selection.names:
        attrs, directions = selection.optuna.get(name, ({}, []))
        rows = frame[frame["study_name"] == name]
        studies.append(Study(name, rows, attrs, directions, name in selection.optuna))
    return studies


def read_optuna_studies(url: str) -> dict[str, OptunaStudy]:
    """Study name -> user attrs and directions from Optuna's tables; empty when there are none
    (which are not created: a reader changes nothing)."""
    if not store.has_optuna_tables(url):
        return {}
    import optuna

    # skip_table_creation: a report must not add Optuna's tables to a results-only database
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs=store.engine_kwargs(url),
        skip_compatibility_check=True,
        skip_table_creation=True,
    )
    try:
        return {
            s.study_name: OptunaStudy(dict(s.user_attrs), [d.name.lower() for d in s.directions])
            for s in storage.get_all_studies()
        }
    finally:
        storage.engine.dispose()
