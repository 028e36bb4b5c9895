"""Space `nb201`: the NAS-Bench-201 cell (4 nodes, 6 edges, 5 ops) in its CIFAR macro skeleton.

An arch is a plain dict with one field per edge of the cell, `edge_J_I` being the op from node I to
node J (node 0 is the cell input, node 3 its output):

    edge_1_0, edge_2_0, edge_2_1, edge_3_0, edge_3_1, edge_3_2
        each one of none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3

Node J is the sum of its incoming edges. `to_nb201_string` / `from_nb201_string` convert to and from
the NAS-Bench-201 string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` (node by node, `op~I` = edge from I).

The network is NAS-Bench-201's TinyNetwork (Dong & Yang, ICLR 2020), module for module, so that a
cell built for CIFAR-10 has exactly the parameter count of the benchmark table:
backbone = 3x3 stem conv (16 channels, no bias) + BN, three stages of 5 cells at 16, 32 and 64
channels joined by residual reduction blocks (ResNetBasicblock, stride 2), BN + ReLU;
neck = global average pooling; head = linear layer (no dropout). nor_conv_KxK is ReLU -> Conv -> BN
(affine), avg_pool_3x3 does not count padding, `none` outputs zeros. Weights keep PyTorch's default
initialisation, as NAS-Bench-201 does. One deviation for odd-sized inputs only: the shortcut's 2x2
average pooling rounds up (ceil_mode), so that it matches the strided convolution on e.g. 7x7 maps;
on even sizes (32x32) it is NAS-Bench-201's pooling exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import Any

import torch
from torch import nn

from nasbench.layers import ClassificationModel
from nasbench.measure import count_macs, count_params
from nasbench.spaces import ArchError
from search_spaces.arch_strings import nb201 as strings
from search_spaces.arch_strings.nb201 import EDGES, NUM_NODES, OPS, validate_cell

NAME = "nb201"
# the input of the NAS-Bench-201 CIFAR-10 table: `profile` of an nb201 arch defaults to it
BENCHMARK_IMAGE_SIZE = 32
BENCHMARK_NUM_CLASSES = 10
# every edge takes every op: 5^6 = 15,625 cells, small enough for GridSampler and exhaustive checks
GRID: dict[str, list[str]] = {edge: list(OPS) for edge in EDGES}

STEM_CHANNELS = 16
MIN_PROXY_CHANNELS = 4  # a reduced copy's stem has at least these (stages double them)
CELLS_PER_STAGE = 5
NUM_STAGES = 3


def _cell(*ops: str) -> dict[str, str]:
    return dict(zip(EDGES, ops, strict=True))


REFERENCE_ARCHS: dict[str, dict[str, str]] = {
    # best validation accuracy of the CIFAR-10 table (91.61 %), and tied best test accuracy (94.37 %)
    "optimum": _cell(
        "nor_conv_3x3",
        "nor_conv_3x3",
        "nor_conv_3x3",
        "skip_connect",
        "nor_conv_3x3",
        "nor_conv_1x1",
    ),
    # the ResNet-like cell of the NAS-Bench-201 paper: two 3x3 convs plus a skip connection
    "resnet": _cell("nor_conv_3x3", "none", "nor_conv_3x3", "skip_connect", "none", "none"),
    # the largest cell (every edge a 3x3 conv)
    "all_conv_3x3": _cell(*["nor_conv_3x3"] * len(EDGES)),
    # the parameter-free cell differentiable NAS tends to collapse to
    "all_skip": _cell(*["skip_connect"] * len(EDGES)),
}


def suggest(trial: Any) -> dict[str, str]:
    """Sample the op of every edge from an Optuna trial (one categorical parameter per edge)."""
    return {edge: trial.suggest_categorical(edge, list(OPS)) for edge in EDGES}


validate = validate_cell
to_nb201_string = strings.format
from_nb201_string = strings.parse


# ---- modules, as NAS-Bench-201's cell_operations.py and cell_infers/ --------------------------------


class ReLUConvBN(nn.Sequential):
    """NAS-Bench-201's nor_conv: ReLU -> Conv (no bias) -> BatchNorm (affine)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False
            ),
            nn.BatchNorm2d(out_channels),
        )


class Zero(nn.Module):
    """The `none` op: zeros shaped like the input (x * 0 keeps NaN/inf, as NAS-Bench-201's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """One edge op on a `channels`-channel map at stride 1 (cells never change shape)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ArchError(f"unknown op {name!r}; choose one of {list(OPS)}")


class Cell(nn.Module):
    """The searched cell: node j = sum over i < j of edge_j_i(node i); the output is the last node."""

    def __init__(self, arch: dict[str, str], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict({edge: make_op(arch[edge], channels) for edge in EDGES})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, NUM_NODES):
            nodes.append(sum(self.edges[f"edge_{j}_{i}"](nodes[i]) for i in range(j)))
        return nodes[-1]


class ResNetBasicblock(nn.Module):
    """NAS-Bench-201's reduction block: two ReLU-Conv-BN (first stride 2) + avg-pool/1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(in_channels, out_channels, 3, 2)
        self.conv_b = ReLUConvBN(out_channels, out_channels, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def build(
    arch: dict[str, Any],
    num_classes: int,
    in_channels: int,
    image_size: int,
    width: float = 1.0,
) -> ClassificationModel:
    """Build NAS-Bench-201's network around the cell: backbone -> global average pooling -> head.
    A proxy's `width` scales the stem's 16 channels (rounded, at least MIN_PROXY_CHANNELS)."""
    validate(arch)
    del image_size  # the skeleton is fixed: two stride-2 reductions whatever the input size
    channels = STEM_CHANNELS
    if width != 1.0:
        channels = max(MIN_PROXY_CHANNELS, round(STEM_CHANNELS * width))
    parts: OrderedDict[str, nn.Module] = OrderedDict(
        stem=nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
    )
    for stage in range(NUM_STAGES):
        if stage > 0:
            parts[f"reduce{stage}"] = ResNetBasicblock(channels, channels * 2)
            channels *= 2
        parts[f"stage{stage + 1}"] = nn.Sequential(
            *(Cell(arch, channels) for _ in range(CELLS_PER_STAGE))
        )
    parts["last_act"] = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
    return ClassificationModel(nn.Sequential(parts), channels, num_classes, dropout=0.0)


def arch_costs(arch: dict[str, str], num_classes: int, image_size: int) -> dict[str, int]:
    """{params, macs} of the network `build` makes from `arch`, exactly, without building it."""
    validate(arch)
    base, per_edge = _op_costs(num_classes, image_size)
    return {c: base[c] + sum(per_edge[arch[edge]][c] for edge in EDGES) for c in base}


@cache
def _op_costs(
    num_classes: int, image_size: int
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """A network's params and MACs split into the skeleton's and each edge op's.

    Every edge of a cell maps C channels to C channels at one resolution and the nodes only add,
    so a network's cost is the skeleton's plus, for each edge, the cost of its op there. The five
    networks whose edges all hold one op are measured once each and give those costs; tests check
    the sum against direct measurements of sampled cells.
    """
    totals = {}
    for op in OPS:
        with torch.device("cpu"):
            model = build(dict.fromkeys(EDGES, op), num_classes, 3, image_size)
        totals[op] = {
            "params": count_params(model),
            "macs": count_macs(model, (1, 3, image_size, image_size)).macs,
        }
    base = totals["none"]
    per_edge: dict[str, dict[str, int]] = {}
    for op, total in totals.items():
        per_edge[op] = {}
        for column in base:
            cost, remainder = divmod(total[column] - base[column], len(EDGES))
            assert remainder == 0, f"{op}: {column} not shared evenly by the edges"
            per_edge[op][column] = cost
    return base, per_edge
