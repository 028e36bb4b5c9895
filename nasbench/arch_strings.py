"""Benchmark arch strings: the text a benchmark table keys its rows by, per space (no torch).

A benchmark table names each architecture by a string (NAS-Bench-201's `|op~0|+|...|`, the digit
strings of NAS-Bench-Macro and Channel-Bench-Macro). `parse_arch_string` turns one into the space's
arch dict and `format_arch_string` back; the spaces that have one accept it wherever an arch is
(`SPACE:ARCHSTRING`): `resolve_arch` turns any such reference into the space and its validated arch.
A shipped space's codec is the torch-free module `search_spaces.arch_strings.<space>` (parse,
format, EXAMPLE); a user's own space (a dotted module path) has one when it defines
`parse_arch_string(text)` and `format_arch_string(arch)` itself.
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from nasbench.spaces import ArchError, SpaceError, load_space, read_arch_file

CODECS = "search_spaces.arch_strings"


@dataclass(frozen=True)
class ArchString:
    """How one space writes its archs as text."""

    parse: Callable[[str], dict[str, Any]]  # raises ArchError naming what is wrong
    format: Callable[[dict[str, Any]], str]  # raises ArchError for an invalid arch


@cache
def arch_string_spaces() -> tuple[str, ...]:
    """Names of the shipped spaces with a benchmark arch string (the codec modules' names)."""
    package = importlib.import_module(CODECS)
    names = [m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_")]
    return tuple(sorted(names))


def has_arch_string(space_name: str) -> bool:
    """Whether the space called `space_name` has a benchmark arch string."""
    return _find_codec(space_name) is not None


@cache  # tables parse and format every row (16,384) through it
def _find_codec(space_name: str) -> ArchString | None:
    if "." in space_name:  # a user's space: its codec, if any, is the module's own pair
        space = load_space(space_name)
        parse = getattr(space, "parse_arch_string", None)
        format_ = getattr(space, "format_arch_string", None)
        return ArchString(parse, format_) if callable(parse) and callable(format_) else None
    if space_name not in arch_string_spaces():
        return None
    module = importlib.import_module(f"{CODECS}.{space_name}")
    return ArchString(module.parse, module.format)


def _codec(space_name: str) -> ArchString:
    codec = _find_codec(space_name)
    if codec is None:
        raise SpaceError(
            f"space {space_name!r} has no benchmark arch string; spaces with one: "
            f"{', '.join(arch_string_spaces())}"
        )
    return codec


def parse_arch_string(space_name: str, text: str) -> dict[str, Any]:
    """The arch dict written as `text` in `space_name`'s benchmark form (ArchError if malformed)."""
    return _codec(space_name).parse(text)


def format_arch_string(space_name: str, arch: dict[str, Any]) -> str:
    """The benchmark string of `arch` (ArchError if it is not a valid arch of the space)."""
    return _codec(space_name).format(arch)


def resolve_arch(spec: str) -> tuple[ModuleType, dict[str, Any], str]:
    """Turn "SPACE:REF" into (space, validated arch, label); REF is tried as a reference arch name
    of the space, then as a JSON file, then as the space's benchmark arch string."""
    if ":" not in spec:
        raise SpaceError(f"{spec!r} is not SPACE:NAME, SPACE:FILE.json or SPACE:ARCHSTRING")
    space_name, ref = spec.split(":", 1)
    space = load_space(space_name)
    if ref in space.REFERENCE_ARCHS:
        arch = copy.deepcopy(space.REFERENCE_ARCHS[ref])  # callers may edit theirs
        label = f"{space_name}:{ref}"
    elif ref.endswith(".json") or _exists(ref):
        arch = read_arch_file(ref)
        label = f"{space_name}:{Path(ref).stem}"
    elif has_arch_string(space_name):
        try:
            arch = parse_arch_string(space_name, ref)
        except ArchError as err:
            raise ArchError(
                f"{ref!r} is neither a reference arch of space {space_name!r} "
                f"({_reference_names(space)}), nor a JSON file, nor its arch string: {err}"
            ) from None
        label = f"{space_name}:{format_arch_string(space_name, arch)}"
    else:
        raise SpaceError(
            f"{ref!r} is neither a reference arch of space {space_name!r} "
            f"({_reference_names(space)}) nor a JSON file; {space_name} has no arch string "
            f"(spaces with one: {', '.join(arch_string_spaces())})"
        )
    space.validate(arch)
    return space, arch, label


def _exists(path: str) -> bool:
    try:
        return Path(path).exists()
    except OSError:  # e.g. a name too long for the file system: not a file, maybe an arch string
        return False


def _reference_names(space: ModuleType) -> str:
    return ", ".join(sorted(space.REFERENCE_ARCHS)) or "none"
