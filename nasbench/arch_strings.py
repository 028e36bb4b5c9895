"""Benchmark arch strings: the text a benchmark table keys its rows by, per space (no torch).

A benchmark table names each architecture by a string (NAS-Bench-201's `|op~0|+|...|`, the digit
strings of NAS-Bench-Macro and Channel-Bench-Macro). `parse_arch_string` turns one into the space's
arch dict and `format_arch_string` back; the spaces that have one accept it wherever an arch is
(`SPACE:ARCHSTRING`): `resolve_arch` turns any such reference into the space and its validated arch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from nasbench.cells import from_nb201_string, to_nb201_string
from nasbench.macro_archs import MACRO_ARCHS
from nasbench.spaces import ArchError, SpaceError, load_space, read_arch_file


@dataclass(frozen=True)
class ArchString:
    """How one space writes its archs as text."""

    parse: Callable[[str], dict[str, Any]]  # raises ArchError naming what is wrong
    format: Callable[[dict[str, Any]], str]  # raises ArchError for an invalid arch
    example: str


ARCH_STRINGS: dict[str, ArchString] = {
    "nb201": ArchString(
        from_nb201_string,
        to_nb201_string,
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    ),
    "nas_bench_macro": ArchString(
        MACRO_ARCHS["nas_bench_macro"].from_string,
        MACRO_ARCHS["nas_bench_macro"].to_string,
        "01201122",
    ),
    "channel_bench_mobilenet": ArchString(
        MACRO_ARCHS["channel_bench_mobilenet"].from_string,
        MACRO_ARCHS["channel_bench_mobilenet"].to_string,
        "3334344",
    ),
    "channel_bench_resnet": ArchString(
        MACRO_ARCHS["channel_bench_resnet"].from_string,
        MACRO_ARCHS["channel_bench_resnet"].to_string,
        "4344424",
    ),
}


def has_arch_string(space_name: str) -> bool:
    """Whether the space called `space_name` has a benchmark arch string."""
    return space_name in ARCH_STRINGS


def _codec(space_name: str) -> ArchString:
    try:
        return ARCH_STRINGS[space_name]
    except KeyError:
        valid = ", ".join(sorted(ARCH_STRINGS))
        raise SpaceError(
            f"space {space_name!r} has no benchmark arch string; spaces with one: {valid}"
        ) from None


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
            f"(spaces with one: {', '.join(sorted(ARCH_STRINGS))})"
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
