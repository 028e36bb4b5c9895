"""`nasbench train`: train one architecture with the proxy recipe and print its metrics."""

from __future__ import annotations

import sys

import pandas as pd

from nasbench.arch_strings import resolve_arch
from nasbench.data import load_dataset
from nasbench.evaluation.context import Context, Request, make_recipe, resolve_device
from nasbench.evaluation.trained import evaluate_trained
from nasbench.results.formats import Column, render
from nasbench.results.vocabulary import COSTS

# what `train` prints, in order; json and csv print them exactly, the others as people read them
SHOWN = (
    Column("name"),
    Column("arch_hash"),
    Column("dataset"),
    *(Column(c.column, c.label, c.scale, c.decimals) for c in COSTS),
    Column("val_acc", "val acc (%)", decimals=2),
    Column("test_acc", "test acc (%)", decimals=2),
    Column("train_loss", decimals=4),
    Column("train_s", "train (s)", decimals=1),
    Column("eval_s", "eval (s)", decimals=2),
    Column("images_per_s", "images/s", decimals=0),
    Column("epochs"),
    Column("batch_size"),
    Column("image_size"),
    Column("latency_iqr_ms", "latency IQR (ms)", decimals=3),
    Column("latency_repeats"),
    Column("peak_memory_mb", "peak memory (MB)", decimals=1),
    Column("device"),
    Column("device_name"),
    Column("dtype"),
    Column("threads"),
    Column("torch_version"),
    Column("cuda_version"),
)


def run_train(
    space_name: str,
    arch_spec: str,
    *,
    dataset: str = "digits",
    data_dir: str | None = None,
    epochs: int | None = None,
    image_size: int | None = None,
    batch_size: int | None = None,
    train_fraction: float = 1.0,
    device: str = "auto",
    seed: int = 0,
    output_format: str = "table",
) -> int:
    """Train `arch_spec` (a reference name of the space, a JSON file or the space's benchmark arch
    string) and print its metrics."""
    space, arch, label = resolve_arch(f"{space_name}:{arch_spec}")
    device = resolve_device(device)
    data = load_dataset(
        dataset,
        data_dir=data_dir or "data",
        image_size=image_size,
        train_fraction=train_fraction,
        seed=0,
    )
    recipe = make_recipe(data.name, getattr(space, "TRAIN_DEFAULTS", {}), epochs, batch_size)
    ctx = Context(
        space=space,
        protocol="",  # nothing is stored
        data=data,
        recipe=recipe,
        device=device,
        test=data.test_x is not None,
    )
    row = evaluate_trained(arch, ctx, Request(seeds=(seed,))).row
    if row["status"] != "complete":
        print(f"nasbench: {label}: {row['status']}: {row['error']}", file=sys.stderr)
        return 1
    record = {"name": label, **row}
    frame = pd.DataFrame([{c.name: record.get(c.name) for c in SHOWN}])
    sys.stdout.write(render(frame, output_format, SHOWN))
    return 0
