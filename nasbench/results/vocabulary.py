"""The words every results reader shares: statuses, sources, cost columns and plain values."""

from __future__ import annotations

from typing import Any, NamedTuple

# a result row's status: what happened to the arch in that trial
STATUSES = ("complete", "failed", "infeasible", "pruned", "reused")
EVALUATED = ("complete", "reused")  # statuses whose row carries a measured accuracy
SOURCES = ("search", "baseline", "fidelity", "retrain", "measure")


class Cost(NamedTuple):
    """A cost column of the results table and how people read it."""

    column: str
    label: str  # axis and table label, with the printed unit
    scale: float  # column value x scale = the printed value
    decimals: int


COSTS = (
    Cost("macs", "MACs (M)", 1e-6, 2),
    Cost("latency_ms", "latency (ms)", 1.0, 3),
    Cost("params", "params (M)", 1e-6, 3),
)
COST_BY_COLUMN = {cost.column: cost for cost in COSTS}


def plain(value: Any) -> Any:
    """numpy scalars (and pandas' NA) -> Python scalars and None; anything else unchanged."""
    if value is None:
        return None
    if type(value).__module__ == "numpy":
        item = getattr(value, "item", None)
        if callable(item):
            return item()
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value
