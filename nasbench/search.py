"""The search: an Optuna study whose trials sample an arch, measure it, train its proxy and store a row."""

from __future__ import annotations

import dataclasses
import math
import os
import socket
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from typing import Any

import numpy as np
import optuna
import torch
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from nasbench import samplers, store
from nasbench.compare import macs_of_cell
from nasbench.config import OBJECTIVES, SearchSettings
from nasbench.data import load_dataset
from nasbench.early_stop import FinishedCurve, hopeless_reason
from nasbench.errors import UsageError
from nasbench.evaluate import (
    build_for,
    make_recipe,
    measure_cost,
    protocol_hash,
    resolve_device,
    train_proxy,
)
from nasbench.signals import StopRequest, Terminated, exit_status
from nasbench.spaces import ArchError, arch_hash, flatten_arch, load_space
from nasbench.train import TrainingDiverged

COST_OBJECTIVES = {"macs": "macs", "params": "params", "latency": "latency_ms"}
# A worker that stops beating for GRACE_PERIOD_S is dead: its trial is failed and retried.
HEARTBEAT_INTERVAL_S = int(os.environ.get("NASBENCH_HEARTBEAT_S", "10"))
GRACE_PERIOD_S = int(os.environ.get("NASBENCH_GRACE_PERIOD_S", "60"))
# Settings that define what a study measures: a rerun must not change them.
PROTOCOL_SETTINGS = ("space", "dataset", "objectives", "benchmark")


class TrialFailed(Exception):
    """A trial that could not produce a result; the message is stored as its reason."""


def trial_seed(study_seed: int, trial_number: int, run: int = 0) -> int:
    """Per-trial seed derived from the study seed and the trial number; `run` > 0 gives the seeds
    of the confirmation trainings (--confirm-runs)."""
    entropy = [study_seed, trial_number] + ([run] if run else [])
    state = np.random.SeedSequence(entropy).generate_state(1)[0]
    return int(state % 2**31)  # fits a signed 32-bit column on every database


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage on our URL, with heartbeats so a dead worker's trial is failed."""
    storage = optuna.storages.RDBStorage(
        url,
        engine_kwargs=store.engine_kwargs(url),
        heartbeat_interval=HEARTBEAT_INTERVAL_S,
        grace_period=GRACE_PERIOD_S,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
            max_retry=2
        ),
    )
    store.tune_engine(storage.engine)
    return storage


def _storage_with_retry(url: str) -> optuna.storages.RDBStorage:
    """Optuna creates its tables on first use; processes starting together on PostgreSQL can race."""
    import sqlalchemy.exc

    for attempt in range(5):
        try:
            return make_storage(url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == 4:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def counts_towards_budget(trial: FrozenTrial) -> bool:
    """A trial counts towards --trials when it produced a result row: complete, pruned, or failed
    with its reason. Trials stopped by Ctrl-C, killed with their worker (then retried) or started
    past the budget by a concurrent worker do not count."""
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    return trial.state == TrialState.FAIL and trial.user_attrs.get("status") == "failed"


def counted_trials(study: optuna.Study) -> int:
    return sum(counts_towards_budget(t) for t in study.get_trials(deepcopy=False))


def over_budget(study: optuna.Study, trial_number: int, budget: int) -> bool:
    """Whether trials numbered before this one, finished or still running, already fill the budget."""
    ahead = 0
    for t in study.get_trials(deepcopy=False):
        if t.number < trial_number and (counts_towards_budget(t) or t.state == TrialState.RUNNING):
            ahead += 1
    return ahead >= budget


class OverBudget(Exception):
    """A concurrent worker asked for a trial after the budget was filled; it is dropped."""


class Search:
    """One worker's view of a study: the data, the recipe, and the objective Optuna calls."""

    def __init__(self, settings: SearchSettings):
        self.settings = settings
        self.space = load_space(settings.space)
        self.objectives = list(settings.objectives)
        self.directions = [OBJECTIVES[o] for o in self.objectives]
        self.device = resolve_device(settings.device)
        store.check_storage(settings.storage, create=True)
        self.data = load_dataset(
            settings.dataset,
            data_dir=settings.data_dir,
            image_size=settings.image_size,
            train_fraction=settings.train_fraction,
            seed=0,
        )
        self.recipe = make_recipe(self.data.name, getattr(self.space, "TRAIN_DEFAULTS", {}),
                                  settings.epochs, settings.batch_size)  # fmt: skip
        self.benchmark = None
        extra: dict[str, Any] = {"space": settings.space}
        if settings.benchmark:
            from nasbench.tabular import load_benchmark

            self.benchmark = load_benchmark(settings.benchmark)
            extra["benchmark"] = self.benchmark.fingerprint
            if "latency" in self.objectives or settings.max_latency_ms:
                raise UsageError("tabular mode (--benchmark) has no latency; use macs or params")
            if settings.space != self.benchmark.space:
                raise UsageError(
                    f"--benchmark {settings.benchmark} holds {self.benchmark.space} cells, "
                    f"not {settings.space!r} archs"
                )
        if settings.confirm_runs > 1 and self.benchmark is None:
            extra["confirm_runs"] = settings.confirm_runs  # val_acc is a mean over that many
        self.protocol = protocol_hash(self.data, self.recipe, extra)
        self.limits = {
            "macs": settings.max_macs,
            "params": settings.max_params,
            "latency_ms": settings.max_latency_ms,
        }
        self.active_limits = {k: v for k, v in self.limits.items() if v is not None}
        # Optuna's constraints: one per hard limit, then one for running out of memory
        self.constraint_names = [*self.active_limits, "memory"]
        self._constraints: list[float] = []
        self._finished_curves: list[FinishedCurve] = []
        self._front_candidates: list[tuple[float, ...]] = []  # values of complete feasible trials
        self.stops = StopRequest()

    # ---- study ------------------------------------------------------------------------------

    def open_study(self) -> optuna.Study:
        s = self.settings
        sampler_name = s.sampler or samplers.default_sampler_name(self.space, len(self.objectives))
        sampler_seed = s.seed
        if s.worker_index:  # each worker samples its own sequence, reproducibly
            sampler_seed = trial_seed(s.seed, (1 << 30) + s.worker_index)
        sampler = samplers.make_sampler(
            sampler_name,
            seed=sampler_seed,
            n_objectives=len(self.objectives),
            space=self.space,
            parallel=self.may_run_in_parallel(),
        )
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
            if s.pruning and len(self.objectives) == 1
            else optuna.pruners.NopPruner()
        )
        store.ensure_schema(s.storage)
        study = optuna.create_study(
            storage=_storage_with_retry(s.storage),
            study_name=s.study_name,
            directions=self.directions,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
        self._check_or_record_settings(study, sampler_name)
        self._enqueue_smallest_arch(study)
        return study

    def _enqueue_smallest_arch(self, study: optuna.Study) -> None:
        """A new study with a cost objective evaluates the space's cheapest arch first. Nothing is
        cheaper, so it is on the front, and the front reaches the cheap end of the space; a sampler
        would find it only by luck (mobilenet: every one of 38 choices at its smallest)."""
        smallest = getattr(self.space, "SMALLEST_ARCH", None)
        if smallest is None or len(self.objectives) < 2 or self.benchmark is not None:
            return
        if not study.get_trials(deepcopy=False):
            study.enqueue_trial(flatten_arch(smallest), skip_if_exists=True)

    def may_run_in_parallel(self) -> bool:
        """Whether other processes may run trials of this study now: a worker of --workers, or any
        process on a server database (other machines may share it). Separate processes started by
        hand on one SQLite file are not detected; dedup still keeps them from training an arch twice.
        """
        return (
            bool(self.settings.worker_index)
            or store.backend_name(self.settings.storage) != "sqlite"
        )

    def _check_or_record_settings(self, study: optuna.Study, sampler_name: str) -> None:
        recorded = study.user_attrs.get("settings")
        current = self.study_attrs(sampler_name)
        if recorded is None:
            if study.get_trials(deepcopy=False):
                raise UsageError(
                    f"study {self.settings.study_name!r} exists but was not made by nasbench search"
                )
            for key, value in current.items():
                study.set_user_attr(key, value)
            return
        for key in PROTOCOL_SETTINGS:
            if recorded.get(key) != current["settings"].get(key):
                raise UsageError(
                    f"study {self.settings.study_name!r} was run with {key}={recorded.get(key)!r}, "
                    f"not {current['settings'].get(key)!r}; keep its settings or pick another --study-name"
                )
        if study.user_attrs.get("protocol_hash") != self.protocol:
            raise UsageError(
                f"study {self.settings.study_name!r} was run under another training protocol "
                f"(epochs, image size, batch size, recipe or --confirm-runs); keep its settings or "
                f"pick another --study-name"
            )

    def study_attrs(self, sampler_name: str) -> dict[str, Any]:
        import torch

        settings = dataclasses.asdict(self.settings)
        for key in ("storage", "worker_index", "workers", "devices", "device"):
            settings.pop(key)
        return {
            "settings": settings,
            "protocol_hash": self.protocol,
            "recipe": dataclasses.asdict(self.recipe),
            "space": self.settings.space,
            "dataset": self.data.name,
            "image_size": self.data.image_size,
            "epochs": self.recipe.epochs,
            "batch_size": self.recipe.batch_size,
            "objectives": self.objectives,
            "sampler": sampler_name,
            "device": self.device,
            "torch_version": torch.__version__,
            "optuna_version": optuna.__version__,
            "code_version": store.code_version(),
        }

    # ---- one trial --------------------------------------------------------------------------

    def objective(self, trial: optuna.Trial) -> tuple[float, ...] | float:
        started = datetime.now(UTC)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        if over_budget(trial.study, trial.number, self.settings.trials):
            trial.set_user_attr("surplus", True)
            trial.study.stop()
            raise OverBudget(f"trial {trial.number} is past the budget of {self.settings.trials}")
        seed = trial_seed(self.settings.seed, trial.number)
        self._constraints = [0.0] * len(self.constraint_names)  # this trial's, as _finish sets them
        row: dict[str, Any] = {
            "study_name": self.settings.study_name,
            "trial_number": trial.number,
            "source": "search",
            "name": f"trial {trial.number}",
            "space": self.settings.space,
            "protocol_hash": self.protocol,
            "dataset": self.data.name if self.benchmark is None else self.benchmark.dataset,
            "image_size": self.data.image_size if self.benchmark is None else 32,
            "batch_size": self.recipe.batch_size if self.benchmark is None else None,
            "seed": seed,
            "code_version": store.code_version(),
            "started_at": started,
        }
        try:
            with self.stops.interruptible():
                values, status = self._evaluate(trial, seed, row)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            raise
        except optuna.TrialPruned:
            self._finish(trial, row, "pruned")
            raise
        except (TrialFailed, ArchError, TrainingDiverged) as err:
            self._finish(trial, row, "failed", str(err))
            raise TrialFailed(str(err)) from None
        except Exception as err:  # a bad arch must never stop the sweep
            reason = f"{type(err).__name__}: {err}"
            self._finish(trial, row, "failed", reason)
            raise TrialFailed(reason) from None
        self._finish(trial, row, status)
        return values[0] if len(values) == 1 else values

    def _finish(
        self, trial: optuna.Trial, row: dict[str, Any], status: str, error: str | None = None
    ):
        row["status"] = status
        row["error"] = error or row.get("error")  # infeasible, pruned and reused rows say why
        row["finished_at"] = datetime.now(UTC)
        if error:
            trial.set_user_attr("error", error)
        trial.set_user_attr("status", status)
        if status != "failed":  # what the samplers learn feasibility from (<= 0 is feasible)
            for name, value in zip(self.constraint_names, self._constraints, strict=True):
                trial.set_constraint(name, value)
        store.write_result(self.settings.storage, _row_columns(row))

    def _evaluate(self, trial: optuna.Trial, seed: int, row: dict[str, Any]):
        arch = self.space.suggest(trial)
        row["arch"] = arch
        row["arch_hash"] = arch_hash(arch)
        trial.set_user_attr("arch_hash", row["arch_hash"])
        trial.set_user_attr("arch", arch)
        self.space.validate(arch)

        previous = self._finished_result(trial, row["arch_hash"])
        if previous is not None and not self._needs_confirmation(previous):
            values = self._reuse(trial, previous, row)
            violations = self._check_limits(trial, row)
            if violations:
                row.update(error=violations, val_acc=0.0)
                return self._values(row), "infeasible"
            return values, "reused"

        if self.benchmark is not None:  # tabular mode: accuracy and params from the table
            row.update(self.benchmark.lookup(arch))
            row.update(macs=macs_of_cell(self.space, arch), train_s=0.0)
        else:
            model = build_for(self.space, arch, self.data, seed=seed)
            row.update(measure_cost(model, self.data, device=self.device, latency=True))
        violations = self._check_limits(trial, row)
        if violations:
            row["error"] = violations
            row["val_acc"] = 0.0
            return self._values(row), "infeasible"

        if self.benchmark is None:
            curve: list[float] = []
            costs = [float(row[COST_OBJECTIVES[o]]) for o in self.objectives[1:]]

            def on_epoch(epoch: int, val_acc: float) -> bool:
                curve.append(val_acc)
                return self._should_stop(trial, epoch, val_acc, costs)

            try:
                metrics = train_proxy(
                    model, self.data, self.recipe, device=self.device, seed=seed, on_epoch=on_epoch
                )
                # once, not per epoch: each attribute is a database commit (harness overhead)
                trial.set_user_attr("val_acc_curve", curve)
            except (torch.OutOfMemoryError, MemoryError) as err:
                self._constraints[-1] = 1.0  # tells the sampler this region does not fit in memory
                row.update(error=f"out of memory: {str(err).splitlines()[0]}", val_acc=0.0)
                del model
                _release_memory(self.device)
                return self._values(row), "infeasible"
            row.update(metrics, train_runs=1)
            if row.pop("stopped_early"):
                row["error"] = trial.user_attrs.get("stop_reason", "stopped early")
                raise optuna.TrialPruned(row["error"])
            del model  # confirmation trainings build their own: hold one model at a time
        values = self._values(row)
        if any(not math.isfinite(v) for v in values):
            raise TrialFailed(f"objective values are not finite: {values}")
        if self._needs_confirmation(row):
            self._confirm(trial, arch, row)
            values = self._values(row)
        return values, "complete"

    def _needs_confirmation(self, row: dict[str, Any]) -> bool:
        """Whether this result, with fewer than --confirm-runs trainings, would join the Pareto
        front of the study's complete trials (with one objective: beat the best)."""
        runs = row.get("train_runs") or 1
        if self.benchmark is not None or runs >= self.settings.confirm_runs:
            return False  # a tabular benchmark answers the same accuracy every time
        return joins_front(self._values(row), self._front_candidates, self.directions)

    def _confirm(self, trial: optuna.Trial, arch: dict[str, Any], row: dict[str, Any]) -> None:
        """Train the arch again, each time with a new seed for its weights and batches, until it
        has --confirm-runs trainings; its accuracy becomes their mean. One lucky seed of a cheap
        arch would otherwise hold a place on the front that its arch does not earn (measured on
        digits: 0.8-2 points of spread between seeds, as much as between small and large archs)."""
        accuracies = [float(row["val_acc"])]
        runs = self.settings.confirm_runs
        for run in range(1, runs):
            seed = trial_seed(self.settings.seed, trial.number, run)
            model = build_for(self.space, arch, self.data, seed=seed)
            try:
                metrics = train_proxy(model, self.data, self.recipe, device=self.device, seed=seed)
            except TrainingDiverged as err:
                raise TrainingDiverged(
                    f"confirmation training {run + 1} of {runs}: {err}"
                ) from None
            accuracies.append(float(metrics["val_acc"]))
            row["train_s"] += metrics["train_s"]
            row["eval_s"] += metrics["eval_s"]
        trial.set_user_attr("val_acc_runs", accuracies)
        row.update(
            val_acc=statistics.fmean(accuracies),
            val_acc_std=statistics.stdev(accuracies),
            train_runs=len(accuracies),
        )

    def _finished_result(self, trial: optuna.Trial, hash_: str) -> dict[str, Any] | None:
        """The stored result of this arch under this protocol; if a concurrent worker is training
        it right now (an earlier trial of the study), wait for it rather than train it twice."""
        while True:
            found = store.find_result(
                self.settings.storage, arch_hash=hash_, protocol_hash=self.protocol
            )
            if found is not None:
                return found
            optuna.storages.fail_stale_trials(trial.study)
            running = trial.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not any(
                t.number < trial.number and t.user_attrs.get("arch_hash") == hash_ for t in running
            ):
                return None
            time.sleep(0.5)

    def _reuse(self, trial: optuna.Trial, previous: dict[str, Any], row: dict[str, Any]):
        for key in (*COST_COLUMNS_REUSED, "val_acc", "val_acc_std", "train_runs", "test_acc",
                    "train_loss", "epochs"):  # fmt: skip
            row[key] = previous.get(key)
        row["reused_from"] = previous.get("trial_number")
        row["train_s"] = row["eval_s"] = 0.0
        row["error"] = (
            f"reused the result of {previous.get('study_name')} trial {previous.get('trial_number')}"
        )
        return self._values(row)

    def _check_limits(self, trial: optuna.Trial, row: dict[str, Any]) -> str | None:
        """Note Optuna's constraint values (stored when the trial finishes) and describe the
        violated hard limits, if any."""
        values, broken = [], []
        for column, limit in self.active_limits.items():
            value = row.get(column)
            if value is None:
                values.append(0.0)
                continue
            values.append(float(value) - float(limit))
            if value > limit:
                broken.append(f"{column} {value:,.4g} > limit {limit:,.4g}")
        self._constraints = [*values, 0.0]
        return "; ".join(broken) or None

    def _values(self, row: dict[str, Any]) -> tuple[float, ...]:
        out = [float(row["val_acc"])]
        for name in self.objectives[1:]:
            out.append(float(row[COST_OBJECTIVES[name]]))
        return tuple(out)

    def _should_stop(self, trial: optuna.Trial, epoch: int, val_acc: float, costs: list[float]):
        if not self.settings.pruning:
            return False
        if len(self.objectives) == 1:
            trial.report(val_acc, epoch)
            if trial.should_prune():
                trial.set_user_attr(
                    "stop_reason",
                    f"pruned at epoch {epoch + 1} by the median rule (val_acc {val_acc:.1f}%)",
                )
                return True
            return False
        reason = hopeless_reason(epoch, val_acc, costs, self._finished_curves, self.recipe.epochs)
        if reason:
            trial.set_user_attr("stop_reason", reason)
            return True
        return False

    def refresh_finished(self, study: optuna.Study) -> None:
        """Read the study's complete trials once: their curves, for the multi-objective stopping
        rule, and their values, for deciding which new results are confirmed."""
        curves, candidates = [], []
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            if not t.values or len(t.values) != len(self.objectives):
                continue
            curve = t.user_attrs.get("val_acc_curve")
            if curve:
                curves.append(FinishedCurve(tuple(curve), tuple(t.values[1:])))
            if t.user_attrs.get("status") != "infeasible":
                candidates.append(tuple(t.values))
        self._finished_curves = curves
        self._front_candidates = candidates


COST_COLUMNS_REUSED = (
    "params", "macs", "uncounted_ops", "latency_ms", "latency_iqr_ms", "latency_repeats",
    "latency_batch_size", "peak_memory_mb", "device", "device_name", "dtype", "threads",
    "torch_version", "cuda_version", "images_per_s",
)  # fmt: skip


def _release_memory(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def _row_columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("stopped_early",)}


# ---- the command -----------------------------------------------------------------------------


def run_search(settings: SearchSettings, *, quiet: bool = False) -> int:
    """Run (or resume) a study until it holds settings.trials counted trials."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if settings.workers > 1 or settings.devices:
        from nasbench.workers import run_workers

        return run_workers(settings)
    search = Search(settings)
    study = search.open_study()
    done = counted_trials(study)
    if done >= settings.trials:
        if quiet:
            return 0
        print(
            f"study {settings.study_name!r} already has {done} of {settings.trials} trials; "
            f"raise --trials to run more",
            file=sys.stderr,
        )
        return 0
    progress = Progress(study, settings.trials, done, search.objectives, quiet=quiet)

    def after_trial(study: optuna.Study, trial: FrozenTrial) -> None:
        search.refresh_finished(study)
        progress.update(trial)
        if counted_trials(study) >= settings.trials:
            study.stop()
        search.stops.raise_if_requested()  # the trial is stored: a safe point to stop at

    search.refresh_finished(study)
    try:
        with search.stops.installed():
            while (remaining := settings.trials - counted_trials(study)) > 0:
                study.optimize(
                    search.objective,
                    n_trials=remaining,
                    callbacks=[after_trial],
                    catch=(TrialFailed, OverBudget),
                    gc_after_trial=False,
                )
                # Trials of other workers may hold the rest of the budget: wait until they finish,
                # or until their worker is declared dead and they are failed and queued again.
                wait_for_running_trials(study, search.stops)
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


def wait_for_running_trials(study: optuna.Study, stops: StopRequest) -> None:
    while study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        stops.raise_if_requested()
        optuna.storages.fail_stale_trials(study)
        time.sleep(min(HEARTBEAT_INTERVAL_S, 2))


def joins_front(
    point: tuple[float, ...], others: list[tuple[float, ...]], directions: list[str]
) -> bool:
    """Whether `point` is not weakly dominated by any of `others`: it would be on their Pareto
    front (for one objective: strictly better than the best). A tie does not join."""
    if not others:
        return True
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])  # all minimised
    mine = np.asarray(point, dtype=float) * signs
    theirs = np.asarray(others, dtype=float) * signs
    return not bool((theirs <= mine).all(axis=1).any())


def front_size(values: list[list[float]], directions: list[str]) -> int:
    """Distinct non-dominated points among `values` (one row per trial). Study.best_trials
    answers the same but copies every front trial, 20+ ms a call at 25 trials and growing."""
    signs = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    points = np.unique(np.asarray(values, dtype=float) * signs, axis=0)  # all minimised
    no_worse = (points[:, None, :] >= points[None, :, :]).all(axis=2)
    better = (points[:, None, :] > points[None, :, :]).any(axis=2)
    dominated = (no_worse & better).any(axis=1)
    return int((~dominated).sum())


class Progress:
    """A progress bar: trials done, best accuracy, Pareto-front size and time left."""

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

    def update(self, trial: FrozenTrial) -> None:
        if not counts_towards_budget(trial):
            return
        status = trial.user_attrs.get("status", trial.state.name.lower())
        if status == "failed":
            self.failures += 1
            self.bar.write(
                f"trial {trial.number} failed: {trial.user_attrs.get('error', '')}", file=sys.stderr
            )
        self.bar.set_postfix_str(self._postfix(), refresh=False)
        self.bar.update(1)

    def _postfix(self) -> str:
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        feasible = [t for t in complete if t.user_attrs.get("status") != "infeasible"]
        if not feasible:
            return f"failed={self.failures}"
        best = max(t.values[0] for t in feasible)
        text = f"best_acc={best:.1f}%"
        if len(self.objectives) > 1:
            directions = [OBJECTIVES[o] for o in self.objectives]
            text += f" front={front_size([t.values for t in feasible], directions)}"
        if self.failures:
            text += f" failed={self.failures}"
        return text

    def summary(self) -> str:
        return (
            f"{self.study.study_name}: {self._postfix()} in {time.monotonic() - self.started:.0f} s"
        )

    def close(self) -> None:
        self.bar.close()
