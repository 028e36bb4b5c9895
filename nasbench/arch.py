"""Architectures as plain data: canonical JSON, hash, flattening, one-line summaries (stdlib only)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any


def canonical_json(arch: dict[str, Any]) -> str:
    """The canonical JSON text of an arch: sorted keys, no whitespace."""
    return json.dumps(arch, sort_keys=True, separators=(",", ":"))


def arch_hash(arch: dict[str, Any]) -> str:
    """A stable 16-hex-digit id of an arch, from the SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(arch).encode()).hexdigest()[:16]


def flatten_arch(arch: dict[str, Any] | None) -> dict[str, Any]:
    """{"depths": [1, 2]} -> {"depths_0": 1, "depths_1": 2}, the names a space's suggest() uses."""
    if not isinstance(arch, dict):
        return {}
    flat: dict[str, Any] = {}
    for key, value in arch.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                flat[f"{key}_{i}"] = item
        else:
            flat[key] = value
    return flat


def arch_summaries(archs: Iterable[Any]) -> list[str]:
    """A compact one-line text per arch: scalars as key=value, lists as key=123 or key=64-128.

    Strings inside lists shrink to their shortest prefix unique among the values seen for that
    field in `archs` (relu/hardswish -> r/h; relu/relu6 stay whole), so the text stays unambiguous.
    """
    archs = [a if isinstance(a, dict) else None for a in archs]
    seen: dict[str, set[str]] = {}
    for arch in archs:
        for key, value in (arch or {}).items():
            if isinstance(value, list):
                seen.setdefault(key, set()).update(v for v in value if isinstance(v, str))
    prefixes = {key: _unique_prefixes(values) for key, values in seen.items()}
    return [_summary(arch, prefixes) if arch is not None else "" for arch in archs]


def _unique_prefixes(values: set[str]) -> dict[str, str]:
    short = {}
    for value in values:
        others = values - {value}
        n = 1
        while n < len(value) and any(o.startswith(value[:n]) for o in others):
            n += 1
        short[value] = value[:n]
    return short


def _short(value: Any, prefixes: dict[str, str] | None = None) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return (prefixes or {}).get(value, value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _summary(arch: dict[str, Any], prefixes: dict[str, dict[str, str]]) -> str:
    parts = []
    for key, value in arch.items():
        if isinstance(value, list):
            items = [_short(v, prefixes.get(key)) for v in value]
            sep = "" if all(len(i) == 1 for i in items) else "-"
            parts.append(f"{key}={sep.join(items)}")
        else:
            parts.append(f"{key}={_short(value)}")
    return " ".join(parts)
