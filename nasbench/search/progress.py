"""The progress bar of a search: trials done, best accuracy, Pareto-front size and time left."""

from __future__ import annotations

import sys
import time

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from nasbench.config import directions
from nasbench.results.pareto import front_size
from nasbench.search.budget import counts_towards_budget
from nasbench.search.rungs import rung_counts, trial_rung


class Progress:
    """A tqdm bar on stderr, updated after each counted trial."""

    def __init__(
        self,
        study: optuna.Study,
        total: int,
        done: int,
        objectives: list[str],
        quiet: bool = False,
        rungs: int = 1,
    ):
        self.study = study
        self.objectives = objectives
        self.rungs = rungs
        self.started = time.monotonic()
        self.bar = tqdm(
            total=total,
            initial=done,
            desc=study.study_name,
            unit="trial",
            file=sys.stderr,
            dynamic_ncols=True,
            disable=quiet,
        )
        self.failures = 0

    def update(self, trial: FrozenTrial, trials: list[FrozenTrial]) -> None:
        """Count `trial` (one of the study's `trials`, as just read) if it counts to the budget;
        a promotion only refreshes the line (its rungs)."""
        if not counts_towards_budget(trial):
            if trial_rung(trial) > 0 and not self.bar.disable:
                self.bar.set_postfix_str(self._postfix(trials), refresh=True)
            return
        status = trial.user_attrs.get("status", trial.state.name.lower())
        if status == "failed":
            self.failures += 1
            self.bar.write(
                f"trial {trial.number} failed: {trial.user_attrs.get('error', '')}", file=sys.stderr
            )
        if not self.bar.disable:  # a quiet worker's bar shows nothing: skip the front
            self.bar.set_postfix_str(self._postfix(trials), refresh=False)
        self.bar.update(1)

    def _postfix(self, trials: list[FrozenTrial]) -> str:
        feasible = [
            t
            for t in trials
            if t.state == TrialState.COMPLETE and t.user_attrs.get("status") != "infeasible"
        ]
        rungs = ""
        if self.rungs > 1:  # trials finished at each rung: "rungs=12/4/1"
            rungs = " rungs=" + "/".join(map(str, rung_counts(trials, self.rungs)))
        if not feasible:
            return f"failed={self.failures}{rungs}"
        top = max(trial_rung(t) for t in feasible)  # a higher rung's accuracy is not rung 0's
        best = max(t.values[0] for t in feasible if trial_rung(t) == top)
        text = (
            f"best_score={best:.4g}" if self.objectives[0] == "score" else f"best_acc={best:.1f}%"
        )
        if top:
            text += f" (rung {top})"
        if len(self.objectives) > 1:
            size = front_size([t.values for t in feasible], directions(self.objectives))
            text += f" front={size}"
        if self.failures:
            text += f" failed={self.failures}"
        return text + rungs

    def summary(self) -> str:
        postfix = self._postfix(self.study.get_trials(deepcopy=False))
        return f"{self.study.study_name}: {postfix} in {time.monotonic() - self.started:.0f} s"

    def close(self) -> None:
        self.bar.close()
