"""Run (or resume) a search in this process until the study holds its budget of trials."""

from __future__ import annotations

import sys

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench.config import SearchSettings
from nasbench.evaluation.context import Context
from nasbench.evaluation.scored import evaluate_scored
from nasbench.evaluation.tabular import evaluate_tabular
from nasbench.evaluation.trained import evaluate_trained
from nasbench.search.budget import (
    OverBudget,
    count_counted,
    counted_trials,
    wait_for_running_trials,
)
from nasbench.search.objective import Evaluator, Objective, TrialFailed
from nasbench.search.prescreen import run_prescreen
from nasbench.search.progress import Progress
from nasbench.search.rungs import promotions_open, queue_due_promotions, trial_rung
from nasbench.search.signals import Terminated, exit_status
from nasbench.search.states import remove_study_states
from nasbench.search.study import prepare_search
from nasbench.workflow.studies import quiet_optuna


def already_complete(settings: SearchSettings, done: int) -> str:
    return (
        f"study {settings.study_name!r} already has {done} of {settings.trials} trials; "
        "raise --trials to run more"
    )


def evaluator_of(ctx: Context) -> Evaluator:
    """How a search evaluates an arch: look it up, score it, or train it."""
    if ctx.benchmark is not None:
        return evaluate_tabular
    return evaluate_scored if ctx.zero_cost is not None else evaluate_trained


def run_search(settings: SearchSettings, *, quiet: bool = False) -> int:
    """Run (or resume) a study in this process until it holds settings.trials counted trials
    and, with rungs, every promotion they made due has trained."""
    quiet_optuna()
    settings, contexts, study, judge = prepare_search(settings)
    ctx = contexts[0]
    run_prescreen(study, settings, ctx.space, ctx.device, quiet=quiet)
    trials = study.get_trials(deepcopy=False)
    done = count_counted(trials)
    queue_due_promotions(study, settings, ctx.objectives, trials)  # a resumed study's
    if done >= settings.trials and not promotions_open(study.get_trials(deepcopy=False)):
        if not quiet:
            print(already_complete(settings, done), file=sys.stderr)
        return 0
    objective = Objective(settings, contexts, evaluator_of(ctx), judge)
    progress = Progress(
        study, settings.trials, done, list(ctx.objectives), quiet=quiet, rungs=settings.rungs
    )

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        # read once for all: each read is a database round trip (other processes, here or on
        # other machines, may have added trials)
        trials = study.get_trials(deepcopy=False)
        objective.refresh(trials)
        if queue_due_promotions(study, settings, ctx.objectives, trials):
            trials = study.get_trials(deepcopy=False)
        progress.update(trial, trials)
        if count_counted(trials) >= settings.trials and not promotions_open(trials):
            study.stop()
        objective.stops.raise_if_requested()  # the trial is stored: a safe point to stop at

    objective.refresh(study.get_trials(deepcopy=False))
    try:
        with objective.stops.installed():
            while (to_run := trials_to_run(study, settings)) is not None:
                if to_run:
                    study.optimize(
                        objective,
                        n_trials=to_run,
                        callbacks=[after_trial],
                        catch=(TrialFailed, OverBudget),
                        gc_after_trial=False,
                    )
                wait_for_running_trials(study, objective.stops)
                queue_due_promotions(study, settings, ctx.objectives, study.get_trials())
    except KeyboardInterrupt as stop:
        progress.close()
        if not quiet:  # a worker's supervisor says it once for all of them
            print(
                f"nasbench: {'terminated' if isinstance(stop, Terminated) else 'interrupted'}; "
                f"study {settings.study_name!r} holds {counted_trials(study)} of "
                f"{settings.trials} trials; rerun the same command to complete it",
                file=sys.stderr,
            )
        return exit_status(stop)
    progress.close()
    remove_study_states(settings)  # done: nothing is running or queued, no promotion is left
    if not quiet:
        print(progress.summary(), file=sys.stderr)
    return 0


def trials_to_run(study: optuna.Study, settings: SearchSettings) -> int | None:
    """How many trials this worker should ask for now: the new archs the budget lacks plus the
    queued promotions; None once the study is done (nothing left, nothing running)."""
    trials = study.get_trials(deepcopy=False)
    remaining = max(settings.trials - count_counted(trials), 0)
    queued = sum(t.state == TrialState.WAITING and trial_rung(t) > 0 for t in trials)
    if remaining or queued:
        return remaining + queued
    running = any(t.state == TrialState.RUNNING for t in trials)
    return 0 if running else None
