"""Cost of a model: exact params, MACs (fvcore with our handles), latency (torch.utils.benchmark), memory."""

from __future__ import annotations

import copy
import logging
import math
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch
from torch import nn

from nasbench.errors import UsageError

# torch.utils.benchmark imports cpp_extension, which logs "No CUDA runtime is found" on CPU machines
# that have a CUDA toolkit; fvcore imports modules that call the deprecated torch.jit.script.
_cpp_logger = logging.getLogger("torch.utils.cpp_extension")
_level = _cpp_logger.level
_cpp_logger.setLevel(logging.ERROR)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fvcore.nn import FlopCountAnalysis
    from fvcore.nn.jit_handles import conv_flop_jit, einsum_flop_jit, get_shape
    from torch.utils import benchmark
_cpp_logger.setLevel(_level)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}

# Ops that cost something but are deliberately not counted (DESIGN.md: MACs of convolutions, linear
# layers, matmuls and attention only). Silenced so that `uncounted_ops` lists only surprises.
NOT_COUNTED_BY_CONVENTION = frozenset(
    "aten::" + op
    for op in (
        # normalisation
        "batch_norm layer_norm group_norm instance_norm linalg_vector_norm norm "
        # activations and softmax
        "relu relu_ relu6 relu6_ hardtanh hardtanh_ hardswish hardswish_ hardsigmoid hardsigmoid_ "
        "sigmoid sigmoid_ silu silu_ gelu gelu_ tanh tanh_ elu elu_ leaky_relu leaky_relu_ mish "
        "mish_ softplus softmax log_softmax "
        # element-wise arithmetic, comparisons and masks
        "add add_ sub sub_ rsub mul mul_ div div_ pow sqrt rsqrt exp neg abs clamp_min clamp_max "
        "where ne lt le "
        "masked_fill_ fill_ zero_ bernoulli_ "
        # pooling and reductions
        "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
        "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d mean sum "
        "amax "
        # data movement
        "pad reflection_pad2d replication_pad2d repeat repeat_interleave tile clone unflatten "
        "movedim expand_as view_as flip index_select channel_shuffle "
        "native_channel_shuffle dropout_ feature_dropout feature_dropout_ alpha_dropout linspace "
        "meshgrid new_ones ones_like numel"
    ).split()
)


@dataclass(frozen=True)
class MacCount:
    """Multiply-adds of one forward pass and the ops that were skipped (op name -> occurrences)."""

    macs: int
    uncounted_ops: dict[str, int] = field(default_factory=dict)


def count_params(model: nn.Module) -> int:
    """Number of parameters (shared parameters counted once), as torchvision's num_params."""
    return sum(p.numel() for p in model.parameters())


# ---- MAC handles: each gets the traced op's inputs/outputs (torch._C.Value) -----------------------


def _contraction(first_matrix: int) -> Callable[[list[Any], list[Any]], int]:
    """Handle for mm-like ops: every output element costs K multiply-adds, K the contracted size."""

    def handle(inputs: list[Any], outputs: list[Any]) -> int:
        contracted = get_shape(inputs[first_matrix])[-1]
        return math.prod(get_shape(outputs[0])) * contracted

    return handle


def _sdpa(inputs: list[Any], outputs: list[Any]) -> int:
    # q [..., L, E], k [..., S, E], v [..., S, Ev]: Q K^T is L*S*E, softmax(.) V is L*S*Ev per head
    q, k, v = (get_shape(x) for x in inputs[:3])
    *batch, length, embed = q
    return math.prod(batch) * length * k[-2] * (embed + v[-1])


def _native_mha(inputs: list[Any], outputs: list[Any]) -> int:
    # torch's fused nn.MultiheadAttention (eval, no grad): q/k/v and output projections + attention.
    # (nn.TransformerEncoderLayer's fused path is never taken here: it refuses modules with hooks,
    # and fvcore hooks every module.)
    query, key = get_shape(inputs[0]), get_shape(inputs[1])
    *batch, length, embed = query
    source = key[-2]
    projections = (2 * length + 2 * source) * embed * embed
    return math.prod(batch) * (projections + 2 * length * source * embed)


MAC_HANDLES: dict[str, Callable[[list[Any], list[Any]], Any]] = {
    "aten::_convolution": conv_flop_jit,  # fvcore's: N H'W' C' C k^2 / g, bias not counted
    "aten::linear": _contraction(0),
    "aten::addmm": _contraction(1),
    "aten::mm": _contraction(0),
    "aten::matmul": _contraction(0),
    "aten::bmm": _contraction(0),
    "aten::baddbmm": _contraction(1),
    "aten::einsum": einsum_flop_jit,
    "aten::scaled_dot_product_attention": _sdpa,
    "aten::_native_multi_head_attention": _native_mha,
}


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> MacCount:
    """Multiply-adds of one forward pass on a random input of `input_shape` (model in eval mode)."""
    reference = next(model.parameters(), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None else torch.float32
    example = torch.randn(*input_shape, device=device, dtype=dtype)
    was_training = model.training
    model.eval()
    try:
        analysis = FlopCountAnalysis(model, example)
        # fvcore's set_op_handle(name=None) leaves its default handles active (batch_norm, norms,
        # pooling...), so start from an empty table and install exactly our conventions.
        analysis.clear_op_handles()
        analysis.set_op_handle(**MAC_HANDLES)
        analysis.set_op_handle(**dict.fromkeys(NOT_COUNTED_BY_CONVENTION))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        with torch.no_grad():
            macs = analysis.total()
            uncounted = analysis.unsupported_ops()
    finally:
        model.train(was_training)
    return MacCount(macs=int(macs), uncounted_ops=dict(sorted(uncounted.items())))


# ---- latency, memory and provenance --------------------------------------------------------------


@cache
def cpu_name() -> str:
    """The CPU model, from /proc/cpuinfo where there is one, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: str | torch.device) -> str:
    """A human name of the device: the GPU's name for CUDA, the CPU model otherwise."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def provenance(
    input_shape: Sequence[int], *, device: str = "cpu", dtype: str = "float32", threads: int | None
) -> dict[str, Any]:
    """How a measurement was taken: device, versions, threads, batch, input size, dtype."""
    is_cuda = torch.device(device).type == "cuda"
    return {
        "device": str(device),
        "device_name": device_name(device),
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda if is_cuda else None,
        "threads": threads if threads is not None else torch.get_num_threads(),
        "batch_size": int(input_shape[0]),
        "input_size": "x".join(str(int(d)) for d in input_shape[1:]),
        "dtype": dtype,
    }


def check_device_and_dtype(device: str, dtype: str) -> None:
    """Raise UsageError for a dtype we do not measure in or a CUDA device that is not there."""
    if dtype not in DTYPES:
        raise UsageError(f"dtype {dtype!r} is not supported; choose one of {', '.join(DTYPES)}")
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but CUDA is not available here")


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    budget_s: float = 1.0,
    repeats: int = 10,
    min_repeats: int = 5,
) -> dict[str, Any]:
    """Forward-pass latency of `model` in inference mode: median and interquartile range (ms).

    About `budget_s` seconds in all: a tenth for warm-up, the rest for about `repeats` timed blocks
    of torch.utils.benchmark's Timer, each block as many calls as fit; at least `min_repeats`
    blocks even when one forward pass exceeds the budget. `threads` fixes the CPU thread count for
    the run (restored afterwards); the benchmark timer synchronises CUDA. The caller's model is left
    untouched: a copy is moved when the device or dtype differ.
    """
    check_device_and_dtype(device, dtype)
    torch_dtype = DTYPES[dtype]
    target = torch.device(device)
    threads = threads if threads is not None else torch.get_num_threads()
    reference = next(model.parameters(), None)
    if reference is not None and (reference.device != target or reference.dtype != torch_dtype):
        model = copy.deepcopy(model).to(device=target, dtype=torch_dtype)
    was_training = model.training
    model.eval()
    example = torch.randn(*input_shape, device=target, dtype=torch_dtype)
    is_cuda = target.type == "cuda"
    if is_cuda:
        torch.cuda.reset_peak_memory_stats(target)
    timer = benchmark.Timer(
        stmt="model(x)", globals={"model": model, "x": example}, num_threads=threads
    )
    previous_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            # warm-up (lazy initialisation, allocator, cuDNN autotuning) doubles as a first estimate
            # of one call, from which the block size follows. blocked_autorange is not used: it
            # sizes blocks to hide a 1e-4 timer overhead, which can take the whole budget.
            per_call = _warm_up(timer, budget_s / 10)
            number = max(1, int(budget_s * 0.9 / repeats / per_call))
            blocks: list[benchmark.Measurement] = []
            deadline = time.perf_counter() + budget_s * 0.9
            while len(blocks) < min_repeats or (
                len(blocks) < repeats and time.perf_counter() < deadline
            ):
                blocks.append(timer.timeit(number))
            measurement = benchmark.Measurement.merge(blocks)[0]
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training)
    peak = torch.cuda.max_memory_allocated(target) / 2**20 if is_cuda else None
    return {
        "latency_ms": measurement.median * 1e3,
        "latency_iqr_ms": measurement.iqr * 1e3,
        "latency_repeats": len(measurement.times),
        "peak_memory_mb": peak,
        **provenance(input_shape, device=device, dtype=dtype, threads=threads),
    }


def _warm_up(timer: benchmark.Timer, seconds: float) -> float:
    """Run the statement for about `seconds` (at least twice); return the last per-call time."""
    number, spent, per_call = 1, 0.0, float("inf")
    for _ in range(2):
        per_call = max(timer.timeit(1).median, 1e-7)  # never 0, even on a coarse clock
        spent += per_call
    while spent < seconds:
        number = max(1, min(number * 2, int((seconds - spent) / per_call)))
        per_call = max(timer.timeit(number).median, 1e-7)
        spent += per_call * number
    return per_call


def measure_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    latency: bool = True,
    budget_s: float = 1.0,
) -> dict[str, Any]:
    """One flat row: params, MACs, uncounted ops, latency distribution, peak memory, provenance.

    MACs are per sample (counted at batch 1, as papers and torchvision report them); latency and
    peak memory are per batch of input_shape[0].
    """
    counted = count_macs(model, (1, *input_shape[1:]))
    row: dict[str, Any] = {
        "params": count_params(model),
        "macs": counted.macs,
        "uncounted_ops": counted.uncounted_ops,
    }
    if latency:
        row |= measure_latency(
            model, input_shape, device=device, dtype=dtype, threads=threads, budget_s=budget_s
        )
    else:
        check_device_and_dtype(device, dtype)
        row |= {"latency_ms": None, "latency_iqr_ms": None, "latency_repeats": None}
        row |= {"peak_memory_mb": None}
        row |= provenance(input_shape, device=device, dtype=dtype, threads=threads)
        row["threads"] = threads  # nothing was timed: only an explicit request is worth recording
    return row
