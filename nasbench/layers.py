"""Shared blocks of the search spaces: conv-bn-act, MBConv, residual blocks, neck, head, model."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torchvision.ops import Conv2dNormActivation, SqueezeExcitation, StochasticDepth

ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "silu": nn.SiLU,
    "gelu": nn.GELU,
}

# An image is downsampled until its feature map would fall below this many pixels a side...
MIN_FEATURE_SIZE = 4
# ...unless it is at least this many pixels a side: then it takes every stride-2 slot, the 32x
# reduction that MobileNetV2 and ResNet publish for their 96-224 px results (96 px -> a 3x3 map).
PUBLISHED_STRIDES_FROM = 96


def activation_layer(name: str) -> Callable[..., nn.Module]:
    """The activation module class called `name` (relu, relu6, hardswish, silu, gelu)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}"
        ) from None


def scale_width(channels: int, width: float, divisor: int = 8) -> int:
    """A proxy's channel count: `channels` x `width` rounded by make_divisible (a multiple of
    `divisor`, at least `divisor`); width 1 keeps the count exactly as the arch has it."""
    return channels if width == 1.0 else make_divisible(channels * width, divisor)


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to a multiple of `divisor`, never more than 10% down.

    The rule of torchvision's (private) `torchvision.models._utils._make_divisible`, restated here
    because private helpers may move between releases.
    """
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def stride2_slots(image_size: int | Sequence[int], num_slots: int) -> list[int]:
    """Strides (1 or 2) for the `num_slots` places of a network that may halve the resolution.

    The input-size rule shared by the CNN spaces, in two regimes:

    - ImageNet-size inputs (at least PUBLISHED_STRIDES_FROM = 96 pixels a side) take every slot,
      as the published networks do at every resolution they report: MobileNetV2 and ResNet
      reduce 224 -> 7, 128 -> 4 and 96 -> 3 (the 3x3 map of MobileNetV2's 96 px results).
    - Smaller inputs (search proxies: 8x8 digits, 28, 32, 64 px) take as many stride-2 steps as
      keep the final feature map at least MIN_FEATURE_SIZE pixels a side (each step maps s to
      ceil(s / 2)), at most `num_slots`, given to the *last* slots, so small images keep their
      full resolution in the early layers: 64 -> 4 steps, 32 and 28 -> 3, 8 -> 1 (each a 4x4 map).

    A non-square input follows its shorter side. With five slots the two regimes differ only at
    96 px, where the second alone would stop at a 6x6 map.
    """
    size = min(image_size) if isinstance(image_size, Sequence) else image_size
    if size >= PUBLISHED_STRIDES_FROM:
        return [2] * num_slots
    steps = 0
    while steps < num_slots and math.ceil(size / 2 ** (steps + 1)) >= MIN_FEATURE_SIZE:
        steps += 1
    return [1] * (num_slots - steps) + [2] * steps


def conv_bn_act(
    in_channels: int,
    out_channels: int,
    kernel_size: int = 3,
    stride: int = 1,
    groups: int = 1,
    activation: str | None = "relu",
) -> Conv2dNormActivation:
    """Conv (no bias, 'same' padding) -> BatchNorm -> activation (none when activation is None)."""
    act = None if activation is None else activation_layer(activation)
    return Conv2dNormActivation(
        in_channels,
        out_channels,
        kernel_size=kernel_size,
        stride=stride,
        groups=groups,
        activation_layer=act,
        # GELU takes no `inplace` argument
        inplace=None if activation in (None, "gelu") else True,
    )


class InvertedResidual(nn.Module):
    """MBConv: 1x1 expand -> k x k depthwise -> optional squeeze-excite -> 1x1 linear projection.

    With expand_ratio 1, no activation choice beyond ReLU6 and no squeeze-excite it is exactly
    torchvision's MobileNetV2 block; with squeeze-excite it is MobileNetV3's.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: int,
        kernel_size: int = 3,
        se: bool = False,
        activation: str = "relu6",
        stochastic_depth: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1, activation=activation))
        layers.append(
            conv_bn_act(hidden, hidden, kernel_size, stride, groups=hidden, activation=activation)
        )
        if se:
            squeeze = make_divisible(hidden // 4, 8)
            layers.append(SqueezeExcitation(hidden, squeeze, scale_activation=nn.Hardsigmoid))
        layers.append(conv_bn_act(hidden, out_channels, 1, activation=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        if self.use_residual:
            return x + self.stochastic_depth(out)
        return out


class ResidualBlock(nn.Module):
    """A residual block: relu(shortcut(x) + stochastic_depth(branch(x))); subclasses set the branch."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, stochastic_depth: float):
        super().__init__()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv_bn_act(in_channels, out_channels, 1, stride, activation=None)
        self.stochastic_depth = StochasticDepth(stochastic_depth, "row")
        self.relu = nn.ReLU(inplace=True)
        self.branch: nn.Module = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.shortcut(x) + self.stochastic_depth(self.branch(x)))


def group_width(planes: int, groups: int, width_per_group: int) -> int:
    """Inner width of a ResNet/ResNeXt block, torchvision's rule: int(planes * wpg / 64) * groups."""
    return int(planes * (width_per_group / 64.0)) * groups


class BasicBlock(ResidualBlock):
    """Two k x k convolutions (ResNet-18/34); with groups/width_per_group other than 1/64 both are
    grouped and the inner width follows `group_width`."""

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        kernel_size: int = 3,
        groups: int = 1,
        width_per_group: int = 64,
        stochastic_depth: float = 0.0,
    ) -> None:
        super().__init__(in_channels, planes, stride, stochastic_depth)
        width = group_width(planes, groups, width_per_group)
        self.branch = nn.Sequential(
            conv_bn_act(in_channels, width, kernel_size, stride, groups),
            conv_bn_act(width, planes, kernel_size, groups=groups, activation=None),
        )


class Bottleneck(ResidualBlock):
    """1x1 reduce -> grouped k x k -> 1x1 expand (x4): ResNet-50 and, with groups, ResNeXt."""

    expansion = 4

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        kernel_size: int = 3,
        groups: int = 1,
        width_per_group: int = 64,
        stochastic_depth: float = 0.0,
    ) -> None:
        super().__init__(in_channels, planes * self.expansion, stride, stochastic_depth)
        width = group_width(planes, groups, width_per_group)
        self.branch = nn.Sequential(
            conv_bn_act(in_channels, width, 1),
            conv_bn_act(width, width, kernel_size, stride, groups),
            conv_bn_act(width, planes * self.expansion, 1, activation=None),
        )


class GlobalAvgPool(nn.Sequential):
    """The neck: global average pooling of an NCHW map into an (N, C) vector."""

    def __init__(self) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


class ClassificationHead(nn.Sequential):
    """The head: dropout -> fully connected layer to class scores (softmax lives in the loss)."""

    def __init__(self, feature_dim: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__(nn.Dropout(p=dropout), nn.Linear(feature_dim, num_classes))


class ClassificationModel(nn.Module):
    """backbone (image -> feature map) -> neck (map -> vector) -> head (vector -> class scores)."""

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        num_classes: int,
        dropout: float = 0.0,
        neck: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = GlobalAvgPool() if neck is None else neck
        self.head = ClassificationHead(feature_dim, num_classes, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.backbone(x)
        pooled = self.neck(features)
        return self.head(pooled)


def init_cnn_weights(model: nn.Module) -> None:
    """torchvision's CNN initialisation: Kaiming-normal (fan_out) convs, unit norms, small linear."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
