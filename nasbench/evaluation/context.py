"""What an evaluation needs besides the arch: space, data, recipe, device, protocol, limits."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nasbench.benchmarks import TabularBenchmark
from nasbench.budget import ProxyBudget
from nasbench.data import DataSplits
from nasbench.errors import UsageError
from nasbench.train import TrainConfig, default_train_config, schedule_changed


@dataclass(frozen=True)
class Context:
    """Everything shared by the evaluations of one search (or one `train` or `baseline` run).

    A trained evaluation needs `data` and `recipe`; a tabular one needs `benchmark`.
    """

    space: Any  # a space module (or an object with its validate and build)
    protocol: str  # protocol_hash(): results are comparable and reusable iff these agree
    objectives: tuple[str, ...] = ("acc",)
    limits: dict[str, float] = field(default_factory=dict)  # column -> largest allowed value
    data: DataSplits | None = None
    recipe: TrainConfig | None = None
    device: str = "cpu"
    benchmark: TabularBenchmark | None = None
    latency_device: str | None = None  # a benchmark's latency column, looked up not measured
    # a trained search's latency on another device (nasbench measure --label): arch hash ->
    # (latency_ms, latency_iqr_ms) there, looked up instead of measured here
    measured_latency: dict[str, tuple[float, float]] | None = None
    test: bool = False  # also measure test accuracy (never during a search)
    budget: ProxyBudget | None = None  # what a trained proxy costs (stored with every row)
    width: float = 1.0  # the trained copy's channel multiplier (the budget's width)
    # the input size params, MACs and latency are measured at, on the full-width arch; None: on
    # the trained network at its input size (full width at native size, or a study made before)
    cost_image_size: int | None = None
    zero_cost: str | None = None  # score archs with this zero-cost proxy instead of training

    @property
    def trains(self) -> bool:
        """Whether an evaluation trains (neither a table lookup nor a zero-cost score)."""
        return self.recipe is not None

    @property
    def latency_decides(self) -> bool:
        """Whether latency is an objective or a limit (else it is only recorded)."""
        return "latency" in self.objectives or "latency_ms" in self.limits


@dataclass(frozen=True)
class Request:
    """What one evaluation needs beyond the context: its seeds and what the study knows so far."""

    # the first seeds the training; the others the confirmation trainings of a front entrant
    seeds: tuple[int, ...] = (0,)
    previous: dict[str, Any] | None = None  # a stored result of this arch under this protocol
    front: tuple[tuple[float, ...], ...] = ()  # objective values of the study's feasible results
    # (epoch, val_acc, cost objective values) -> a reason to stop training now, or None
    should_stop: Callable[[int, float, tuple[float, ...]], str | None] | None = None
    keep_weights: bool = False  # hand back the trained weights (Evaluation.weights), on the CPU
    # successive halving with --promotion continue: the lower rung's saved state this training
    # continues from, and where this one saves its own before the decay (None: neither)
    resume_from: Path | None = None
    save_before_decay: Path | None = None


@dataclass
class Evaluation:
    """One results row (status and error included) and what the study keeps beside it."""

    row: dict[str, Any]
    curve: list[float] = field(default_factory=list)  # val_acc after each epoch of the training
    run_accuracies: list[float] = field(default_factory=list)  # each training's, when confirmed
    weights: dict[str, Any] | None = None  # the trained state_dict, when the request kept it


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; 'cuda' without a GPU is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no CUDA GPU")
    return device


def make_recipe(
    dataset: str,
    defaults: dict[str, Any],
    epochs: int | None,
    batch_size: int | None,
    steps: int | None = None,
) -> TrainConfig:
    """The dataset's recipe, overridden by a space's (or model family's) defaults, then by flags."""
    overrides = dict(defaults)
    if epochs is not None:
        overrides["epochs"] = epochs
    if steps is not None:
        overrides["steps"] = steps
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    return default_train_config(dataset, overrides)


def protocol_hash(
    data: DataSplits | None, config: TrainConfig | None, extra: dict[str, Any]
) -> str:
    """Id of the training protocol: two results are comparable (and reusable) iff these agree.
    A benchmark lookup has no data nor recipe: `extra` names the table and its columns."""
    protocol = dict(extra)
    if data is not None and config is not None:
        recipe = dataclasses.asdict(config)
        for newer in ("steps", "decay_fraction"):  # recipes older than these hash as they did
            if not recipe[newer]:
                del recipe[newer]
        protocol.update(
            dataset=data.name,
            image_size=data.image_size,
            num_train=int(len(data.train_y)),
            recipe=recipe,
        )
        if schedule_changed(config, len(data.train_y)):  # only then: other hashes stay as they were
            protocol["warmup"] = "at most a third of the steps"
    text = json.dumps(protocol, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
