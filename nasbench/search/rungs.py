"""Successive halving in an Optuna study: which rung a trial trains at, and queueing the promotions
that are due as trials any worker takes.

A promotion is a trial queued with the arch's params and the user attrs `rung` and `promotes` (the
arch hash): Optuna hands a queued trial to the next worker that asks, before it samples a new
arch, and to that worker only. The promotions table (results.store) makes each promotion be queued
once; a worker killed while it trains one is failed by the heartbeat and its trial queued again
(Optuna's retry callback copies the user attrs), and a promotion whose worker died between claiming
and queueing it is queued again after the grace period.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from nasbench.config import SearchSettings
from nasbench.results import store
from nasbench.search.promotion import due_promotions
from nasbench.workflow.studies import grace_period_s

RUNG_ATTR = "rung"
PROMOTES_ATTR = "promotes"
# trial states in which a queued promotion is still alive (FAIL: retried, or failed with a reason)
_ALIVE = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED)


def trial_rung(trial: FrozenTrial | optuna.Trial) -> int:
    """The rung a trial trains at: 0 for a new arch."""
    return int(trial.user_attrs.get(RUNG_ATTR, 0))


def _all_rung_rows(url: str, study_name: str) -> pd.DataFrame:
    """The study's search rows (every rung), by id."""
    rows = store.load_results(url, [study_name])
    return rows[rows["source"] == "search"].sort_values("id", kind="stable")


def queue_due_promotions(
    study: optuna.Study,
    settings: SearchSettings,
    objectives: tuple[str, ...],
    trials: list[FrozenTrial],
) -> int:
    """Queue every promotion that is due now and not yet claimed (and any lost one); the number
    this worker queued."""
    if settings.rungs == 1:
        return 0
    url, name = settings.storage, study.study_name
    rows = _all_rung_rows(url, name)
    claims = store.load_promotions(url, name)
    sources = _arch_trials(trials)
    queued = 0
    for rung in range(settings.rungs - 1):
        promoted = set(claims.loc[claims["rung"] == rung + 1, "arch_hash"])
        due, ranked = due_promotions(rows, rung, settings.reduction_factor, objectives, promoted)
        for arch_hash in due:
            if store.claim_promotion(url, name, arch_hash, rung + 1, ranked):
                _queue(study, sources[arch_hash], rung + 1, arch_hash)
                queued += 1
    return queued + _queue_lost(study, settings, claims, trials, sources)


def _arch_trials(trials: list[FrozenTrial]) -> dict[str, FrozenTrial]:
    """Arch hash -> the first trial that evaluated it (whose params a promotion repeats)."""
    found: dict[str, FrozenTrial] = {}
    for t in trials:
        arch_hash = t.user_attrs.get("arch_hash")
        if arch_hash and t.params and arch_hash not in found:
            found[arch_hash] = t
    return found


def _queue(study: optuna.Study, source: FrozenTrial, rung: int, arch_hash: str) -> None:
    study.enqueue_trial(
        source.params, user_attrs={RUNG_ATTR: rung, PROMOTES_ATTR: arch_hash}, skip_if_exists=False
    )


def _queue_lost(
    study: optuna.Study,
    settings: SearchSettings,
    claims: pd.DataFrame,
    trials: list[FrozenTrial],
    sources: dict[str, FrozenTrial],
) -> int:
    """Queue again the claimed promotions that have no live trial, claimed longer ago than a
    worker's grace period (their worker died between claiming and queueing them)."""
    alive = {
        (t.user_attrs.get(PROMOTES_ATTR), trial_rung(t))
        for t in trials
        if PROMOTES_ATTR in t.user_attrs
        and (t.state in _ALIVE or t.user_attrs.get("status") == "failed")
    }
    before = datetime.now(UTC) - timedelta(seconds=grace_period_s())
    queued = 0
    for claim in claims.itertuples():
        key = (claim.arch_hash, int(claim.rung))
        if key in alive or claim.claimed_at > before or claim.arch_hash not in sources:
            continue
        if store.reclaim_promotion(
            settings.storage, study.study_name, claim.arch_hash, claim.rung, claim.attempt
        ):
            _queue(study, sources[claim.arch_hash], int(claim.rung), claim.arch_hash)
            queued += 1
    return queued


def promotions_open(trials: list[FrozenTrial]) -> bool:
    """Whether a promotion waits for a worker or is being trained."""
    return any(
        t.state in (TrialState.WAITING, TrialState.RUNNING) and trial_rung(t) > 0 for t in trials
    )


def rung_counts(trials: list[FrozenTrial], rungs: int) -> list[int]:
    """How many trials of each rung have finished with a result (the progress line's rungs)."""
    counts = [0] * rungs
    for t in trials:
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and trial_rung(t) < rungs:
            counts[trial_rung(t)] += 1
    return counts
