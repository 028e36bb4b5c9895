"""`nasbench baseline`: train torchvision's classic families under the search's proxy protocol."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from nasbench.config import check_study_name
from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.evaluation.context import (
    Context,
    Request,
    make_recipe,
    protocol_hash,
    resolve_device,
)
from nasbench.evaluation.trained import evaluate_trained
from nasbench.models import (
    TorchvisionSpace,
    baseline_image_size,
    baseline_recipe_defaults,
    check_model_name,
)
from nasbench.results import store
from nasbench.search.retrain import check_seeds, read_recipe_file


def run_baseline(
    models: list[str],
    *,
    storage: str,
    study_name: str | None,
    dataset: str = "digits",
    data_dir: str | None = None,
    epochs: int | None = None,
    image_size: int | None = None,
    batch_size: int | None = None,
    train_fraction: float = 1.0,
    device: str = "auto",
    seed: int = 0,
    seeds: int = 1,
    config: str | None = None,
) -> int:
    """Train each model `seeds` times (seeds seed..seed+seeds-1) and store each training as a
    reference row (source 'baseline') of `study_name`, its test accuracy measured. `config` is a
    retrain recipe file (nasbench.search.retrain), so that these rows sit beside a retrained
    front under the same recipe; flags come before it. A rerun trains only what is missing."""
    check_seeds(seeds)
    file = read_recipe_file(config)
    epochs = epochs if epochs is not None else file.get("epochs")
    batch_size = batch_size if batch_size is not None else file.get("batch_size")
    image_size = image_size if image_size is not None else file.get("image_size")
    data_dir = data_dir or file.get("data_dir")
    if not models:
        raise UsageError("--models needs at least one torchvision model name")
    for name in models:
        check_model_name(name)
    if study_name is not None:
        check_study_name(study_name)
    store.check_storage(storage, create=True)
    store.ensure_schema(storage)
    device = resolve_device(device)
    base = load_dataset(
        dataset,
        data_dir=data_dir or "data",
        image_size=image_size,
        train_fraction=train_fraction,
        seed=0,
    )
    study_name = study_name or f"baselines_{base.name}"
    stored = store.load_results(storage, [study_name])
    failures = trained = 0
    for name in models:
        size = baseline_image_size(name, base.image_size)
        data = base if size == base.image_size else load_dataset(
            dataset, data_dir=data_dir or "data", image_size=size,
            train_fraction=train_fraction, seed=0,
        )  # fmt: skip
        defaults = {**baseline_recipe_defaults(name), **file.get("train", {})}
        recipe = make_recipe(data.name, defaults, epochs, batch_size)
        ctx = Context(
            space=TorchvisionSpace,
            protocol=protocol_hash(data, recipe, {"space": TorchvisionSpace.NAME}),
            data=data,
            recipe=recipe,
            device=device,
            test=True,
        )
        done = _done_seeds(stored, name, ctx.protocol)
        for run_seed in range(seed, seed + seeds):
            if run_seed in done:
                print(f"{name} seed {run_seed}: already stored", file=sys.stderr)
                continue
            row = _identity(name, study_name, ctx.protocol, run_seed)
            row.update(evaluate_trained({"model": name}, ctx, Request(seeds=(run_seed,))).row)
            row["finished_at"] = datetime.now(UTC)
            store.write_result(storage, row)
            trained += 1
            label = f"{name} seed {run_seed}" if seeds > 1 else name
            if row["status"] != "complete":
                failures += 1
                print(f"{label}: {row['status']}: {row['error']}", file=sys.stderr)
            else:
                print(
                    f"{label}: val_acc {row['val_acc']:.1f}%  test_acc {row['test_acc']:.1f}%  "
                    f"MACs {row['macs'] / 1e6:.1f} M  params {row['params'] / 1e6:.2f} M  "
                    f"({row['train_s']:.0f} s)",
                    file=sys.stderr,
                )
    return 1 if trained and failures == trained else 0


def _done_seeds(stored: Any, name: str, protocol: str) -> set[int]:
    """Seeds of this model already trained under this protocol in the study."""
    if not len(stored):
        return set()
    rows = stored[
        (stored["source"] == "baseline")
        & (stored["name"] == name)
        & (stored["protocol_hash"] == protocol)
        & (stored["status"] == "complete")
    ]
    return {int(s) for s in rows["seed"]}


def _identity(name: str, study_name: str, protocol: str, seed: int) -> dict[str, Any]:
    return {
        "study_name": study_name,
        "source": "baseline",
        "name": name,
        "space": TorchvisionSpace.NAME,
        "protocol_hash": protocol,
        "seed": seed,
        "code_version": store.code_version(),
        "started_at": datetime.now(UTC),
    }
