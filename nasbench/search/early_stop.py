"""Early stopping of hopeless trials for multi-objective searches, where Optuna's pruners do not apply.

The rule: a trial is hopeless at epoch e (once at least MIN_FRACTION of its epochs have run) when a
finished trial that costs no more on every cost objective (MACs, params, latency) had, at the same
epoch e, a validation accuracy higher by more than MARGIN points. Such a trial is already dominated
by a cheaper one at the same point of training; the margin allows for late bloomers. It compares
curves measured under one protocol (same study, same epochs), never a partial curve with a final one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

MIN_FRACTION = 0.4
MARGIN = 2.0  # accuracy points


def uses_median_pruner(objectives: Sequence[str]) -> bool:
    """One objective: Optuna's median pruner stops trials; several: the hopeless-trial rule here
    (Optuna's pruners refuse multi-objective studies)."""
    return len(objectives) == 1


@dataclass(frozen=True)
class FinishedCurve:
    """Validation accuracy after each epoch of a finished trial, and its cost objectives."""

    val_acc: Sequence[float]
    costs: Sequence[float]


def hopeless_reason(
    epoch: int,
    val_acc: float,
    costs: Sequence[float],
    finished: Sequence[FinishedCurve],
    total_epochs: int,
    *,
    min_fraction: float = MIN_FRACTION,
    margin: float = MARGIN,
) -> str | None:
    """Why the trial should stop after `epoch` (0-based), or None to keep training."""
    if epoch + 1 < math.ceil(min_fraction * total_epochs) or epoch + 1 >= total_epochs:
        return None
    for other in finished:
        if len(other.val_acc) <= epoch or len(other.costs) != len(costs):
            continue
        cheaper = all(o <= c for o, c in zip(other.costs, costs, strict=True))
        if cheaper and other.val_acc[epoch] > val_acc + margin:
            return (
                f"stopped early at epoch {epoch + 1}/{total_epochs}: val_acc {val_acc:.1f}% trails "
                f"a finished trial that costs no more ({other.val_acc[epoch]:.1f}% at that epoch)"
            )
    return None
