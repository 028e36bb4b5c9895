"""Training chosen archs again, evaluated on validation and test, each (arch, seed) one stored row.

`retrain` takes a study's chosen trials (its Pareto front, or trials by number) with a longer recipe
on the whole training split; `baseline` is the same workflow over torchvision's classic models (a
space of one-field archs, {"model": NAME}) with the recipe file's settings. Each (arch, seed) is a
row that names its own protocol (source "retrain" or "baseline"); a rerun trains only what is
missing. The protocol keys of the two differ ("purpose": "retrain" for retrain only), as they
always did, so that rows stored by earlier versions are still found.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import torch

from nasbench.budget import ProxyBudget
from nasbench.config import (
    RETRAIN_EPOCH_FACTOR,
    RETRAIN_SEEDS,
    check_study_name,
    read_budget,
    read_toml,
)
from nasbench.data import DataSplits
from nasbench.errors import UsageError
from nasbench.evaluation.context import Context, Request, resolve_device
from nasbench.evaluation.trained import evaluate_trained
from nasbench.models import (
    TorchvisionSpace,
    baseline_image_size,
    baseline_recipe_defaults,
    check_model_name,
)
from nasbench.results import store
from nasbench.results.selection import check_trial_choice, select_trials
from nasbench.spaces import load_space
from nasbench.train import TrainConfig, default_train_config
from nasbench.workflow.contexts import budget_data, budget_recipe, trained_context
from nasbench.workflow.rows import done_keys, identity, store_row
from nasbench.workflow.studies import load_search_attrs

# what a retrain (or baseline) config file may set: the data and the recipe, nothing of a search
RECIPE_FILE_KEYS = (
    "epochs",
    "batch_size",
    "image_size",
    "train_fraction",
    "budget",
    "data_dir",
    "train",
)
SEEDS_MAX = 1000

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrainSettings:
    """What `nasbench retrain` was asked for; `budget` holds --budget and its shorthands."""

    storage: str
    study_name: str
    trials: tuple[int, ...] = ()
    pareto: bool = False
    budget: ProxyBudget | None = None
    seeds: int = RETRAIN_SEEDS
    config: str | None = None
    device: str = "auto"
    weights_dir: str | None = None  # default: weights_dir_for(storage)


@dataclass(frozen=True)
class BaselineSettings:
    """What `nasbench baseline` was asked for: models trained as reference rows of a study."""

    models: tuple[str, ...]
    storage: str
    study_name: str | None = None
    dataset: str = "digits"
    data_dir: str | None = None
    budget: ProxyBudget | None = None
    device: str = "auto"
    seed: int = 0
    seeds: int = 1
    config: str | None = None


@dataclass(frozen=True)
class RecipeFile:
    """A retrain recipe file: its budget, data folder and [train] table."""

    budget: ProxyBudget | None = None
    data_dir: str | None = None
    train: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One training to store: the arch, its context and seed, the row's identity, where weights go."""

    arch: dict[str, Any]
    ctx: Context
    seed: int
    row: dict[str, Any]
    label: str
    weights_path: Path | None = None


def read_recipe_file(path: str | None) -> RecipeFile:
    """The data and recipe of a TOML file (budget knobs, [train], data_dir); one line for a key
    that only a search uses."""
    if path is None:
        return RecipeFile()
    values = read_toml(path)
    other = sorted(set(values) - set(RECIPE_FILE_KEYS))
    if other:
        raise UsageError(
            f"{path} sets {', '.join(other)}, which a retrain does not use; it reads "
            f"{', '.join(RECIPE_FILE_KEYS[:-1])} and [train]"
        )
    budget = read_budget(values, str(path))
    data_dir, train = values.get("data_dir"), dict(values.get("train", {}))
    if data_dir is not None and not isinstance(data_dir, str):
        raise UsageError(f"data_dir in {path} must be text (a folder), got {data_dir!r}")
    default_train_config("", train)  # a bad [train] entry is refused before anything is opened
    return RecipeFile(budget, data_dir, train)


def check_seeds(seeds: int) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= SEEDS_MAX:
        raise UsageError(f"--seeds must be an integer in [1, {SEEDS_MAX}], got {seeds!r}")


def file_then_flags(file: RecipeFile, flags: ProxyBudget | None) -> ProxyBudget:
    """The file's budget with the flags' knobs over it; a reduced width is refused (retrain and
    baseline train the network itself, and measure its costs as trained)."""
    budget = file.budget or ProxyBudget()
    budget = budget.updated(flags) if flags is not None else budget
    if budget.width != 1.0:
        raise UsageError(
            f"width={budget.width:g} trains a reduced copy, a proxy's budget (search, train, "
            "fidelity); retrain and baseline train the network itself"
        )
    return budget


# ---- retrain ----------------------------------------------------------------------------------


def run_retrain(settings: RetrainSettings, progress: Progress = lambda _text: None) -> int:
    """Train every missing (trial, seed) of the chosen trials; 1 when every new training failed."""
    check_seeds(settings.seeds)
    check_trial_choice(settings.trials, settings.pareto)
    file = read_recipe_file(settings.config)
    store.check_storage(settings.storage, create=False)
    root = Path(settings.weights_dir or weights_dir_for(settings.storage))
    weights = root / settings.study_name
    for folder in (root, weights):
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"weights folder {folder} is a file; name a folder (--weights-dir)")
    attrs = load_search_attrs(settings.storage, settings.study_name, "retrain")
    frame = store.load_results(settings.storage, [settings.study_name])
    chosen = select_trials(
        frame,
        settings.study_name,
        trials=list(settings.trials),
        pareto=settings.pareto,
        objectives=attrs.get("objectives"),
    )
    recorded = attrs["settings"]
    budget = file_then_flags(file, settings.budget)
    recipe = retrain_recipe(recorded["dataset"], attrs["recipe"], file.train, budget)
    # the whole training split at the dataset's own resolution unless the file or flags say
    data = budget_data(recorded["dataset"], file.data_dir or recorded.get("data_dir"), budget)
    ctx = trained_context(
        load_space(recorded["space"]),
        data,
        recipe,
        {"space": recorded["space"], "purpose": "retrain"},
        device=resolve_device(settings.device),
        costs_on_trained=True,  # the network trained is the user's, at the size asked for
        test=True,
        budget=budget,
    )
    _record_protocol(settings, ctx, data, recipe)
    done = done_keys(frame, ("trial_number", "seed"), source="retrain", protocol=ctx.protocol)

    def jobs() -> Iterator[Job]:
        for _, trial in chosen.iterrows():
            number = int(trial["trial_number"])
            for seed in range(settings.seeds):
                if (number, seed) in done:
                    continue
                row = identity(
                    settings.study_name,
                    "retrain",
                    f"trial {number}",
                    trial["space"],
                    ctx.protocol,
                    seed,
                    trial_number=number,
                )
                path = weights / f"trial{number}_seed{seed}_{ctx.protocol}.pt"
                yield Job(trial["arch"], ctx, seed, row, f"trial {number} seed {seed}", path)

    trained, failed = train_and_store(settings.storage, jobs(), progress)
    progress(
        f"{settings.study_name}: {len(chosen)} trials x {settings.seeds} seeds, {trained} trained "
        f"now ({failed} failed), {len(chosen) * settings.seeds - trained} already stored; "
        f"{recipe.epochs} epochs on {len(data.train_y)} training images at {data.image_size} px"
    )
    return 1 if trained and failed == trained else 0


def retrain_recipe(
    dataset: str, base: dict[str, Any], train: dict[str, Any], budget: ProxyBudget
) -> TrainConfig:
    """The proxy's recipe, then the file's [train], then the budget's epochs and batch size;
    without any epochs, RETRAIN_EPOCH_FACTOR times the proxy's."""
    overrides = {**base, **train, **budget.recipe_overrides()}
    if budget.epochs is not None:
        overrides["steps"] = 0  # the budget's epochs, not the proxy's step count
    elif budget.steps is None:
        if base.get("steps"):
            overrides["steps"] = RETRAIN_EPOCH_FACTOR * base["steps"]
        else:
            overrides["epochs"] = RETRAIN_EPOCH_FACTOR * base["epochs"]
    return default_train_config(dataset, overrides)


def _record_protocol(
    settings: RetrainSettings, ctx: Context, data: DataSplits, recipe: TrainConfig
) -> None:
    """Keep the retrain protocol with the study (user attr `retrain`: protocol hash -> what it
    is), for the report and for anyone reading the study in optuna-dashboard."""
    study = optuna.load_study(study_name=settings.study_name, storage=settings.storage)
    protocols = dict(study.user_attrs.get("retrain", {}))
    if ctx.protocol not in protocols:
        protocols[ctx.protocol] = {
            "dataset": data.name,
            "image_size": data.image_size,
            "num_train": int(len(data.train_y)),
            "recipe": dataclasses.asdict(recipe),
        }
        study.set_user_attr("retrain", protocols)


# ---- baseline ---------------------------------------------------------------------------------


def run_baseline(settings: BaselineSettings, progress: Progress = lambda _text: None) -> int:
    """Train each model `seeds` times (seeds seed..seed+seeds-1) as reference rows (source
    'baseline') of the study, test accuracy measured; 1 when every new training failed."""
    check_seeds(settings.seeds)
    file = read_recipe_file(settings.config)
    budget = file_then_flags(file, settings.budget)
    if not settings.models:
        raise UsageError("--models needs at least one torchvision model name")
    for name in settings.models:
        check_model_name(name)
    if settings.study_name is not None:
        check_study_name(settings.study_name)
    store.check_storage(settings.storage, create=True)
    device = resolve_device(settings.device)
    data_dir = settings.data_dir or file.data_dir
    base = budget_data(settings.dataset, data_dir, budget)
    store.ensure_schema(settings.storage)
    study_name = settings.study_name or f"baselines_{base.name}"
    stored = store.load_results(settings.storage, [study_name])

    def jobs() -> Iterator[Job]:
        for name in settings.models:
            size = baseline_image_size(name, base.image_size)
            at_size = dataclasses.replace(budget, image_size=size)
            data = base if size == base.image_size else budget_data(base.name, data_dir, at_size)
            defaults = {**baseline_recipe_defaults(name), **file.train}
            recipe = budget_recipe(data.name, defaults, budget)
            ctx = trained_context(
                TorchvisionSpace,
                data,
                recipe,
                {"space": TorchvisionSpace.NAME},
                device=device,
                costs_on_trained=True,
                test=True,
                budget=budget,
            )
            done = done_keys(stored, ("seed",), source="baseline", protocol=ctx.protocol, name=name)
            for seed in range(settings.seed, settings.seed + settings.seeds):
                label = f"{name} seed {seed}" if settings.seeds > 1 else name
                if (seed,) in done:
                    progress(f"{label}: already stored")
                    continue
                row = identity(
                    study_name, "baseline", name, TorchvisionSpace.NAME, ctx.protocol, seed
                )
                yield Job({"model": name}, ctx, seed, row, label)

    trained, failed = train_and_store(settings.storage, jobs(), progress)
    return 1 if trained and failed == trained else 0


# ---- the shared loop --------------------------------------------------------------------------


def train_and_store(url: str, jobs: Iterator[Job], progress: Progress) -> tuple[int, int]:
    """Train each job's arch, keep its weights where it says, store its row; (trained, failed)."""
    trained = failed = 0
    for job in jobs:
        request = Request(seeds=(job.seed,), keep_weights=job.weights_path is not None)
        evaluation = evaluate_trained(job.arch, job.ctx, request)
        row = {**job.row, **evaluation.row}
        if job.ctx.budget is not None:
            row["budget"] = job.ctx.budget.label
        if evaluation.weights is not None and job.weights_path is not None:
            save_weights(job.weights_path, evaluation.weights, row, job.ctx.data)
            row["weights_path"] = str(job.weights_path)
        store_row(url, row)
        trained += 1
        failed += row["status"] != "complete"
        progress(_progress_line(job.label, row))
    return trained, failed


def weights_dir_for(url: str) -> Path:
    """Where retrained weights go by default: beside a SQLite file (nasbench.db ->
    nasbench_weights/), else nasbench_weights/ in the working directory."""
    path = store.sqlite_path(url)
    if path is None:
        return Path("nasbench_weights")
    return path.with_name(f"{path.stem}_weights")


def save_weights(
    path: Path, weights: dict[str, Any], row: dict[str, Any], data: DataSplits
) -> None:
    """The trained state_dict with what rebuilds and feeds it: space, arch, input and the
    normalisation the model was trained with (nasbench.export reads this)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": weights,
            "space": row["space"],
            "arch": row["arch"],
            "num_classes": data.num_classes,
            "in_channels": data.in_channels,
            "image_size": data.image_size,
            "mean": list(data.mean),
            "std": list(data.std),
            "classes": list(data.classes),
            "dataset": data.name,
        },
        path,
    )


def _progress_line(label: str, row: dict[str, Any]) -> str:
    if row["status"] != "complete":
        return f"{label}: {row['status']}: {row.get('error')}"
    return (
        f"{label}: val {row['val_acc']:.2f} %  test {row['test_acc']:.2f} %  "
        f"MACs {row['macs'] / 1e6:.1f} M  params {row['params'] / 1e6:.2f} M  "
        f"({row['train_s']:.0f} s)"
    )
