"""`nasbench profile`: params, MACs and latency of models, one row each, next to published figures."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from nasbench import arguments
from nasbench.config import LATENCY_BUDGET_S
from nasbench.results.formats import check_format, render, shown_column

COLUMNS = tuple(shown_column(name) for name in ("latency_ms", "latency_iqr_ms", "peak_memory_mb"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="torchvision model name, SPACE:NAME, SPACE:FILE.json, SPACE:ARCHSTRING or FILE.pt2",
    )
    p.add_argument(
        "--input-size",
        type=arguments.bounded_int(1, 4096),
        default=None,
        help="input side in pixels (default: each torchvision model's weights crop "
        "size; 224 for SPACE archs)",
    )
    p.add_argument("--batch-size", type=arguments.bounded_int(1, 65_536), default=1)
    p.add_argument(
        "--num-classes",
        type=arguments.positive_int,
        default=None,
        help="classes of the head (default: 1000 for torchvision models and references)",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
    p.add_argument(
        "--threads",
        type=arguments.bounded_int(1, 1024),
        default=None,
        help="CPU threads for latency (default: all cores)",
    )
    p.add_argument("--no-latency", action="store_true")
    arguments.add_latency_budget(p)
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_profile(
        args.models,
        input_size=args.input_size,
        batch_size=args.batch_size,
        num_classes=args.num_classes,
        device=args.device,
        dtype=args.dtype,
        threads=args.threads,
        latency=not args.no_latency,
        output_format=args.format,
        budget_s=args.latency_budget,
    )


def run_profile(
    models: Sequence[str],
    *,
    input_size: int | None = None,
    batch_size: int = 1,
    num_classes: int | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    latency: bool = True,
    output_format: str = "table",
    budget_s: float = LATENCY_BUDGET_S,
) -> int:
    """Profile each MODEL and print one row per model in `output_format`; return the exit status.

    MACs are per image (batch 1); latency is per batch of `batch_size`. `input_size` None: each
    torchvision model at its weights' crop size (where the published GFLOPS were counted), space
    archs at their benchmark's input (32 for nb201 and the macro spaces) or else 224; `num_classes`
    None likewise: the weights', the benchmark's, or 1000. Every MODEL is resolved before anything is built, so a typo fails at once.
    """
    import torch
    import torchvision

    from nasbench import measure
    from nasbench.profile import profile_target, resolve_target

    check_format(output_format)
    measure.check_device_and_dtype(device, dtype)
    targets = [resolve_target(spec, input_size, num_classes) for spec in models]
    rows = [
        profile_target(
            target,
            batch_size=batch_size,
            device=device,
            dtype=dtype,
            threads=threads,
            latency=latency,
            budget_s=budget_s,
        )
        for target in targets
    ]
    if output_format == "md":
        command = _command_line(
            models,
            input_size=input_size,
            batch_size=batch_size,
            num_classes=num_classes,
            device=device,
            dtype=dtype,
            threads=threads,
            latency=latency,
        )
        versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}"
        print(f"Produced by `{command}` ({versions}).\n")
    sys.stdout.write(render(pd.DataFrame(rows, dtype=object), output_format, COLUMNS))
    sys.stdout.flush()
    return 0


def _command_line(models: Sequence[str], **options: Any) -> str:
    words = ["nasbench", "profile", *models]
    defaults = {"batch_size": 1, "device": "cpu", "dtype": "float32"}
    for key, value in options.items():
        if key == "latency":
            words += [] if value else ["--no-latency"]
        elif value is not None and defaults.get(key) != value:
            words += [f"--{key.replace('_', '-')}", str(value)]
    return shlex.join([*words, "--format", "md"])
