"""`nasbench profile`: params, MACs and latency of models, one row each, next to published figures."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd
import torch
import torchvision

from nasbench import measure
from nasbench.config import LATENCY_BUDGET_S
from nasbench.profile import profile_target, resolve_target
from nasbench.results.formats import Column, check_format, render

COLUMNS = (
    Column("latency_ms", decimals=3),
    Column("latency_iqr_ms", decimals=3),
    Column("peak_memory_mb", decimals=1),
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
        )  # fmt: skip
        for target in targets
    ]
    if output_format == "md":
        command = _command_line(
            models, input_size=input_size, batch_size=batch_size, num_classes=num_classes,
            device=device, dtype=dtype, threads=threads, latency=latency,
        )  # fmt: skip
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
