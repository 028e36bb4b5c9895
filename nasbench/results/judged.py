"""A search judged by its benchmark table's truth: hypervolume ratio, regret under MACs limits, tau.

The search's *found front* is what it would hand over: the non-dominated set of its own evaluated
archs by its own accuracy (the proxy's val_acc, or a zero-cost search's proxy_score) against MACs.
Each arch is then scored by the table's truth (its best estimate of full training):

- hv_ratio: the hypervolume of the found front's (truth, MACs) points over that of the table's
  true front (truth against MACs over every row), both with one fixed reference point:
  REFERENCE_ACC and REFERENCE_COST_MARGIN x the table's largest MACs;
- regret_30M, ...: for each MACs limit, the table's best truth under it minus the truth of the
  arch the search would pick under it (its highest own accuracy); NaN when it has none there;
- kendall_tau (with a bootstrap interval): own accuracy against truth over every evaluated arch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from nasbench.arch import arch_hash
from nasbench.benchmarks import BenchmarkError, TabularBenchmark
from nasbench.results.formats import Column, shown_column
from nasbench.results.pareto import REFERENCE_COST_MARGIN, hypervolume, non_dominated
from nasbench.results.ranking import SUMMARY_COLUMNS, rank_agreement
from nasbench.results.vocabulary import EVALUATED

REFERENCE_ACC = 85.0  # percent: about the 5th percentile of NAS-Bench-Macro's truth
MACS_LIMITS = (30e6, 45e6, 60e6)
DIRECTIONS = ("maximize", "minimize")  # accuracy, MACs
TAU_KEYS = ("kendall_tau", "kendall_tau_low", "kendall_tau_high")


def limit_label(limit: float) -> str:
    """30e6 -> '30M': the suffix of a limit's figures (regret_30M, best_truth_30M)."""
    return f"{limit / 1e6:g}M"


def judged_archs(
    rows: pd.DataFrame, bench: TabularBenchmark, table_macs: pd.Series | None = None
) -> pd.DataFrame:
    """One row per feasible evaluated arch of `rows` (its highest-rung, then latest row), with
    columns arch, own (val_acc, or proxy_score when no row has a val_acc), own_macs (what the
    search measured), truth and macs (the table's, or `table_macs`; the row's when neither)."""
    rows = rows[rows["status"].isin(EVALUATED)]
    empty = pd.DataFrame(columns=["arch", "own", "own_macs", "truth", "macs"])
    if not len(rows):
        return empty
    order = pd.DataFrame(
        {
            "key": _arch_keys(rows),
            "rung": _column(rows, "rung").fillna(0),
            "trial": _column(rows, "trial_number"),
        },
        index=rows.index,
    ).sort_values(["rung", "trial"], kind="stable", na_position="first")
    rows = rows.loc[order.drop_duplicates("key", keep="last").index].sort_index()
    val_acc = _column(rows, "val_acc")
    own = val_acc if val_acc.notna().any() else _column(rows, "proxy_score")
    truth = _column(rows, "truth_acc")
    missing = truth.isna()
    if missing.any():
        truth[missing] = [_table_value(bench, a, "truth") for a in rows.loc[missing, "arch"]]
    own_macs = _column(rows, "macs")
    # the truth's coordinates are the table's MACs (the arch the table trained, at its input
    # size): a search on smaller images counts fewer, and its own MACs only pick its front
    macs = own_macs.copy()
    if table_macs is not None or "macs" in bench.frame:
        source = bench.frame["macs"] if table_macs is None else table_macs
        macs[:] = [float(source.at[bench.key(a)]) for a in rows["arch"]]
    archs = pd.DataFrame(
        {"arch": rows["arch"], "own": own, "own_macs": own_macs, "truth": truth, "macs": macs}
    )
    return archs.reset_index(drop=True)


def _arch_keys(rows: pd.DataFrame) -> list[str]:
    """Each row's arch hash (computed from its arch where the row has none)."""
    hashes = rows["arch_hash"] if "arch_hash" in rows else [None] * len(rows)
    return [
        h if isinstance(h, str) else arch_hash(a) for h, a in zip(hashes, rows["arch"], strict=True)
    ]


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    """A column as floats (all NaN when the frame lacks it), a copy safe to fill in."""
    if name not in rows:
        return pd.Series(np.nan, index=rows.index, dtype=float)
    return pd.to_numeric(rows[name], errors="coerce").astype(float).copy()


def _table_value(bench: TabularBenchmark, arch: dict[str, Any], column: str) -> float:
    key = bench.key(arch)
    if key not in bench.frame.index:
        raise BenchmarkError(f"benchmark {bench.name} has no row for {key}: cannot judge it")
    return float(bench.frame.at[key, column])


def table_points(bench: TabularBenchmark, table_macs: pd.Series | None = None) -> pd.DataFrame:
    """truth and macs of every row of the table; `table_macs` (by arch string) when its frame has
    no macs column (nasbench.evaluation.tabular.table_costs computes them)."""
    if table_macs is None:
        if "macs" not in bench.frame:
            raise BenchmarkError(f"benchmark {bench.name} has no macs column: pass table_macs")
        table_macs = bench.frame["macs"]
    macs = table_macs.reindex(bench.frame.index).astype(float)
    return pd.DataFrame({"truth": bench.frame["truth"].astype(float), "macs": macs})


def reference_point(table: pd.DataFrame) -> list[float]:
    """The fixed hypervolume reference: REFERENCE_ACC and the margin over the largest MACs."""
    return [REFERENCE_ACC, REFERENCE_COST_MARGIN * float(table["macs"].max())]


def front_hypervolume(points: pd.DataFrame, reference: list[float]) -> float:
    """Hypervolume of (truth, macs) points, over their own front (the same value, faster)."""
    values = points[["truth", "macs"]].to_numpy(dtype=float)
    return hypervolume(values[non_dominated(values, DIRECTIONS)], DIRECTIONS, reference)


def found_front(archs: pd.DataFrame) -> pd.DataFrame:
    """The archs the search would hand over: non-dominated by its own accuracy against its own
    MACs."""
    mask = non_dominated(archs[["own", "own_macs"]].to_numpy(dtype=float), DIRECTIONS)
    return archs[mask]


def pick_under(archs: pd.DataFrame, limit: float) -> pd.Series | None:
    """The search's best-looking arch with macs <= limit (the table's MACs, the limit's units:
    highest own accuracy, then cheapest, then first evaluated); None when it evaluated none
    there."""
    under = archs[(archs["macs"] <= limit) & archs["own"].notna()]
    if not len(under):
        return None
    return under.sort_values(["own", "macs"], ascending=[False, True], kind="stable").iloc[0]


def table_best(table: pd.DataFrame, limit: float) -> float:
    """The table's best truth among its rows with macs <= limit (NaN when none is)."""
    under = table.loc[table["macs"] <= limit, "truth"]
    return float(under.max()) if len(under) else math.nan


def judged_figures(
    rows: pd.DataFrame,
    bench: TabularBenchmark,
    *,
    seed: int = 0,
    table_macs: pd.Series | None = None,
) -> dict[str, Any]:
    """The figures of one search's results rows judged against `bench` (see the module's
    docstring): archs, front_size, hv_found, hv_true, hv_ratio, regret_<L> and best_truth_<L>
    for each of MACS_LIMITS, kendall_tau with kendall_tau_low/high. Only complete and reused
    rows count; `seed` seeds the bootstrap of tau's interval."""
    archs = judged_archs(rows, bench, table_macs)
    table = table_points(bench, table_macs)
    reference = reference_point(table)
    front = found_front(archs)
    hv_found = front_hypervolume(front, reference)
    hv_true = front_hypervolume(table, reference)
    figures: dict[str, Any] = {
        "archs": len(archs),
        "front_size": len(front),
        "hv_found": hv_found,
        "hv_true": hv_true,
        "hv_ratio": hv_found / hv_true if hv_true > 0 else math.nan,
    }
    for limit in MACS_LIMITS:
        pick = pick_under(archs, limit)
        truth = math.nan if pick is None else float(pick["truth"])
        figures[f"regret_{limit_label(limit)}"] = table_best(table, limit) - truth
        figures[f"best_truth_{limit_label(limit)}"] = truth
    agreement = rank_agreement(archs["own"], archs["truth"], seed=seed)
    figures.update({key: agreement[key] for key in TAU_KEYS})
    return figures


# how people read the judge command's rows (formats.render); the machine formats carry them all
COLUMNS = (
    shown_column("study_name"),
    Column("benchmark"),
    Column("archs"),
    Column("front_size", "front"),
    Column("hv_ratio", "HV ratio", decimals=3),
    Column("hv_found", "HV found", decimals=4),
    Column("hv_true", "HV true", decimals=4),
    *(
        Column(f"regret_{limit_label(limit)}", f"regret {limit_label(limit)} (pp)", decimals=2)
        for limit in MACS_LIMITS
    ),
    *(
        Column(f"best_truth_{limit_label(limit)}", f"truth {limit_label(limit)} (%)", decimals=2)
        for limit in MACS_LIMITS
    ),
    *(column for column in SUMMARY_COLUMNS if column.name in TAU_KEYS),
)
# the columns a person's table shows (the rest are in json and csv)
HUMAN_COLUMNS = (
    "study_name",
    "benchmark",
    "archs",
    "front_size",
    "hv_ratio",
    *(f"regret_{limit_label(limit)}" for limit in MACS_LIMITS),
    *TAU_KEYS,
)
