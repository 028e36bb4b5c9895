"""Run (or resume) a search in this process until the study holds its budget of trials."""

from __future__ import annotations

import sys

import optuna
from optuna.trial import FrozenTrial

from nasbench.config import SearchSettings
from nasbench.evaluation.tabular import evaluate_tabular
from nasbench.evaluation.trained import evaluate_trained
from nasbench.search.budget import (
    OverBudget,
    count_counted,
    counted_trials,
    wait_for_running_trials,
)
from nasbench.search.objective import Objective, TrialFailed
from nasbench.search.progress import Progress
from nasbench.search.signals import Terminated, exit_status
from nasbench.search.study import prepare_search
from nasbench.workflow.studies import quiet_optuna


def already_complete(settings: SearchSettings, done: int) -> str:
    return (
        f"study {settings.study_name!r} already has {done} of {settings.trials} trials; "
        "raise --trials to run more"
    )


def run_search(settings: SearchSettings, *, quiet: bool = False) -> int:
    """Run (or resume) a study in this process until it holds settings.trials counted trials."""
    quiet_optuna()
    settings, ctx, study = prepare_search(settings)
    done = counted_trials(study)
    if done >= settings.trials:
        if not quiet:
            print(already_complete(settings, done), file=sys.stderr)
        return 0
    objective = Objective(
        settings, ctx, evaluate_tabular if ctx.benchmark is not None else evaluate_trained
    )
    progress = Progress(study, settings.trials, done, list(ctx.objectives), quiet=quiet)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        # read once for all three: each read is a database round trip (other processes, here or
        # on other machines, may have added trials)
        trials = study.get_trials(deepcopy=False)
        objective.refresh(trials)
        progress.update(trial, trials)
        if count_counted(trials) >= settings.trials:
            study.stop()
        objective.stops.raise_if_requested()  # the trial is stored: a safe point to stop at

    objective.refresh(study.get_trials(deepcopy=False))
    try:
        with objective.stops.installed():
            while (remaining := settings.trials - counted_trials(study)) > 0:
                study.optimize(
                    objective,
                    n_trials=remaining,
                    callbacks=[after_trial],
                    catch=(TrialFailed, OverBudget),
                    gc_after_trial=False,
                )
                wait_for_running_trials(study, objective.stops)
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
    if not quiet:
        print(progress.summary(), file=sys.stderr)
    return 0
