"""The evaluator that looks up: accuracies (and latency) from a benchmark table, costs the table lacks computed.

Same signature as the trained evaluator, so the search runs a tabular benchmark unchanged. A table
answers the same accuracy every time, so nothing is confirmed and a stored result is always reused.
Params and MACs come from the table when it has them; otherwise from the network the space builds
for the benchmark's dataset (classes and input size): `arch_costs` for one arch, `table_costs` for
every row (the true front needs them all). A space that knows its costs without building the network
(nb201: a skeleton plus one cost per edge op) says so by defining `arch_costs(arch, num_classes,
image_size)`; the others' networks are built and measured, once per arch.
"""

from __future__ import annotations

import json
from functools import cache
from types import ModuleType
from typing import Any

import pandas as pd
import torch

from nasbench.arch import arch_hash, canonical_json
from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import COST_COLUMNS, TabularBenchmark
from nasbench.config import OBJECTIVES, directions
from nasbench.evaluation.context import Context, Evaluation, Request
from nasbench.evaluation.trained import broke_limits, data_columns, reuse
from nasbench.measure import count_macs, count_params
from nasbench.results.pareto import non_dominated
from nasbench.spaces import ArchError, load_space


def evaluate_tabular(arch: dict[str, Any], ctx: Context, request: Request) -> Evaluation:
    """Evaluate `arch` by looking it up in ctx.benchmark (seeds and should_stop do not apply)."""
    bench = ctx.benchmark
    row: dict[str, Any] = {"arch": arch, "arch_hash": arch_hash(arch), **data_columns(ctx)}
    try:
        ctx.space.validate(arch)
        if request.previous is not None:
            reuse(request.previous, row)
            status = "reused"
        else:
            row.update(bench.lookup(arch, ctx.latency_device))
            missing = [c for c in COST_COLUMNS if c not in row]
            if missing:
                row.update({c: arch_costs(ctx.space, bench, arch)[c] for c in missing})
            if ctx.latency_device is not None:
                row.update(device=ctx.latency_device, device_name=f"{bench.name} table")
            row.update(train_s=0.0)
            status = "complete"
        if not broke_limits(row, ctx.limits):
            row["status"] = status
    except Exception as err:  # a bad arch must never stop the sweep
        error = str(err) if isinstance(err, ArchError) else f"{type(err).__name__}: {err}"
        row.update(status="failed", error=error)
    return Evaluation(row)


def arch_costs(space: Any, bench: TabularBenchmark, arch: dict[str, Any]) -> dict[str, int]:
    """{params, macs} of the network `space` builds from `arch` for the benchmark's dataset."""
    return space_costs(space, arch, bench.num_classes, bench.image_size)


def space_costs(
    space: Any, arch: dict[str, Any], num_classes: int, image_size: int
) -> dict[str, int]:
    """{params, macs} of the network `space` builds from `arch`: the space's own `arch_costs` when
    it has one, else measured on the built network (cached per arch)."""
    own = getattr(space, "arch_costs", None)
    if own is not None:
        return own(arch, num_classes, image_size)
    return dict(_built_costs(space, canonical_json(arch), num_classes, image_size))


def table_costs(bench: TabularBenchmark) -> pd.DataFrame:
    """params and macs of every row of the table: its own columns, the rest computed."""
    costs = bench.frame[[c for c in COST_COLUMNS if c in bench.frame.columns]].copy()
    missing = [c for c in COST_COLUMNS if c not in costs.columns]
    if missing:
        space = load_space(bench.space)
        computed = [arch_costs(space, bench, parse_arch_string(bench.space, key))
                    for key in bench.frame.index]  # fmt: skip
        for column in missing:
            costs[column] = [c[column] for c in computed]
    return costs[list(COST_COLUMNS)]


def objective_table(
    bench: TabularBenchmark, objectives: list[str] | tuple[str, ...], latency_device: str | None
) -> pd.DataFrame:
    """Every row of the table with the columns of `objectives` (val_acc, macs, params,
    latency_ms) and test_acc when the table reports one; index: the arch string."""
    table = bench.frame[["val_acc"] + (["test_acc"] if "test_acc" in bench.frame else [])].copy()
    costs = [OBJECTIVES[name].column for name in objectives[1:]]
    if {"macs", "params"} & set(costs):
        table = table.join(table_costs(bench))
    if "latency_ms" in costs:
        table["latency_ms"] = bench.frame[bench.latency_column(latency_device or "")]
    return table


def true_front(
    bench: TabularBenchmark, objectives: list[str] | tuple[str, ...], latency_device: str | None
) -> pd.DataFrame:
    """The table's Pareto front on the selection accuracy and the cost objectives, cheapest
    first: what a search of these objectives could find at best."""
    table = objective_table(bench, objectives, latency_device)
    columns = [OBJECTIVES[name].column for name in objectives]
    front = table[non_dominated(table[columns].to_numpy(), directions(objectives))]
    return front.sort_values(columns[1:] + ["val_acc"] if len(columns) > 1 else ["val_acc"],
                             ascending=[True] * (len(columns) - 1) + [False])  # fmt: skip


def macs_of_cell(
    space: Any, arch: dict[str, Any], num_classes: int = 10, image_size: int = 32
) -> int:
    """MACs of the network `space` builds from `arch` (CIFAR-10's input by default)."""
    return space_costs(space, arch, num_classes, image_size)["macs"]


@cache
def _built_costs(
    space: ModuleType, arch_json: str, num_classes: int, image_size: int
) -> tuple[tuple[str, int], ...]:
    with torch.device("cpu"):
        model = space.build(json.loads(arch_json), num_classes, 3, image_size)
    macs = count_macs(model, (1, 3, image_size, image_size)).macs
    return (("params", count_params(model)), ("macs", macs))
