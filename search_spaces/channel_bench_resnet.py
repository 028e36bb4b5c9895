"""Space `channel_bench_resnet`: Channel-Bench-Macro's ResNet, a width search over 7 channel counts,
built exactly as the benchmark table counts its params and MACs.

An arch is a plain dict `{"widths": [c0, ..., c6]}` of channel counts, c_i one of d x M_i / 4 for
d in 1..4 and M = (256, 256, 256, 512, 512, 512, 512) (Optuna parameters `widths_0` ..
`widths_6`). Its table string is the 7 digits d: "4344424" (`to_string` / `from_string`;
`SPACE:4344424` wherever an arch is).

The network (Channel-Bench-Macro, released with BCNet, Su et al., CVPR 2021): backbone = 3x3 stem
conv 3->c0 (stride 2) +BN+ReLU, then five blocks of two 3x3 convs (in->hidden +BN+ReLU,
hidden->out +BN) followed by ReLU, as (in, hidden, out): (c0, c1, c0) and (c0, c2, c0) adding their
input before the ReLU, (c0, c3, c4) with stride 2 on its first conv and no shortcut, (c4, c5, c4)
and (c4, c6, c4) adding their input; neck = global average pooling; head = linear c4 -> classes.
The strides are fixed, whatever the input size: 32x32 ends at 8x8, 8x8 at 2x2.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn

from nasbench.layers import ClassificationModel, conv_bn_act, scale_width
from search_spaces.arch_strings import channel_bench_resnet as strings

NAME = "channel_bench_resnet"
BENCHMARK_IMAGE_SIZE = 32
BENCHMARK_NUM_CLASSES = 10

FIELDS = ("widths",)
MAX_WIDTHS = strings.MAX_WIDTHS

# 4^7 = 16,384 archs: GridSampler and exhaustive checks can enumerate them
GRID: dict[str, list[int]] = strings.ARCHS.grid
SMALLEST_ARCH: dict[str, list[int]] = strings.ARCHS.smallest
to_string = strings.format
from_string = strings.parse
validate = strings.ARCHS.validate

REFERENCE_ARCHS: dict[str, dict[str, list[int]]] = {
    # best mean test accuracy of the CIFAR-10 table (93.89 %)
    "best": from_string("4344424"),
    # every width at a quarter: the fewest params and MACs (91.70 %)
    "smallest": from_string("1111111"),
    # every width at its maximum (93.62 %)
    "largest": from_string("4444444"),
}


def suggest(trial: Any) -> dict[str, list[int]]:
    """Sample every channel count from an Optuna trial (one categorical `widths_i` per position)."""
    return strings.ARCHS.suggest(trial)


class Block(nn.Module):
    """relu([x +] conv3x3(hidden->out)+BN(relu(conv3x3(in->hidden, stride)+BN(x)))); the input is
    added only where the benchmark has a shortcut (never a projection shortcut: not
    nasbench.layers.BasicBlock)."""

    def __init__(
        self, in_channels: int, hidden: int, out_channels: int, stride: int, shortcut: bool
    ) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.branch = nn.Sequential(
            conv_bn_act(in_channels, hidden, 3, stride),
            conv_bn_act(hidden, out_channels, 3, activation=None),
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        return self.relu(x + out if self.shortcut else out)


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build the network: backbone (stem, 5 blocks) -> global average pooling -> head."""
    validate(arch)
    del image_size  # the benchmark's strides are fixed
    c = [scale_width(int(w), width) for w in arch["widths"]]
    backbone = nn.Sequential(
        OrderedDict(
            stem=conv_bn_act(in_channels, c[0], 3, 2),
            block1=Block(c[0], c[1], c[0], 1, shortcut=True),
            block2=Block(c[0], c[2], c[0], 1, shortcut=True),
            block3=Block(c[0], c[3], c[4], 2, shortcut=False),
            block4=Block(c[4], c[5], c[4], 1, shortcut=True),
            block5=Block(c[4], c[6], c[4], 1, shortcut=True),
        )
    )
    return ClassificationModel(backbone, c[4], num_classes, dropout=0.0)
