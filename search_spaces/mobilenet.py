"""Space `mobilenet`: seven inverted-residual (MBConv) stages with per-stage depth, expansion, kernel,
squeeze-excite and activation, and widths set by one width multiplier.

An arch is a plain dict:

    width_mult      float            channels = make_divisible(base * width_mult, 8) for the stem (32)
                                     and the stages (16, 24, 32, 64, 96, 160, 320), as torchvision
    depths          list of 7 ints   blocks per stage
    expand_ratios   list of 7 ints   hidden width of a block = its input width x ratio
    kernel_sizes    list of 7 ints   depthwise kernel, 3/5/7
    se              list of 7 bools  squeeze-excite after the depthwise convolution (MobileNetV3's)
    activations     list of 7 names  relu / hardswish (relu6 also valid: MobileNetV2)
    last_channels   int              width of the 1x1 conv before pooling; 0 leaves it out
    dropout         float            dropout of the head

The stem uses the first stage's activation and the last 1x1 conv the last stage's.

Input-size rule (nasbench.layers.stride2_slots): the network has five places that may halve the
resolution: the stem and the first block of stages 2, 3, 4 and 6 (MobileNetV2's pattern). Inputs
of 96 px or more (layers.PUBLISHED_STRIDES_FROM) take all five, MobileNetV2's published 32x
reduction: 224 -> 7x7, 128 -> 4x4, 96 -> 3x3, so its published width x resolution grid (TF-slim)
is reproduced exactly (tests/test_mobilenet_v2_grid.py). Smaller inputs (search proxies) take
as many stride-2 steps as keep the final map at least 4x4, given to the last of those places:
64x64 -> stages 2, 3, 4, 6 (stem stride 1), 32x32 and 28x28 -> stages 3, 4, 6 (4x4), 8x8 -> stage 6
only (4x4).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn

from nasbench.layers import (
    ClassificationModel,
    InvertedResidual,
    conv_bn_act,
    init_cnn_weights,
    make_divisible,
    scale_width,
    stride2_slots,
)
from nasbench.spaces import (
    ArchError,
    check_keys,
    check_range,
    check_stage_list,
    smallest_choices,
    suggest_categorical_fields,
)

NAME = "mobilenet"
NUM_STAGES = 7
STEM_WIDTH = 32
STAGE_WIDTHS = (16, 24, 32, 64, 96, 160, 320)
# 0-based indices of stages 2, 3, 4 and 6, whose first block may have stride 2
DOWNSAMPLING_STAGES = (1, 2, 3, 5)
FIELDS = (
    "width_mult",
    "depths",
    "expand_ratios",
    "kernel_sizes",
    "se",
    "activations",
    "last_channels",
    "dropout",
)

# what validate accepts
DEPTHS = list(range(1, 9))
EXPAND_RATIOS = [1, 2, 3, 4, 6]
KERNEL_SIZES = [3, 5, 7]
SE = [False, True]
ACTIVATIONS = ["relu", "hardswish", "relu6"]
MAX_LAST_CHANNELS = 4096

# what suggest samples: proxies small enough to train in seconds on 8x8-32x32 images on a CPU
SUGGEST = {
    "width_mult": [0.25, 0.35, 0.5],
    "depths": [1, 2],
    "expand_ratios": [1, 2, 4],
    "kernel_sizes": [3, 5, 7],
    "se": [False, True],
    "activations": ["relu", "hardswish"],
    "last_channels": [0, 128, 256],
    "dropout": [0.0, 0.1, 0.2],
}
PER_STAGE = ("depths", "expand_ratios", "kernel_sizes", "se", "activations")
# every choice above is listed cheapest first (tests/test_spaces_contract.py checks it)
SMALLEST_ARCH = smallest_choices(FIELDS, SUGGEST, PER_STAGE, NUM_STAGES)

REFERENCE_ARCHS: dict[str, dict[str, Any]] = {
    "mobilenet_v2": {
        "width_mult": 1.0,
        "depths": [1, 2, 3, 4, 3, 3, 1],
        "expand_ratios": [1, 6, 6, 6, 6, 6, 6],
        "kernel_sizes": [3] * 7,
        "se": [False] * 7,
        "activations": ["relu6"] * 7,
        "last_channels": 1280,
        "dropout": 0.2,
    },
}


def mobilenet_v2_arch(width_mult: float) -> dict[str, Any]:
    """MobileNetV2 at a width multiplier, as its authors (TF-slim) and torchvision build it: the
    last 1x1 conv is widened above 1.0 (1.4 -> 1792) but never narrowed below 1280."""
    return {
        **REFERENCE_ARCHS["mobilenet_v2"],
        "width_mult": width_mult,
        "last_channels": make_divisible(1280 * max(1.0, width_mult)),
    }


def suggest(trial: Any) -> dict[str, Any]:
    """Sample every field unconditionally (per-stage fields as `field_i`) from an Optuna trial."""
    return suggest_categorical_fields(trial, FIELDS, SUGGEST, PER_STAGE, NUM_STAGES)


def validate(arch: dict[str, Any]) -> None:
    """Raise ArchError naming the first bad field and its allowed values."""
    check_keys(arch, FIELDS)
    check_range(arch, "width_mult", 0.1, 4.0)
    check_stage_list(arch, "depths", NUM_STAGES, DEPTHS)
    check_stage_list(arch, "expand_ratios", NUM_STAGES, EXPAND_RATIOS)
    check_stage_list(arch, "kernel_sizes", NUM_STAGES, KERNEL_SIZES)
    check_stage_list(arch, "se", NUM_STAGES, SE)
    check_stage_list(arch, "activations", NUM_STAGES, ACTIVATIONS)
    last = arch["last_channels"]
    if isinstance(last, bool) or not isinstance(last, int) or not 0 <= last <= MAX_LAST_CHANNELS:
        raise ArchError(
            f"last_channels={last!r} must be an integer from 0 (no last conv) to {MAX_LAST_CHANNELS}"
        )
    check_range(arch, "dropout", 0.0, 0.9)


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build the arch as backbone (stem, 7 stages, last 1x1 conv) -> global pooling -> head. A
    proxy's `width` multiplies width_mult (then the same divisible-by-8 rounding, so at small
    products several width_mult values give one network) and last_channels."""
    validate(arch)
    stem_stride, *stage_strides = stride2_slots(image_size, 1 + len(DOWNSAMPLING_STAGES))
    first_stride = dict(zip(DOWNSAMPLING_STAGES, stage_strides, strict=True))
    activations = arch["activations"]

    multiplier = arch["width_mult"] * width
    last_channels = scale_width(arch["last_channels"], width) if arch["last_channels"] else 0
    width = make_divisible(STEM_WIDTH * multiplier)
    parts: OrderedDict[str, nn.Module] = OrderedDict(
        stem=conv_bn_act(in_channels, width, 3, stem_stride, activation=activations[0])
    )
    for i in range(NUM_STAGES):
        out_width = make_divisible(STAGE_WIDTHS[i] * multiplier)
        blocks = []
        for j in range(arch["depths"][i]):
            stride = first_stride.get(i, 1) if j == 0 else 1
            blocks.append(
                InvertedResidual(
                    width,
                    out_width,
                    stride,
                    expand_ratio=arch["expand_ratios"][i],
                    kernel_size=arch["kernel_sizes"][i],
                    se=arch["se"][i],
                    activation=activations[i],
                )
            )
            width = out_width
        parts[f"stage{i + 1}"] = nn.Sequential(*blocks)
    if last_channels:
        parts["last_conv"] = conv_bn_act(width, last_channels, 1, activation=activations[-1])
        width = last_channels

    backbone = nn.Sequential(parts)
    model = ClassificationModel(backbone, width, num_classes, dropout=arch["dropout"])
    init_cnn_weights(model)
    return model
