"""The toy space with arch strings of its own ("w8"): a user's space that offers a codec."""

from __future__ import annotations

from typing import Any

from fixture_spaces import toy
from nasbench.spaces import ArchError

NAME = "toy_strings"
REFERENCE_ARCHS = toy.REFERENCE_ARCHS
suggest = toy.suggest
validate = toy.validate
build = toy.build


def parse_arch_string(text: str) -> dict[str, Any]:
    """ "w<width>" -> the toy arch of that width (no poison)."""
    if not isinstance(text, str) or not text.startswith("w") or not text[1:].isdigit():
        raise ArchError(f"{text!r} is not a toy arch string: expected w<width>, e.g. w8")
    arch = {"width": int(text[1:]), "poison": "none"}
    validate(arch)
    return arch


def format_arch_string(arch: dict[str, Any]) -> str:
    """The toy arch string of an arch without poison."""
    validate(arch)
    if arch["poison"] != "none":
        raise ArchError("a poisoned toy arch has no arch string")
    return f"w{arch['width']}"
