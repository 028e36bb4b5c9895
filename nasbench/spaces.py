"""The search-space contract: load_space(name), arch files and validation helpers.

A space is a module in the `search_spaces` package that defines:

    NAME: str
    REFERENCE_ARCHS: dict[str, dict]          # known architectures, usable as "SPACE:NAME"
    suggest(trial) -> dict                     # every parameter sampled unconditionally
    validate(arch) -> None                     # raises ArchError (a ValueError) naming the bad field
    build(arch, num_classes, in_channels, image_size) -> torch.nn.Module

and optionally TRAIN_DEFAULTS: dict (recipe overrides, e.g. AdamW for transformers),
SMALLEST_ARCH: dict (the cheapest arch suggest() samples; a new study with a cost objective
evaluates it first, so that its Pareto front reaches the cheap end of the space), GRID: dict
(Optuna parameter name -> choices, for spaces small enough to enumerate) and
BENCHMARK_IMAGE_SIZE / BENCHMARK_NUM_CLASSES (the input of the space's benchmark table, which
`profile` defaults to) and arch_costs(arch, num_classes, image_size) -> {params, macs} (exact costs
without building the network, for tables of thousands of archs). A space with a benchmark table
has a torch-free codec module of the same name in `search_spaces.arch_strings` (its arch strings:
parse, format, EXAMPLE). An architecture is a plain JSON dict; its id is a hash of its canonical
JSON. `nasbench.arch_strings` resolves "SPACE:NAME", "SPACE:FILE.json" and "SPACE:ARCHSTRING".
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from nasbench.arch import arch_hash, canonical_json, flatten_arch
from nasbench.errors import UsageError

__all__ = ["arch_hash", "canonical_json", "flatten_arch"]  # where user spaces found them

REQUIRED_ATTRIBUTES = ("NAME", "REFERENCE_ARCHS", "suggest", "validate", "build")


class ArchError(UsageError, ValueError):
    """An architecture that cannot be built; the message names the field and the allowed values."""


class SpaceError(UsageError, ValueError):
    """An unknown space name or a malformed architecture reference."""


def space_names() -> list[str]:
    """Names of the spaces shipped in the `search_spaces` package (its public modules; private
    modules and subpackages such as `arch_strings` are not spaces)."""
    import search_spaces

    names = []
    for info in pkgutil.iter_modules(search_spaces.__path__):
        if not info.name.startswith("_") and not info.ispkg:
            names.append(info.name)
    return sorted(names)


def load_space(name: str) -> ModuleType:
    """Return the space module called `name`, or raise SpaceError listing the valid names.

    A dotted name ("mypackage.myspace") imports a user's own space module from the Python path.
    """
    if "." in name:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise SpaceError(f"cannot import space module {name!r}: {err}") from None
    else:
        valid = space_names()
        if name not in valid:
            raise SpaceError(f"unknown space {name!r}; valid spaces: {', '.join(valid)}")
        module = importlib.import_module(f"search_spaces.{name}")
    missing = [attr for attr in REQUIRED_ATTRIBUTES if not hasattr(module, attr)]
    if missing:
        raise SpaceError(f"space {name!r} does not define {', '.join(missing)}")
    return module


MAX_ARCH_FILE_BYTES = 1 << 20


def read_arch_file(path: str | Path) -> dict[str, Any]:
    """Read an arch dict from a JSON file, with a one-line error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise SpaceError(f"arch file {str(path)!r} does not exist")
    if path.stat().st_size > MAX_ARCH_FILE_BYTES:
        raise SpaceError(
            f"arch file {str(path)!r} is {path.stat().st_size:,} bytes: an arch is a small JSON "
            f"object (at most {MAX_ARCH_FILE_BYTES:,} bytes)"
        )
    try:
        arch = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SpaceError(f"arch file {str(path)!r} is not valid JSON: {err}") from None
    except RecursionError:
        raise SpaceError(
            f"arch file {str(path)!r} is nested too deeply to read (an arch nests a few levels)"
        ) from None
    except ValueError as err:  # an integer of more digits than Python converts (4300)
        raise SpaceError(
            f"arch file {str(path)!r} holds a number too long to read: {err}"
        ) from None
    if not isinstance(arch, dict):
        raise SpaceError(
            f"arch file {str(path)!r} must hold a JSON object, not {type(arch).__name__}"
        )
    return arch


# ---- validation helpers used by the spaces -------------------------------------------------


def suggest_categorical_fields(
    trial: Any,
    fields: Sequence[str],
    choices: dict[str, Sequence[Any]],
    per_stage: Iterable[str] = (),
    num_stages: int = 0,
) -> dict[str, Any]:
    """Sample every field unconditionally from its choices; a per-stage field becomes a list, one
    parameter `field_i` per stage (so samplers and importance see each stage on its own)."""
    per_stage = set(per_stage)
    arch: dict[str, Any] = {}
    for field in fields:
        if field in per_stage:
            arch[field] = [
                trial.suggest_categorical(f"{field}_{i}", choices[field]) for i in range(num_stages)
            ]
        else:
            arch[field] = trial.suggest_categorical(field, choices[field])
    return arch


def smallest_choices(
    fields: Sequence[str],
    choices: dict[str, Sequence[Any]],
    per_stage: Iterable[str] = (),
    num_stages: int = 0,
) -> dict[str, Any]:
    """The arch of every field's first choice, for spaces whose choices are listed cheapest first."""
    per_stage = set(per_stage)
    return {
        field: [choices[field][0]] * num_stages if field in per_stage else choices[field][0]
        for field in fields
    }


def check_keys(arch: dict[str, Any], expected: Iterable[str]) -> None:
    """Reject missing and unknown fields."""
    if not isinstance(arch, dict):
        raise ArchError(f"an arch must be a dict, not {type(arch).__name__}")
    expected = list(expected)
    missing = [k for k in expected if k not in arch]
    if missing:
        raise ArchError(f"arch is missing field(s) {', '.join(missing)}")
    unknown = sorted(set(arch) - set(expected))
    if unknown:
        raise ArchError(
            f"arch has unknown field(s) {', '.join(unknown)}; fields are {', '.join(expected)}"
        )


def check_choice(arch: dict[str, Any], field: str, allowed: Sequence[Any]) -> None:
    """The field must be one of `allowed`."""
    value = arch[field]
    if not _is_among(value, allowed):
        raise ArchError(f"{field}={value!r} is not allowed; choose one of {list(allowed)}")


def check_stage_list(
    arch: dict[str, Any], field: str, length: int, allowed: Sequence[Any] | None = None
) -> None:
    """The field must be a list of `length` values, each one of `allowed` (when given)."""
    values = arch[field]
    if not isinstance(values, list) or len(values) != length:
        raise ArchError(f"{field} must be a list of {length} values, got {values!r}")
    if allowed is not None:
        for i, value in enumerate(values):
            if not _is_among(value, allowed):
                raise ArchError(
                    f"{field}[{i}]={value!r} is not allowed; choose one of {list(allowed)}"
                )


def check_range(arch: dict[str, Any], field: str, low: float, high: float) -> None:
    """The field must be a number in [low, high]."""
    value = arch[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ArchError(f"{field}={value!r} must be a number between {low} and {high}")


def _is_among(value: Any, allowed: Sequence[Any]) -> bool:
    # bool is an int in Python: True must not pass for 1 nor 1 for True
    return any(value == a and type(value) is type(a) or _same_number(value, a) for a in allowed)


def _same_number(value: Any, allowed: Any) -> bool:
    # an integer where a float belongs (1 for 1.0) is that number; a float where an integer
    # belongs (6.0 for 6) is not: layers are built from integers, and the arch's hash differs
    return (
        isinstance(value, int)
        and isinstance(allowed, float)
        and not isinstance(value, bool)
        and value == allowed
    )
