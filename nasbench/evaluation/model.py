"""Build an arch for a dataset, measure its cost, train its proxy: flat result-row columns out."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from nasbench import measure
from nasbench.data import DataSplits
from nasbench.errors import UsageError
from nasbench.train import TrainConfig, train

# Latency in a search is a fixed cost of every trial: a proxy's forward pass takes 5-10 ms on a CPU
# (module dispatch, not arithmetic), so each call counts. Where latency is an objective or a limit
# it ranks: 2 warm-up calls, then timed blocks for 30 ms (at least 5), for median and IQR. Where it
# decides nothing it is only recorded: 1 warm-up call (the MAC count has already run the model
# once) and 3 timed calls. Neither is a figure to quote: `nasbench measure` re-measures properly.
RANKING_LATENCY = {"budget_s": 0.03, "min_repeats": 5, "warm_up_calls": 2}
RECORDED_LATENCY = {"budget_s": 0.0, "min_repeats": 3, "warm_up_calls": 1}
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
TRAINING_COLUMNS = (
    "val_acc",
    "train_loss",
    "tse",
    "steps",
    "images_seen",
    "warm_start_steps",
    "train_s",
    "eval_s",
    "images_per_s",
    "epochs",
    "batch_size",
    "image_size",
)


def build_for(
    space: Any,
    arch: dict[str, Any],
    data: DataSplits,
    *,
    seed: int | None = None,
    width: float = 1.0,
    image_size: int | None = None,
) -> torch.nn.Module:
    """Build an arch of `space` for the dataset's classes, channels and image size (or
    `image_size`), at a width multiplier (a proxy's reduced copy). With `seed`, its initial
    weights come from that seed alone, and the caller's RNG state is kept."""
    size = image_size or data.image_size
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        if width == 1.0:  # spaces without a width argument build as they always did
            return space.build(arch, data.num_classes, data.in_channels, size)
        return space.build(arch, data.num_classes, data.in_channels, size, width=width)


def check_width(space: Any, width: float) -> None:
    """One line when a budget reduces the width of a space whose build() takes no width."""
    if width != 1.0 and "width" not in inspect.signature(space.build).parameters:
        raise UsageError(
            f"space {getattr(space, 'NAME', space)!r} cannot build reduced copies "
            f"(its build() takes no width argument), so a budget's width={width:g} does not apply"
        )


def input_shape(data: DataSplits, batch_size: int = 1) -> tuple[int, int, int, int]:
    return (batch_size, data.in_channels, data.image_size, data.image_size)


def measure_cost(
    model: torch.nn.Module,
    data: DataSplits,
    *,
    device: str,
    latency: bool = True,
    latency_timing: dict[str, Any] = RANKING_LATENCY,
    image_size: int | None = None,
) -> dict[str, Any]:
    """Params, MACs and (optionally) latency at the proxy's input size (or `image_size`), as
    result-row columns. `latency_timing`: measure_latency's budget_s, min_repeats and
    warm_up_calls."""
    size = image_size or data.image_size
    figures = measure.measure_model(
        model, (1, data.in_channels, size, size), device=device, latency=latency, **latency_timing
    )
    row = {key: figures.get(key) for key in COST_COLUMNS}
    row["latency_batch_size"] = figures.get("batch_size")
    return row


def train_proxy(
    model: torch.nn.Module,
    data: DataSplits,
    config: TrainConfig,
    *,
    device: str,
    seed: int,
    on_epoch: Callable[[int, float], bool] | None = None,
    test: bool = False,
    resume_from: Path | None = None,
    save_before_decay: Path | None = None,
) -> tuple[dict[str, Any], bool]:
    """Train with the recipe: the training columns of a result row (test_acc only when asked
    for: the search never looks at test data), and whether on_epoch stopped it early. The two
    paths are train()'s: a saved state to continue from, where to save one before the decay."""
    metrics = train(
        model,
        data,
        config,
        device=device,
        seed=seed,
        on_epoch=on_epoch,
        test=test,
        resume_from=resume_from,
        save_before_decay=save_before_decay,
    )
    keys = [*TRAINING_COLUMNS, "test_acc"] if test else TRAINING_COLUMNS
    return {key: metrics.get(key) for key in keys}, bool(metrics.get("stopped_early"))
