"""Setting up a search: its evaluation context, its Optuna study (created or checked), its seeds."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple

import optuna
import torch

from nasbench.arch import flatten_arch
from nasbench.benchmarks import DEFAULT_LATENCY_DEVICE, TabularBenchmark, load_benchmark
from nasbench.budget import KNOBS, ProxyBudget, default_budget
from nasbench.config import SearchSettings, directions
from nasbench.data import DataSplits
from nasbench.errors import UsageError
from nasbench.evaluation.context import Context, protocol_hash, resolve_device
from nasbench.evaluation.tabular import true_front
from nasbench.evaluation.trained import data_columns
from nasbench.results import store
from nasbench.results.latency import measured_on
from nasbench.search import samplers
from nasbench.search.early_stop import uses_median_pruner
from nasbench.space_choices import with_choices
from nasbench.spaces import load_space
from nasbench.train import steps_of
from nasbench.workflow.contexts import (
    budget_data,
    budget_recipe,
    cost_image_size,
    trained_context,
)
from nasbench.workflow.studies import (
    COSTS_ATTR,
    check_heartbeat_settings,
    storage_with_retry,
    trial_seed,
)
from nasbench.zero_cost import BATCH_SIZE as ZERO_COST_BATCH

# Settings that define what a study measures: a rerun must not change them.
PROTOCOL_SETTINGS = (
    "space",
    "choices",
    "dataset",
    "objectives",
    "benchmark",
    "select_column",
    "report_column",
    "latency_device",
    "rungs",
    "reduction_factor",
    "promotion",
    "zero_cost",
    "prescreen",
    "prescreen_candidates",
    "judge",
)
# the decay of a warm-up-stable-decay schedule (--promotion continue): its last fifth, as
# Hägele et al. (2024) found to match cosine annealing
WSD_DECAY_FRACTION = 0.2
# [train] fields that fix a training's length: with one, the dataset's default budget does not apply
RECIPE_LENGTH = {"epochs", "steps", "batch_size"}
LIMIT_SETTINGS = {"macs": "max_macs", "params": "max_params", "latency_ms": "max_latency_ms"}
# what a study made before a setting existed had (its promotions retrained)
_DEFAULTS = {key: getattr(SearchSettings(study_name="-"), key) for key in PROTOCOL_SETTINGS}
_DEFAULTS["promotion"] = "retrain"


class PreparedSearch(NamedTuple):
    """A search ready to run: its settings (budget decided), one context per rung (rung 0's is
    the study's protocol), its open study and the table that judges it (--judge)."""

    settings: SearchSettings
    contexts: tuple[Context, ...]
    study: optuna.Study
    judge: TabularBenchmark | None


def prepare_search(settings: SearchSettings) -> PreparedSearch:
    """Check the storage (before anything is loaded), take the study's recorded budget when none
    was given, then make the contexts and the judge, and open the study."""
    check_heartbeat_settings()
    store.check_storage(settings.storage, create=True)
    attrs = store.read_study_attrs(settings.storage, settings.study_name)
    settings = with_study_promotion(with_study_budget(settings, attrs), attrs)
    name = settings.study_name
    # what the rerun changes is refused before the data is read, and again with the protocol
    check_rerun(name, _without_protocol(attrs), {"settings": _recorded_settings(settings)})
    # a study made before costs were measured on the user's arch keeps measuring as it did
    made_before = bool(attrs and "settings" in attrs and COSTS_ATTR not in attrs)
    ctx = search_context(settings, costs_on_trained=made_before)
    contexts = (ctx, *higher_rungs(settings, ctx, costs_on_trained=made_before))
    judge = load_judge(settings, ctx)
    current = study_attrs(settings, ctx, sampler_name(settings, ctx, attrs))
    if judge is not None:
        current["judge"] = judge_attrs(settings, judge)
    if len(contexts) > 1:
        current["rungs"] = [
            {"rung": r, "budget": c.budget.label, "protocol_hash": c.protocol}
            for r, c in enumerate(contexts)
        ]
    check_rerun(name, attrs, current)
    return PreparedSearch(settings, contexts, open_study(settings, ctx, current), judge)


def rung_budget(budget: ProxyBudget, rung: int, factor: int, steps: int) -> ProxyBudget:
    """The budget of a rung: rung 0's (`budget`, which trains `steps` optimizer steps), with its
    steps multiplied by factor**rung."""
    if rung == 0:
        return budget
    return dataclasses.replace(budget, epochs=None, steps=steps * factor**rung)


def higher_rungs(
    settings: SearchSettings, ctx: Context, costs_on_trained: bool = False
) -> list[Context]:
    """The contexts of rungs 1 and up of a successive-halving search (rung 0's is `ctx`), on the
    same data. Only the last rung confirms a front entrant with --confirm-runs trainings."""
    if settings.rungs == 1:
        return []
    steps = steps_of(ctx.recipe, len(ctx.data.train_y))[1]
    contexts = []
    for rung in range(1, settings.rungs):
        budget = rung_budget(ctx.budget, rung, settings.reduction_factor, steps)
        confirm_runs = settings.confirm_runs if rung == settings.rungs - 1 else 1
        rung_settings = dataclasses.replace(settings, budget=budget, confirm_runs=confirm_runs)
        contexts.append(search_context(rung_settings, costs_on_trained, data=ctx.data))
    return contexts


def load_judge(settings: SearchSettings, ctx: Context) -> TabularBenchmark | None:
    """The table of --judge, checked against the search: its space and its number of classes."""
    if settings.judge is None:
        return None
    try:
        bench = load_benchmark(settings.judge, settings.space)
    except UsageError as err:
        raise UsageError(f"--judge {settings.judge}: {err}") from None
    if bench.space != settings.space:
        raise UsageError(
            f"--judge {settings.judge}: the table holds archs of the {bench.space} space, not "
            f"of {settings.space}"
        )
    if ctx.data is not None and bench.num_classes != ctx.data.num_classes:
        raise UsageError(
            f"--judge {settings.judge}: the table's archs classify {bench.num_classes} classes, "
            f"the dataset {ctx.data.name} has {ctx.data.num_classes}"
        )
    return bench


def judge_attrs(settings: SearchSettings, bench: TabularBenchmark) -> dict[str, Any]:
    """What a judged study records about its table (nasbench judge checks it is the same file)."""
    return {
        "benchmark": settings.judge,
        "fingerprint": bench.fingerprint,
        "space": bench.space,
        "truth": bench.truth_label,
        "source": bench.source,
    }


def _without_protocol(attrs: dict[str, Any] | None) -> dict[str, Any] | None:
    """A study's record with only its settings, for the checks that need no context."""
    return {"settings": attrs["settings"]} if attrs and "settings" in attrs else None


def recorded_budget(attrs: dict[str, Any] | None) -> ProxyBudget | None:
    """The budget a study recorded (its settings' knobs, flat, as every version wrote them)."""
    if not attrs or "settings" not in attrs:
        return None
    recorded = attrs["settings"]
    return ProxyBudget.from_mapping({k: recorded.get(k) for k in KNOBS}, "the study's budget")


def with_study_budget(settings: SearchSettings, attrs: dict[str, Any] | None) -> SearchSettings:
    """Settings whose budget is set: the one given, else the one the study recorded in `attrs`
    (a rerun without budget flags, or with `--budget default`, resumes it), else the dataset's
    default (nasbench.budget.default_budget: a study made under an older default keeps it)."""
    if settings.budget is not None and not settings.budget.is_default:
        return settings
    if settings.zero_cost or settings.benchmark:  # nothing trains: no budget applies
        return dataclasses.replace(settings, budget=ProxyBudget())
    if RECIPE_LENGTH & set(settings.train):  # an experiment file's [train] says how long
        return dataclasses.replace(settings, budget=recorded_budget(attrs) or ProxyBudget())
    budget = recorded_budget(attrs) or default_budget(settings.dataset)
    return dataclasses.replace(settings, budget=budget)


def with_study_promotion(settings: SearchSettings, attrs: dict[str, Any] | None) -> SearchSettings:
    """Settings whose promotion is set: the one given, else the study's (one made before the
    setting existed retrained), else the default. The default continues from saved states where
    they have a home (a SQLite database's folder, or --weights-dir): measured to rank better per
    second than retraining (experiments/promotion_ranking.py, README). Elsewhere, and with one rung,
    it retrains."""
    if settings.promotion is not None:
        promotion = settings.promotion
    elif attrs and "settings" in attrs:
        promotion = attrs["settings"].get("promotion") or "retrain"
    elif settings.rungs > 1 and (
        settings.weights_dir is not None or settings.storage.startswith("sqlite:///")
    ):
        promotion = "continue"
    else:
        promotion = "retrain"
    if promotion == "continue" and settings.weights_dir is None:
        if not settings.storage.startswith("sqlite:///"):  # a worker joining such a study
            raise UsageError(
                f"study {settings.study_name!r} continues promotions from saved states: give "
                "--weights-dir, the folder every machine of this study shares"
            )
    return dataclasses.replace(settings, promotion=promotion)


def search_context(
    settings: SearchSettings, costs_on_trained: bool = False, data: DataSplits | None = None
) -> Context:
    """The evaluation context of a search: its space, data (or benchmark), recipe and protocol.
    `costs_on_trained`: measure costs on the trained network even where the budget reduces it;
    `data`: the data as the budget trains on it, already loaded (another rung's)."""
    space = with_choices(load_space(settings.space), settings.choices)
    limits = {
        column: getattr(settings, name)
        for column, name in LIMIT_SETTINGS.items()
        if getattr(settings, name) is not None
    }
    if settings.benchmark:
        return _benchmark_context(settings, space, limits)
    budget = settings.budget or ProxyBudget()
    device = resolve_device(settings.device)
    # the recipe first: a bad [train] entry is refused before the data is read
    recipe_defaults = {**getattr(space, "TRAIN_DEFAULTS", {}), **settings.train}
    if settings.promotion == "continue":  # every rung decays its last part, from a saved state
        recipe_defaults.setdefault("decay_fraction", WSD_DECAY_FRACTION)
    if settings.zero_cost is not None:
        return _zero_cost_context(settings, space, limits, device)
    budget_recipe(settings.dataset, recipe_defaults, budget)
    data = data or budget_data(settings.dataset, settings.data_dir, budget)
    recipe = budget_recipe(data.name, recipe_defaults, budget)
    extra: dict[str, Any] = {"space": settings.space}
    if settings.confirm_runs > 1:
        extra["confirm_runs"] = settings.confirm_runs  # val_acc is a mean over that many
    measured = None
    if settings.latency_device is not None and settings.latency_decides:
        extra["latency_device"] = settings.latency_device
        size = cost_image_size(data, budget, costs_on_trained) or data.image_size
        measured = measured_latencies(settings.storage, settings.latency_device, size)
    return trained_context(
        space,
        data,
        recipe,
        extra,
        device=device,
        costs_on_trained=costs_on_trained,
        objectives=tuple(settings.objectives),
        limits=limits,
        budget=budget,
        latency_device=settings.latency_device if measured is not None else None,
        measured_latency=measured,
    )


def _zero_cost_context(
    settings: SearchSettings, space: Any, limits: dict[str, float], device: str
) -> Context:
    """A search that scores each arch with a zero-cost proxy on one batch: no recipe. The score
    replaces accuracy as the first objective."""
    if settings.budget is not None and not settings.budget.is_default:
        raise UsageError(
            f"--zero-cost trains nothing: a budget ({settings.budget.label}) does not apply; "
            "it scores the arch at the dataset's own size"
        )
    if settings.latency_decides and settings.latency_device is not None:
        raise UsageError("--zero-cost measures latency here: --latency-device does not apply")
    data = budget_data(settings.dataset, settings.data_dir, ProxyBudget())
    extra = {
        "space": settings.space,
        "zero_cost": settings.zero_cost,
        "batch_size": ZERO_COST_BATCH,
        "dataset": data.name,
        "image_size": data.image_size,
        "num_train": int(len(data.train_y)),
    }
    return Context(
        space=space,
        protocol=protocol_hash(None, None, extra),
        objectives=("score", *settings.objectives[1:]),
        limits=limits,
        data=data,
        device=device,
        budget=ProxyBudget(),
        zero_cost=settings.zero_cost,
    )


def measured_latencies(url: str, label: str, image_size: int) -> dict[str, tuple[float, float]]:
    """Arch hash -> (latency_ms, latency_iqr_ms) measured on `label` at this input size, from the
    rows of `nasbench measure` in any study; one line when the device has none."""
    store.check_storage(url, create=True)
    rows = measured_on(store.load_results(url), label)
    if not len(rows):
        raise UsageError(
            f"no latency measured on {label!r} in {url}: run nasbench measure --label {label} "
            "on that device first (a trained search's --latency-device looks latency up there)"
        )
    rows = rows[rows["image_size"] == image_size].sort_values("id")
    return {
        h: (float(ms), float(iqr))
        for h, ms, iqr in zip(
            rows["arch_hash"], rows["latency_ms"], rows["latency_iqr_ms"], strict=True
        )
    }


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


def may_run_in_parallel(settings: SearchSettings) -> bool:
    """Whether other processes may run trials of this study now: a worker of --workers, or any
    process on a server database (other machines may share it). Separate processes started by
    hand on one SQLite file are not detected; dedup still keeps them from training an arch twice.
    """
    return bool(settings.worker_index) or store.backend_name(settings.storage) != "sqlite"


def sampler_name(
    settings: SearchSettings, ctx: Context, attrs: dict[str, Any] | None = None
) -> str:
    """The sampler asked for, else the one the study recorded in `attrs` (a study made under an
    older default resumes with it), else the harness default for the space, objectives and kind
    of search."""
    if settings.sampler:
        return settings.sampler
    if attrs and attrs.get("sampler"):
        return attrs["sampler"]
    trained = ctx.benchmark is None and ctx.zero_cost is None
    return samplers.default_sampler_name(ctx.space, len(settings.objectives), trained=trained)


def open_study(
    settings: SearchSettings, ctx: Context, current: dict[str, Any] | None = None
) -> optuna.Study:
    """Create the study, or load it and check that it was run with these settings; record them
    the first time. A new multi-objective study starts with the space's smallest arch."""
    sampler_seed = settings.seed
    if settings.worker_index:  # each worker samples its own sequence, reproducibly
        sampler_seed = trial_seed(settings.seed, (1 << 30) + settings.worker_index)
    sampler = samplers.make_sampler(
        current["sampler"] if current else sampler_name(settings, ctx),
        seed=sampler_seed,
        n_objectives=len(settings.objectives),
        space=ctx.space,
        parallel=may_run_in_parallel(settings),
    )
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
        if settings.pruning and uses_median_pruner(settings.objectives)
        else optuna.pruners.NopPruner()
    )
    store.ensure_schema(settings.storage)
    study = optuna.create_study(
        storage=storage_with_retry(settings.storage),
        study_name=settings.study_name,
        directions=directions(settings.objectives),
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    current = current or study_attrs(settings, ctx, sampler_name(settings, ctx))
    _check_or_record_settings(study, current)
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
    if study.user_attrs.get("settings") is None:
        if study.get_trials(deepcopy=False):
            raise UsageError(f"study {name!r} exists but was not made by nasbench search")
        for key, value in current.items():
            study.set_user_attr(key, value)
        return
    check_rerun(name, study.user_attrs, current)


def check_rerun(name: str, attrs: dict[str, Any] | None, current: dict[str, Any]) -> None:
    """One line when a rerun would measure differently from the study's record (its settings,
    budget or protocol); `current` is study_attrs() of the rerun."""
    if not attrs or attrs.get("settings") is None:
        return
    recorded = attrs["settings"]
    for key in PROTOCOL_SETTINGS:
        before = recorded.get(key, _DEFAULTS[key])  # a study older than the setting had its default
        if before != current["settings"].get(key):
            raise UsageError(
                f"study {name!r} was run with {key}={before!r}, "
                f"not {current['settings'].get(key)!r}; keep its settings or pick another --study-name"
            )
    before_budget = recorded_budget(attrs)
    now_budget = recorded_budget(current)
    if before_budget is not None and before_budget != now_budget:
        raise UsageError(
            f"study {name!r} was run with the budget {before_budget.label!r}, not "
            f"{now_budget.label!r}; rerun without budget flags to resume it, or pick another "
            "--study-name"
        )
    if "protocol_hash" in current and attrs.get("protocol_hash") != current["protocol_hash"]:
        raise UsageError(
            f"study {name!r} was run under another training protocol"
            f"{_recipe_difference(attrs.get('recipe'), current.get('recipe'))}; "
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
    return (
        " (image size, training set size, --confirm-runs, or a warm-up longer than a third of the "
        "run, which this version shortens)"
    )


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


def _recorded_settings(settings: SearchSettings) -> dict[str, Any]:
    """The settings a study records: what it measures, without where and how it runs, and the
    budget's knobs flat, as every version recorded them (a rerun without flags reads them)."""
    recorded = dataclasses.asdict(settings)
    for key in ("storage", "worker_index", "workers", "devices", "device"):
        recorded.pop(key)
    del recorded["budget"]
    recorded.update((settings.budget or ProxyBudget()).as_dict())
    return recorded


def study_attrs(settings: SearchSettings, ctx: Context, sampler_name: str) -> dict[str, Any]:
    """What a study records about itself (optuna-dashboard shows these; `report` reads them)."""
    recorded = _recorded_settings(settings)
    budget = settings.budget or ProxyBudget()
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
    if ctx.zero_cost is not None:
        return {
            "settings": recorded,
            "protocol_hash": ctx.protocol,
            "space": settings.space,
            "dataset": ctx.data.name,
            "image_size": ctx.data.image_size,
            "num_classes": ctx.data.num_classes,
            "in_channels": ctx.data.in_channels,
            "zero_cost": {"proxy": ctx.zero_cost, "batch_size": ZERO_COST_BATCH},
            COSTS_ATTR: {"width": 1.0, "image_size": ctx.data.image_size, "network": "scored"},
            "objectives": list(ctx.objectives),
            "sampler": sampler_name,
            "device": ctx.device,
            "torch_version": torch.__version__,
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
        "budget": budget.label,
        COSTS_ATTR: {
            "width": 1.0,
            "image_size": ctx.cost_image_size or ctx.data.image_size,
            "network": "trained" if ctx.cost_image_size is None else "the full-width arch",
        },
        "objectives": list(settings.objectives),
        "sampler": sampler_name,
        "device": ctx.device,
        "torch_version": torch.__version__,
        "optuna_version": optuna.__version__,
        "code_version": store.code_version(),
    }
