"""Space `nas_bench_macro`: NAS-Bench-Macro's MobileNetV2-style network, 8 layers each an identity or
an MB block (k3 e3, k5 e6), built exactly as the benchmark table counts its params and MACs.

An arch is a plain dict `{"layers": [op] * 8}`, op one of identity, mb_k3_e3, mb_k5_e6 (Optuna
parameters `layers_0` .. `layers_7`). Its table string is one digit per layer, the index of the op:
"01201122" (`to_string` / `from_string`; `SPACE:01201122` wherever an arch is).

The network (Su et al., "Prioritized Architecture Sampling with Monto-Carlo Tree Search", CVPR 2021):
backbone = 3x3 stem conv 3->32 (stride 1) +BN+ReLU, three stages of 2, 3 and 3 layers whose first
layer has stride 2 and doubles the width (32 -> 64 -> 128 -> 256), then a 1x1 conv 256->1280
+BN+ReLU; neck = global average pooling; head = linear 1280 -> classes. An MB block with expansion e
has hidden width (its input width) x e; an identity layer that changes stride or width is a 1x1 conv
(that stride) +BN. The strides are fixed, whatever the input size: 32x32 ends at 4x4, 8x8 at 1x1.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn

from nasbench.layers import ClassificationModel, conv_bn_act, scale_width
from search_spaces._macro_blocks import MBBlock
from search_spaces.arch_strings import nas_bench_macro as strings

NAME = "nas_bench_macro"
BENCHMARK_IMAGE_SIZE = 32
BENCHMARK_NUM_CLASSES = 10

FIELDS = ("layers",)
OPS = strings.OPS
STEM_WIDTH = 32
STAGE_DEPTHS = (2, 3, 3)
STAGE_WIDTHS = (64, 128, 256)
LAST_CHANNELS = 1280
# op -> (kernel size, expansion ratio)
MB_OPS = {"mb_k3_e3": (3, 3), "mb_k5_e6": (5, 6)}

# 3^8 = 6,561 archs: GridSampler and exhaustive checks can enumerate them
GRID: dict[str, list[str]] = strings.ARCHS.grid
SMALLEST_ARCH: dict[str, list[str]] = strings.ARCHS.smallest
to_string = strings.format
from_string = strings.parse
validate = strings.ARCHS.validate

REFERENCE_ARCHS: dict[str, dict[str, list[str]]] = {
    # best mean test accuracy of the CIFAR-10 table (93.13 %)
    "best": from_string("22212202"),
    # every layer identity: the fewest params and MACs (45.36 %)
    "smallest": from_string("00000000"),
    # every layer an MB k5 e6 block: the most params and MACs (92.95 %)
    "largest": from_string("22222222"),
}


def suggest(trial: Any) -> dict[str, list[str]]:
    """Sample the op of every layer from an Optuna trial (one categorical `layers_i` per layer)."""
    return strings.ARCHS.suggest(trial)


def make_layer(op: str, in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """One searchable layer: identity (a 1x1 conv +BN where shape changes) or an MB block."""
    if op == "identity":
        if stride == 1 and in_channels == out_channels:
            return nn.Identity()
        return conv_bn_act(in_channels, out_channels, 1, stride, activation=None)
    kernel_size, expansion = MB_OPS[op]
    return MBBlock(in_channels, in_channels * expansion, out_channels, kernel_size, stride)


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build NAS-Bench-Macro's network: backbone (stem, 3 stages, 1x1 conv) -> pooling -> head."""
    validate(arch)
    del image_size  # the benchmark's strides are fixed
    ops = iter(arch["layers"])
    channels = scale_width(STEM_WIDTH, width)
    parts: OrderedDict[str, nn.Module] = OrderedDict(stem=conv_bn_act(in_channels, channels, 3, 1))
    for stage, (depth, stage_width) in enumerate(zip(STAGE_DEPTHS, STAGE_WIDTHS, strict=True)):
        out_channels = scale_width(stage_width, width)
        layers = []
        for j in range(depth):
            layers.append(make_layer(next(ops), channels, out_channels, 2 if j == 0 else 1))
            channels = out_channels
        parts[f"stage{stage + 1}"] = nn.Sequential(*layers)
    last = scale_width(LAST_CHANNELS, width)
    parts["last_conv"] = conv_bn_act(channels, last, 1)
    return ClassificationModel(nn.Sequential(parts), last, num_classes, dropout=0.0)
