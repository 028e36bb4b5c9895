"""A stored row's identity columns, storing a finished row, and what is already done (for resume)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from nasbench.results import store


def identity(
    study_name: str,
    source: str,
    name: str,
    space: str,
    protocol: str | None,
    seed: int | None,
    **more: Any,
) -> dict[str, Any]:
    """The columns that say which study, source and run a row is (the evaluation adds the rest);
    `more` adds others such as trial_number, arch, budget."""
    return {
        "study_name": study_name,
        "source": source,
        "name": name,
        "space": space,
        "protocol_hash": protocol,
        "seed": seed,
        "code_version": store.code_version(),
        "started_at": datetime.now(UTC),
        **more,
    }


def store_row(url: str, row: dict[str, Any]) -> dict[str, Any]:
    """Stamp the row finished now and write it."""
    row["finished_at"] = datetime.now(UTC)
    store.write_result(url, row)
    return row


def done_keys(
    frame: pd.DataFrame,
    keys: Iterable[str],
    *,
    source: str,
    protocol: str | None = None,
    complete: bool = True,
    **equal: Any,
) -> set[tuple[Any, ...]]:
    """The `keys` of the rows of `source` already stored: under `protocol` when given, complete
    only when `complete`, and with each column of `equal` at its value. A rerun skips these."""
    keys = list(keys)
    if not len(frame):
        return set()
    mask = frame["source"] == source
    if protocol is not None:
        mask &= frame["protocol_hash"] == protocol
    if complete:
        mask &= frame["status"] == "complete"
    for column, value in equal.items():
        mask &= frame[column] == value
    rows = frame[mask]
    return set(zip(*([_plain(v) for v in rows[k]] for k in keys), strict=True))


def _plain(value: Any) -> Any:
    """A whole number read from a nullable column (a float there) as the int it was stored as."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value.item() if hasattr(value, "item") else value
