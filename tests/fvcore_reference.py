"""An independent MAC count through fvcore's jit trace, to check nasbench.measure.count_macs against."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore"
    )  # fvcore imports modules that call the deprecated torch.jit.script
    from fvcore.nn import FlopCountAnalysis
    from fvcore.nn.jit_handles import conv_flop_jit, einsum_flop_jit, get_shape


def _contraction(first_matrix: int) -> Callable[[list[Any], list[Any]], int]:
    """mm-like ops: every output element costs K multiply-adds, K the contracted size."""

    def handle(inputs: list[Any], outputs: list[Any]) -> int:
        return math.prod(get_shape(outputs[0])) * get_shape(inputs[first_matrix])[-1]

    return handle


def _sdpa(inputs: list[Any], outputs: list[Any]) -> int:
    q, k, v = (get_shape(x) for x in inputs[:3])
    *batch, length, embed = q
    return math.prod(batch) * length * k[-2] * (embed + v[-1])


def _native_mha(inputs: list[Any], outputs: list[Any]) -> int:
    query, key = get_shape(inputs[0]), get_shape(inputs[1])
    *batch, length, embed = query
    source = key[-2]
    return math.prod(batch) * (
        (2 * length + 2 * source) * embed * embed + 2 * length * source * embed
    )


HANDLES = {
    "aten::_convolution": conv_flop_jit,
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


def fvcore_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of conv, linear, matmul and attention ops only, counted by fvcore (eval mode)."""
    was_training = model.training
    model.eval()
    try:
        analysis = FlopCountAnalysis(model, torch.randn(*input_shape))
        analysis.clear_op_handles()  # fvcore's defaults count batch norm and more
        analysis.set_op_handle(**HANDLES)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        with torch.no_grad():
            return int(analysis.total())
    finally:
        model.train(was_training)
