"""Space `swin`: Swin Transformers: patch size, width, per-stage depth and heads, attention window.

Four stages, always: stage i works at width embed_dim * 2**i on a map halved by patch merging
between stages (an odd map is padded first, as torchvision does). Blocks alternate regular and
shifted windows (shift = window // 2) and add a learned relative position bias.

Window larger than the feature map: never rejected. Each stage's map is padded at the
bottom/right to a multiple of the window (torchvision's rule), and a window larger than the
stage's map is shrunk to the map (the original Swin code's rule; torchvision would pad instead),
so small images pay no attention to padding; the shift is dropped where one window covers the map.
Per block, QK^T and AV cost 2 * Hp * Wp * M^2 * C multiply-adds (M the stage's window, Hp x Wp
the padded map, C the width) and the qkv and output projections 4 * Hp * Wp * C^2.

Image size and patch size: `build` raises ArchError unless image_size is a multiple of
patch_size; `suggest` samples patch sizes 1, 2 and 4, which divide 8, 16, 28, 32 and 224.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nasbench.attention import (
    PatchEmbedding,
    PatchMerging,
    TransformerBlock,
    WindowAttention,
    drop_path_rates,
    init_transformer_weights,
)
from nasbench.layers import ClassificationModel
from nasbench.spaces import ArchError, check_choice, check_keys, check_range, check_stage_list

NAME = "swin"
NUM_STAGES = 4

FIELDS = (
    "patch_size",
    "embed_dim",
    "depths",
    "num_heads",
    "window_size",
    "mlp_ratio",
    "drop_path_rate",
)
PATCH_SIZES = (1, 2, 4, 8)
EMBED_DIMS = (16, 24, 32, 48, 64, 96, 128, 192)
DEPTHS = tuple(range(1, 25))
NUM_HEADS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48)
WINDOW_SIZES = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16)
MLP_RATIOS = (1, 2, 3, 4)
MAX_DROP_PATH = 0.5

# Small and fast for 8x8 to 32x32 images; every suggested head count divides every stage width.
SUGGEST_PATCH_SIZES = (1, 2, 4)
SUGGEST_EMBED_DIMS = (16, 24, 32)
SUGGEST_DEPTHS = (1, 2)
SUGGEST_NUM_HEADS = (1, 2, 4, 8)
SUGGEST_WINDOW_SIZES = (2, 4, 7, 8)
SUGGEST_MLP_RATIOS = (2, 3, 4)
SUGGEST_MAX_DROP_PATH = 0.2


def _swin(dim: int, depths: list[int], heads: list[int], drop_path: float) -> dict[str, Any]:
    return {
        "patch_size": 4,
        "embed_dim": dim,
        "depths": depths,
        "num_heads": heads,
        "window_size": 7,
        "mlp_ratio": 4,
        "drop_path_rate": drop_path,
    }


# torchvision.models.swin_t / swin_s / swin_b (Swin V1), stochastic depth as torchvision sets it.
REFERENCE_ARCHS: dict[str, dict[str, Any]] = {
    "swin_t": _swin(96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2),
    "swin_s": _swin(96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3),
    "swin_b": _swin(128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5),
}

# AdamW with warm-up (Swin's recipe, shortened to a proxy). Measured on digits (10 epochs, the
# arch {patch 1, dim 32, depths 2, heads 1/2/4/8, window 4, mlp 2}): crop augmentation slows a
# short proxy more than it helps (90.6% -> 97.5% val without it, warm-up 2 -> 1 epoch too).
TRAIN_DEFAULTS: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 1e-3,
    "weight_decay": 0.05,
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "augment": "none",
}


def suggest(trial: Any) -> dict[str, Any]:
    """Sample every field unconditionally (per-stage fields as depths_i, num_heads_i); all valid."""
    return {
        "patch_size": trial.suggest_categorical("patch_size", SUGGEST_PATCH_SIZES),
        "embed_dim": trial.suggest_categorical("embed_dim", SUGGEST_EMBED_DIMS),
        "depths": [
            trial.suggest_categorical(f"depths_{i}", SUGGEST_DEPTHS) for i in range(NUM_STAGES)
        ],
        "num_heads": [
            trial.suggest_categorical(f"num_heads_{i}", SUGGEST_NUM_HEADS)
            for i in range(NUM_STAGES)
        ],
        "window_size": trial.suggest_categorical("window_size", SUGGEST_WINDOW_SIZES),
        "mlp_ratio": trial.suggest_categorical("mlp_ratio", SUGGEST_MLP_RATIOS),
        "drop_path_rate": round(
            trial.suggest_float("drop_path_rate", 0.0, SUGGEST_MAX_DROP_PATH, step=0.05), 2
        ),
    }


def validate(arch: dict[str, Any]) -> None:
    """Raise ArchError naming the first bad field and what it may be."""
    check_keys(arch, FIELDS)
    check_choice(arch, "patch_size", PATCH_SIZES)
    check_choice(arch, "embed_dim", EMBED_DIMS)
    check_stage_list(arch, "depths", NUM_STAGES, DEPTHS)
    check_stage_list(arch, "num_heads", NUM_STAGES, NUM_HEADS)
    check_choice(arch, "window_size", WINDOW_SIZES)
    check_choice(arch, "mlp_ratio", MLP_RATIOS)
    check_range(arch, "drop_path_rate", 0.0, MAX_DROP_PATH)
    for i, heads in enumerate(arch["num_heads"]):
        dim = arch["embed_dim"] * 2**i
        if dim % heads:
            allowed = [h for h in NUM_HEADS if dim % h == 0]
            raise ArchError(
                f"num_heads[{i}]={heads} does not divide stage {i}'s width {dim} "
                f"(embed_dim * 2**{i}); choose one of {allowed}"
            )


def stage_map_sizes(image_size: int, patch_size: int) -> list[int]:
    """Side of each stage's feature map: image / patch, then halved (rounding up) per merging."""
    sizes = [image_size // patch_size]
    for _ in range(NUM_STAGES - 1):
        sizes.append(math.ceil(sizes[-1] / 2))
    return sizes


def stage_window_sizes(arch: dict[str, Any], image_size: int) -> list[int]:
    """Each stage's attention window: the arch's window, shrunk to the map where the map is smaller."""
    return [min(arch["window_size"], s) for s in stage_map_sizes(image_size, arch["patch_size"])]


class SwinBackbone(nn.Module):
    """Patch embedding -> 4 stages of window-attention blocks with patch merging -> LayerNorm: NCHW."""

    def __init__(self, arch: dict[str, Any], in_channels: int, image_size: int) -> None:
        super().__init__()
        dim = arch["embed_dim"]
        rates = iter(drop_path_rates(arch["drop_path_rate"], sum(arch["depths"])))
        layers: list[nn.Module] = [PatchEmbedding(in_channels, dim, arch["patch_size"], norm=True)]
        windows = stage_window_sizes(arch, image_size)
        for i, (depth, heads, window) in enumerate(
            zip(arch["depths"], arch["num_heads"], windows, strict=True)
        ):
            stage_dim = dim * 2**i
            blocks = []
            for j in range(depth):
                shift = window // 2 if j % 2 else 0
                attention = WindowAttention(stage_dim, heads, (window, window), (shift, shift))
                blocks.append(
                    TransformerBlock(stage_dim, attention, arch["mlp_ratio"], drop_path=next(rates))
                )
            layers.append(nn.Sequential(*blocks))
            if i < NUM_STAGES - 1:
                layers.append(PatchMerging(stage_dim))
        self.features = nn.Sequential(*layers)
        self.feature_dim = dim * 2 ** (NUM_STAGES - 1)
        self.norm = nn.LayerNorm(self.feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.features(x)).permute(0, 3, 1, 2)


MIN_PROXY_EMBED_DIM = 8  # a reduced copy's first stage is at least this wide


def reduced_embed_dim(arch: dict[str, Any], width: float) -> int:
    """A proxy's embed_dim: embed_dim x `width` rounded to the smallest step at which every
    stage's head count still divides its width (embed_dim * 2**i), at least MIN_PROXY_EMBED_DIM."""
    if width == 1.0:
        return arch["embed_dim"]
    step = math.lcm(*(h // math.gcd(h, 2**i) for i, h in enumerate(arch["num_heads"])))
    smallest = step * math.ceil(MIN_PROXY_EMBED_DIM / step)
    return max(smallest, round(arch["embed_dim"] * width / step) * step)


def build(
    arch: dict[str, Any],
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    width: float = 1.0,
) -> nn.Module:
    """backbone (NCHW map) -> neck (global average pooling) -> head (dropout + linear); a proxy's
    `width` reduces embed_dim (reduced_embed_dim), and every stage with it."""
    validate(arch)
    arch = {**arch, "embed_dim": reduced_embed_dim(arch, width)}
    if image_size % arch["patch_size"]:
        allowed = [p for p in PATCH_SIZES if image_size % p == 0]
        raise ArchError(
            f"patch_size={arch['patch_size']} does not divide image_size={image_size}; "
            f"choose one of {allowed}"
        )
    backbone = SwinBackbone(arch, in_channels, image_size)
    model = ClassificationModel(backbone, backbone.feature_dim, num_classes, dropout=0.0)
    init_transformer_weights(model)
    return model
