"""Reference archs of the CNN spaces equal torchvision's models: params, MACs, output; small-input rule."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision

from nasbench.layers import PUBLISHED_STRIDES_FROM, stride2_slots
from nasbench.measure import count_macs, count_params
from nasbench.spaces import load_space

torch.set_num_threads(1)

IMAGENET = (1, 3, 224, 224)
# every reference arch of the CNN spaces is named after the torchvision model it reproduces
REFERENCES = [
    (space, name) for space in ("mobilenet", "resnet") for name in load_space(space).REFERENCE_ARCHS
]

# the required references, and ResNeXt for groups/width_per_group (the larger ones only cost time)
EXACT = [
    ("mobilenet", "mobilenet_v2"),
    ("resnet", "resnet18"),
    ("resnet", "resnet50"),
    ("resnet", "resnext50_32x4d"),
]


def cases(pairs: list[tuple[str, str]], slow: set[str]) -> list:
    """Parameters named after the model; those in `slow` (about 2 s or more) in the slow tier."""
    return [
        pytest.param(space, name, id=name, marks=[pytest.mark.slow] if name in slow else [])
        for space, name in pairs
    ]


def test_the_required_references_are_there():
    assert set(EXACT) <= set(REFERENCES)


@pytest.mark.parametrize(("space_name", "name"), cases(REFERENCES, {"wide_resnet50_2"}))
def test_reference_arch_has_the_params_of_its_torchvision_model(space_name, name):
    space = load_space(space_name)
    ours = space.build(space.REFERENCE_ARCHS[name], 1000, 3, 224)
    assert count_params(ours) == count_params(getattr(torchvision.models, name)(weights=None))


@pytest.mark.parametrize(("space_name", "name"), cases(EXACT, {"resnet50", "resnext50_32x4d"}))
def test_reference_arch_has_torchvision_params_macs_and_output_shape(space_name, name):
    space = load_space(space_name)
    ours = space.build(space.REFERENCE_ARCHS[name], 1000, 3, 224).eval()
    theirs = getattr(torchvision.models, name)(weights=None).eval()

    assert count_params(ours) == count_params(theirs)
    ours_macs = count_macs(ours, IMAGENET)
    theirs_macs = count_macs(theirs, IMAGENET)
    assert ours_macs.macs == theirs_macs.macs
    assert ours_macs.uncounted_ops == theirs_macs.uncounted_ops
    with torch.no_grad():
        assert ours(torch.zeros(IMAGENET)).shape == theirs(torch.zeros(IMAGENET)).shape == (1, 1000)


# image size -> side of the backbone's final map: below 96 px, downsample while the map stays >= 4
# pixels; from 96 px, the five steps of the ImageNet models (32x, as published: 96 -> 3x3)
FINAL_MAP = {8: 4, 28: 4, 32: 4, 64: 4, 95: 6, 96: 3, 100: 4, 128: 4, 224: 7}


@pytest.mark.parametrize("image_size", sorted(FINAL_MAP))
@pytest.mark.parametrize(
    ("space_name", "name"), [("mobilenet", "mobilenet_v2"), ("resnet", "resnet18")]
)
def test_backbone_downsamples_proxies_to_a_4x4_map_and_imagenet_sizes_32x(
    space_name, name, image_size
):
    space = load_space(space_name)
    model = space.build(space.REFERENCE_ARCHS[name], 10, 1, image_size).eval()
    with torch.no_grad():
        features = model.backbone(torch.zeros(1, 1, image_size, image_size))
    assert features.shape[-2:] == (FINAL_MAP[image_size], FINAL_MAP[image_size])


def _old_small_input_rule(size: int, num_slots: int) -> list[int]:
    """stride2_slots before PUBLISHED_STRIDES_FROM: as many steps as keep the final map >= 4x4."""
    steps = 0
    while steps < num_slots and math.ceil(size / 2 ** (steps + 1)) >= 4:
        steps += 1
    return [1] * (num_slots - steps) + [2] * steps


@pytest.mark.parametrize("num_slots", [1, 3, 5, 6])
def test_stride2_slots_keeps_the_small_input_rule_below_96_px_and_takes_every_slot_from_96(
    num_slots,
):
    for size in range(4, 96):
        expected = _old_small_input_rule(size, num_slots)
        assert stride2_slots(size, num_slots) == expected, size
        assert stride2_slots((size, size + 7), num_slots) == expected, size
    assert PUBLISHED_STRIDES_FROM == 96
    for size in (96, 128, 224, (96, 130)):
        assert stride2_slots(size, num_slots) == [2] * num_slots, size


def test_resnet_on_small_images_has_a_3x3_stride_1_stem_and_no_max_pool():
    space = load_space("resnet")
    small = space.build(space.REFERENCE_ARCHS["resnet18"], 10, 3, 32)
    large = space.build(space.REFERENCE_ARCHS["resnet18"], 10, 3, 224)
    assert small.backbone.stem[0].kernel_size == (3, 3) and small.backbone.stem[0].stride == (1, 1)
    assert "pool" not in dict(small.backbone.named_children())
    assert large.backbone.stem[0].kernel_size == (7, 7) and large.backbone.stem[0].stride == (2, 2)
    assert isinstance(large.backbone.pool, torch.nn.MaxPool2d)


@pytest.mark.parametrize("width_mult", [0.35, 0.75, 1.4])
def test_mobilenet_width_multiplier_rounds_channels_as_torchvision(width_mult):
    space = load_space("mobilenet")
    last_channels = 1792 if width_mult > 1 else 1280  # torchvision widens only the last conv
    arch = {**space.REFERENCE_ARCHS["mobilenet_v2"], "width_mult": width_mult}
    ours = space.build({**arch, "last_channels": last_channels}, 1000, 3, 224)
    theirs = torchvision.models.mobilenet_v2(weights=None, width_mult=width_mult)
    assert count_params(ours) == count_params(theirs)
