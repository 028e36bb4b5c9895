"""Space `vit`: Vision Transformers: patch size, width, depth, heads, MLP ratio, pooling, drop path.

Image size and patch size: the patch embedding is a stride-p convolution, so `build` raises
ArchError unless image_size is a multiple of patch_size. `suggest` samples only patch sizes 1, 2
and 4, which divide every common small size (8, 16, 28, 32) and 224; validation also admits the
published ones (14, 16, 32). The position embedding is learned for the built image size.

Neck: with pooling "cls" a class token is prepended and its final state is the image vector; with
"mean" there is no class token and the tokens are averaged (the ViT form of global pooling).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nasbench.attention import (
    MultiHeadSelfAttention,
    PatchEmbedding,
    TokenPool,
    TransformerBlock,
    drop_path_rates,
)
from nasbench.layers import ClassificationModel
from nasbench.spaces import ArchError, check_choice, check_keys, check_range

NAME = "vit"

FIELDS = (
    "patch_size",
    "embed_dim",
    "depth",
    "num_heads",
    "mlp_ratio",
    "pooling",
    "drop_path_rate",
)
PATCH_SIZES = (1, 2, 4, 8, 14, 16, 32)
EMBED_DIMS = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1280)
DEPTHS = tuple(range(1, 33))
NUM_HEADS = (1, 2, 3, 4, 6, 8, 12, 16)
MLP_RATIOS = (1, 2, 3, 4)
POOLINGS = ("cls", "mean")
MAX_DROP_PATH = 0.5

# Small and fast for 8x8 to 32x32 images; every suggested head count divides every suggested width.
SUGGEST_PATCH_SIZES = (1, 2, 4)
SUGGEST_EMBED_DIMS = (32, 48, 64, 96)
SUGGEST_DEPTH = (2, 4)
SUGGEST_NUM_HEADS = (1, 2, 4, 8)
SUGGEST_MLP_RATIOS = (2, 3, 4)
SUGGEST_MAX_DROP_PATH = 0.2

# torchvision.models.vit_*: pooling through the class token, no stochastic depth.
REFERENCE_ARCHS: dict[str, dict[str, Any]] = {
    name: {
        "patch_size": patch,
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_ratio": 4,
        "pooling": "cls",
        "drop_path_rate": 0.0,
    }
    for name, patch, dim, depth, heads in (
        ("vit_b_16", 16, 768, 12, 12),
        ("vit_b_32", 32, 768, 12, 12),
        ("vit_l_16", 16, 1024, 24, 16),
        ("vit_l_32", 32, 1024, 24, 16),
        ("vit_h_14", 14, 1280, 32, 16),
    )
}

# AdamW with warm-up (DeiT's recipe, shortened to a proxy). Measured on digits (10 epochs, the
# arch {patch 2, dim 64, depth 4, heads 4, mlp 2, cls}): crop augmentation slows a short ViT
# proxy more than it helps (42% -> 89% val without it), and batch 32 at lr 3e-3 beats 64 at 1e-3.
TRAIN_DEFAULTS: dict[str, Any] = {
    "optimizer": "adamw",
    "lr": 3e-3,
    "batch_size": 32,
    "weight_decay": 0.05,
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "augment": "none",
}


def suggest(trial: Any) -> dict[str, Any]:
    """Sample every field unconditionally; all suggested combinations are valid."""
    return {
        "patch_size": trial.suggest_categorical("patch_size", SUGGEST_PATCH_SIZES),
        "embed_dim": trial.suggest_categorical("embed_dim", SUGGEST_EMBED_DIMS),
        "depth": trial.suggest_int("depth", *SUGGEST_DEPTH),
        "num_heads": trial.suggest_categorical("num_heads", SUGGEST_NUM_HEADS),
        "mlp_ratio": trial.suggest_categorical("mlp_ratio", SUGGEST_MLP_RATIOS),
        "pooling": trial.suggest_categorical("pooling", POOLINGS),
        "drop_path_rate": round(
            trial.suggest_float("drop_path_rate", 0.0, SUGGEST_MAX_DROP_PATH, step=0.05), 2
        ),
    }


def validate(arch: dict[str, Any]) -> None:
    """Raise ArchError naming the first bad field and what it may be."""
    check_keys(arch, FIELDS)
    check_choice(arch, "patch_size", PATCH_SIZES)
    check_choice(arch, "embed_dim", EMBED_DIMS)
    check_choice(arch, "depth", DEPTHS)
    check_choice(arch, "num_heads", NUM_HEADS)
    check_choice(arch, "mlp_ratio", MLP_RATIOS)
    check_choice(arch, "pooling", POOLINGS)
    check_range(arch, "drop_path_rate", 0.0, MAX_DROP_PATH)
    dim, heads = arch["embed_dim"], arch["num_heads"]
    if dim % heads:
        allowed = [h for h in NUM_HEADS if dim % h == 0]
        raise ArchError(
            f"num_heads={heads} does not divide embed_dim={dim}; choose one of {allowed}"
        )


class ViTBackbone(nn.Module):
    """Patch embedding (+ class token) + position embedding -> encoder blocks -> LayerNorm: (B, L, D)."""

    def __init__(self, arch: dict[str, Any], in_channels: int, image_size: int) -> None:
        super().__init__()
        dim = arch["embed_dim"]
        self.patch_embed = PatchEmbedding(in_channels, dim, arch["patch_size"])
        self.class_token = (
            nn.Parameter(torch.zeros(1, 1, dim)) if arch["pooling"] == "cls" else None
        )
        tokens = (image_size // arch["patch_size"]) ** 2 + (arch["pooling"] == "cls")
        self.pos_embedding = nn.Parameter(torch.empty(1, tokens, dim).normal_(std=0.02))
        self.blocks = nn.Sequential(
            *(
                TransformerBlock(
                    dim,
                    MultiHeadSelfAttention(dim, arch["num_heads"]),
                    arch["mlp_ratio"],
                    drop_path=rate,
                    norm_eps=1e-6,
                )
                for rate in drop_path_rates(arch["drop_path_rate"], arch["depth"])
            )
        )
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x).flatten(1, 2)
        if self.class_token is not None:
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.norm(self.blocks(x + self.pos_embedding))


MIN_PROXY_HEAD_DIM = 4  # a reduced copy keeps its heads, each at least this wide


def reduced_embed_dim(arch: dict[str, Any], width: float) -> int:
    """A proxy's embedding width: each head's width x `width`, rounded, at least MIN_PROXY_HEAD_DIM
    (so num_heads still divides it)."""
    dim, heads = arch["embed_dim"], arch["num_heads"]
    if width == 1.0:
        return dim
    return heads * max(MIN_PROXY_HEAD_DIM, round(dim / heads * width))


def build(
    arch: dict[str, Any],
    num_classes: int = 10,
    in_channels: int = 3,
    image_size: int = 32,
    width: float = 1.0,
) -> nn.Module:
    """backbone (tokens) -> neck (class token or token mean) -> head (dropout + linear); a proxy's
    `width` reduces embed_dim (reduced_embed_dim)."""
    validate(arch)
    arch = {**arch, "embed_dim": reduced_embed_dim(arch, width)}
    if image_size % arch["patch_size"]:
        allowed = [p for p in PATCH_SIZES if image_size % p == 0]
        raise ArchError(
            f"patch_size={arch['patch_size']} does not divide image_size={image_size}; "
            f"choose one of {allowed}"
        )
    backbone = ViTBackbone(arch, in_channels, image_size)
    neck = TokenPool(arch["pooling"])
    model = ClassificationModel(backbone, arch["embed_dim"], num_classes, dropout=0.0, neck=neck)
    init_vit_weights(model)
    return model


def init_vit_weights(model: ClassificationModel) -> None:
    """ViT's own initialisation (the JAX original, as torchvision does it); it trains faster on
    small data than truncated-normal(0.02): Xavier-uniform linears, LeCun-normal patch
    projection, zero biases and a zero head."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    proj = model.backbone.patch_embed.proj
    fan_in = proj.in_channels * proj.kernel_size[0] * proj.kernel_size[1]
    nn.init.trunc_normal_(proj.weight, std=math.sqrt(1 / fan_in))
    nn.init.zeros_(proj.bias)
    nn.init.zeros_(model.head[-1].weight)
