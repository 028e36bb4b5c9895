"""Evaluate one architecture: build it for the data, measure its cost, train the proxy; flat dicts out."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from typing import Any

import torch

from nasbench import measure
from nasbench.data import DataSplits
from nasbench.errors import UsageError
from nasbench.train import TrainConfig, default_train_config, train


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; 'cuda' without a GPU is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no CUDA GPU")
    return device


def make_recipe(
    dataset: str, defaults: dict[str, Any], epochs: int | None, batch_size: int | None
) -> TrainConfig:
    """The dataset's recipe, overridden by a space's (or model family's) defaults, then by flags."""
    overrides = dict(defaults)
    if epochs is not None:
        overrides["epochs"] = epochs
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    return default_train_config(dataset, overrides)


def build_for(
    space: Any, arch: dict[str, Any], data: DataSplits, *, seed: int | None = None
) -> torch.nn.Module:
    """Build an arch of `space` for the dataset's classes, channels and image size. With `seed`,
    its initial weights come from that seed alone, and the caller's RNG state is kept."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return space.build(arch, data.num_classes, data.in_channels, data.image_size)


def input_shape(data: DataSplits, batch_size: int = 1) -> tuple[int, int, int, int]:
    return (batch_size, data.in_channels, data.image_size, data.image_size)


def measure_cost(
    model: torch.nn.Module, data: DataSplits, *, device: str, latency: bool = True
) -> dict[str, Any]:
    """Params, MACs and (optionally) latency at the proxy's input size, as result-row columns."""
    figures = measure.measure_model(
        model, input_shape(data), device=device, latency=latency, budget_s=LATENCY_BUDGET_S
    )
    row = {key: figures.get(key) for key in COST_COLUMNS}
    row["latency_batch_size"] = figures.get("batch_size")
    return row


# per trial: 10 timed blocks of one call for a 1-3 ms proxy (at least 5 for slower ones), for median
# and IQR; a search's fixed cost per trial, so kept small
LATENCY_BUDGET_S = 0.03
COST_COLUMNS = (
    "params",
    "macs",
    "uncounted_ops",
    "latency_ms",
    "latency_iqr_ms",
    "latency_repeats",
    "peak_memory_mb",
    "device",
    "device_name",
    "dtype",
    "threads",
    "torch_version",
    "cuda_version",
)


def train_proxy(
    model: torch.nn.Module,
    data: DataSplits,
    config: TrainConfig,
    *,
    device: str,
    seed: int,
    on_epoch: Callable[[int, float], bool] | None = None,
    test: bool = False,
) -> dict[str, Any]:
    """Train with the recipe and return the training columns of a result row (test_acc only
    when asked for: the search never looks at test data)."""
    metrics = train(model, data, config, device=device, seed=seed, on_epoch=on_epoch, test=test)
    keys = [
        "val_acc",
        "train_loss",
        "train_s",
        "eval_s",
        "images_per_s",
        "epochs",
        "batch_size",
        "image_size",
    ]
    if test:
        keys.append("test_acc")
    row = {key: metrics.get(key) for key in keys}
    row["stopped_early"] = bool(metrics.get("stopped_early"))
    return row


def protocol_hash(data: DataSplits, config: TrainConfig, extra: dict[str, Any]) -> str:
    """Id of the training protocol: two results are comparable (and reusable) iff these agree."""
    protocol = {
        "dataset": data.name,
        "image_size": data.image_size,
        "num_train": int(len(data.train_y)),
        "recipe": dataclasses.asdict(config),
        **extra,
    }
    text = json.dumps(protocol, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
