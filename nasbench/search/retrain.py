"""Retraining a study's chosen trials (its Pareto front, or trials by number) with a longer recipe
and several seeds, on the whole training split, evaluated on validation and test. Each (trial,
seed) is one stored row (source "retrain") that names the trial and its own protocol; a rerun
trains only what is missing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import torch

from nasbench.config import RETRAIN_EPOCH_FACTOR, RETRAIN_SEEDS, read_toml
from nasbench.data import DataSplits, load_dataset
from nasbench.errors import UsageError
from nasbench.evaluation.context import Context, Request, protocol_hash, resolve_device
from nasbench.evaluation.trained import evaluate_trained
from nasbench.results import store
from nasbench.results.selection import check_trial_choice, select_trials
from nasbench.search.study import load_search_attrs
from nasbench.spaces import load_space
from nasbench.train import TrainConfig, default_train_config

# what a retrain (or baseline) config file may set: the data and the recipe, nothing of a search
RECIPE_FILE_KEYS = ("epochs", "batch_size", "image_size", "data_dir", "train")


@dataclass(frozen=True)
class RetrainSettings:
    """What `nasbench retrain` was asked for."""

    storage: str
    study_name: str
    trials: tuple[int, ...] = ()
    pareto: bool = False
    epochs: int | None = None
    seeds: int = RETRAIN_SEEDS
    config: str | None = None
    device: str = "auto"
    weights_dir: str | None = None  # default: weights_dir_for(storage)


def read_recipe_file(path: str | None) -> dict[str, Any]:
    """The data and recipe keys of a TOML file ([train] folded in as read_toml does); one line
    for a key that only a search uses."""
    if path is None:
        return {}
    values = read_toml(path)
    other = sorted(set(values) - set(RECIPE_FILE_KEYS))
    if other:
        raise UsageError(
            f"{path} sets {', '.join(other)}, which a retrain does not use; it reads "
            f"{', '.join(RECIPE_FILE_KEYS[:-1])} and [train]"
        )
    return values


def check_seeds(seeds: int) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise UsageError(f"--seeds must be a positive integer, got {seeds!r}")


def run_retrain(
    settings: RetrainSettings, progress: Callable[[str], None] = lambda _text: None
) -> int:
    """Train every missing (trial, seed) of the chosen trials; 1 when every new training failed."""
    check_seeds(settings.seeds)
    check_trial_choice(settings.trials, settings.pareto)
    file = read_recipe_file(settings.config)
    store.check_storage(settings.storage, create=False)
    attrs = load_search_attrs(settings.storage, settings.study_name, "retrain")
    frame = store.load_results(settings.storage, [settings.study_name])
    chosen = select_trials(
        frame, settings.study_name, trials=list(settings.trials), pareto=settings.pareto,
        objectives=attrs.get("objectives"),
    )  # fmt: skip
    recorded = attrs["settings"]
    recipe = retrain_recipe(
        recorded["dataset"], attrs["recipe"], file, settings.epochs, attrs["recipe"]["epochs"]
    )
    data = load_dataset(
        recorded["dataset"], data_dir=file.get("data_dir", recorded.get("data_dir", "data")),
        image_size=file.get("image_size"), train_fraction=1.0, seed=0,
    )  # fmt: skip
    space = load_space(recorded["space"])
    ctx = Context(
        space=space,
        protocol=protocol_hash(data, recipe, {"space": recorded["space"], "purpose": "retrain"}),
        data=data,
        recipe=recipe,
        device=resolve_device(settings.device),
        test=True,
    )
    _record_protocol(settings, ctx, data, recipe)
    done = _done(frame, ctx.protocol)
    weights = Path(settings.weights_dir or weights_dir_for(settings.storage)) / settings.study_name
    trained = failed = 0
    for _, trial in chosen.iterrows():
        number = int(trial["trial_number"])
        for seed in range(settings.seeds):
            if (number, seed) in done:
                continue
            row = _identity(settings.study_name, trial, ctx.protocol, seed)
            request = Request(seeds=(seed,), keep_weights=True)
            evaluation = evaluate_trained(trial["arch"], ctx, request)
            row.update(evaluation.row)
            if evaluation.weights is not None:
                path = weights / f"trial{number}_seed{seed}_{ctx.protocol}.pt"
                save_weights(path, evaluation.weights, row, data)
                row["weights_path"] = str(path)
            row["finished_at"] = datetime.now(UTC)
            store.write_result(settings.storage, row)
            trained += 1
            failed += row["status"] != "complete"
            progress(_progress_line(number, seed, row))
    progress(
        f"{settings.study_name}: {len(chosen)} trials x {settings.seeds} seeds, {trained} trained "
        f"now ({failed} failed), {len(chosen) * settings.seeds - trained} already stored; "
        f"{recipe.epochs} epochs on {len(data.train_y)} training images at {data.image_size} px"
    )
    return 1 if trained and failed == trained else 0


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
            "state_dict": weights, "space": row["space"], "arch": row["arch"],
            "num_classes": data.num_classes, "in_channels": data.in_channels,
            "image_size": data.image_size, "mean": list(data.mean), "std": list(data.std),
            "classes": list(data.classes), "dataset": data.name,
        },
        path,
    )  # fmt: skip


def retrain_recipe(
    dataset: str,
    base: dict[str, Any],
    file: dict[str, Any],
    epochs: int | None,
    proxy_epochs: int,
) -> TrainConfig:
    """The proxy's recipe, then the file's [train], epochs and batch size, then --epochs; without
    any epochs, RETRAIN_EPOCH_FACTOR times the proxy's."""
    overrides = {**base, **file.get("train", {})}
    for key in ("epochs", "batch_size"):
        if key in file:
            overrides[key] = file[key]
    if epochs is not None:
        overrides["epochs"] = epochs
    elif "epochs" not in file:
        overrides["epochs"] = RETRAIN_EPOCH_FACTOR * proxy_epochs
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
            "dataset": data.name, "image_size": data.image_size,
            "num_train": int(len(data.train_y)), "recipe": dataclasses.asdict(recipe),
        }  # fmt: skip
        study.set_user_attr("retrain", protocols)


def _done(frame: Any, protocol: str) -> set[tuple[int, int]]:
    """(trial, seed) pairs already retrained under this protocol."""
    rows = frame[
        (frame["source"] == "retrain")
        & (frame["protocol_hash"] == protocol)
        & (frame["status"] == "complete")
    ]
    return {(int(t), int(s)) for t, s in zip(rows["trial_number"], rows["seed"], strict=True)}


def _identity(study_name: str, trial: Any, protocol: str, seed: int) -> dict[str, Any]:
    number = int(trial["trial_number"])
    return {
        "study_name": study_name, "trial_number": number, "source": "retrain",
        "name": f"trial {number}", "space": trial["space"], "protocol_hash": protocol,
        "seed": seed, "code_version": store.code_version(), "started_at": datetime.now(UTC),
    }  # fmt: skip


def _progress_line(number: int, seed: int, row: dict[str, Any]) -> str:
    if row["status"] != "complete":
        return f"trial {number} seed {seed}: {row['status']}: {row.get('error')}"
    return (
        f"trial {number} seed {seed}: val {row['val_acc']:.2f} %  test {row['test_acc']:.2f} %  "
        f"({row['train_s']:.0f} s)"
    )
