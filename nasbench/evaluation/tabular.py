"""The evaluator that looks up: accuracy and params from a benchmark table, MACs per cell, no training.

Same signature as the trained evaluator, so the search runs a tabular benchmark unchanged. A table
answers the same accuracy every time, so nothing is confirmed and a stored result is always reused.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import torch

from nasbench.arch import arch_hash
from nasbench.evaluation.context import Context, Evaluation, Request
from nasbench.evaluation.trained import broke_limits, data_columns, reuse
from nasbench.measure import count_macs
from nasbench.spaces import ArchError, load_space


def evaluate_tabular(arch: dict[str, Any], ctx: Context, request: Request) -> Evaluation:
    """Evaluate `arch` by looking it up in ctx.benchmark (seeds and should_stop do not apply)."""
    row: dict[str, Any] = {"arch": arch, "arch_hash": arch_hash(arch), **data_columns(ctx)}
    try:
        ctx.space.validate(arch)
        if request.previous is not None:
            reuse(request.previous, row)
            status = "reused"
        else:
            row.update(ctx.benchmark.lookup(arch))
            row.update(macs=macs_of_cell(ctx.space, arch), train_s=0.0)
            status = "complete"
        if not broke_limits(row, ctx.limits):
            row["status"] = status
    except Exception as err:  # a bad arch must never stop the sweep
        error = str(err) if isinstance(err, ArchError) else f"{type(err).__name__}: {err}"
        row.update(status="failed", error=error)
    return Evaluation(row)


def macs_of_cell(space: Any, arch: dict[str, str]) -> int:
    """MACs of the network built from a cell for CIFAR-10 (10 classes, 3x32x32), via count_macs.

    Every edge of a cell maps C channels to C channels at one resolution and the nodes only add, so
    a network's MACs are those of the skeleton plus, for each edge, the cost of its op there. The
    five networks whose edges all hold one op are measured once each (nasbench.measure.count_macs)
    and give those costs; tests check the sum against direct measurements of sampled cells.
    """
    base, per_edge = _op_costs(space.NAME)
    return base + sum(per_edge[op] for op in arch.values())


@cache
def _op_costs(space_name: str) -> tuple[int, dict[str, int]]:
    space = load_space(space_name)
    totals = {}
    for op in space.OPS:
        with torch.device("cpu"):
            model = space.build(dict.fromkeys(space.EDGES, op), 10, 3, 32)
        totals[op] = count_macs(model, (1, 3, 32, 32)).macs
    base = totals["none"]
    per_edge = {}
    for op, total in totals.items():
        cost, remainder = divmod(total - base, len(space.EDGES))
        assert remainder == 0, f"{op}: MACs not shared evenly by the edges"
        per_edge[op] = cost
    return base, per_edge
