"""The budget's width knob: every space builds a reduced copy, where widths collapse, and a reduced
proxy's row stores the costs of the arch the user gets (full width, native resolution)."""

from __future__ import annotations

import optuna
import pytest
import torch

from nasbench.budget import ProxyBudget
from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.evaluation.context import Request
from nasbench.evaluation.trained import evaluate_trained
from nasbench.measure import count_macs, count_params
from nasbench.spaces import load_space, space_names
from nasbench.workflow.contexts import budget_data, budget_recipe, trained_context

SPACES = space_names()
BENCHMARK_SPACES = [s for s in SPACES if hasattr(load_space(s), "BENCHMARK_IMAGE_SIZE")]


def sampled_arch(space, seed: int = 0) -> dict:
    """An arch that suggest() samples (small enough to train in a test)."""
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed)).ask()
    return space.suggest(trial)


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


def test_the_spaces_are_all_covered():
    assert {"mobilenet", "resnet", "vit", "swin", "nb201", "nas_bench_macro"} <= set(SPACES)
    assert {"nb201", "nas_bench_macro", "channel_bench_mobilenet"} <= set(BENCHMARK_SPACES)


@pytest.mark.parametrize("name", SPACES)
def test_every_space_builds_a_narrower_copy_that_runs(name):
    space = load_space(name)
    reduced = []
    for seed in range(3):
        arch = sampled_arch(space, seed)
        full = space.build(arch, 10, 3, 16)
        half = space.build(arch, 10, 3, 16, width=0.5)
        quarter = space.build(arch, 10, 3, 16, width=0.25)
        sizes = [count_params(m) for m in (full, half, quarter)]
        assert sizes[0] >= sizes[1] >= sizes[2], (arch, sizes)
        reduced.append(sizes[2] < sizes[0])
        with torch.no_grad():
            assert quarter.eval()(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
        # width 1 is the arch exactly as it always was
        same = space.build(arch, 10, 3, 16, width=1.0)
        assert [p.shape for p in same.parameters()] == [p.shape for p in full.parameters()]
    # (a vit with 4 channels a head is at its floor already and keeps its width)
    assert any(reduced)


def test_nas_bench_macro_at_a_quarter_is_econas_proxy_channels():
    space = load_space("nas_bench_macro")
    model = space.build(space.from_string("22222222"), 10, 3, 32, width=0.25)
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0] == 8 and convs[-1] == 320 and convs[-2] == 64  # 32, 256, 1280 over 4
    assert all(c % 8 == 0 for c in convs)


def test_mobilenet_width_mults_collapse_at_the_divisible_by_8_floor():
    """width_mult 0.25-0.5 times 0.25 is 0.06-0.13: the stem (32) and the first stages round up to
    8 channels for every one of them, so distinct archs can train as almost the same network."""
    space = load_space("mobilenet")
    base = space.mobilenet_v2_arch(1.0)

    def channels(width_mult: float) -> list[int]:
        model = space.build({**base, "width_mult": width_mult}, 10, 3, 32, width=0.25)
        return [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]

    low, mid, high = channels(0.25), channels(0.35), channels(0.5)
    assert low[0] == mid[0] == high[0] == 8  # the stem: 2, 2.8 and 4 channels round up to 8
    assert low[:10] == mid[:10] == high[:10]  # the first stages are the same network
    assert low != high  # the last stages (160, 320 base channels) still differ
    # at full width they all differ from the first layer on
    full = [
        space.build({**base, "width_mult": w}, 10, 3, 32).backbone.stem[0].out_channels
        for w in (0.25, 0.5)
    ]
    assert full == [8, 16]


def test_resnet_and_transformers_round_as_their_space_needs():
    resnet = load_space("resnet")
    arch = {**resnet.REFERENCE_ARCHS["resnext50_32x4d"]}
    assert resnet.reduced_base_width(arch, 0.25) % arch["groups"] == 0
    # at least one channel per group inside every block, however small the width
    assert resnet.reduced_base_width({**arch, "width_per_group": 4}, 0.01) * 4 >= 64
    vit = load_space("vit")
    arch = vit.REFERENCE_ARCHS["vit_b_16"]
    dim = vit.reduced_embed_dim(arch, 0.25)
    assert dim == 192 and dim % arch["num_heads"] == 0
    assert vit.reduced_embed_dim({**arch, "embed_dim": 24, "num_heads": 4}, 0.25) == 16  # 4 a head
    swin = load_space("swin")
    arch = swin.REFERENCE_ARCHS["swin_t"]  # heads 3, 6, 12, 24 at widths d, 2d, 4d, 8d
    dim = swin.reduced_embed_dim(arch, 0.25)
    assert all(dim * 2**i % h == 0 for i, h in enumerate(arch["num_heads"])) and dim == 24
    floor = swin.reduced_embed_dim(arch, 0.01)
    assert floor >= swin.MIN_PROXY_EMBED_DIM and floor % 3 == 0  # 3 heads in stage 1


@pytest.mark.parametrize("name", SPACES)
def test_a_reduced_proxy_stores_the_costs_of_the_full_width_arch_at_native_size(name, synthetic):
    space = load_space(name)
    arch = sampled_arch(space)
    budget = ProxyBudget.parse("width=0.25,image_size=16,steps=2")
    data = budget_data("synthetic", None, budget)
    recipe = budget_recipe(data.name, getattr(space, "TRAIN_DEFAULTS", {}), budget)
    ctx = trained_context(space, data, recipe, {"space": name}, device="cpu", budget=budget)
    row = evaluate_trained(arch, ctx, Request(seeds=(0,))).row
    assert row["status"] == "complete", row.get("error")
    native = synthetic.image_size  # 8: what synthetic loads at without a budget
    user_arch = space.build(arch, synthetic.num_classes, synthetic.in_channels, native)
    assert row["params"] == count_params(user_arch)
    assert row["macs"] == count_macs(user_arch, (1, 3, native, native)).macs
    assert row["image_size"] == 16 and row["steps"] == 2  # what the proxy trained on
    proxy = space.build(arch, synthetic.num_classes, 3, 16, width=0.25)
    assert count_params(proxy) < row["params"]


def test_full_width_at_native_size_measures_the_trained_network_and_keeps_its_hash(synthetic):
    space = load_space("nas_bench_macro")
    recipe = budget_recipe("synthetic", {}, ProxyBudget())
    plain = trained_context(space, synthetic, recipe, {}, device="cpu", budget=ProxyBudget())
    unset = trained_context(space, synthetic, recipe, {}, device="cpu")
    assert plain.cost_image_size is None and plain.protocol == unset.protocol
    narrow = ProxyBudget(width=0.5)
    reduced = trained_context(space, synthetic, recipe, {}, device="cpu", budget=narrow)
    assert reduced.protocol != plain.protocol and reduced.cost_image_size == 8
    # a study made before this rule measures on the trained network and keeps its old hash
    small = budget_data("synthetic", None, ProxyBudget(image_size=16))
    before = trained_context(
        space, small, recipe, {}, device="cpu", budget=ProxyBudget(image_size=16),
        costs_on_trained=True,
    )  # fmt: skip
    assert before.cost_image_size is None
    assert before.protocol == trained_context(space, small, recipe, {}, device="cpu").protocol


def test_a_space_without_a_width_argument_refuses_a_reduced_budget(synthetic):
    class OldSpace:
        NAME = "old_space"

        @staticmethod
        def build(arch, num_classes, in_channels, image_size):
            raise AssertionError("never built")

    recipe = budget_recipe("synthetic", {}, ProxyBudget())
    with pytest.raises(UsageError, match="old_space.*cannot build reduced copies"):
        trained_context(
            OldSpace, synthetic, recipe, {}, device="cpu", budget=ProxyBudget(width=0.5)
        )
