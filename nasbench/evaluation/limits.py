"""Hard limits on a result row's costs, and the constraint values Optuna's samplers learn from."""

from __future__ import annotations

from typing import Any

LIMIT_COLUMNS = ("macs", "params", "latency_ms")
OUT_OF_MEMORY = "out of memory"  # how an infeasible row's error starts when training did not fit


def limit_violations(row: dict[str, Any], limits: dict[str, float]) -> str | None:
    """The broken limits of a row, described ("macs 2.1e+06 > limit 1e+06"), or None."""
    broken = []
    for column, limit in limits.items():
        value = row.get(column)
        if value is not None and value > limit:
            broken.append(f"{column} {value:,.4g} > limit {limit:,.4g}")
    return "; ".join(broken) or None


def constraint_names(limits: dict[str, float]) -> list[str]:
    """One constraint per hard limit, then one for running out of memory."""
    return [*limits, "memory"]


def constraint_values(row: dict[str, Any], limits: dict[str, float]) -> list[float]:
    """Optuna's constraint values of a row (<= 0 is feasible), in constraint_names order: each
    limited cost minus its limit (0 when not measured), then 1 when training ran out of memory."""
    values = []
    for column, limit in limits.items():
        value = row.get(column)
        values.append(0.0 if value is None else float(value) - float(limit))
    out_of_memory = row.get("status") == "infeasible" and str(row.get("error") or "").startswith(
        OUT_OF_MEMORY
    )
    return [*values, 1.0 if out_of_memory else 0.0]
