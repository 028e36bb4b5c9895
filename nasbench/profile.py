"""Profile a model: params, MACs and latency of torchvision models and space archs, next to published figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from nasbench import measure
from nasbench.arch_strings import resolve_arch
from nasbench.errors import UsageError
from nasbench.export import load_exported
from nasbench.models import classification_model_names, published_model
from nasbench.spaces import space_names

# Columns only meaningful when latency was measured.
LATENCY_COLUMNS = (
    "latency_ms",
    "latency_iqr_ms",
    "latency_repeats",
    "peak_memory_mb",
    "device",
    "device_name",
    "torch_version",
    "cuda_version",
    "threads",
    "batch_size",
    "dtype",
)


@dataclass
class Target:
    """One model to profile: how to build it, at which input size, and what was published."""

    name: str
    build: Callable[[], nn.Module]
    input_size: int
    published: dict[str, Any] = field(default_factory=dict)
    in_channels: int = 3


def torchvision_target(name: str, input_size: int | None, num_classes: int | None) -> Target:
    """A torchvision model built as its DEFAULT weights build it (weights=None: no download).

    `input_size` None means the weights' own crop size, the size of the published GFLOPS.
    """
    build, size, published = published_model(name, input_size, num_classes)
    return Target(name=name, build=build, input_size=size, published=published)


def space_target(spec: str, input_size: int | None, num_classes: int | None) -> Target:
    """A SPACE:NAME reference arch, SPACE:FILE.json arch or SPACE:ARCHSTRING, validated by its
    space; at the input of the space's benchmark table (BENCHMARK_IMAGE_SIZE and _NUM_CLASSES)
    unless told otherwise, else at ImageNet's 224x224 and 1000 classes."""
    space, arch, label = resolve_arch(spec)
    size = input_size or getattr(space, "BENCHMARK_IMAGE_SIZE", 224)
    classes = num_classes or getattr(space, "BENCHMARK_NUM_CLASSES", 1000)
    return Target(
        name=label,
        build=lambda: space.build(arch, classes, 3, size),
        input_size=size,
    )


def exported_target(path: str, input_size: int | None, num_classes: int | None) -> Target:
    """A program written by `nasbench export` (torch.export), at its stored input shape."""
    program, metadata = load_exported(path)
    shape = metadata.get("input_shape")
    if not _is_image_shape(shape):  # absent, or not what nasbench writes: the program's own
        shape = list(program.example_inputs[0][0].shape)
    if not _is_image_shape(shape):
        raise UsageError(f"{path} takes inputs of shape {shape}, not images (N, C, H, W)")
    if input_size not in (None, shape[-1]) or num_classes not in (
        None,
        metadata.get("num_classes"),
    ):
        raise UsageError(
            f"{path} was exported for {shape[-1]}x{shape[-1]} inputs and "
            f"{metadata.get('num_classes')} classes; drop --input-size and --num-classes"
        )
    return Target(
        name=Path(path).name,
        build=lambda: ProgramModule(program),
        input_size=shape[-1],
        in_channels=shape[1],
    )


def _is_image_shape(shape: Any) -> bool:
    """Whether `shape` is (N, C, H, W) of positive integers with H == W."""
    return (
        isinstance(shape, list)
        and len(shape) == 4
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape)
        and shape[2] == shape[3]
    )


class ProgramModule(nn.Module):
    """An exported program as a module that measure can profile: it was exported in eval mode,
    and the module torch.export gives back refuses .eval()."""

    def __init__(self, program: Any) -> None:
        super().__init__()
        self.program = program.module()

    def train(self, mode: bool = True) -> ProgramModule:
        return self

    def forward(self, images: Any) -> Any:
        return self.program(images)


def resolve_target(spec: str, input_size: int | None, num_classes: int | None) -> Target:
    """Turn a MODEL argument into a Target, or raise a one-line UsageError saying what is valid."""
    if spec.endswith(".pt2"):
        if not Path(spec).is_file():
            raise UsageError(f"exported model {spec!r} does not exist")
        return exported_target(spec, input_size, num_classes)
    if ":" in spec:
        return space_target(spec, input_size, num_classes)
    if spec in classification_model_names():
        return torchvision_target(spec, input_size, num_classes)
    raise UsageError(
        f"unknown model {spec!r}: not a torchvision classification model (list them with "
        "python -c 'import torchvision; print(torchvision.models.list_models(module="
        "torchvision.models))') nor SPACE:NAME, SPACE:FILE.json or SPACE:ARCHSTRING with SPACE "
        "one of "
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
    shape = (batch_size, target.in_channels, target.input_size, target.input_size)
    try:
        model = target.build()
        row = measure.measure_model(
            model,
            shape,
            device=device,
            dtype=dtype,
            threads=threads,
            latency=latency,
            budget_s=budget_s,
        )
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
    first = [
        "name",
        "input_size",
        "params",
        "published_params",
        "macs",
        "gmacs",
        "published_gflops",
        "imagenet_top1",
        "uncounted_ops",
    ]
    ordered = {key: row.get(key) for key in first}
    for key, value in row.items():
        if key not in ordered and (latency or key not in LATENCY_COLUMNS):
            ordered[key] = value
    return ordered
