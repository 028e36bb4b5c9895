"""The samplers a search can use, by name, and the harness's local-search sampler for small spaces.

One table (`SAMPLER_NAMES`, `make_sampler`) maps a name to an Optuna sampler:

    tpe     optuna's TPESampler (Optuna's default sampler), multivariate also for several
            objectives (see MULTIVARIATE_TPE), its constant liar on only when trials run in
            parallel (`parallel=True`)
    nsga2   NSGAIISampler (population 50: its first 50 trials are random)
    random  RandomSampler
    qmc     QMCSampler (scrambled Sobol); it samples categorical parameters at random
    gp      GPSampler (Gaussian process; categorical parameters use a Hamming-type kernel)
    grid    GridSampler over the space's GRID (only spaces small enough to enumerate define one)
    local   LocalSearchSampler below: the default for small categorical spaces such as nb201

Constraints steer tpe, nsga2, gp and local (a trial is feasible when every value is <= 0); random,
qmc and grid never steer, so they ignore them. The search sets them in the objective with
`Trial.set_constraint(name, value)`, which every sampler reads from the stored trial; Optuna 5
deprecates a sampler's `constraints_func` (removal planned for v7). A constraints_func given here
still works (its deprecation warning is silenced).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from nasbench.errors import UsageError
from nasbench.names import SAMPLER_NAMES

ConstraintsFunc = Callable[[FrozenTrial], Sequence[float]]

MULTI_OBJECTIVE = frozenset({"tpe", "nsga2", "random", "qmc", "gp", "grid"})
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
# above this many cells GridSampler's enumeration stops being a sensible strategy
MAX_GRID_SIZE = 1_000_000


# Optuna 5 samples each parameter on its own (independent TPE) when there are several objectives,
# from benchmarks on continuous test functions. On the default search (mobilenet, 38 categorical
# parameters, acc and MACs, 200 trials, seeds 0 and 1) independent TPE proposed an
# arch already evaluated 47 and 86 times, multivariate TPE 1 and 2 times; multivariate's fronts
# spanned 5.7x and 3.7x of MACs against 1.5x and 2.7x, at equal or better best accuracy, and with
# 0.18-0.20 s of harness overhead per trial against 0.23-0.30 s.
MULTIVARIATE_TPE = True


def default_sampler_name(space: ModuleType | None, n_objectives: int, trained: bool = False) -> str:
    """`local` for one objective over a small enumerable space (one with GRID); `random` for a
    trained search of several objectives; else Optuna's TPE.

    Measured on NAS-Bench-201 lookups (experiments/compare_samplers.py): local search beats TPE for
    a single objective; for accuracy and MACs TPE's hypervolume beats NSGA-II's at 100 trials.
    Measured on trained searches judged by NAS-Bench-Macro's truth (experiments/judged_search.py,
    seeds 0-2, real CIFAR-10 on a CPU): random sampling's hypervolume ratio 0.758 +- 0.061 against
    TPE's 0.591 +- 0.094. TPE follows the proxy's accuracies, which rank at Kendall tau 0.2-0.5
    there; with exact (looked-up) accuracies or a zero-cost score (tau 0.78) it keeps TPE.
    """
    if n_objectives == 1 and _grid_size(space) is not None:
        return "local"
    if trained and n_objectives > 1:
        return "random"
    return "tpe"


def make_sampler(
    name: str,
    *,
    seed: int | None,
    n_objectives: int,
    constraints_func: ConstraintsFunc | None = None,
    space: ModuleType | None = None,
    parallel: bool = True,
) -> optuna.samplers.BaseSampler:
    """The sampler called `name`; UsageError for an unknown name or one that cannot serve the study.

    `parallel=False` promises that no other process runs trials of the study at the same time.
    TPE's constant liar (which steers a sampler away from trials still running elsewhere) then has
    nothing to do, and switching it off lets TPE read the study once per trial instead of once per
    parameter: 0.10 s instead of 0.35 s a trial for the 38 parameters of mobilenet on SQLite.
    """
    if name not in SAMPLER_NAMES:
        raise UsageError(f"unknown sampler {name!r}; valid samplers: {', '.join(SAMPLER_NAMES)}")
    if n_objectives > 1 and name not in MULTI_OBJECTIVE:
        valid = ", ".join(s for s in SAMPLER_NAMES if s in MULTI_OBJECTIVE)
        raise UsageError(f"sampler {name!r} optimises one objective; for several use {valid}")
    if name in ("tpe", "nsga2", "gp"):
        with warnings.catch_warnings():
            # optuna 5 deprecates constraints_func for Trial.set_constraint (removal in v7): see
            # the module docstring; the samplers themselves read constraints either way
            warnings.filterwarnings("ignore", ".*constraints_func", FutureWarning)
            if name == "tpe":
                return optuna.samplers.TPESampler(
                    seed=seed,
                    constraints_func=constraints_func,
                    constant_liar=parallel,
                    multivariate=MULTIVARIATE_TPE,
                )
            if name == "nsga2":
                return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints_func)
            return optuna.samplers.GPSampler(
                seed=seed, constraints_func=constraints_func, warn_independent_sampling=False
            )
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "qmc":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.QMCSampler(
                scramble=True,
                seed=seed,
                warn_independent_sampling=False,
                warn_asynchronous_seeding=False,
            )
    if name == "grid":
        size = _grid_size(space)
        if size is None:
            space_name = getattr(space, "NAME", None) or "this space"
            raise UsageError(
                f"grid needs a space small enough to enumerate (one that defines GRID, "
                f"at most {MAX_GRID_SIZE:,} cells); {space_name} is not"
            )
        return optuna.samplers.GridSampler(space.GRID, seed=seed)
    return LocalSearchSampler(seed=seed, constraints_func=constraints_func)


def _grid_size(space: ModuleType | None) -> int | None:
    grid = getattr(space, "GRID", None)
    if not grid:
        return None
    size = int(np.prod([len(values) for values in grid.values()], dtype=object))
    return size if size <= MAX_GRID_SIZE else None


# ---- local search -----------------------------------------------------------------------------


@dataclass
class _Replay:
    """Where the local search stands after the completed trials it has read, in trial-number order."""

    numbers: list[int] = field(default_factory=list)
    seen: set[tuple[int, ...]] = field(default_factory=set)
    batch_left: int = 0  # > 0: in a random batch that still needs this many trials
    batch_best: tuple[tuple[float, float], tuple[int, ...]] | None = None
    incumbent: tuple[tuple[float, float], tuple[int, ...]] | None = None


class LocalSearchSampler(optuna.samplers.BaseSampler):
    """First-improvement local search over categorical parameters, neighbours ranked by a model.

    A batch of `n_startup_trials` random cells seeds the search; its best cell is the incumbent.
    Each further trial evaluates an unseen neighbour of the incumbent (one parameter changed), the
    one a ridge regression on the one-hot encoding of every completed trial predicts best, and moves
    to it as soon as it improves on the incumbent. When every neighbour has been seen (a local
    optimum), a new random batch restarts the search. Cells already tried (failed or pruned ones
    included) are not proposed again while unseen ones remain.

    The state is replayed from the study's completed trials (in trial-number order), so a resumed
    or shared study continues where it stood. Only categorical parameters are searched; any other
    parameter is sampled at random. Hand-written because Optuna has no local-search sampler; on
    NAS-Bench-201 it beats TPE (see experiments/compare_samplers_nb201.py).
    """

    def __init__(
        self,
        *,
        seed: int | None = None,
        n_startup_trials: int = 10,
        ridge: float = 1.0,
        constraints_func: ConstraintsFunc | None = None,
    ) -> None:
        if n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be at least 1, got {n_startup_trials}")
        self._rng = np.random.RandomState(seed)
        self._random = optuna.samplers.RandomSampler(seed=seed)
        self._n_startup_trials = n_startup_trials
        self._ridge = ridge
        self._constraints_func = constraints_func
        self._search_space = IntersectionSearchSpace()
        self._replay: _Replay | None = None
        self._replay_key: tuple[Any, ...] | None = None
        self._scores: dict[int, tuple[float, float]] = {}

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._random.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._raise_error_if_multi_objective(study)
        space = self._search_space.calculate(study)
        return {
            name: dist
            for name, dist in sorted(space.items())
            if isinstance(dist, CategoricalDistribution) and len(dist.choices) > 1
        }

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        names = list(search_space)
        sizes = [len(search_space[n].choices) for n in names]  # type: ignore[attr-defined]
        finished = study.get_trials(deepcopy=False, states=FINISHED)
        state = self._update(study, finished, search_space)
        busy = state.seen | {
            cell
            for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if (cell := _encode(t, search_space)) is not None
        }
        completed = [t for t in finished if t.state == TrialState.COMPLETE]

        cell = None
        if state.batch_left == 0 and state.incumbent is not None:
            neighbours = [n for n in _neighbours(state.incumbent[1], sizes) if n not in busy]
            if neighbours:
                cell = self._most_promising(neighbours, completed, search_space, sizes)
        if cell is None:
            cell = self._random_cell(sizes, busy)
        return {
            name: search_space[name].choices[index]  # type: ignore[attr-defined]
            for name, index in zip(names, cell, strict=True)
        }

    # -- replaying the history

    def _update(
        self,
        study: optuna.Study,
        finished: list[FrozenTrial],
        search_space: dict[str, BaseDistribution],
    ) -> _Replay:
        ordered = sorted(finished, key=lambda t: t.number)
        key = (study._study_id, tuple(search_space.items()))
        state = self._replay
        numbers = [t.number for t in ordered]
        if (
            state is None
            or self._replay_key != key
            or numbers[: len(state.numbers)] != state.numbers
        ):
            state = _Replay(batch_left=self._n_startup_trials)
            self._scores = {}
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        sizes = [len(d.choices) for d in search_space.values()]  # type: ignore[attr-defined]
        for trial in ordered[len(state.numbers) :]:
            state.numbers.append(trial.number)
            cell = _encode(trial, search_space)
            if cell is None:
                continue
            state.seen.add(cell)  # failed and pruned cells too: never propose them again
            score = self._score(trial, sign) if trial.state == TrialState.COMPLETE else None
            if state.batch_left > 0:
                if score is not None and (state.batch_best is None or score > state.batch_best[0]):
                    state.batch_best = (score, cell)
                state.batch_left -= 1
                if state.batch_left == 0:
                    if state.batch_best is None:  # nothing in the batch completed: another batch
                        state.batch_left = self._n_startup_trials
                    state.incumbent, state.batch_best = state.batch_best, None
            elif score is not None and score > state.incumbent[0]:  # type: ignore[index]
                state.incumbent = (score, cell)  # first improvement: move at once
            if state.batch_left == 0 and all(
                n in state.seen
                for n in _neighbours(state.incumbent[1], sizes)  # type: ignore[index]
            ):
                state.batch_left = self._n_startup_trials  # local optimum: restart
        self._replay, self._replay_key = state, key
        return state

    def _score(self, trial: FrozenTrial, sign: float) -> tuple[float, float]:
        """(feasibility, value): a feasible trial beats an infeasible one, then by objective."""
        if trial.number not in self._scores:
            value = sign * float(trial.value)  # type: ignore[arg-type]
            if self._constraints_func is not None:
                constraints = list(self._constraints_func(trial))
            else:  # values the objective set with Trial.set_constraint (optuna >= 5)
                constraints = list(getattr(trial, "constraints", {}).values())
            violation = sum(max(0.0, float(c)) for c in constraints)
            self._scores[trial.number] = (-violation, value if violation == 0 else 0.0)
        return self._scores[trial.number]

    # -- proposing

    def _most_promising(
        self,
        candidates: list[tuple[int, ...]],
        completed: list[FrozenTrial],
        search_space: dict[str, BaseDistribution],
        sizes: list[int],
    ) -> tuple[int, ...]:
        """The candidate a ridge regression on one-hot features of the feasible trials ranks first."""
        rows, targets = [], []
        for trial in completed:
            cell = _encode(trial, search_space)
            score = self._scores.get(trial.number)
            if cell is not None and score is not None and score[0] == 0.0:
                rows.append(cell)
                targets.append(score[1])
        order = self._rng.permutation(len(candidates))  # random tie-break
        candidates = [candidates[i] for i in order]
        if len(rows) < 2:
            return candidates[0]
        x = _one_hot(rows, sizes)
        y = np.asarray(targets) - np.mean(targets)
        weights = np.linalg.solve(x.T @ x + self._ridge * np.eye(x.shape[1]), x.T @ y)
        predicted = _one_hot(candidates, sizes) @ weights
        return candidates[int(np.argmax(predicted))]

    def _random_cell(self, sizes: list[int], avoid: set[tuple[int, ...]]) -> tuple[int, ...]:
        cell = tuple(int(self._rng.randint(size)) for size in sizes)
        for _ in range(100):  # avoid repeats while the space has room; give up on a full space
            if cell not in avoid:
                break
            cell = tuple(int(self._rng.randint(size)) for size in sizes)
        return cell


def _encode(
    trial: FrozenTrial, search_space: dict[str, BaseDistribution]
) -> tuple[int, ...] | None:
    """A trial's categorical parameters as choice indices, or None if it lacks one of them."""
    cell = []
    for name, dist in search_space.items():
        if name not in trial.params:
            return None
        try:
            cell.append(dist.choices.index(trial.params[name]))  # type: ignore[attr-defined]
        except ValueError:
            return None
    return tuple(cell)


def _neighbours(cell: tuple[int, ...], sizes: list[int]) -> list[tuple[int, ...]]:
    """Every cell that differs from `cell` in exactly one parameter."""
    return [
        cell[:i] + (choice,) + cell[i + 1 :]
        for i, size in enumerate(sizes)
        for choice in range(size)
        if choice != cell[i]
    ]


def _one_hot(cells: list[tuple[int, ...]], sizes: list[int]) -> np.ndarray:
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    x = np.zeros((len(cells), int(sum(sizes))))
    x[np.arange(len(cells))[:, None], offsets + np.asarray(cells)] = 1.0
    return x
