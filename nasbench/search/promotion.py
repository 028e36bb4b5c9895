"""Successive halving's promotion rule: which archs of a rung are due to train at the next one.

Asynchronous, as in ASHA (Li et al., MLSys 2020): whenever a rung holds n results, the best
floor(n / factor) of them are due, so no worker waits for a rung to fill. "Best" over several
objectives is NSGA-II's order (Deb et al., 2002): non-dominated sorting, then crowding distance
within a front, as MO-ASHA does (Schmucker et al., 2021). Written here because no dependency does
it inside an Optuna study: Optuna's pruners refuse multi-objective studies (optuna/optuna#3450), its
non-dominated sort and crowding distance are private to its NSGA-II sampler, and Syne Tune's
MO-ASHA schedules its own trials outside Optuna's storage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nasbench.config import OBJECTIVES, directions
from nasbench.results.pareto import non_dominated
from nasbench.results.vocabulary import EVALUATED

# rows that are a rung's results: n counts them all; only the evaluated (feasible) ones can rank
# high enough to go on (an infeasible or hopeless arch is never promoted)
FINISHED = (*EVALUATED, "infeasible", "pruned")


def pareto_ranks(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """0 for the points on the front, 1 for the front of the rest, and so on."""
    ranks = np.full(len(values), -1)
    left = np.arange(len(values))
    rank = 0
    while len(left):
        on_front = non_dominated(values[left], directions)
        ranks[left[on_front]] = rank
        left = left[~on_front]
        rank += 1
    return ranks


def crowding_distances(values: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Each point's crowding distance within its front (the ends of a front: infinite), each
    objective scaled by its range on that front."""
    distances = np.zeros(len(values))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        for column in values[members].T:
            order = members[np.argsort(column, kind="stable")]
            span = float(np.ptp(column))
            distances[order[[0, -1]]] = np.inf
            if len(order) < 3 or span == 0:
                continue
            sorted_values = np.sort(column, kind="stable")
            distances[order[1:-1]] += (sorted_values[2:] - sorted_values[:-2]) / span
    return distances


def promotion_order(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Row indices of `values` best first: by front, then by crowding distance (the wider spread
    first), then by position (the earlier result first, so that the order is reproducible)."""
    values = np.asarray(values, dtype=float).reshape(len(values), len(directions))
    ranks = pareto_ranks(values, directions)
    crowding = crowding_distances(values, ranks)
    return np.lexsort((np.arange(len(values)), -crowding, ranks))


def rung_results(rows: pd.DataFrame, rung: int) -> pd.DataFrame:
    """A rung's results among a study's search rows: finished rows, one per arch (its first)."""
    at_rung = rows[rows["rung"].fillna(0).astype(int) == rung]
    at_rung = at_rung[at_rung["status"].isin(FINISHED)].sort_values("id", kind="stable")
    return at_rung.drop_duplicates("arch_hash", keep="first")


def top_of_rung(results: pd.DataFrame, factor: int, objectives: Sequence[str]) -> list[str]:
    """Arch hashes of the best floor(n / factor) of a rung's n results, best first."""
    quota = len(results) // factor
    ranked = results[results["status"].isin(EVALUATED)]
    if not quota or not len(ranked):
        return []
    columns = [OBJECTIVES[name].column for name in objectives]
    order = promotion_order(ranked[columns].to_numpy(dtype=float), directions(list(objectives)))
    return list(ranked["arch_hash"].to_numpy()[order][:quota])


def due_promotions(
    rows: pd.DataFrame,
    rung: int,
    factor: int,
    objectives: Sequence[str],
    promoted: set[str],
) -> tuple[list[str], list[int]]:
    """The archs of `rung` due at rung + 1 now and not in `promoted` (already promoted there),
    best first, and the ids of the rung's results they were ranked among."""
    results = rung_results(rows, rung)
    due = [h for h in top_of_rung(results, factor, objectives) if h not in promoted]
    return due, [int(i) for i in results["id"]]
