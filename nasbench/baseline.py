"""`nasbench baseline`: train torchvision's classic families under the search's proxy protocol."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import torch
import torchvision
from torch import nn

from nasbench import store
from nasbench.data import DataSplits, load_dataset
from nasbench.errors import UsageError
from nasbench.evaluate import make_recipe, measure_cost, protocol_hash, resolve_device, train_proxy
from nasbench.spaces import arch_hash
from nasbench.train import TrainingDiverged

MIN_IMAGE_SIZE = 32  # below this the classic stems (stride 16-32) leave nothing to pool
TRANSFORMERS_ADAMW = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05}


def classification_model_names() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def build_baseline(name: str, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    """torchvision's model `name` with a head for `num_classes` and a stem for `in_channels`."""
    if name not in classification_model_names():
        raise UsageError(
            f"unknown torchvision model {name!r}; e.g. resnet18, mobilenet_v2, vit_b_16 "
            f"(see torchvision.models.list_models())"
        )
    kwargs: dict[str, Any] = {"weights": None, "num_classes": num_classes}
    if name.startswith("vit_"):
        kwargs["image_size"] = image_size
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    model = torchvision.models.get_model(name, **kwargs)
    if in_channels != 3:
        _replace_first_conv(model, in_channels)
    return model


def _replace_first_conv(model: nn.Module, in_channels: int) -> None:
    """Swap the first convolution for one reading `in_channels` (e.g. greyscale) inputs."""
    for parent in model.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d):
                new = nn.Conv2d(
                    in_channels, child.out_channels, child.kernel_size, child.stride,
                    child.padding, child.dilation, 1, child.bias is not None, child.padding_mode,
                )  # fmt: skip
                setattr(parent, child_name, new)
                return
    raise UsageError(
        f"{type(model).__name__} has no convolution to adapt to {in_channels} channels"
    )


def baseline_image_size(name: str, image_size: int) -> int:
    """The input size a classic model is trained at: the data's, raised to what its stem needs."""
    weights = torchvision.models.get_model_weights(name).DEFAULT
    min_side = max(weights.meta.get("min_size", (1, 1)))
    if name.startswith(("vit_", "swin_")):
        min_side = 1  # vit is built at the data's size; swin pads small maps to its window
    size = max(image_size, min_side, MIN_IMAGE_SIZE)
    if name.startswith("vit_"):
        patch = int(name.split("_")[-1])
        size = -(-size // patch) * patch
    return size


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
        if name not in classification_model_names():
            build_baseline(name, 10, 3, 224)  # raises the one-line error
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
        row = _train_baseline(name, data, storage, study_name, epochs, batch_size, device, seed)
        store.write_result(storage, row)
        if row["status"] == "failed":
            failures += 1
            print(f"{name}: failed: {row['error']}", file=sys.stderr)
        else:
            print(
                f"{name}: val_acc {row['val_acc']:.1f}%  MACs {row['macs'] / 1e6:.1f} M  "
                f"params {row['params'] / 1e6:.2f} M  ({row['train_s']:.0f} s)",
                file=sys.stderr,
            )
    return 1 if failures == len(models) else 0


def _train_baseline(
    name: str,
    data: DataSplits,
    storage: str,
    study_name: str,
    epochs: int | None,
    batch_size: int | None,
    device: str,
    seed: int,
) -> dict[str, Any]:
    defaults = TRANSFORMERS_ADAMW if name.startswith(("vit_", "swin_")) else {}
    recipe = make_recipe(data.name, defaults, epochs, batch_size)
    arch = {"model": name}
    row: dict[str, Any] = {
        "study_name": study_name, "source": "baseline", "name": name, "space": "torchvision",
        "arch": arch, "arch_hash": arch_hash(arch),
        "protocol_hash": protocol_hash(data, recipe, {"space": "torchvision"}),
        "dataset": data.name, "image_size": data.image_size, "batch_size": recipe.batch_size,
        "seed": seed, "code_version": store.code_version(), "started_at": datetime.now(UTC),
    }  # fmt: skip
    try:
        torch.manual_seed(seed)
        model = build_baseline(name, data.num_classes, data.in_channels, data.image_size)
        row.update(measure_cost(model, data, device=device, latency=True))
        metrics = train_proxy(model, data, recipe, device=device, seed=seed)
        metrics.pop("stopped_early")
        row.update(metrics)
        row["status"] = "complete"
    except (TrainingDiverged, RuntimeError, ValueError) as err:
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    row["finished_at"] = datetime.now(UTC)
    return row
