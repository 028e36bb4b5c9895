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


class Progress:
    """A tqdm bar on stderr, updated after each counted trial."""

    def __init__(
        self, study: optuna.Study, total: int, done: int, objectives: list[str], quiet: bool = False
    ):
        self.study = study
        self.objectives = objectives
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
        """Count `trial` (one of the study's `trials`, as just read) if it counts to the budget."""
        if not counts_towards_budget(trial):
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
        if not feasible:
            return f"failed={self.failures}"
        best = max(t.values[0] for t in feasible)
        text = f"best_acc={best:.1f}%"
        if len(self.objectives) > 1:
            size = front_size([t.values for t in feasible], directions(self.objectives))
            text += f" front={size}"
        if self.failures:
            text += f" failed={self.failures}"
        return text

    def summary(self) -> str:
        postfix = self._postfix(self.study.get_trials(deepcopy=False))
        return f"{self.study.study_name}: {postfix} in {time.monotonic() - self.started:.0f} s"

    def close(self) -> None:
        self.bar.close()
