"""Pareto fronts and hypervolume: one non-domination computation, one hypervolume normalisation.

Points are rows of objective values with Optuna's directions ("maximize" / "minimize"). A point is
dominated when another is at least as good in every objective and better in one; the front is
the points nothing dominates (duplicates of a front point are on it too).

Hypervolume is normalised the same way everywhere: objectives become losses in [0, 1], 0 at the
ideal point (100 % accuracy, zero cost) and 1 at a reference point (0 % accuracy, a reference cost
that the caller states), and the hypervolume is the volume those losses dominate inside the unit
box: 1 would be 100 % accuracy at no cost, a point at or beyond a reference cost adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Optuna's WFG algorithm; optuna 5 has no public name for it (pinned by tests/test_pareto.py)
from optuna._hypervolume import compute_hypervolume

from nasbench.config import directions

ACCURACY_IDEAL = 100.0  # percent
# hypervolume reference cost: this many times the largest cost, so the costliest point counts too
REFERENCE_COST_MARGIN = 1.1


def _minimised(points: Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    values = np.asarray(points, dtype=float).reshape(-1, len(directions))
    return values * signs


def _beaten(point: np.ndarray, others: np.ndarray, *, ties: bool) -> bool:
    """Whether a row of `others` (minimised) dominates `point`, or with `ties` equals it too."""
    if not len(others):
        return False
    no_worse = (others <= point).all(axis=1)
    if ties:
        return bool(no_worse.any())
    return bool((no_worse & (others < point).any(axis=1)).any())


def non_dominated(points: Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    """True for each point (row) that no other point dominates; rows with a NaN are never on it.

    In lexicographic order a point can only be dominated by one before it, so each is compared
    with the front found so far: O(n x front size), fast for the thousands of rows of a report.
    """
    values = _minimised(points, directions)
    mask = np.zeros(len(values), dtype=bool)
    finite = np.flatnonzero(~np.isnan(values).any(axis=1))
    rows = values[finite]
    front = np.empty((0, values.shape[1]))
    for i in np.lexsort(rows.T[::-1]) if len(rows) else ():
        if not _beaten(rows[i], front, ties=False):
            mask[finite[i]] = True
            front = np.vstack([front, rows[i]])
    return mask


def front_size(points: Sequence[Sequence[float]], directions: Sequence[str]) -> int:
    """How many distinct points are on the front."""
    values = np.asarray(points, dtype=float).reshape(-1, len(directions))
    return len(np.unique(values[non_dominated(values, directions)], axis=0))


def joins_front(
    point: Sequence[float], others: Sequence[Sequence[float]], directions: Sequence[str]
) -> bool:
    """Whether `point` would add to the front of `others`: nothing dominates it and it is no
    duplicate of one of them (a tie adds nothing). With one objective: better than the best."""
    mine = _minimised([point], directions)[0]
    return not np.isnan(mine).any() and not _beaten(mine, _minimised(others, directions), ties=True)


def pareto_mask(accuracy: Sequence[float], cost: Sequence[float]) -> np.ndarray:
    """The front of accuracy (maximised) against one cost (minimised)."""
    return non_dominated(np.column_stack([accuracy, cost]), directions(["acc", "macs"]))


def normalised_losses(
    points: Sequence[Sequence[float]], directions: Sequence[str], reference: Sequence[float]
) -> np.ndarray:
    """Losses in the module's normalisation: 0 at the ideal point, 1 at `reference`. Maximised
    objectives are accuracies in percent (ideal 100); minimised ones are costs (ideal 0)."""
    ideal = np.array([ACCURACY_IDEAL if d == "maximize" else 0.0 for d in directions])
    values = np.asarray(points, dtype=float).reshape(-1, len(directions))
    return (values - ideal) / (np.asarray(reference, dtype=float) - ideal)


def hypervolume(
    points: Sequence[Sequence[float]], directions: Sequence[str], reference: Sequence[float]
) -> float:
    """The hypervolume of `points` as a fraction of the box between the ideal point and
    `reference` (e.g. [0, REFERENCE_COST_MARGIN x the largest MACs] for accuracy against MACs)."""
    losses = normalised_losses(points, directions, reference)
    losses = losses[~np.isnan(losses).any(axis=1) & (losses < 1.0).all(axis=1)]
    if not len(losses):
        return 0.0
    return float(compute_hypervolume(losses, np.ones(losses.shape[1])))


def hypervolume_history(
    points: Sequence[Sequence[float]], directions: Sequence[str], reference: Sequence[float]
) -> np.ndarray:
    """The hypervolume after each point, in order. It changes only when a point joins the front,
    so it is recomputed only then (a report of 10,000 trials stays fast)."""
    values = _minimised(points, directions)
    signs = _minimised(np.ones((1, len(directions))), directions)[0]
    out = np.zeros(len(values))
    front = np.empty((0, len(directions)))  # minimised
    volume = 0.0
    for i, point in enumerate(values):
        if not np.isnan(point).any() and not _beaten(point, front, ties=True):
            dominated = (point <= front).all(axis=1)  # nothing equals it, so these are worse
            front = np.vstack([front[~dominated], point])
            volume = hypervolume(front * signs, directions, reference)
        out[i] = volume
    return out
