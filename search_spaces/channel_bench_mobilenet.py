"""Space `channel_bench_mobilenet`: Channel-Bench-Macro's MobileNet, a width search over 7 channel
counts, built exactly as the benchmark table counts its params and MACs.

An arch is a plain dict `{"widths": [c0, ..., c6]}` of channel counts, c_i one of d x M_i / 4 for
d in 1..4 and M = (128, 768, 768, 768, 256, 1536, 1024) (Optuna parameters `widths_0` ..
`widths_6`). Its table string is the 7 digits d: "3334344" (`to_string` / `from_string`;
`SPACE:3334344` wherever an arch is).

The network (Channel-Bench-Macro, released with BCNet, Su et al., CVPR 2021): backbone = 3x3 stem
conv 3->c0 (stride 2) +BN+ReLU, MB blocks (in, hidden, out, kernel, stride) (c0, c1, c0, 3, 1),
(c0, c2, c0, 3, 1), (c0, c3, c4, 3, 2), (c4, c5, c4, 3, 1), then a 1x1 conv c4->c6 +BN+ReLU;
neck = global average pooling; head = linear c6 -> classes. The strides are fixed, whatever the
input size: 32x32 ends at 8x8, 8x8 at 2x2.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn

from nasbench.layers import ClassificationModel, conv_bn_act, scale_width
from search_spaces._macro_blocks import MBBlock
from search_spaces.arch_strings import channel_bench_mobilenet as strings

NAME = "channel_bench_mobilenet"
BENCHMARK_IMAGE_SIZE = 32
BENCHMARK_NUM_CLASSES = 10

FIELDS = ("widths",)
MAX_WIDTHS = strings.MAX_WIDTHS
KERNEL_SIZE = 3

# 4^7 = 16,384 archs: GridSampler and exhaustive checks can enumerate them
GRID: dict[str, list[int]] = strings.ARCHS.grid
SMALLEST_ARCH: dict[str, list[int]] = strings.ARCHS.smallest
to_string = strings.format
from_string = strings.parse
validate = strings.ARCHS.validate

REFERENCE_ARCHS: dict[str, dict[str, list[int]]] = {
    # best mean test accuracy of the CIFAR-10 table (91.89 %)
    "best": from_string("4444342"),
    # every width at a quarter: the fewest params and MACs (89.29 %)
    "smallest": from_string("1111111"),
    # every width at its maximum (91.66 %)
    "largest": from_string("4444444"),
}


def suggest(trial: Any) -> dict[str, list[int]]:
    """Sample every channel count from an Optuna trial (one categorical `widths_i` per position)."""
    return strings.ARCHS.suggest(trial)


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build the network: backbone (stem, 4 MB blocks, 1x1 conv) -> global pooling -> head."""
    validate(arch)
    del image_size  # the benchmark's strides are fixed
    c = [scale_width(int(w), width) for w in arch["widths"]]
    backbone = nn.Sequential(
        OrderedDict(
            stem=conv_bn_act(in_channels, c[0], 3, 2),
            block1=MBBlock(c[0], c[1], c[0], KERNEL_SIZE, 1),
            block2=MBBlock(c[0], c[2], c[0], KERNEL_SIZE, 1),
            block3=MBBlock(c[0], c[3], c[4], KERNEL_SIZE, 2),
            block4=MBBlock(c[4], c[5], c[4], KERNEL_SIZE, 1),
            last_conv=conv_bn_act(c[4], c[6], 1),
        )
    )
    return ClassificationModel(backbone, c[6], num_classes, dropout=0.0)
