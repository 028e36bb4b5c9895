"""The evaluator that scores: a zero-cost proxy of the untrained arch on one seeded batch -> a row.

A search with --zero-cost trains nothing: its first objective is the score (`proxy_score`), never
stored or shown as an accuracy. Params, MACs and latency are measured as a trained search measures
them; a limit the arch breaks makes it infeasible before it is scored.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from nasbench.arch import arch_hash
from nasbench.data import DataSplits
from nasbench.evaluation.context import Context, Evaluation, Request
from nasbench.evaluation.model import build_for, measure_cost
from nasbench.evaluation.trained import broke_limits, latency_timing, reuse
from nasbench.spaces import ArchError
from nasbench.zero_cost import BATCH_SIZE, zero_cost_score


def score_arch(
    name: str, space: Any, arch: dict[str, Any], data: DataSplits, seed: int, device: str
) -> dict[str, Any]:
    """Score one arch with the zero-cost proxy `name` on one seeded batch of training images:
    status, proxy_score (NaN when the proxy sees no signal) and train_s (the scoring time)."""
    generator = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(data.train_y), generator=generator)[:BATCH_SIZE]
    inputs = data.normalize(data.train_x[index]).to(device)
    targets = data.train_y[index].to(device)
    model = build_for(space, arch, data, seed=seed).to(device)
    start = time.perf_counter()
    try:
        score = zero_cost_score(name, model, inputs, targets)
    except Exception as err:  # one arch's failure is its row's, not the run's
        return {"status": "failed", "error": f"{type(err).__name__}: {err}"}
    seconds = time.perf_counter() - start
    if not math.isfinite(score):
        # No signal (e.g. the output ignores the image): NaN, ranked last, as zero_cost documents
        # and NASLib's published files do.
        score = math.nan
    return {
        "status": "complete",
        "proxy_score": score,
        "train_s": seconds,
        "image_size": data.image_size,
        "dataset": data.name,
    }


def evaluate_scored(arch: dict[str, Any], ctx: Context, request: Request) -> Evaluation:
    """Evaluate `arch` by its zero-cost score under `ctx` (ctx.zero_cost names the proxy)."""
    row: dict[str, Any] = {
        "arch": arch,
        "arch_hash": arch_hash(arch),
        "dataset": ctx.data.name,
        "image_size": ctx.data.image_size,
        "batch_size": BATCH_SIZE,
    }
    evaluation = Evaluation(row)
    try:
        ctx.space.validate(arch)
        if request.previous is not None:
            reuse(request.previous, row)
            if not broke_limits(row, ctx.limits):
                row["status"] = "reused"
            return evaluation
        model = build_for(ctx.space, arch, ctx.data, seed=request.seeds[0])
        row.update(
            measure_cost(model, ctx.data, device=ctx.device, latency_timing=latency_timing(ctx))
        )
        del model
        if broke_limits(row, ctx.limits):
            return evaluation
        row.update(
            score_arch(ctx.zero_cost, ctx.space, arch, ctx.data, request.seeds[0], ctx.device)
        )
        if row["status"] == "complete" and math.isnan(row["proxy_score"]):
            row.update(
                status="failed",
                error=f"the {ctx.zero_cost} score is not finite: the proxy sees no signal in "
                "this arch (its output may ignore the input)",
            )
    except ArchError as err:
        row.update(status="failed", error=str(err))
    except Exception as err:  # a bad arch must never stop the sweep
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    return evaluation
