"""`nasbench profile`: params, MACs and latency of torchvision models and space archs, next to published figures."""

from __future__ import annotations

import json
import math
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import torch
import torchvision
from torch import nn

from nasbench import measure
from nasbench.errors import UsageError
from nasbench.spaces import resolve_arch, space_names

FORMATS = ("table", "json", "csv", "md")

# Constructor arguments that torchvision's builders force when they load the published weights
# (see e.g. torchvision/models/googlenet.py): the model is built the same way, minus the download.
PUBLISHED_BUILD_ARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"transform_input": True, "aux_logits": False, "init_weights": False},
    # inception_v3 keeps its auxiliary classifier with the weights (it does not run in eval mode)
    "inception_v3": {"transform_input": True, "aux_logits": True, "init_weights": False},
}

# Families whose constructor fixes the input size (position embeddings, attention grids).
IMAGE_SIZE_ARG = {"vit_": "image_size", "maxvit_": "input_size"}

# Columns only meaningful when latency was measured.
LATENCY_COLUMNS = (
    "latency_ms", "latency_iqr_ms", "latency_repeats", "peak_memory_mb", "device", "device_name",
    "torch_version", "cuda_version", "threads", "batch_size", "dtype",
)  # fmt: skip


@dataclass
class Target:
    """One model to profile: how to build it, at which input size, and what was published."""

    name: str
    build: Callable[[], nn.Module]
    input_size: int
    published: dict[str, Any] = field(default_factory=dict)


def torchvision_names() -> list[str]:
    """Names of torchvision's classification models."""
    return torchvision.models.list_models(module=torchvision.models)


def torchvision_target(name: str, input_size: int | None, num_classes: int | None) -> Target:
    """A torchvision model built as its DEFAULT weights build it (weights=None: no download).

    `input_size` None means the weights' own crop size, the size of the published GFLOPS.
    """
    weights = torchvision.models.get_model_weights(name).DEFAULT
    crop = weights.transforms().crop_size[0]
    size = input_size or crop
    kwargs = dict(PUBLISHED_BUILD_ARGS.get(name, {}))
    kwargs["num_classes"] = num_classes or len(weights.meta["categories"])
    for prefix, arg in IMAGE_SIZE_ARG.items():
        if name.startswith(prefix):
            kwargs[arg] = size if arg == "image_size" else (size, size)
    published = {
        "published_params": weights.meta["num_params"],
        # published GFLOPS are multiply-adds at the crop size; at another size they do not compare
        "published_gflops": weights.meta["_ops"] if size == crop else None,
        "imagenet_top1": weights.meta["_metrics"]["ImageNet-1K"]["acc@1"],
    }
    return Target(
        name=name,
        build=lambda: torchvision.models.get_model(name, weights=None, **kwargs),
        input_size=size,
        published=published,
    )


def space_target(spec: str, input_size: int | None, num_classes: int | None) -> Target:
    """A SPACE:NAME reference arch or a SPACE:FILE.json arch, validated by its space."""
    space, arch, label = resolve_arch(spec)
    size = input_size or 224
    return Target(
        name=label,
        build=lambda: space.build(arch, num_classes or 1000, 3, size),
        input_size=size,
    )


def resolve_target(spec: str, input_size: int | None, num_classes: int | None) -> Target:
    """Turn a MODEL argument into a Target, or raise a one-line UsageError saying what is valid."""
    if ":" in spec:
        return space_target(spec, input_size, num_classes)
    if spec in torchvision_names():
        return torchvision_target(spec, input_size, num_classes)
    raise UsageError(
        f"unknown model {spec!r}: not a torchvision classification model (list them with "
        "python -c 'import torchvision; print(torchvision.models.list_models(module="
        "torchvision.models))') nor SPACE:NAME or SPACE:FILE.json with SPACE one of "
        f"{', '.join(space_names())}"
    )


def profile_target(
    target: Target,
    *,
    batch_size: int,
    device: str,
    dtype: str,
    threads: int | None,
    latency: bool,
    budget_s: float,
) -> dict[str, Any]:
    """Build one model and measure it: one flat row with the published figures appended."""
    shape = (batch_size, 3, target.input_size, target.input_size)
    try:
        model = target.build()
        row = measure.measure_model(
            model, shape, device=device, dtype=dtype, threads=threads, latency=latency,
            budget_s=budget_s,
        )  # fmt: skip
    except (RuntimeError, ValueError, AssertionError) as err:
        if isinstance(err, UsageError):
            raise
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(
            f"{target.name} cannot run on input {'x'.join(map(str, shape))}: {reason}"
        ) from err
    row = {"name": target.name, **row}
    row["gmacs"] = round(row["macs"] / 1e9, 3)
    row.update(target.published)
    return _ordered(row, latency)


def _ordered(row: dict[str, Any], latency: bool) -> dict[str, Any]:
    first = ["name", "input_size", "params", "published_params", "macs", "gmacs",
             "published_gflops", "imagenet_top1", "uncounted_ops"]  # fmt: skip
    ordered = {key: row.get(key) for key in first}
    for key, value in row.items():
        if key not in ordered and (latency or key not in LATENCY_COLUMNS):
            ordered[key] = value
    return ordered


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
    budget_s: float = 1.0,
) -> int:
    """Profile each MODEL and print one row per model in `output_format`; return the exit status.

    MACs are per image (batch 1); latency is per batch of `batch_size`. `input_size` None: each
    torchvision model at its weights' crop size (where the published GFLOPS were counted), 224 for
    space archs. Every MODEL is resolved before anything is built, so a typo fails at once.
    """
    if output_format not in FORMATS:
        raise UsageError(f"unknown format {output_format!r}; choose one of {', '.join(FORMATS)}")
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
    print(format_rows(rows, output_format))
    sys.stdout.flush()
    return 0


def format_rows(rows: list[dict[str, Any]], output_format: str) -> str:
    """Rows as json (a list of objects), csv, a markdown table or an aligned text table."""
    if output_format == "json":
        return json.dumps([{k: _json_value(v) for k, v in row.items()} for row in rows], indent=2)
    frame = pd.DataFrame([{k: _cell(v) for k, v in row.items()} for row in rows], dtype=object)
    if output_format == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    # human formats: leave out the columns nothing was recorded in (no CUDA, no uncounted op...)
    shown = frame[[c for c in frame.columns if any(_text(v) for v in frame[c])]]
    text = shown.map(_text)
    if output_format == "md":
        numeric = [_is_numeric(frame[c]) for c in shown.columns]
        align = ["right" if is_number else "left" for is_number in numeric]
        return text.to_markdown(index=False, disable_numparse=True, colalign=align)
    return text.to_string(index=False)


def _command_line(models: Sequence[str], **options: Any) -> str:
    words = ["nasbench", "profile", *models]
    defaults = {"batch_size": 1, "device": "cpu", "dtype": "float32"}
    for key, value in options.items():
        if key == "latency":
            words += [] if value else ["--no-latency"]
        elif value is not None and defaults.get(key) != value:
            words += [f"--{key.replace('_', '-')}", str(value)]
    return shlex.join([*words, "--format", "md"])


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, dict):  # uncounted_ops: {"aten::foo": 2} -> "aten::foo x2"
        return ", ".join(f"{op} x{n}" for op, n in value.items())
    return value


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _is_numeric(column: pd.Series) -> bool:
    values = [v for v in column if v is not None and v != ""]
    return bool(values) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
