"""Spaces vit and swin: torchvision equivalence, window-attention cost formula, validation, small inputs."""

from __future__ import annotations

import math
import re

import optuna
import pytest
import torch
import torchvision
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

from nasbench.attention import WindowAttention
from nasbench.measure import count_macs, count_params
from nasbench.spaces import ArchError, load_space
from nasbench.train import default_train_config

optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)

IMAGENET = (1, 3, 224, 224)
vit = load_space("vit")
swin = load_space("swin")


@pytest.mark.parametrize(
    ("space", "name"),
    [
        pytest.param(vit, "vit_b_16", id="vit", marks=pytest.mark.slow),
        pytest.param(swin, "swin_t", id="swin"),
    ],
)
def test_reference_arch_has_torchvision_params_macs_and_output_shape(space, name):
    ours = space.build(space.REFERENCE_ARCHS[name], 1000, 3, 224).eval()
    theirs = getattr(torchvision.models, name)(weights=None).eval()

    assert count_params(ours) == count_params(theirs)
    ours_macs, theirs_macs = count_macs(ours, IMAGENET), count_macs(theirs, IMAGENET)
    assert ours_macs.macs == theirs_macs.macs
    assert ours_macs.uncounted_ops == theirs_macs.uncounted_ops == {}
    with torch.no_grad():
        assert ours(torch.zeros(IMAGENET)).shape == (1, 1000)


def _randomise_and_copy(pairs) -> None:
    with torch.no_grad():
        for theirs, ours in pairs:
            assert theirs.shape == ours.shape
            theirs.normal_(std=0.2)
            ours.copy_(theirs)


# window 3 pads every map (32, 16, 8, 4) and shifts; window 4 divides them
@pytest.mark.parametrize("window", [3, 4])
def test_small_swin_computes_exactly_what_torchvision_swin_computes(window):
    arch = {
        "patch_size": 2, "embed_dim": 16, "depths": [2, 2, 2, 2], "num_heads": [1, 2, 4, 8],
        "window_size": window, "mlp_ratio": 2, "drop_path_rate": 0.0,
    }  # fmt: skip
    ours = swin.build(arch, 10, 3, 64).eval()
    theirs = SwinTransformer(
        [2, 2], 16, [2, 2, 2, 2], [1, 2, 4, 8], [window, window], mlp_ratio=2.0,
        stochastic_depth_prob=0.0, num_classes=10,
    ).eval()  # fmt: skip
    # same parameters registered in the same order (the module tree differs)
    _randomise_and_copy(zip(theirs.parameters(), ours.parameters(), strict=True))
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(
            ours.backbone(x), theirs.permute(theirs.norm(theirs.features(x)))
        )
        torch.testing.assert_close(ours(x), theirs(x))


VIT_NAMES = [
    (r"^class_token$", "backbone.class_token"),
    (r"^conv_proj\.", "backbone.patch_embed.proj."),
    (r"^encoder\.pos_embedding$", "backbone.pos_embedding"),
    (r"^encoder\.ln\.", "backbone.norm."),
    (r"^encoder\.layers\.encoder_layer_(\d+)\.", r"backbone.blocks.\1."),
    (r"\.ln_1\.", ".norm1."),
    (r"\.ln_2\.", ".norm2."),
    (r"\.self_attention\.in_proj_", ".attn.qkv."),
    (r"\.self_attention\.out_proj\.", ".attn.proj."),
    (r"^heads\.head\.", "head.1."),
]


def test_small_vit_computes_exactly_what_torchvision_vit_computes():
    arch = {
        "patch_size": 4, "embed_dim": 32, "depth": 2, "num_heads": 4, "mlp_ratio": 2,
        "pooling": "cls", "drop_path_rate": 0.0,
    }  # fmt: skip
    ours = vit.build(arch, 10, 3, 16).eval()
    theirs = VisionTransformer(16, 4, 2, 4, 32, 64, num_classes=10).eval()
    ours_params = dict(ours.named_parameters())
    pairs = []
    for name, param in theirs.named_parameters():
        for pattern, replacement in VIT_NAMES:
            name = re.sub(pattern, replacement, name)
        pairs.append((param, ours_params.pop(name)))
    assert not ours_params
    _randomise_and_copy(pairs)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))


def _window_attention_macs(arch: dict, image_size: int) -> int:
    """What window attention predicts: per block on a map padded to a multiple of the window M
    (N padded tokens, C channels), QK^T and AV cost 2 N M^2 C and the qkv and output projections
    4 N C^2; a window larger than the map is shrunk to the map."""
    total = 0
    side = image_size // arch["patch_size"]
    for stage, depth in enumerate(arch["depths"]):
        channels = arch["embed_dim"] * 2**stage
        window = min(arch["window_size"], side)
        tokens = (math.ceil(side / window) * window) ** 2
        total += depth * (2 * tokens * window**2 * channels + 4 * tokens * channels**2)
        side = math.ceil(side / 2)
    return total


def test_window_size_changes_only_the_window_attention_macs_as_the_formula_predicts():
    base = {
        "patch_size": 2, "embed_dim": 16, "depths": [1, 2, 2, 1], "num_heads": [1, 2, 2, 4],
        "mlp_ratio": 2, "drop_path_rate": 0.0,
    }  # fmt: skip
    image_size = 32  # stage maps 16, 8, 4, 2
    totals, rest = {}, set()
    for window in (2, 3, 4, 5, 7, 8):
        arch = {**base, "window_size": window}
        totals[window] = count_macs(swin.build(arch, 10, 3, image_size), (1, 3, 32, 32)).macs
        rest.add(totals[window] - _window_attention_macs(arch, image_size))
    assert len(set(totals.values())) == len(totals), "the window must change the cost"
    assert len(rest) == 1, "everything but window attention must stay constant"

    # windows 2, 4 and 8 divide every map (8 is shrunk to 4 and 2 on the last two), so no
    # padding: the projections stay put and the difference is QK^T and AV alone, 2 N C (M^2 - M'^2)
    def qk_av(window: int) -> int:
        maps = ((16, 16, 1), (8, 32, 2), (4, 64, 2), (2, 128, 1))  # side, channels, blocks
        return sum(b * 2 * s * s * min(window, s) ** 2 * c for s, c, b in maps)

    assert (
        totals[4] - totals[2]
        == qk_av(4) - qk_av(2)
        == 2 * 16 * 16 * (16 - 4) * 16
        + 2 * (2 * 8 * 8 * (16 - 4) * 32)
        + 2 * (2 * 4 * 4 * (16 - 4) * 64)
    )
    assert totals[8] - totals[4] == qk_av(8) - qk_av(4)


def test_a_window_larger_than_the_map_is_shrunk_to_the_map_without_shift():
    arch = {**swin.REFERENCE_ARCHS["swin_t"], "patch_size": 1}
    assert swin.stage_window_sizes(arch, 8) == [7, 4, 2, 1]
    model = swin.build(arch, 10, 1, 8)
    attentions = [m for m in model.modules() if isinstance(m, WindowAttention)]
    assert [a.window_size[0] for a in attentions] == [7] * 2 + [4] * 2 + [2] * 6 + [1] * 2
    assert attentions[-1].relative_position_bias_table.shape == (1, 24)
    with torch.no_grad():
        assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_validation_rejects_heads_that_do_not_divide_the_width():
    arch = {**vit.REFERENCE_ARCHS["vit_b_16"], "embed_dim": 24, "num_heads": 16}
    with pytest.raises(
        ArchError,
        match=r"num_heads=16 does not divide embed_dim=24; choose one of \[1, 2, 3, 4, 6, 8, 12\]",
    ):
        vit.validate(arch)
    arch = {**swin.REFERENCE_ARCHS["swin_t"], "embed_dim": 16, "num_heads": [1, 2, 4, 8]}
    swin.validate(arch)
    arch["num_heads"] = [1, 3, 4, 8]  # stage 1 is 16 * 2 = 32 wide
    with pytest.raises(ArchError, match=r"num_heads\[1\]=3 does not divide stage 1's width 32"):
        swin.validate(arch)


@pytest.mark.parametrize("space", [vit, swin], ids=["vit", "swin"])
def test_build_rejects_an_image_size_that_is_not_a_multiple_of_the_patch_size(space):
    arch = next(iter(space.REFERENCE_ARCHS.values()))
    with pytest.raises(
        ArchError, match=r"patch_size=\d+ does not divide image_size=30; choose one of \[1, 2\]"
    ):
        space.build(arch, 10, 3, 30)


@pytest.mark.parametrize("space", [vit, swin], ids=["vit", "swin"])
@pytest.mark.parametrize(("in_channels", "image_size"), [(1, 8), (3, 32)])
def test_suggested_archs_classify_8x8_grey_and_32x32_colour_images(space, in_channels, image_size):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(4):
        arch = space.suggest(study.ask())
        space.validate(arch)
        model = space.build(arch, 10, in_channels, image_size)
        out = model(torch.randn(2, in_channels, image_size, image_size))
        assert out.shape == (2, 10)
        out.sum().backward()  # training mode, drop path active


def test_vit_mean_pooling_drops_the_class_token():
    arch = {**vit.REFERENCE_ARCHS["vit_b_16"], "patch_size": 4, "embed_dim": 32, "depth": 1}
    arch["num_heads"] = 2
    cls = vit.build(arch, 10, 3, 32)
    mean = vit.build({**arch, "pooling": "mean"}, 10, 3, 32)
    assert cls.backbone.pos_embedding.shape == (1, 64 + 1, 32)
    assert mean.backbone.pos_embedding.shape == (1, 64, 32)
    assert count_params(cls) - count_params(mean) == 2 * 32


def test_drop_path_rises_linearly_to_the_rate_over_the_blocks():
    arch = {**swin.REFERENCE_ARCHS["swin_t"], "depths": [1, 1, 2, 1], "drop_path_rate": 0.2}
    model = swin.build(arch, 10, 3, 32)
    rates = [m.p for m in model.modules() if isinstance(m, torchvision.ops.StochasticDepth)]
    assert rates == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])


@pytest.mark.parametrize("space", [vit, swin], ids=["vit", "swin"])
def test_train_defaults_are_a_valid_adamw_recipe(space):
    config = default_train_config("digits", space.TRAIN_DEFAULTS)
    assert config.optimizer == "adamw"
    assert config.warmup_epochs > 0 and config.label_smoothing > 0
