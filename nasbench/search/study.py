"""Setting up a search: its evaluation context, its Optuna study (created or checked), its seeds."""

from __future__ import annotations

import dataclasses
import json
import os
import time
import warnings
from typing import Any

import numpy as np
import optuna
import sqlalchemy.exc
import torch

from nasbench.arch import flatten_arch
from nasbench.benchmarks import DEFAULT_LATENCY_DEVICE, load_benchmark
from nasbench.config import SearchSettings, directions
from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.evaluation.context import Context, make_recipe, protocol_hash, resolve_device
from nasbench.evaluation.tabular import true_front
from nasbench.evaluation.trained import data_columns
from nasbench.results import store
from nasbench.search import samplers
from nasbench.space_choices import with_choices
from nasbench.spaces import load_space

# A worker that stops beating for GRACE_PERIOD_S is dead: its trial is failed and retried.
HEARTBEAT_INTERVAL_S = int(os.environ.get("NASBENCH_HEARTBEAT_S", "10"))
GRACE_PERIOD_S = int(os.environ.get("NASBENCH_GRACE_PERIOD_S", "60"))
# Settings that define what a study measures: a rerun must not change them.
PROTOCOL_SETTINGS = ("space", "choices", "dataset", "objectives", "benchmark", "select_column",
                     "report_column", "latency_device")  # fmt: skip
LIMIT_SETTINGS = {"macs": "max_macs", "params": "max_params", "latency_ms": "max_latency_ms"}


def trial_seed(study_seed: int, trial_number: int, run: int = 0) -> int:
    """Per-trial seed derived from the study seed and the trial number; `run` > 0 gives the seeds
    of the confirmation trainings (--confirm-runs)."""
    entropy = [study_seed, trial_number] + ([run] if run else [])
    state = np.random.SeedSequence(entropy).generate_state(1)[0]
    return int(state % 2**31)  # fits a signed 32-bit column on every database


def prepare_search(settings: SearchSettings) -> tuple[Context, optuna.Study]:
    """Check the storage (before anything is loaded), then make the context and open the study."""
    store.check_storage(settings.storage, create=True)
    ctx = search_context(settings)
    return ctx, open_study(settings, ctx)


def search_context(settings: SearchSettings) -> Context:
    """The evaluation context of a search: its space, data (or benchmark), recipe and protocol."""
    space = with_choices(load_space(settings.space), settings.choices)
    limits = {
        column: getattr(settings, name)
        for column, name in LIMIT_SETTINGS.items()
        if getattr(settings, name) is not None
    }
    if settings.benchmark:
        return _benchmark_context(settings, space, limits)
    device = resolve_device(settings.device)
    # the recipe first: a bad [train] entry is refused before the data is read
    recipe_defaults = {**getattr(space, "TRAIN_DEFAULTS", {}), **settings.train}
    make_recipe(settings.dataset, recipe_defaults, settings.epochs, settings.batch_size)
    data = load_dataset(
        settings.dataset,
        data_dir=settings.data_dir,
        image_size=settings.image_size,
        train_fraction=settings.train_fraction,
        seed=0,
    )
    recipe = make_recipe(data.name, recipe_defaults, settings.epochs, settings.batch_size)
    extra: dict[str, Any] = {"space": settings.space}
    if settings.confirm_runs > 1:
        extra["confirm_runs"] = settings.confirm_runs  # val_acc is a mean over that many
    measured = None
    if settings.latency_device is not None and settings.latency_decides:
        extra["latency_device"] = settings.latency_device
        measured = measured_latencies(settings.storage, settings.latency_device, data.image_size)
    return Context(
        space=space,
        protocol=protocol_hash(data, recipe, extra),
        objectives=tuple(settings.objectives),
        limits=limits,
        data=data,
        recipe=recipe,
        device=device,
        latency_device=settings.latency_device if measured is not None else None,
        measured_latency=measured,
    )


def measured_latencies(url: str, label: str, image_size: int) -> dict[str, tuple[float, float]]:
    """Arch hash -> (latency_ms, latency_iqr_ms) measured on `label` at this input size, from the
    rows of `nasbench measure` in any study; one line when the device has none."""
    store.check_storage(url, create=True)
    rows = store.load_results(url)
    rows = (
        rows[(rows["source"] == "measure") & (rows["latency_label"] == label)]
        if len(rows)
        else rows
    )
    if not len(rows):
        raise UsageError(
            f"no latency measured on {label!r} in {url}: run nasbench measure --label {label} "
            "on that device first (a trained search's --latency-device looks latency up there)"
        )
    rows = rows[rows["image_size"] == image_size].sort_values("id")
    return {h: (float(ms), float(iqr)) for h, ms, iqr in
            zip(rows["arch_hash"], rows["latency_ms"], rows["latency_iqr_ms"], strict=True)}  # fmt: skip


def _benchmark_context(settings: SearchSettings, space: Any, limits: dict[str, float]) -> Context:
    """A search that looks its results up in a benchmark table: no data, recipe nor device."""
    bench = load_benchmark(
        settings.benchmark, settings.space, settings.select_column, settings.report_column
    )
    latency_device = None
    if settings.latency_decides:
        if not bench.latency_devices:
            raise UsageError(
                f"benchmark {bench.name} has no latency (NAS-Bench-201's latencies exist for "
                "CIFAR-10 only: nb201-cifar10); use macs or params"
            )
        latency_device = settings.latency_device or DEFAULT_LATENCY_DEVICE
        bench.latency_column(latency_device)  # one line naming the devices it has
    extra = {
        "space": settings.space,
        "benchmark": bench.fingerprint,
        "select": list(bench.select),
        "report": list(bench.report),
        "latency_device": latency_device,
    }
    return Context(
        space=space,
        protocol=protocol_hash(None, None, extra),
        objectives=tuple(settings.objectives),
        limits=limits,
        benchmark=bench,
        latency_device=latency_device,
    )


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
    """Optuna creates its tables on first use; processes starting together can race (PostgreSQL:
    a duplicate key; SQLite: "table alembic_version already exists"). The loser retries and finds
    the tables made."""
    for attempt in range(5):
        try:
            return make_storage(url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError,
                sqlalchemy.exc.OperationalError) as err:  # fmt: skip
            lost_race = not isinstance(err, sqlalchemy.exc.OperationalError) or (
                "already exists" in str(err)
            )
            if attempt == 4 or not lost_race:
                raise
            time.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


def may_run_in_parallel(settings: SearchSettings) -> bool:
    """Whether other processes may run trials of this study now: a worker of --workers, or any
    process on a server database (other machines may share it). Separate processes started by
    hand on one SQLite file are not detected; dedup still keeps them from training an arch twice.
    """
    return bool(settings.worker_index) or store.backend_name(settings.storage) != "sqlite"


def open_study(settings: SearchSettings, ctx: Context) -> optuna.Study:
    """Create the study, or load it and check that it was run with these settings; record them
    the first time. A new multi-objective study starts with the space's smallest arch."""
    sampler_name = settings.sampler or samplers.default_sampler_name(
        ctx.space, len(settings.objectives)
    )
    sampler_seed = settings.seed
    if settings.worker_index:  # each worker samples its own sequence, reproducibly
        sampler_seed = trial_seed(settings.seed, (1 << 30) + settings.worker_index)
    sampler = samplers.make_sampler(
        sampler_name,
        seed=sampler_seed,
        n_objectives=len(settings.objectives),
        space=ctx.space,
        parallel=may_run_in_parallel(settings),
    )
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
        if settings.pruning and len(settings.objectives) == 1
        else optuna.pruners.NopPruner()
    )
    store.ensure_schema(settings.storage)
    study = optuna.create_study(
        storage=_storage_with_retry(settings.storage),
        study_name=settings.study_name,
        directions=directions(settings.objectives),
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    _check_or_record_settings(study, study_attrs(settings, ctx, sampler_name))
    _enqueue_smallest_arch(study, settings, ctx)
    return study


def _enqueue_smallest_arch(study: optuna.Study, settings: SearchSettings, ctx: Context) -> None:
    """A new study with a cost objective evaluates the space's cheapest arch first. Nothing is
    cheaper, so it is on the front, and the front reaches the cheap end of the space; a sampler
    would find it only by luck (mobilenet: every one of 38 choices at its smallest)."""
    smallest = getattr(ctx.space, "SMALLEST_ARCH", None)
    if smallest is None or len(settings.objectives) < 2 or ctx.benchmark is not None:
        return
    if not study.get_trials(deepcopy=False):
        study.enqueue_trial(flatten_arch(smallest), skip_if_exists=True)


def _check_or_record_settings(study: optuna.Study, current: dict[str, Any]) -> None:
    name = study.study_name
    recorded = study.user_attrs.get("settings")
    if recorded is None:
        if study.get_trials(deepcopy=False):
            raise UsageError(f"study {name!r} exists but was not made by nasbench search")
        for key, value in current.items():
            study.set_user_attr(key, value)
        return
    defaults = dataclasses.asdict(SearchSettings(study_name=name))
    for key in PROTOCOL_SETTINGS:
        before = recorded.get(key, defaults[key])  # a study older than the setting had its default
        if before != current["settings"].get(key):
            raise UsageError(
                f"study {name!r} was run with {key}={before!r}, "
                f"not {current['settings'].get(key)!r}; keep its settings or pick another --study-name"
            )
    if study.user_attrs.get("protocol_hash") != current["protocol_hash"]:
        raise UsageError(
            f"study {name!r} was run under another training protocol"
            f"{_recipe_difference(study.user_attrs.get('recipe'), current.get('recipe'))}; "
            "keep its settings or pick another --study-name"
        )


def _recipe_difference(before: dict[str, Any] | None, now: dict[str, Any] | None) -> str:
    """' (recipe lr 0.1, not 0.05; ...)' naming the recipe fields that differ, or the other parts
    of the protocol when the recipes agree."""
    if before and now:
        changed = [
            f"{k} {before.get(k)!r}, not {now.get(k)!r}" for k in now if before.get(k) != now[k]
        ]
        if changed:
            return f" (recipe {'; '.join(changed)})"
    return " (image size, training set size or --confirm-runs)"


def benchmark_attrs(ctx: Context) -> dict[str, Any]:
    """What the report and table say about a benchmark study's accuracies and costs."""
    bench = ctx.benchmark
    return {
        "name": bench.name,
        "source": bench.source,
        "licence": bench.licence,
        "rows": len(bench),
        "selected_on": bench.select_label,
        "reported": bench.report_label,
        "validation_only": bench.validation_only,
        "how": bench.how,
        "latency_device": ctx.latency_device,
    }


def _front_records(ctx: Context, objectives: list[str]) -> list[dict[str, Any]]:
    """The benchmark's true front of these objectives as plain records (arch string first)."""
    if len(objectives) < 2:
        return []
    front = true_front(ctx.benchmark, objectives, ctx.latency_device)
    return json.loads(front.reset_index().to_json(orient="records"))


def study_attrs(settings: SearchSettings, ctx: Context, sampler_name: str) -> dict[str, Any]:
    """What a study records about itself (optuna-dashboard shows these; `report` reads them)."""
    recorded = dataclasses.asdict(settings)
    for key in ("storage", "worker_index", "workers", "devices", "device"):
        recorded.pop(key)
    if ctx.benchmark is not None:
        return {
            "settings": recorded,
            "protocol_hash": ctx.protocol,
            "space": settings.space,
            "dataset": data_columns(ctx)["dataset"],
            "image_size": ctx.benchmark.image_size,
            "objectives": list(settings.objectives),
            "sampler": sampler_name,
            "benchmark": benchmark_attrs(ctx),
            "true_front": _front_records(ctx, settings.objectives),
            "optuna_version": optuna.__version__,
            "code_version": store.code_version(),
        }
    return {
        "settings": recorded,
        "protocol_hash": ctx.protocol,
        "recipe": dataclasses.asdict(ctx.recipe),
        "space": settings.space,
        "dataset": ctx.data.name,
        "image_size": ctx.data.image_size,
        "num_classes": ctx.data.num_classes,  # what rebuilds an arch without the data
        "in_channels": ctx.data.in_channels,
        "epochs": ctx.recipe.epochs,
        "batch_size": ctx.recipe.batch_size,
        "objectives": list(settings.objectives),
        "sampler": sampler_name,
        "device": ctx.device,
        "torch_version": torch.__version__,
        "optuna_version": optuna.__version__,
        "code_version": store.code_version(),
    }


def quiet_optuna() -> None:
    """Optuna's per-trial log lines and experimental-API warnings would drown the progress bar."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def load_search_attrs(url: str, study_name: str, purpose: str) -> dict[str, Any]:
    """A trained search study's user attrs (settings, recipe...) for `purpose` (retrain, export);
    one line when the study is missing, a benchmark lookup, or not made by nasbench search."""
    quiet_optuna()
    try:
        study = optuna.load_study(study_name=study_name, storage=url)
    except KeyError:
        raise UsageError(f"no study {study_name!r} in {url}") from None
    attrs = study.user_attrs
    if attrs.get("benchmark"):
        raise UsageError(
            f"study {study_name!r} looked its accuracies up in the benchmark table "
            f"{attrs['benchmark'].get('name')}: there is no trained proxy to {purpose}"
        )
    if "settings" not in attrs or "recipe" not in attrs:
        raise UsageError(f"study {study_name!r} was not made by nasbench search")
    return attrs
