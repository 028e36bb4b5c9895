"""The words every results reader shares: statuses, sources, the shown columns and plain values."""

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

    @property
    def unit(self) -> str:
        """The printed unit: the label's closing parentheses ("MACs (M)" -> "M"), else ""."""
        head, _, unit = self.label.rpartition(" (")
        return unit[:-1] if head and unit.endswith(")") else ""


# The one table of the results columns shown to people: table, publishable, the report (trials
# table, axes, hover text), benchmarks, train, measure and profile all read their labels here.
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
        Shown("truth_acc", "truth acc (%)", 1.0, 2),  # the benchmark table's truth of the arch
        Shown("train_s", "train (s)", 1.0, 1),
        Shown("eval_s", "eval (s)", 1.0, 2),
        Shown("images_per_s", "images/s", 1.0, 0),
        Shown("latency_iqr_ms", "latency IQR (ms)", 1.0, 3),
        Shown("peak_memory_mb", "peak memory (MB)", 1.0, 1),
        Shown("search_latency_ms", "search machine (ms)", 1.0, 3),
        Shown("proxy_acc", "proxy val acc (%)", 1.0, 2),
        Shown("test_acc_std", "test acc std", 1.0, 2),
        Shown("study_name", "study"),
        Shown("error", "reason"),
        # rounded, under their raw names (train's and the benchmarks list's headings)
        Shown("train_loss", "train_loss", 1.0, 4),
        Shown("best_reportable_acc", "best_reportable_acc", 1.0, 2),
    )
}
# the costs a front is drawn against, in the report's order
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
