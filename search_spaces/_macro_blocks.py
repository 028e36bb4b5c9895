"""Blocks of the NAS-Bench-Macro and Channel-Bench-Macro networks, as their benchmark tables count them."""

from __future__ import annotations

import torch
from torch import nn

from nasbench.layers import conv_bn_act


class MBBlock(nn.Module):
    """1x1 conv in->hidden +BN+ReLU, k x k depthwise (stride s) +BN+ReLU, 1x1 conv hidden->out +BN;
    the input is added when in == out and s == 1.

    Not nasbench.layers.InvertedResidual: the benchmarks keep the expansion conv even when
    hidden == in, and use ReLU rather than ReLU6.
    """

    def __init__(
        self, in_channels: int, hidden: int, out_channels: int, kernel_size: int, stride: int
    ) -> None:
        super().__init__()
        self.use_residual = stride == 1 and in_channels == out_channels
        self.block = nn.Sequential(
            conv_bn_act(in_channels, hidden, 1),
            conv_bn_act(hidden, hidden, kernel_size, stride, groups=hidden),
            conv_bn_act(hidden, out_channels, 1, activation=None),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out
