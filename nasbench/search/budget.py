"""The study's budget (--trials): which trials count, and waiting for other workers' trials."""

from __future__ import annotations

import time

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench.search.rungs import promotions_open, trial_rung
from nasbench.search.signals import StopRequest
from nasbench.workflow.studies import heartbeat_interval_s


class OverBudget(Exception):
    """A concurrent worker asked for a trial after the budget was filled; it is dropped."""


def counts_towards_budget(trial: FrozenTrial) -> bool:
    """A trial counts towards --trials when it evaluated a new arch and produced a result row:
    complete, pruned, or failed with its reason. Promotions (successive halving's higher rungs),
    trials stopped by Ctrl-C, killed with their worker (then retried) or started past the budget
    by a concurrent worker do not count."""
    if trial_rung(trial) > 0:
        return False
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get("status") == "failed"


def count_counted(trials: list[FrozenTrial]) -> int:
    return sum(counts_towards_budget(t) for t in trials)


def counted_trials(study: optuna.Study) -> int:
    return count_counted(study.get_trials(deepcopy=False))


def work_left(study: optuna.Study, budget: int) -> bool:
    """Whether the study lacks new archs for its budget, or has promotions queued or training."""
    trials = study.get_trials(deepcopy=False)
    return count_counted(trials) < budget or promotions_open(trials)


def over_budget(study: optuna.Study, trial_number: int, budget: int) -> bool:
    """Whether trials numbered before this one, finished or still running, already fill the budget."""
    ahead = 0
    for t in study.get_trials(deepcopy=False):
        running = t.state == TrialState.RUNNING and trial_rung(t) == 0
        if t.number < trial_number and (counts_towards_budget(t) or running):
            ahead += 1
    return ahead >= budget


def wait_for_running_trials(study: optuna.Study, stops: StopRequest) -> None:
    """Wait until no trial runs: other workers' trials may hold the rest of the budget, or be
    declared dead (their heartbeat stopped) and failed and queued again."""
    while study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        stops.raise_if_requested()
        optuna.storages.fail_stale_trials(study)
        time.sleep(min(heartbeat_interval_s(), 2))
