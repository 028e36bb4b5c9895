"""The words every results reader shares: statuses, sources, cost columns and plain values."""

from __future__ import annotations

from typing import Any, NamedTuple

# a result row's status: what happened to the arch in that trial
STATUSES = ("complete", "failed", "infeasible", "pruned", "reused")
EVALUATED = ("complete", "reused")  # statuses whose row carries a measured accuracy
SOURCES = ("search", "baseline", "fidelity", "retrain", "measure")


class Shown(NamedTuple):
    """A results column and how people read it (tables for people, the report's axes)."""

    column: str
    label: str  # axis and table label, with the printed unit
    scale: float = 1.0  # column value x scale = the printed value
    decimals: int | None = None  # rounding of the printed value (None: as it is)


# the one table of the results columns shown to people: table, report, benchmarks, train, measure
SHOWN = {
    shown.column: shown
    for shown in (
        Shown("macs", "MACs (M)", 1e-6, 2),
        Shown("latency_ms", "latency (ms)", 1.0, 3),
        Shown("params", "params (M)", 1e-6, 3),
        Shown("val_acc", "val acc (%)", 1.0, 2),
        Shown("val_acc_std", "val acc std", 1.0, 2),
        Shown("train_runs", "runs"),
        Shown("test_acc", "test acc (%)", 1.0, 2),
        Shown("train_s", "train (s)", 1.0, 1),
        Shown("eval_s", "eval (s)", 1.0, 2),
        Shown("images_per_s", "images/s", 1.0, 0),
        Shown("train_loss", "train loss", 1.0, 4),
        Shown("latency_iqr_ms", "latency IQR (ms)", 1.0, 3),
        Shown("peak_memory_mb", "peak memory (MB)", 1.0, 1),
        Shown("study_name", "study"),
        Shown("error", "reason"),
    )
}
Cost = Shown  # the cost columns are shown columns too
COSTS = (SHOWN["macs"], SHOWN["latency_ms"], SHOWN["params"])
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
