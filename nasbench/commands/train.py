"""`nasbench train`: train one architecture with the proxy recipe and print its metrics."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from nasbench import arguments
from nasbench.budget import ProxyBudget
from nasbench.results.formats import render, shown_column

# what `train` prints, in order; json and csv print them exactly, the others as people read them
SHOWN = tuple(
    shown_column(name)
    for names in (
        ("name", "arch_hash", "dataset", "macs", "latency_ms", "params", "val_acc", "test_acc"),
        ("train_loss", "tse", "train_s", "eval_s", "images_per_s", "epochs", "steps"),
        ("images_seen", "batch_size", "image_size"),
        ("latency_iqr_ms", "latency_repeats", "peak_memory_mb"),
        ("device", "device_name", "dtype", "threads", "torch_version", "cuda_version"),
    )
    for name in names
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", required=True, help=arguments.space_help("its space"))
    p.add_argument(
        "--arch",
        required=True,
        metavar="NAME|FILE.json|ARCHSTRING",
        help="a reference arch name, an arch JSON file, or the space's benchmark arch string",
    )
    arguments.add_data(p)
    arguments.add_budget(p, what="the training")
    arguments.add_device(p)
    p.add_argument("--seed", type=arguments.seed_int, default=0)
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_train(
        args.space,
        args.arch,
        dataset=args.dataset or "digits",
        data_dir=args.data_dir,
        budget=arguments.budget_of(args) or ProxyBudget(),
        device=args.device,
        seed=args.seed,
        output_format=args.format,
    )


def run_train(
    space_name: str,
    arch_spec: str,
    *,
    dataset: str = "digits",
    data_dir: str | None = None,
    budget: ProxyBudget | None = None,
    device: str = "auto",
    seed: int = 0,
    output_format: str = "table",
) -> int:
    """Train `arch_spec` (a reference name of the space, a JSON file or the space's benchmark arch
    string) under `budget` and print its metrics."""
    from nasbench.arch_strings import resolve_arch
    from nasbench.evaluation.context import Request, resolve_device
    from nasbench.evaluation.trained import evaluate_trained
    from nasbench.workflow.contexts import budget_data, budget_recipe, trained_context

    budget = budget or ProxyBudget()
    space, arch, label = resolve_arch(f"{space_name}:{arch_spec}")
    device = resolve_device(device)
    recipe_defaults = getattr(space, "TRAIN_DEFAULTS", {})
    budget_recipe(dataset, recipe_defaults, budget)  # a bad recipe before the data is read
    data = budget_data(dataset, data_dir, budget)
    recipe = budget_recipe(data.name, recipe_defaults, budget)
    ctx = trained_context(
        space, data, recipe, {}, device=device, test=data.test_x is not None, budget=budget
    )
    row = evaluate_trained(arch, ctx, Request(seeds=(seed,))).row
    if row["status"] != "complete":
        print(f"nasbench: {label}: {row['status']}: {row['error']}", file=sys.stderr)
        return 1
    record = {"name": label, **row}
    frame = pd.DataFrame([{c.name: record.get(c.name) for c in SHOWN}])
    sys.stdout.write(render(frame, output_format, SHOWN))
    return 0
