"""A tiny, fast CNN space for tests; `poison` makes chosen trials misbehave in a known way."""

from __future__ import annotations

import os

import torch
from torch import nn

from nasbench.spaces import check_choice, check_keys

NAME = "toy"
WIDTHS = (4, 8, 16)
POISONS = ("none", "nan", "abort", "oom")
SUGGESTED_POISONS = ("none",)
REFERENCE_ARCHS = {"small": {"width": 4, "poison": "none"}}
FIELDS = ("width", "poison")


def suggest(trial) -> dict:
    return {
        "width": trial.suggest_categorical("width", list(WIDTHS)),
        "poison": trial.suggest_categorical("poison", list(SUGGESTED_POISONS)),
    }


def validate(arch: dict) -> None:
    check_keys(arch, FIELDS)
    check_choice(arch, "width", WIDTHS)
    check_choice(arch, "poison", POISONS)


class Poisoned(nn.Module):
    """Turns outputs into NaN, or runs out of memory in training as a too-large batch would."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "oom" and self.training:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB (test)")
        return x * float("nan") if self.kind == "nan" else x


def build(arch: dict, num_classes: int, in_channels: int, image_size: int) -> nn.Module:
    if arch["poison"] == "abort":
        os.abort()  # a crash that kills the process, like a segfault in a native kernel
    width = arch["width"]
    backbone = nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()
    )
    neck = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    head = nn.Linear(width, num_classes)
    if arch["poison"] in ("nan", "oom"):
        head = nn.Sequential(head, Poisoned(arch["poison"]))
    return nn.Sequential(backbone, neck, head)
