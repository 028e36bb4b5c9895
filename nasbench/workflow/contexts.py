"""One way to make an evaluation context: a dataset loaded at a budget, its recipe, its protocol."""

from __future__ import annotations

from typing import Any

from nasbench.budget import ProxyBudget
from nasbench.data import DataSplits, load_dataset, native_image_size, with_val_subset
from nasbench.evaluation.context import Context, make_recipe, protocol_hash
from nasbench.evaluation.model import check_width
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
    budget's epochs (or steps) and batch size. Checked before any data is read by calling it first."""
    return make_recipe(dataset, defaults, budget.epochs, budget.batch_size, budget.steps)


def cost_image_size(
    data: DataSplits, budget: ProxyBudget | None, costs_on_trained: bool = False
) -> int | None:
    """The input size at which costs are measured on the full-width arch: the dataset's native
    size where the budget reduces width or image size; None: on the trained network itself."""
    if budget is None or not budget.reduces_input or costs_on_trained:
        return None
    return native_image_size(data.name)


def trained_context(
    space: Any,
    data: DataSplits,
    recipe: TrainConfig,
    protocol_extra: dict[str, Any],
    *,
    device: str,
    costs_on_trained: bool = False,
    **fields: Any,
) -> Context:
    """A context for training archs of `space` on `data` with `recipe`; its protocol hash names
    the data, the recipe and `protocol_extra` (what else makes two results comparable).

    Where the budget reduces width or image size, costs are measured on the full-width arch at
    the dataset's native size (what the user gets), unless `costs_on_trained` (a study made before
    this rule keeps measuring as it did). Each of these enters the protocol only where it applies,
    so other hashes stay as they were."""
    budget = fields.get("budget")
    extra = dict(protocol_extra)
    if budget is not None and budget.val_images:
        extra["num_val"] = int(len(data.val_y))
    width = budget.width if budget is not None else 1.0
    if width != 1.0:
        check_width(space, width)
        extra["width"] = width
    cost_size = cost_image_size(data, budget, costs_on_trained)
    if cost_size is not None:
        extra["costs_at"] = {"width": 1.0, "image_size": cost_size}
    return Context(
        space=space,
        protocol=protocol_hash(data, recipe, extra),
        data=data,
        recipe=recipe,
        device=device,
        width=width,
        cost_image_size=cost_size,
        **fields,
    )
