"""The Optuna side of a trial: ask the space for an arch, call the evaluator, store the row, tell.

Everything about the arch itself happens in the evaluator (nasbench.evaluation), which knows
nothing of Optuna; this adapter only turns a trial into a request and the row into Optuna's answer.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from nasbench.arch import arch_hash
from nasbench.benchmarks import BenchmarkError, TabularBenchmark
from nasbench.config import SearchSettings, objective_values
from nasbench.evaluation.context import Context, Evaluation, Request
from nasbench.evaluation.limits import constraint_names, constraint_values
from nasbench.results import store
from nasbench.results.ranking import ZERO_COST_PREFIX
from nasbench.search.budget import OverBudget, over_budget
from nasbench.search.early_stop import FinishedCurve, hopeless_reason, uses_median_pruner
from nasbench.search.rungs import trial_rung
from nasbench.search.signals import StopRequest
from nasbench.search.states import training_states
from nasbench.train import epochs_of
from nasbench.workflow.rows import identity
from nasbench.workflow.studies import trial_seed

Evaluator = Callable[[dict[str, Any], Context, Request], Evaluation]


def search_identity(
    settings: SearchSettings, ctx: Context | None, trial_number: int, **more: Any
) -> dict[str, Any]:
    """The identity columns of a search trial's row (its budget's label when it trained)."""
    budget = ctx.budget if ctx is not None else settings.budget
    if settings.zero_cost is not None:
        more.setdefault("budget", f"{ZERO_COST_PREFIX}{settings.zero_cost}")
    elif budget is not None and (ctx is None or ctx.recipe is not None):
        more.setdefault("budget", budget.label)
    return identity(
        settings.study_name,
        "search",
        f"trial {trial_number}",
        settings.space,
        ctx.protocol if ctx is not None else None,
        trial_seed(settings.seed, trial_number),
        trial_number=trial_number,
        **more,
    )


class TrialFailed(Exception):
    """A trial that could not produce a result; the message is stored as its reason."""


class Objective:
    """The function Optuna calls for each trial of one worker, and what it knows of the study.

    `contexts` holds one context per rung of successive halving (one for a study of one rung): a
    trial trains at the rung its user attrs name. `judge`, a benchmark table of the space, adds
    each evaluated arch's truth to its row."""

    def __init__(
        self,
        settings: SearchSettings,
        contexts: tuple[Context, ...],
        evaluate: Evaluator,
        judge: TabularBenchmark | None = None,
    ) -> None:
        self.settings = settings
        self.contexts = contexts
        self.ctx = contexts[0]
        self.evaluate = evaluate
        self.judge = judge
        self.stops = StopRequest()
        self.constraint_names = constraint_names(self.ctx.limits)
        # complete trials' curves, for the early-stopping rule of a study of one rung
        self.finished_curves: tuple[FinishedCurve, ...] = ()
        # per rung: complete feasible trials' values, for deciding which results are confirmed
        self.fronts: dict[int, tuple[tuple[float, ...], ...]] = {}

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...] | float:
        started = datetime.now(UTC)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        rung = trial_rung(trial)
        if rung == 0 and over_budget(trial.study, trial.number, self.settings.trials):
            trial.set_user_attr("surplus", True)
            trial.study.stop()
            raise OverBudget(f"trial {trial.number} is past the budget of {self.settings.trials}")
        try:
            with self.stops.interruptible():
                evaluation = self._ask_and_evaluate(trial, rung)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        return self._tell(trial, evaluation, started, rung)

    def _ask_and_evaluate(self, trial: optuna.Trial, rung: int) -> Evaluation:
        ctx = self.contexts[rung]
        try:
            arch = ctx.space.suggest(trial)
        except Exception as err:  # a broken space fails its trial, not the sweep
            return Evaluation({"status": "failed", "error": f"{type(err).__name__}: {err}"})
        # with rungs, only the last confirms a front entrant: the lower ones only rank
        top = rung == len(self.contexts) - 1
        runs = self.settings.confirm_runs if top and ctx.trains else 1
        evaluation_seeds = tuple(
            trial_seed(self.settings.seed, trial.number, run) for run in range(runs)
        )
        resume_from, save_before_decay = training_states(self.settings, arch_hash(arch), rung)
        request = Request(
            seeds=evaluation_seeds,
            resume_from=resume_from,
            save_before_decay=save_before_decay,
            previous=self._stored_result(trial, arch, ctx),
            front=self.fronts.get(rung, ()),
            # successive halving is the study's early stopping: no second rule inside a rung
            should_stop=self._stopping_rule(trial)
            if ctx.trains and self.settings.pruning and len(self.contexts) == 1
            else None,
        )
        return self.evaluate(arch, ctx, request)

    def _stored_result(
        self, trial: optuna.Trial, arch: dict[str, Any], ctx: Context
    ) -> dict[str, Any] | None:
        """The stored result of this arch under this protocol; if a concurrent worker is training
        it right now (an earlier trial of the study), wait for it rather than train it twice. An
        earlier running trial that has not yet named its arch may be about to name this one: wait
        for it to name it (it is sampling, a fraction of a second)."""
        hash_ = arch_hash(arch)
        trial.set_user_attr("arch_hash", hash_)
        trial.set_user_attr("arch", arch)
        while True:
            found = store.find_result(
                self.settings.storage, arch_hash=hash_, protocol_hash=ctx.protocol
            )
            if found is not None:
                return found
            running = trial.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not any(
                t.number < trial.number
                and t.user_attrs.get("arch_hash", hash_) == hash_
                and trial_rung(t) == trial_rung(trial)
                for t in running
            ):
                return None
            time.sleep(0.2)
            # Optuna failed stale trials as this one started; the one waited on may die since
            optuna.storages.fail_stale_trials(trial.study)

    def _stopping_rule(self, trial: optuna.Trial) -> Callable[[int, float, tuple], str | None]:
        """One objective: Optuna's median pruner. Several: the hopeless-trial rule."""
        ctx = self.ctx
        if uses_median_pruner(ctx.objectives):

            def median_rule(epoch: int, val_acc: float, _costs: tuple) -> str | None:
                trial.report(val_acc, epoch)
                if trial.should_prune():
                    return (
                        f"pruned at epoch {epoch + 1} by the median rule (val_acc {val_acc:.1f}%)"
                    )
                return None

            return median_rule
        # a step budget's epochs are its passes over the data, the last one partial
        epochs = epochs_of(ctx.recipe, len(ctx.data.train_y))
        curves = self.finished_curves

        def hopeless_rule(epoch: int, val_acc: float, costs: tuple) -> str | None:
            return hopeless_reason(epoch, val_acc, list(costs), curves, epochs)

        return hopeless_rule

    def _tell(
        self, trial: optuna.Trial, evaluation: Evaluation, started: datetime, rung: int
    ) -> tuple[float, ...] | float:
        """Store the row, give Optuna the trial's attributes and constraints, return its values."""
        ctx = self.contexts[rung]
        row = {**self._identity(trial, started, rung), **evaluation.row}
        if self.judge is not None and row.get("arch") is not None:
            row["truth_acc"] = judged_truth(self.judge, row["arch"])
        row["finished_at"] = datetime.now(UTC)
        status = row["status"]
        if evaluation.curve:  # once, not per epoch: each attribute is a database commit
            trial.set_user_attr("val_acc_curve", evaluation.curve)
        if evaluation.run_accuracies:
            trial.set_user_attr("val_acc_runs", evaluation.run_accuracies)
        if status == "failed":
            trial.set_user_attr("error", row["error"])
        if status == "pruned":
            trial.set_user_attr("stop_reason", row["error"])
        trial.set_user_attr("status", status)
        if status != "failed":  # what the samplers learn feasibility from (<= 0 is feasible)
            values = constraint_values(row, ctx.limits)
            for name, value in zip(self.constraint_names, values, strict=True):
                trial.set_constraint(name, value)
        store.write_result(self.settings.storage, row)
        if status in ("complete", "pruned", "infeasible") and row.get("arch_hash"):
            resumed, _ = training_states(self.settings, row["arch_hash"], rung)
            if resumed is not None:  # stored: the state it continued from is no longer needed
                resumed.unlink(missing_ok=True)
        if status == "failed":
            raise TrialFailed(row["error"])
        if status == "pruned":
            raise optuna.TrialPruned(row["error"])
        values = objective_values(row, ctx.objectives)
        return values[0] if len(values) == 1 else values

    def _identity(self, trial: optuna.Trial, started: datetime, rung: int) -> dict[str, Any]:
        """The columns that say which trial of which study a row is (and its rung, with rungs)."""
        more: dict[str, Any] = {"started_at": started}
        if len(self.contexts) > 1:
            more["rung"] = rung
        return search_identity(self.settings, self.contexts[rung], trial.number, **more)

    def refresh(self, trials: list[FrozenTrial]) -> None:
        """Take in the study's trials: the complete ones' curves, for the multi-objective stopping
        rule, and their values rung by rung, for deciding which new results are confirmed."""
        curves: list[FinishedCurve] = []
        fronts: dict[int, list[tuple[float, ...]]] = {}
        for t in trials:
            if t.state != TrialState.COMPLETE:
                continue
            if not t.values or len(t.values) != len(self.ctx.objectives):
                continue
            rung = trial_rung(t)
            curve = t.user_attrs.get("val_acc_curve")
            if curve and rung == 0:
                curves.append(FinishedCurve(tuple(curve), tuple(t.values[1:])))
            if t.user_attrs.get("status") != "infeasible":
                fronts.setdefault(rung, []).append(tuple(t.values))
        self.finished_curves = tuple(curves)
        self.fronts = {rung: tuple(f) for rung, f in fronts.items()}


def judged_truth(bench: TabularBenchmark, arch: dict[str, Any]) -> float | None:
    """The table's truth of an arch (its best estimate of full training); None if it lacks it."""
    try:
        return float(bench.frame.at[bench.key(arch), "truth"])
    except (KeyError, BenchmarkError):
        return None
