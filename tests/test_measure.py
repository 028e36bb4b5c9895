"""The cost formulas of DESIGN.md on single layers, the MAC conventions, and latency provenance."""

from __future__ import annotations

import optuna
import pytest
import torch
import torch.nn.functional as F
import torchvision
from fvcore_reference import fvcore_macs
from torch import nn

from nasbench.measure import count_macs, count_params, measure_latency, measure_model
from nasbench.spaces import ArchError, load_space


def _out(size: int, kernel: int, stride: int) -> int:
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


CONVS = {
    # name: (in channels C, out channels C', kernel k, stride, groups g)
    "standard": (16, 32, 3, 1, 1),
    "strided": (16, 32, 3, 2, 1),
    "grouped": (16, 32, 3, 1, 4),
    "depthwise": (16, 16, 5, 1, 16),
    "strided_depthwise": (16, 16, 3, 2, 16),
    "pointwise": (16, 64, 1, 1, 1),
    "7x7_stem": (3, 8, 7, 2, 1),
}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("name", CONVS)
def test_conv_costs_follow_the_formulas(name: str, bias: bool) -> None:
    c_in, c_out, k, stride, groups = CONVS[name]
    size = 15  # odd, so that strided outputs round
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=bias)
    h_out = _out(size, k, stride)

    assert count_params(conv) == c_out * (c_in * k * k // groups + bias)
    counted = count_macs(conv, (1, c_in, size, size))
    assert counted.macs == h_out * h_out * c_out * c_in * k * k // groups
    assert counted.uncounted_ops == {}


def test_depthwise_separable_conv_is_depthwise_plus_pointwise() -> None:
    c, c_out, k, size = 24, 40, 3, 14
    block = nn.Sequential(
        nn.Conv2d(c, c, k, padding=1, groups=c, bias=False), nn.Conv2d(c, c_out, 1, bias=False)
    )
    assert count_macs(block, (1, c, size, size)).macs == size * size * (c * k * k + c * c_out)


def test_macs_scale_with_the_batch() -> None:
    conv = nn.Conv2d(3, 8, 3, padding=1)
    assert count_macs(conv, (4, 3, 8, 8)).macs == 4 * count_macs(conv, (1, 3, 8, 8)).macs


@pytest.mark.parametrize("bias", [True, False])
def test_linear_costs_in_times_out_per_token(bias: bool) -> None:
    linear = nn.Linear(48, 10, bias=bias)
    assert count_params(linear) == 10 * (48 + bias)
    assert count_macs(linear, (1, 48)).macs == 48 * 10
    assert count_macs(linear, (2, 7, 48)).macs == 2 * 7 * 48 * 10


class Lambda(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def test_matmul_bmm_and_einsum_cost_one_mac_per_product() -> None:
    b, h, n, e = 2, 3, 5, 8
    scores = Lambda(lambda x: torch.matmul(x, x.transpose(-2, -1)))  # [b,h,n,e] @ [b,h,e,n]
    assert count_macs(scores, (b, h, n, e)).macs == b * h * n * e * n
    batched = Lambda(lambda x: torch.bmm(x, x.transpose(1, 2)))
    assert count_macs(batched, (b, n, e)).macs == b * n * e * n
    einsum = Lambda(lambda x: torch.einsum("bij,bkj->bik", x, x))
    assert count_macs(einsum, (b, n, e)).macs == b * n * e * n
    vector = Lambda(lambda x: torch.matmul(x, torch.ones(e, 6)))  # broadcast [n,e] @ [e,6]
    assert count_macs(vector, (n, e)).macs == n * e * 6


class CrossAttention(nn.Module):
    def __init__(self, heads: int, keys: int, embed: int, value_embed: int) -> None:
        super().__init__()
        self.k = nn.Parameter(torch.randn(1, heads, keys, embed))
        self.v = nn.Parameter(torch.randn(1, heads, keys, value_embed))

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        batch = q.shape[0]
        return F.scaled_dot_product_attention(
            q, self.k.expand(batch, -1, -1, -1), self.v.expand(batch, -1, -1, -1)
        )


def test_scaled_dot_product_attention_costs_qk_plus_av() -> None:
    b, h, length, source, e, ev = 2, 4, 9, 6, 8, 5
    counted = count_macs(CrossAttention(h, source, e, ev), (b, h, length, e))
    assert counted.macs == b * h * (length * source * e + length * source * ev)
    assert counted.uncounted_ops == {}


@pytest.mark.parametrize("batch_first", [True, False], ids=["fused_fast_path", "composite"])
def test_multihead_attention_costs_projections_plus_attention(batch_first: bool) -> None:
    # batch_first in eval takes torch's fused kernel; the other goes through linear + bmm
    embed, heads, batch, length = 16, 2, 3, 7
    attention = nn.MultiheadAttention(embed, heads, batch_first=batch_first)
    self_attention = Lambda(lambda x: attention(x, x, x)[0])
    self_attention.attention = attention
    shape = (batch, length, embed) if batch_first else (length, batch, embed)
    counted = count_macs(self_attention, shape)
    expected = batch * (4 * length * embed * embed + 2 * length * length * embed)
    assert counted.macs == expected
    assert counted.uncounted_ops == {}


def test_batch_norm_activations_pooling_and_dropout_count_zero_and_are_not_reported() -> None:
    model = nn.Sequential(
        nn.BatchNorm2d(8), nn.ReLU(), nn.Hardswish(), nn.GELU(), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.LayerNorm(8), nn.Softmax(-1),
    )  # fmt: skip
    counted = count_macs(model, (2, 8, 6, 6))
    assert counted.macs == 0
    assert counted.uncounted_ops == {}


def test_an_op_that_is_neither_counted_nor_ignored_is_reported() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), Lambda(lambda x: torch.cumsum(x, 1)))
    counted = count_macs(model, (1, 3, 5, 5))
    assert counted.macs == 5 * 5 * 4 * 3
    assert counted.uncounted_ops == {"aten::cumsum": 1}


def test_counting_uses_eval_mode_and_restores_training_mode() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout(0.5))
    model.train()
    count_macs(model, (1, 3, 8, 8))
    assert model.training and all(m.training for m in model.modules())


def _tiny_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10),
    )  # fmt: skip


PROVENANCE = (
    "device", "device_name", "torch_version", "cuda_version", "threads", "batch_size",
    "input_size", "dtype",
)  # fmt: skip


def test_latency_reports_median_spread_and_provenance_and_restores_threads() -> None:
    threads_before = torch.get_num_threads()
    result = measure_latency(_tiny_cnn(), (2, 1, 8, 8), threads=1, budget_s=0.05)

    assert result["latency_ms"] > 0
    assert result["latency_iqr_ms"] >= 0
    assert result["latency_repeats"] >= 5
    assert set(PROVENANCE) <= set(result)
    assert result["device"] == "cpu" and result["device_name"]
    assert result["torch_version"] == torch.__version__
    assert result["cuda_version"] is None
    assert (result["threads"], result["batch_size"], result["input_size"]) == (1, 2, "1x8x8")
    assert result["dtype"] == "float32"
    assert result["peak_memory_mb"] is None  # CPU
    assert torch.get_num_threads() == threads_before


def test_bfloat16_latency_leaves_the_callers_model_in_float32() -> None:
    model = _tiny_cnn()
    result = measure_latency(model, (1, 1, 8, 8), dtype="bfloat16", threads=1, budget_s=0.05)
    assert result["dtype"] == "bfloat16" and result["latency_ms"] > 0
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_measure_model_is_one_flat_row_with_macs_per_sample() -> None:
    model = _tiny_cnn()
    row = measure_model(model, (4, 1, 8, 8), threads=1, budget_s=0.05)
    expected_keys = {"params", "macs", "uncounted_ops", "latency_ms", "latency_iqr_ms",
                     "latency_repeats", "peak_memory_mb", *PROVENANCE}  # fmt: skip
    assert set(row) == expected_keys
    assert row["params"] == 8 * (9 + 1) + 2 * 8 + 10 * (8 + 1)
    assert row["macs"] == 8 * 8 * 8 * 9 + 8 * 10  # one image, though the batch is 4
    assert row["batch_size"] == 4
    assert all(not isinstance(v, (list, tuple)) for v in row.values())

    no_latency = measure_model(model, (4, 1, 8, 8), latency=False)
    assert set(no_latency) == expected_keys
    assert no_latency["latency_ms"] is None and no_latency["macs"] == row["macs"]


@pytest.mark.gpu
def test_cuda_latency_records_peak_memory_and_cuda_version() -> None:
    model = _tiny_cnn()
    result = measure_latency(model, (8, 1, 32, 32), device="cuda", budget_s=0.1)
    assert result["peak_memory_mb"] > 0
    assert result["cuda_version"] == torch.version.cuda
    assert result["device_name"] == torch.cuda.get_device_name(0)
    bf16 = measure_latency(model, (8, 1, 32, 32), device="cuda", dtype="bfloat16", budget_s=0.1)
    assert bf16["latency_ms"] > 0
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "name",
    [
        "resnet18",
        "mobilenet_v3_small",
        "efficientnet_b0",
        pytest.param("vit_b_16", marks=pytest.mark.slow),
        pytest.param("swin_t", marks=pytest.mark.slow),
    ],
)
def test_macs_equal_fvcores_count_on_torchvision_models(name: str) -> None:
    model = torchvision.models.get_model(name, weights=None)
    shape = (1, 3, 224, 224)
    counted = count_macs(model, shape)
    assert counted.macs == fvcore_macs(model, shape)
    assert counted.uncounted_ops == {}


@pytest.mark.parametrize(
    "space_name",
    [
        "mobilenet",
        "resnet",
        "vit",
        pytest.param("swin", marks=pytest.mark.slow),
        pytest.param("nb201", marks=pytest.mark.slow),
    ],
)
def test_macs_equal_fvcores_count_on_random_archs_of_every_space(space_name: str) -> None:
    space = load_space(space_name)
    channels, size = (1, 8) if space_name in ("mobilenet", "resnet") else (3, 32)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    checked = 0
    while checked < 4:
        arch = space.suggest(study.ask())
        try:
            space.validate(arch)
        except ArchError:
            continue
        model = space.build(arch, 10, channels, size)
        counted = count_macs(model, (1, channels, size, size))
        assert counted.macs == fvcore_macs(model, (1, channels, size, size)), arch
        assert counted.uncounted_ops == {}
        checked += 1
