"""The evaluator that trains: validate, build, measure, check limits, train, confirm -> a row.

One bad architecture never raises: whatever goes wrong becomes the row's status and error
(`failed`, or `infeasible` for a broken limit or a training that ran out of memory, or `pruned`
when `should_stop` ended it). Only Ctrl-C and SIGTERM pass through.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import torch

from nasbench.arch import arch_hash
from nasbench.config import OBJECTIVES, directions, objective_values
from nasbench.evaluation.context import Context, Evaluation, Request
from nasbench.evaluation.limits import OUT_OF_MEMORY, limit_violations
from nasbench.evaluation.model import (
    COST_COLUMNS,
    RANKING_LATENCY,
    RECORDED_LATENCY,
    build_for,
    measure_cost,
    train_proxy,
)
from nasbench.results.pareto import joins_front
from nasbench.spaces import ArchError
from nasbench.train import TrainingDiverged

# what a reused row copies from the stored result it reuses
REUSED_COLUMNS = (
    *COST_COLUMNS,
    "latency_batch_size",
    "images_per_s",
    "val_acc",
    "val_acc_std",
    "train_runs",
    "test_acc",
    "train_loss",
    "tse",
    "steps",
    "images_seen",
    "epochs",
    "proxy_score",
)


class EvaluationFailed(Exception):
    """An evaluation that cannot produce a result; the message is the row's error."""


def evaluate_trained(arch: dict[str, Any], ctx: Context, request: Request) -> Evaluation:
    """Evaluate `arch` by training its proxy under `ctx`; see the module docstring."""
    row: dict[str, Any] = {"arch": arch, "arch_hash": arch_hash(arch), **data_columns(ctx)}
    evaluation = Evaluation(row)
    try:
        ctx.space.validate(arch)
        if request.previous is not None and not needs_confirmation(request.previous, ctx, request):
            reuse(request.previous, row)
            if not broke_limits(row, ctx.limits):
                row["status"] = "reused"
            return evaluation
        _train(arch, ctx, request, evaluation)
    except (EvaluationFailed, ArchError, TrainingDiverged) as err:
        row.update(status="failed", error=str(err))
    except Exception as err:  # a bad arch must never stop the sweep
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    return evaluation


def _train(arch: dict[str, Any], ctx: Context, request: Request, evaluation: Evaluation) -> None:
    row = evaluation.row
    model = build_for(ctx.space, arch, ctx.data, seed=request.seeds[0], width=ctx.width)
    elsewhere = ctx.measured_latency is not None
    # the arch the user gets: full width at the native size, where the proxy trains another copy
    user_arch = model
    if ctx.cost_image_size is not None:
        user_arch = build_for(ctx.space, arch, ctx.data, image_size=ctx.cost_image_size)
    row.update(
        measure_cost(
            user_arch,
            ctx.data,
            device=ctx.device,
            latency=not elsewhere,
            latency_timing=latency_timing(ctx),
            image_size=ctx.cost_image_size,
        )
    )
    del user_arch
    if elsewhere:
        _look_up_latency(row, ctx)
    if broke_limits(row, ctx.limits):
        return
    costs = tuple(float(row[OBJECTIVES[name].column]) for name in ctx.objectives[1:])
    curve: list[float] = []
    stop_reason: list[str] = []

    def on_epoch(epoch: int, val_acc: float) -> bool:
        curve.append(val_acc)
        reason = request.should_stop(epoch, val_acc, costs) if request.should_stop else None
        if reason:
            stop_reason.append(reason)
        return bool(reason)

    try:
        metrics, stopped = train_proxy(
            model,
            ctx.data,
            ctx.recipe,
            device=ctx.device,
            seed=request.seeds[0],
            on_epoch=on_epoch,
            test=ctx.test,
            resume_from=request.resume_from,
            save_before_decay=request.save_before_decay,
        )
    except (torch.OutOfMemoryError, MemoryError) as err:
        row.update(status="infeasible", val_acc=0.0)
        row["error"] = f"{OUT_OF_MEMORY}: {(str(err).splitlines() or [''])[0]}"
        del model
        if ctx.device.startswith("cuda"):
            torch.cuda.empty_cache()
        return
    evaluation.curve = curve
    row.update(metrics, train_runs=1)
    if stopped:
        row.update(status="pruned", error=stop_reason[0] if stop_reason else "stopped early")
        return
    if request.keep_weights:
        evaluation.weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    del model  # confirmation trainings build their own: hold one model at a time
    values = objective_values(row, ctx.objectives)
    if any(not math.isfinite(v) for v in values):
        raise EvaluationFailed(f"objective values are not finite: {values}")
    if needs_confirmation(row, ctx, request):
        confirm(arch, ctx, request, evaluation)
    row["status"] = "complete"


def latency_timing(ctx: Context) -> dict[str, Any]:
    """How a trial's latency is timed: enough to rank where latency is an objective or a limit,
    the fewest calls where it is only recorded."""
    return RANKING_LATENCY if ctx.latency_decides else RECORDED_LATENCY


def _look_up_latency(row: dict[str, Any], ctx: Context) -> None:
    """The latency measured on ctx.latency_device by `nasbench measure`, or a failed trial."""
    found = ctx.measured_latency.get(row["arch_hash"])
    if found is None:
        raise EvaluationFailed(
            f"no latency measured on {ctx.latency_device!r} for this arch at "
            f"{ctx.cost_image_size or ctx.data.image_size} px: "
            f"run nasbench measure --label {ctx.latency_device} there"
        )
    row.update(latency_ms=found[0], latency_iqr_ms=found[1], device_name=ctx.latency_device)


def data_columns(ctx: Context) -> dict[str, Any]:
    """The dataset columns of a row: what the accuracies were measured on."""
    if ctx.benchmark is not None:
        bench = ctx.benchmark
        dataset = (
            bench.dataset if bench.dataset == bench.name else f"{bench.dataset} ({bench.name})"
        )
        return {"dataset": dataset, "image_size": bench.image_size, "batch_size": None}
    return {
        "dataset": ctx.data.name,
        "image_size": ctx.data.image_size,
        "batch_size": ctx.recipe.batch_size,
    }


def broke_limits(row: dict[str, Any], limits: dict[str, float]) -> bool:
    """Mark the row infeasible (accuracy 0, the limits it broke as its error) if it breaks any."""
    violations = limit_violations(row, limits)
    if violations:
        row.update(status="infeasible", error=violations, val_acc=0.0)
    return bool(violations)


def reuse(previous: dict[str, Any], row: dict[str, Any]) -> None:
    """Fill `row` from a stored result of the same arch under the same protocol."""
    for key in REUSED_COLUMNS:
        row[key] = previous.get(key)
    row["reused_from"] = previous.get("id")
    row["train_s"] = row["eval_s"] = 0.0
    row["error"] = (
        f"reused result row {previous.get('id')} "
        f"({previous.get('study_name')} trial {previous.get('trial_number')})"
    )


def needs_confirmation(row: dict[str, Any], ctx: Context, request: Request) -> bool:
    """Whether this result, with fewer trainings than the request has seeds, would join the
    Pareto front of the study's feasible results (with one objective: beat the best)."""
    runs = row.get("train_runs") or 1
    if runs >= len(request.seeds):
        return False
    values = objective_values(row, ctx.objectives)
    return joins_front(values, request.front, directions(ctx.objectives))


def confirm(arch: dict[str, Any], ctx: Context, request: Request, evaluation: Evaluation) -> None:
    """Train the arch again, each time with a new seed for its weights and batches, once per
    remaining seed; its accuracy becomes the mean. One lucky seed of a cheap arch would otherwise
    hold a place on the front that its arch does not earn (measured on digits: 0.8-2 points of
    spread between seeds, as much as between small and large archs)."""
    row = evaluation.row
    accuracies = [float(row["val_acc"])]
    runs = len(request.seeds)
    for run, seed in enumerate(request.seeds[1:], start=1):
        model = build_for(ctx.space, arch, ctx.data, seed=seed, width=ctx.width)
        try:
            metrics, _ = train_proxy(model, ctx.data, ctx.recipe, device=ctx.device, seed=seed)
        except TrainingDiverged as err:
            raise TrainingDiverged(f"confirmation training {run + 1} of {runs}: {err}") from None
        accuracies.append(float(metrics["val_acc"]))
        row["train_s"] += metrics["train_s"]
        row["eval_s"] += metrics["eval_s"]
    evaluation.run_accuracies = accuracies
    row.update(
        val_acc=statistics.fmean(accuracies),
        val_acc_std=statistics.stdev(accuracies),
        train_runs=len(accuracies),
    )
