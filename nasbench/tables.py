"""`nasbench table`: one row per evaluated architecture (the table papers print), and its helpers."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasbench import store
from nasbench.errors import UsageError

FORMATS = ("table", "md", "csv", "latex", "json")
EVALUATED = ("complete", "reused")  # statuses whose row carries a measured accuracy

# sort key -> (column of the printed table, ascending); accuracy sorts best first
SORT_KEYS: dict[str, tuple[str, bool]] = {
    "study": ("study", True),
    "name": ("name", True),
    "arch": ("arch", True),
    "params": ("params (M)", True),
    "macs": ("MACs (M)", True),
    "latency": ("latency (ms)", True),
    "val_acc": ("val acc (%)", False),
    "test_acc": ("test acc (%)", False),
}
_DECIMALS = {
    "params (M)": 3,
    "MACs (M)": 2,
    "latency (ms)": 3,
    "val acc (%)": 2,
    "val acc std": 2,
    "test acc (%)": 2,
}


# ---------------------------------------------------------------- architectures as short text


def arch_summaries(archs: Iterable[Any]) -> list[str]:
    """A compact one-line text per arch: scalars as key=value, lists as key=123 or key=64-128.

    Strings inside lists shrink to their shortest prefix unique among the values seen for that
    field in `archs` (relu/hardswish -> r/h; relu/relu6 stay whole), so the text stays unambiguous.
    """
    archs = [a if isinstance(a, dict) else None for a in archs]
    seen: dict[str, set[str]] = {}
    for arch in archs:
        for key, value in (arch or {}).items():
            if isinstance(value, list):
                seen.setdefault(key, set()).update(v for v in value if isinstance(v, str))
    prefixes = {key: _unique_prefixes(values) for key, values in seen.items()}
    return [_summary(arch, prefixes) if arch is not None else "" for arch in archs]


def _unique_prefixes(values: set[str]) -> dict[str, str]:
    short = {}
    for value in values:
        others = values - {value}
        n = 1
        while n < len(value) and any(o.startswith(value[:n]) for o in others):
            n += 1
        short[value] = value[:n]
    return short


def _short(value: Any, prefixes: dict[str, str] | None = None) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return (prefixes or {}).get(value, value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _summary(arch: dict[str, Any], prefixes: dict[str, dict[str, str]]) -> str:
    parts = []
    for key, value in arch.items():
        if isinstance(value, list):
            items = [_short(v, prefixes.get(key)) for v in value]
            sep = "" if all(len(i) == 1 for i in items) else "-"
            parts.append(f"{key}={sep.join(items)}")
        else:
            parts.append(f"{key}={_short(value)}")
    return " ".join(parts)


# ---------------------------------------------------------------- rows and the Pareto front


def evaluated_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (study, arch) with a measured accuracy: complete rows first, then reused rows
    whose original lives in another study (a reused row adds nothing new inside its own study)."""
    rows = frame[frame["status"].isin(EVALUATED)].copy()
    rows["_rank"] = (rows["status"] != "complete").astype(int)
    # rows without a hash (hand-written baselines) are all distinct
    rows["_key"] = rows["arch_hash"].where(
        rows["arch_hash"].notna(), "id:" + rows["id"].astype(str)
    )
    rows = rows.sort_values(["_rank", "id"], kind="stable")
    rows = rows.drop_duplicates(["study_name", "_key"], keep="first")
    return rows.sort_values("id", kind="stable").drop(columns=["_rank", "_key"])


def pareto_mask(accuracy: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """True for the points no other point dominates (higher-or-equal accuracy at lower-or-equal
    cost, better in one). Hand-written sort-and-sweep: Optuna's non-domination code is private
    (optuna.study._multi_objective) and only reachable through a study's trials."""
    acc = np.asarray(accuracy, dtype=float)
    cost = np.asarray(cost, dtype=float)
    mask = np.zeros(acc.size, dtype=bool)
    order = np.lexsort((-acc, cost))  # cheapest first, most accurate first among equal cost
    best_acc, best_cost = -math.inf, math.nan
    for i in order:
        if np.isnan(acc[i]) or np.isnan(cost[i]):
            continue
        if acc[i] > best_acc:
            mask[i] = True
            best_acc, best_cost = acc[i], cost[i]
        elif acc[i] == best_acc and cost[i] == best_cost:  # a duplicate of a front point
            mask[i] = True
    return mask


# ---------------------------------------------------------------- the table


def results_table(
    frame: pd.DataFrame, pareto: bool = False, sort: str | None = None
) -> pd.DataFrame:
    """The paper table of `frame` (results rows): study, name, arch, params, MACs, latency and
    accuracy (with its standard deviation and number of trainings when some accuracy is a mean of
    several), one row per architecture; with pareto, each study's front of accuracy against MACs."""
    if sort is not None and _sort_column(sort) is None:
        raise UsageError(f"unknown sort column {sort!r}; valid: {', '.join(SORT_KEYS)}")
    rows = evaluated_rows(frame)
    names = [
        n if isinstance(n, str) and n else _trial_label(t)
        for n, t in zip(rows["name"], rows["trial_number"], strict=True)
    ]
    table = pd.DataFrame(
        {
            "study": rows["study_name"].to_numpy(),
            "name": names,
            "arch": arch_summaries(rows["arch"]),
            "params (M)": rows["params"].astype(float).to_numpy() / 1e6,
            "MACs (M)": rows["macs"].astype(float).to_numpy() / 1e6,
            "latency (ms)": rows["latency_ms"].astype(float).to_numpy(),
            "val acc (%)": rows["val_acc"].astype(float).to_numpy(),
            "val acc std": rows["val_acc_std"].astype(float).to_numpy(),
            "runs": rows["train_runs"].astype("Int64").to_numpy(),
            "test acc (%)": rows["test_acc"].astype(float).to_numpy(),
        }
    )
    if not (rows["train_runs"] > 1).any():  # every accuracy is one training: nothing to add
        table = table.drop(columns=["val acc std", "runs"])
    if table["test acc (%)"].isna().all():
        table = table.drop(columns="test acc (%)")
    for column, decimals in _DECIMALS.items():
        if column in table:
            table[column] = table[column].round(decimals)
    if pareto:  # on the printed (rounded) figures, so the printed rows are visibly non-dominated
        keep = np.zeros(len(table), dtype=bool)
        for positions in table.groupby("study", sort=False).indices.values():
            sub = table.iloc[positions]
            keep[positions] = pareto_mask(sub["val acc (%)"], sub["MACs (M)"])
        table = table[keep]
    if sort is None:
        table = table.sort_values(["study", "MACs (M)"], kind="stable", na_position="last")
    else:
        column, ascending = _sort_column(sort)  # type: ignore[misc]
        if column not in table:  # test acc asked for but never measured: nothing to order by
            raise UsageError(f"cannot sort by {sort!r}: no row has a test accuracy")
        table = table.sort_values(column, ascending=ascending, kind="stable", na_position="last")
    return table.reset_index(drop=True)


def _sort_column(sort: str) -> tuple[str, bool] | None:
    if sort in SORT_KEYS:
        return SORT_KEYS[sort]
    for column, ascending in SORT_KEYS.values():  # the printed header works too
        if sort == column:
            return column, ascending
    return None


def _trial_label(number: Any) -> str:
    return "" if number is None or pd.isna(number) else f"trial {int(number)}"


def format_table(table: pd.DataFrame, output_format: str) -> str:
    """The table as text: aligned, Markdown (tabulate), CSV, LaTeX (jinja2) or JSON records."""
    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}; valid: {', '.join(FORMATS)}")
    if output_format == "json":
        records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        return json.dumps(records, indent=2) + "\n"
    if output_format == "csv":
        return table.to_csv(index=False)
    if output_format == "md":
        cells = table.astype(object).where(
            table.notna(), None
        )  # tabulate prints None as missingval
        return cells.to_markdown(index=False, floatfmt="g", missingval="–") + "\n"
    if output_format == "latex":
        formatters = {c: _latex_number(d) for c, d in _DECIMALS.items() if c in table}
        return table.to_latex(index=False, escape=True, na_rep="--", formatters=formatters)
    return (table.to_string(index=False, na_rep="-") if len(table) else "(no rows)") + "\n"


def _latex_number(decimals: int):
    return lambda v: "--" if pd.isna(v) else f"{v:.{decimals}f}"


def run_table(
    url: str,
    study_names: list[str] | None,
    *,
    pareto: bool = False,
    sort: str | None = None,
    output_format: str = "table",
) -> int:
    """Print the table of the named studies (all when None); the CLI's `nasbench table`."""
    store.check_storage(url, create=False)
    if study_names:
        known = store.list_study_names(url)
        unknown = [n for n in study_names if n not in known]
        if unknown:
            raise UsageError(
                f"no results for study {', '.join(map(repr, unknown))}; "
                f"studies with results: {', '.join(known) or 'none'}"
            )
    frame = store.load_results(url, study_names or None)
    sys.stdout.write(format_table(results_table(frame, pareto=pareto, sort=sort), output_format))
    return 0
