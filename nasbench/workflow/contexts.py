"""One way to make an evaluation context: a dataset loaded at a budget, its recipe, its protocol."""

from __future__ import annotations

from typing import Any

from nasbench.budget import ProxyBudget
from nasbench.data import DataSplits, load_dataset, with_val_subset
from nasbench.evaluation.context import Context, make_recipe, protocol_hash
from nasbench.train import TrainConfig


def budget_data(
    dataset: str, data_dir: str | None, budget: ProxyBudget, base: DataSplits | None = None
) -> DataSplits:
    """The dataset as a budget trains on it (its image size and training fraction); `base`, the
    dataset loaded at its defaults, is reused when the budget changes neither."""
    if base is not None and budget.image_size is None and budget.train_fraction == 1.0:
        data = base
    else:
        data = load_dataset(
            dataset,
            data_dir=data_dir or "data",
            image_size=budget.image_size,
            train_fraction=budget.train_fraction,
            seed=0,
        )
    return with_val_subset(data, budget.val_images) if budget.val_images else data


def budget_recipe(dataset: str, defaults: dict[str, Any], budget: ProxyBudget) -> TrainConfig:
    """The dataset's recipe, then `defaults` (a space's TRAIN_DEFAULTS, a [train] table), then the
    budget's epochs and batch size. Checked before any data is read by calling it first."""
    return make_recipe(dataset, defaults, budget.epochs, budget.batch_size)


def trained_context(
    space: Any,
    data: DataSplits,
    recipe: TrainConfig,
    protocol_extra: dict[str, Any],
    *,
    device: str,
    **fields: Any,
) -> Context:
    """A context for training archs of `space` on `data` with `recipe`; its protocol hash names
    the data, the recipe and `protocol_extra` (what else makes two results comparable)."""
    budget = fields.get("budget")
    if budget is not None and budget.val_images:  # (only then: other hashes stay as they were)
        protocol_extra = {**protocol_extra, "num_val": int(len(data.val_y))}
    return Context(
        space=space,
        protocol=protocol_hash(data, recipe, protocol_extra),
        data=data,
        recipe=recipe,
        device=device,
        **fields,
    )
