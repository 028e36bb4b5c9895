"""The space contract, checked on every space in search_spaces: suggest -> JSON -> hash -> validate -> build."""

from __future__ import annotations

import copy
import json

import optuna
import pytest
import torch

from nasbench.spaces import ArchError, arch_hash, load_space, space_names

optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)

SPACES = space_names()
SEEDS = (0, 1)
BOGUS = "__bogus__"


def suggest_with_seed(space, seed: int) -> tuple[dict, optuna.trial.Trial]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    return space.suggest(trial), trial


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", SPACES)
def test_suggested_arch_round_trips_through_json_validates_builds_and_classifies(name, seed):
    space = load_space(name)
    arch, _ = suggest_with_seed(space, seed)

    restored = json.loads(json.dumps(arch))
    assert restored == arch, "an arch must be plain JSON data"
    assert arch_hash(restored) == arch_hash(arch)
    again, _ = suggest_with_seed(space, seed)
    assert arch_hash(again) == arch_hash(arch), "the same seed must give the same arch"

    space.validate(restored)
    for in_channels, image_size, num_classes in ((1, 8, 10), (3, 32, 7)):
        model = space.build(restored, num_classes, in_channels, image_size).eval()
        with torch.no_grad():
            out = model(torch.randn(2, in_channels, image_size, image_size))
        assert out.shape == (2, num_classes)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", SPACES)
def test_suggest_samples_the_same_parameters_whatever_the_seed(name):
    space = load_space(name)
    names = {frozenset(suggest_with_seed(space, seed)[1].params) for seed in range(5)}
    assert len(names) == 1, "every parameter must be sampled unconditionally"


@pytest.mark.parametrize("name", SPACES)
def test_space_name_and_reference_archs_are_valid(name):
    space = load_space(name)
    assert space.NAME == name
    for ref_name, arch in space.REFERENCE_ARCHS.items():
        assert json.loads(json.dumps(arch)) == arch, ref_name
        space.validate(copy.deepcopy(arch))


@pytest.mark.parametrize("name", SPACES)
def test_validate_names_the_field_of_a_bad_value(name):
    space = load_space(name)
    arch, _ = suggest_with_seed(space, 0)
    for field, value in arch.items():
        bad = copy.deepcopy(arch)
        bad[field] = BOGUS
        with pytest.raises(ArchError, match=field):
            space.validate(bad)
        if isinstance(value, list):
            bad[field] = [BOGUS, *value[1:]]
            with pytest.raises(ArchError, match=rf"{field}\[0\]"):
                space.validate(bad)


@pytest.mark.parametrize("name", SPACES)
def test_validate_names_an_unknown_and_a_missing_field(name):
    space = load_space(name)
    arch, _ = suggest_with_seed(space, 0)
    with pytest.raises(ArchError, match="no_such_field"):
        space.validate({**arch, "no_such_field": 1})
    field = sorted(arch)[0]
    missing = {k: v for k, v in arch.items() if k != field}
    with pytest.raises(ArchError, match=f"missing.*{field}"):
        space.validate(missing)


# ---- rules of particular spaces -------------------------------------------------------------


def test_resnet_rejects_groups_that_do_not_divide_a_grouped_basic_block():
    space = load_space("resnet")
    arch = {**space.REFERENCE_ARCHS["resnet18"], "base_width": 24, "groups": 16}
    with pytest.raises(ArchError, match="groups=16 does not divide base_width=24"):
        space.validate(arch)


def test_resnet_rejects_a_group_width_below_one_channel():
    space = load_space("resnet")
    arch = {**space.REFERENCE_ARCHS["resnet50"], "base_width": 8, "width_per_group": 4}
    with pytest.raises(ArchError, match="width_per_group"):
        space.validate(arch)


def test_mobilenet_accepts_relu6_and_names_the_stage_of_an_unknown_activation():
    space = load_space("mobilenet")
    arch = copy.deepcopy(space.REFERENCE_ARCHS["mobilenet_v2"])
    space.validate(arch)  # relu6 is valid so that MobileNetV2 is exact
    arch["activations"][3] = "tanh"
    with pytest.raises(ArchError, match=r"activations\[3\]='tanh'.*hardswish"):
        space.validate(arch)


@pytest.mark.parametrize("name", [n for n in SPACES if hasattr(load_space(n), "SMALLEST_ARCH")])
@pytest.mark.parametrize("image_size", [8, 32])
def test_smallest_arch_is_one_suggest_can_sample_and_no_single_choice_makes_it_cheaper(
    name, image_size
):
    from nasbench.measure import count_macs
    from nasbench.spaces import flatten_arch

    space = load_space(name)
    smallest = space.SMALLEST_ARCH
    space.validate(smallest)
    study = optuna.create_study()
    study.enqueue_trial(flatten_arch(smallest))
    trial = study.ask()
    assert space.suggest(trial) == smallest  # every value is among suggest's choices

    def macs(arch: dict) -> int:
        return count_macs(space.build(arch, 10, 3, image_size), (1, 3, image_size, image_size)).macs

    least = macs(smallest)
    for param, distribution in trial.distributions.items():
        for choice in distribution.choices:
            other = optuna.create_study()
            other.enqueue_trial({**flatten_arch(smallest), param: choice})
            arch = space.suggest(other.ask())
            assert macs(arch) >= least, f"{param}={choice!r} is cheaper than SMALLEST_ARCH"
