"""Space `nb201`'s arch strings: the NAS-Bench-201 cell as plain data and its string (no torch).

An arch is a dict with one field per edge of the cell, `edge_J_I` being the op from node I to node J
(node 0 is the cell input, node 3 its output). The NAS-Bench-201 string writes it node by node,
`|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`, `op~I` being the edge from node I. Benchmark tables key their
rows by that string; `table` and `report` read them without building a network.
"""

from __future__ import annotations

import re
from typing import Any

from nasbench.spaces import ArchError, check_choice, check_keys

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NUM_NODES = 4
EDGES = tuple(f"edge_{j}_{i}" for j in range(1, NUM_NODES) for i in range(j))
_EDGE = re.compile(r"([a-z0-9_]+)~(\d+)")
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def validate_cell(arch: dict[str, Any]) -> None:
    """Raise ArchError naming the first missing, unknown or bad edge and the allowed ops."""
    # fast path for a valid cell: benchmark tables check 15,625 of them on load
    if (
        type(arch) is dict
        and len(arch) == len(EDGES)
        and all(type(arch.get(edge)) is str and arch[edge] in OPS for edge in EDGES)
    ):
        return
    check_keys(arch, EDGES)
    for edge in EDGES:
        check_choice(arch, edge, list(OPS))


def format(arch: dict[str, Any]) -> str:
    """The NAS-Bench-201 string of an arch, e.g. |nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|."""
    validate_cell(arch)
    nodes = []
    for j in range(1, NUM_NODES):
        nodes.append("|" + "|".join(f"{arch[f'edge_{j}_{i}']}~{i}" for i in range(j)) + "|")
    return "+".join(nodes)


def parse(text: str) -> dict[str, str]:
    """The arch dict of a NAS-Bench-201 string; ArchError saying what is wrong for a malformed one."""
    if not isinstance(text, str):
        raise ArchError(f"a NAS-Bench-201 arch string must be a str, not {type(text).__name__}")
    nodes = text.strip().split("+")
    if len(nodes) != NUM_NODES - 1:
        raise ArchError(
            f"{text!r} is not a NAS-Bench-201 cell: expected {NUM_NODES - 1} nodes joined by '+'"
        )
    arch: dict[str, str] = {}
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise ArchError(f"{text!r}: node {j} must be written |op~i|...|")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise ArchError(f"{text!r}: node {j} must have {j} input edge(s), got {len(edges)}")
        for expected_input, edge in enumerate(edges):
            match = _EDGE.fullmatch(edge)
            if match is None or int(match.group(2)) != expected_input:
                raise ArchError(f"{text!r}: node {j} edge {edge!r} must be op~{expected_input}")
            arch[f"edge_{j}_{expected_input}"] = match.group(1)
    validate_cell(arch)
    return arch
