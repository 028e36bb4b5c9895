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
) -> int:
    """Train each model and store it as a reference row (source 'baseline') of `study_name`."""
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
    failures = 0
    for name in models:
        size = baseline_image_size(name, base.image_size)
        data = base if size == base.image_size else load_dataset(
            dataset, data_dir=data_dir or "data", image_size=size,
            train_fraction=train_fraction, seed=0,
        )  # fmt: skip
        recipe = make_recipe(data.name, baseline_recipe_defaults(name), epochs, batch_size)
        ctx = Context(
            space=TorchvisionSpace,
            protocol=protocol_hash(data, recipe, {"space": TorchvisionSpace.NAME}),
            data=data,
            recipe=recipe,
            device=device,
        )
        row = _identity(name, study_name, ctx.protocol, seed)
        row.update(evaluate_trained({"model": name}, ctx, Request(seeds=(seed,))).row)
        row["finished_at"] = datetime.now(UTC)
        store.write_result(storage, row)
        if row["status"] != "complete":
            failures += 1
            print(f"{name}: {row['status']}: {row['error']}", file=sys.stderr)
        else:
            print(
                f"{name}: val_acc {row['val_acc']:.1f}%  MACs {row['macs'] / 1e6:.1f} M  "
                f"params {row['params'] / 1e6:.2f} M  ({row['train_s']:.0f} s)",
                file=sys.stderr,
            )
    return 1 if failures == len(models) else 0


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
