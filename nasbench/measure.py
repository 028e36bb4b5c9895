"""Cost of a model: exact params, MACs (torch's FLOP formulas), latency (timed blocks), memory."""

from __future__ import annotations

import copy
import math
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry, shape_wrapper

from nasbench.errors import UsageError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}

# Ops that cost something but are deliberately not counted (DESIGN.md: MACs of convolutions, linear
# layers, matmuls and attention only), named as the dispatcher sees them. Silenced so that
# `uncounted_ops` lists only surprises. View ops (reshape, permute, slicing...) are free and never
# listed.
NOT_COUNTED_BY_CONVENTION = frozenset(
    "aten::" + op
    for op in (
        # normalisation
        "_native_batch_norm_legit_no_training _native_batch_norm_legit native_batch_norm "
        "native_layer_norm native_group_norm linalg_vector_norm norm "
        # activations and softmax
        "relu relu_ relu6 relu6_ hardtanh hardtanh_ hardswish hardswish_ hardsigmoid hardsigmoid_ "
        "sigmoid sigmoid_ silu silu_ gelu gelu_ tanh tanh_ elu elu_ leaky_relu leaky_relu_ mish "
        "mish_ softplus _softmax _safe_softmax _log_softmax "
        # element-wise arithmetic, comparisons and masks
        "add add_ sub sub_ rsub mul mul_ div div_ pow sqrt rsqrt exp neg abs clamp clamp_min "
        "clamp_max where eq ne lt le masked_fill masked_fill_ fill_ zero_ bernoulli_ native_dropout "
        # pooling and reductions
        "max_pool2d_with_indices max_pool3d_with_indices avg_pool2d avg_pool3d _adaptive_avg_pool2d "
        "_adaptive_avg_pool3d adaptive_max_pool2d mean sum amax "
        # data movement and allocation
        "constant_pad_nd reflection_pad2d replication_pad2d repeat repeat_interleave cat stack "
        "roll flip index index_select gather clone copy_ _to_copy as_strided_ _unsafe_view "
        "native_channel_shuffle channel_shuffle empty new_empty zeros new_zeros ones new_ones full "
        "arange linspace"
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


# ---- MACs: every aten op of one forward pass, priced by torch's FLOP formulas ---------------------
#
# torch.utils.flop_counter prices convolutions, mm/addmm/bmm/baddbmm (what linear, matmul and einsum
# run as) and the GPU attention kernels in FLOPs (2 per multiply-add). Added here: the CPU attention
# kernel and torch's fused nn.MultiheadAttention. This replaces fvcore's jit trace, which gave the
# same totals on every model we compared (tests/test_measure.py) at 4-12x the cost on search proxies
# (1.7x on ImageNet-size models), through torch.jit, which torch has deprecated. The dispatch mode is ours rather than FlopCounterMode because the
# latter tracks modules with global hooks and cannot list the ops it did not count; one mode that
# does both is 4x faster than FlopCounterMode plus a recorder (17 against 64 ms on a proxy).


def _cpu_sdpa_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:  # noqa: ANN001
    # q [B, H, L, E], k [B, H, S, E], v [B, H, S, Ev]: QK^T is L*S*E, softmax(.)V is L*S*Ev per head
    *batch, length, embed = query
    return 2 * math.prod(batch) * length * key[-2] * (embed + value[-1])


def _native_mha_flops(query, key, value, *args, out_shape=None, **kwargs) -> int:  # noqa: ANN001
    # torch's fused nn.MultiheadAttention (eval, no grad): q/k/v and output projections + attention.
    # (nn.TransformerEncoderLayer's fused path is not counted this way: it runs as its parts.)
    *batch, length, embed = query
    source = key[-2]
    projections = (2 * length + 2 * source) * embed * embed
    return 2 * math.prod(batch) * (projections + 2 * length * source * embed)


_aten = torch.ops.aten
FLOP_FORMULAS = {
    **flop_registry,
    _aten._scaled_dot_product_flash_attention_for_cpu: shape_wrapper(_cpu_sdpa_flops),
    _aten._native_multi_head_attention: shape_wrapper(_native_mha_flops),
}


_NO_DECOMPOSITION: set[torch._ops.OpOverload] = set()


class _MacCounter(TorchDispatchMode):
    """Adds up the FLOPs of the ops torch has formulas for; counts the others by name."""

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0
        self.uncounted: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        formula = FLOP_FORMULAS.get(func._overloadpacket)
        if formula is None and func not in _NO_DECOMPOSITION:
            # as FlopCounterMode does: an op without a formula may decompose into ops with one
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
            _NO_DECOMPOSITION.add(func)  # whether an op decomposes does not depend on its inputs
        out = func(*args, **kwargs)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        elif not func.is_view:
            self.uncounted[func._overloadpacket._qualified_op_name] += 1
        return out


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> MacCount:
    """Multiply-adds of one forward pass on a random input of `input_shape` (model in eval mode)."""
    reference = next(model.parameters(), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None else torch.float32
    example = torch.randn(*input_shape, device=device, dtype=dtype)
    was_training = model.training
    model.eval()
    counter = _MacCounter()
    try:
        with torch.no_grad(), counter:
            model(example)
    finally:
        model.train(was_training)
    uncounted = {
        name: calls
        for name, calls in counter.uncounted.items()
        if name not in NOT_COUNTED_BY_CONVENTION
    }
    return MacCount(macs=counter.flops // 2, uncounted_ops=dict(sorted(uncounted.items())))


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
    warm_up_calls: int = 2,
) -> dict[str, Any]:
    """Forward-pass latency of `model` in inference mode: median and interquartile range (ms).

    About `budget_s` seconds in all: a tenth for warm-up (at least `warm_up_calls` calls), the rest
    for about `repeats` timed blocks, each block as many calls as fit; at least `min_repeats` blocks
    even when one forward pass exceeds the budget. `threads` fixes the CPU thread count for the run
    (restored afterwards); CUDA is synchronised before each clock reading. The caller's model is
    left untouched: a copy is moved when the device or dtype differ.
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
    block = _Block(model, example, target if is_cuda else None)
    previous_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            # warm-up (lazy initialisation, allocator, cuDNN autotuning) doubles as a first estimate
            # of one call, from which the block size follows
            per_call = block.warm_up(budget_s / 10, warm_up_calls)
            number = max(1, int(budget_s * 0.9 / repeats / per_call))
            times: list[float] = []
            deadline = time.perf_counter() + budget_s * 0.9
            while len(times) < min_repeats or (
                len(times) < repeats and time.perf_counter() < deadline
            ):
                times.append(block.per_call(number))
    finally:
        torch.set_num_threads(previous_threads)
        model.train(was_training)
    peak = torch.cuda.max_memory_allocated(target) / 2**20 if is_cuda else None
    first_quartile, median, third_quartile = np.percentile(times, [25, 50, 75])
    return {
        "latency_ms": float(median) * 1e3,
        "latency_iqr_ms": float(third_quartile - first_quartile) * 1e3,
        "latency_repeats": len(times),
        "peak_memory_mb": peak,
        **provenance(input_shape, device=device, dtype=dtype, threads=threads),
    }


@dataclass
class _Block:
    """Timed blocks of forward calls. Written here rather than with torch.utils.benchmark.Timer,
    whose timeit() runs two untimed calls before every block: three times the cost of the
    one-call blocks that a search's small latency budget allows."""

    model: nn.Module
    example: torch.Tensor
    cuda_device: torch.device | None

    def per_call(self, number: int) -> float:
        """Seconds per call over `number` back-to-back calls (never 0, even on a coarse clock)."""
        self._synchronize()
        start = time.perf_counter()
        for _ in range(number):
            self.model(self.example)
        self._synchronize()
        return max((time.perf_counter() - start) / number, 1e-7)

    def warm_up(self, seconds: float, min_calls: int) -> float:
        """Run for about `seconds` (at least `min_calls` times); return the last per-call time."""
        number, spent, per_call = 1, 0.0, float("inf")
        for _ in range(max(1, min_calls)):
            per_call = self.per_call(1)
            spent += per_call
        while spent < seconds:
            number = max(1, min(number * 2, int((seconds - spent) / per_call)))
            per_call = self.per_call(number)
            spent += per_call * number
        return per_call

    def _synchronize(self) -> None:
        if self.cuda_device is not None:
            torch.cuda.synchronize(self.cuda_device)


def measure_model(
    model: nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str = "cpu",
    dtype: str = "float32",
    threads: int | None = None,
    latency: bool = True,
    budget_s: float = 1.0,
    **timing: int,
) -> dict[str, Any]:
    """One flat row: params, MACs, uncounted ops, latency distribution, peak memory, provenance.

    MACs are per sample (counted at batch 1, as papers and torchvision report them); latency and
    peak memory are per batch of input_shape[0]. `timing`: measure_latency's min_repeats and
    warm_up_calls.
    """
    counted = count_macs(model, (1, *input_shape[1:]))
    row: dict[str, Any] = {
        "params": count_params(model),
        "macs": counted.macs,
        "uncounted_ops": counted.uncounted_ops,
    }
    if latency:
        row |= measure_latency(
            model,
            input_shape,
            device=device,
            dtype=dtype,
            threads=threads,
            budget_s=budget_s,
            **timing,
        )
    else:
        check_device_and_dtype(device, dtype)
        row |= {"latency_ms": None, "latency_iqr_ms": None, "latency_repeats": None}
        row |= {"peak_memory_mb": None}
        row |= provenance(input_shape, device=device, dtype=dtype, threads=threads)
        row["threads"] = threads  # nothing was timed: only an explicit request is worth recording
    return row
