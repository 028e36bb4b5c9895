"""Space `resnet`: four residual stages of basic or bottleneck blocks, ResNeXt-style groups, per-stage
depth and kernel size, and stochastic depth.

An arch is a plain dict:

    block             "basic" | "bottleneck"
    depths            list of 4 ints   blocks per stage
    base_width        int              stem width and planes of stage 1; stage i has base_width * 2^i
                                       planes (x4 out of a bottleneck), as torchvision's ResNet
    kernel_sizes      list of 4 ints   kernel of the k x k convolutions of each stage, 3/5/7
    groups            int              groups of the k x k convolutions (ResNeXt's cardinality)
    width_per_group   int              inner width = int(planes * width_per_group / 64) * groups
                                       (torchvision's rule: 1/64 is ResNet, 32/4 is ResNeXt-50 32x4d)
    stochastic_depth  float            drop rate of the last block, rising linearly from 0 at the first
    dropout           float            dropout of the head

Input-size rule (nasbench.layers.stride2_slots): five places may halve the resolution: the stem
convolution, the max-pool after it, and the first block of stages 2, 3 and 4. Inputs of 96 px or
more (layers.PUBLISHED_STRIDES_FROM) take all five, ResNet's published 32x reduction; smaller ones
(search proxies) take as many stride-2 steps as keep the final map at least 4x4, given to the last
of those places. A stem with stride 2 is ResNet's 7x7 convolution; otherwise it is a 3x3 stride-1
convolution, and the max-pool is present only when its place has stride 2. 224x224 -> 7x7 stem and
max-pool (exactly torchvision's ResNet, 7x7 final map; 96x96 -> 3x3); 32x32 and 28x28 -> 3x3
stride-1 stem, no max-pool, stages 2-4 stride 2 (the CIFAR ResNet, 4x4 final map); 8x8 -> only
stage 4 has stride 2 (4x4 final map).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from torch import nn

from nasbench.layers import (
    BasicBlock,
    Bottleneck,
    ClassificationModel,
    conv_bn_act,
    group_width,
    init_cnn_weights,
    stride2_slots,
)
from nasbench.spaces import (
    ArchError,
    check_choice,
    check_keys,
    check_range,
    check_stage_list,
    smallest_choices,
    suggest_categorical_fields,
)

NAME = "resnet"
NUM_STAGES = 4
BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}
FIELDS = (
    "block",
    "depths",
    "base_width",
    "kernel_sizes",
    "groups",
    "width_per_group",
    "stochastic_depth",
    "dropout",
)

# what validate accepts
MAX_DEPTH = 48
BASE_WIDTHS = [8, 12, 16, 24, 32, 48, 64, 96, 128]
KERNEL_SIZES = [3, 5, 7]
GROUPS = [1, 2, 4, 8, 16, 32, 64]
WIDTHS_PER_GROUP = [4, 8, 16, 32, 64, 128]

# what suggest samples: proxies small enough to train in seconds on 8x8-32x32 images on a CPU
SUGGEST = {
    "block": ["basic", "bottleneck"],
    "depths": [1, 2],
    "base_width": [8, 12, 16],
    "kernel_sizes": [3, 5],
    "groups": [1, 2, 4],
    "width_per_group": [16, 32, 64],
    "stochastic_depth": [0.0, 0.05, 0.1],
    "dropout": [0.0, 0.1, 0.2],
}
PER_STAGE = ("depths", "kernel_sizes")
# every choice above is listed cheapest first (tests/test_spaces_contract.py checks it)
SMALLEST_ARCH = smallest_choices(FIELDS, SUGGEST, PER_STAGE, NUM_STAGES)


def _torchvision_resnet(block: str, depths: list[int], groups: int = 1, width_per_group: int = 64):
    return {
        "block": block,
        "depths": depths,
        "base_width": 64,
        "kernel_sizes": [3] * NUM_STAGES,
        "groups": groups,
        "width_per_group": width_per_group,
        "stochastic_depth": 0.0,
        "dropout": 0.0,
    }


REFERENCE_ARCHS: dict[str, dict[str, Any]] = {
    "resnet18": _torchvision_resnet("basic", [2, 2, 2, 2]),
    "resnet34": _torchvision_resnet("basic", [3, 4, 6, 3]),
    "resnet50": _torchvision_resnet("bottleneck", [3, 4, 6, 3]),
    "resnet101": _torchvision_resnet("bottleneck", [3, 4, 23, 3]),
    "resnext50_32x4d": _torchvision_resnet(
        "bottleneck", [3, 4, 6, 3], groups=32, width_per_group=4
    ),
    "wide_resnet50_2": _torchvision_resnet("bottleneck", [3, 4, 6, 3], width_per_group=128),
}


def suggest(trial: Any) -> dict[str, Any]:
    """Sample every field unconditionally (per-stage fields as `field_i`) from an Optuna trial."""
    return suggest_categorical_fields(trial, FIELDS, SUGGEST, PER_STAGE, NUM_STAGES)


def validate(arch: dict[str, Any]) -> None:
    """Raise ArchError naming the first bad field and its allowed values, or an impossible combination."""
    check_keys(arch, FIELDS)
    check_choice(arch, "block", list(BLOCKS))
    check_stage_list(arch, "depths", NUM_STAGES)
    for i, depth in enumerate(arch["depths"]):
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
            raise ArchError(f"depths[{i}]={depth!r} must be an integer from 1 to {MAX_DEPTH}")
    check_choice(arch, "base_width", BASE_WIDTHS)
    check_stage_list(arch, "kernel_sizes", NUM_STAGES, KERNEL_SIZES)
    check_choice(arch, "groups", GROUPS)
    check_choice(arch, "width_per_group", WIDTHS_PER_GROUP)
    check_range(arch, "stochastic_depth", 0.0, 0.9)
    check_range(arch, "dropout", 0.0, 0.9)

    base, groups, wpg = arch["base_width"], arch["groups"], arch["width_per_group"]
    if group_width(base, groups, wpg) < groups:
        raise ArchError(
            f"base_width={base} x width_per_group={wpg} / 64 < 1: stage 1 would have no channel per "
            f"group; raise base_width or width_per_group"
        )
    if arch["block"] == "basic" and base % groups:
        # a grouped basic block convolves the block input and outputs (multiples of base_width)
        raise ArchError(
            f"groups={groups} does not divide base_width={base}, as grouped basic blocks need"
        )


def reduced_base_width(arch: dict[str, Any], width: float) -> int:
    """A proxy's base_width: base_width x width rounded to a multiple of `groups` (grouped
    convolutions need it), at least one channel per group inside every block."""
    base, groups, wpg = arch["base_width"], arch["groups"], arch["width_per_group"]
    if width == 1.0:
        return base
    reduced = max(groups, round(base * width / groups) * groups)
    while group_width(reduced, groups, wpg) < groups:
        reduced += groups
    return reduced


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build the arch as backbone (stem, 4 stages) -> global average pooling -> head; a proxy's
    `width` reduces base_width (reduced_base_width), and every stage's planes with it."""
    validate(arch)
    stem_stride, pool_stride, *stage_strides = stride2_slots(image_size, 2 + NUM_STAGES - 1)
    stage_strides = [1, *stage_strides]
    block = BLOCKS[arch["block"]]

    base_width = reduced_base_width(arch, width)
    width = base_width
    stem_kernel = 7 if stem_stride == 2 else 3
    parts: OrderedDict[str, nn.Module] = OrderedDict(
        stem=conv_bn_act(in_channels, width, stem_kernel, stem_stride)
    )
    if pool_stride == 2:
        parts["pool"] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    total_blocks = sum(arch["depths"])
    block_index = 0
    for i in range(NUM_STAGES):
        planes = base_width * 2**i
        blocks = []
        for j in range(arch["depths"][i]):
            # torchvision's schedule: linear in the block index, the full rate at the last block
            drop = arch["stochastic_depth"] * block_index / max(total_blocks - 1, 1)
            blocks.append(
                block(
                    width,
                    planes,
                    stride=stage_strides[i] if j == 0 else 1,
                    kernel_size=arch["kernel_sizes"][i],
                    groups=arch["groups"],
                    width_per_group=arch["width_per_group"],
                    stochastic_depth=drop,
                )
            )
            width = planes * block.expansion
            block_index += 1
        parts[f"stage{i + 1}"] = nn.Sequential(*blocks)

    backbone = nn.Sequential(parts)
    model = ClassificationModel(backbone, width, num_classes, dropout=arch["dropout"])
    init_cnn_weights(model)
    return model
