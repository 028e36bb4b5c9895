"""Zero-cost proxies leave the model alone, are deterministic, say NaN for cut-off cells, refuse unknown
names, and rank NAS-Bench-201 cells on real CIFAR-10 images like NASLib's published scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from zero_cost_validation import cifar10_batch_from_zip, cifar10_cells, compare, score_cells

from nasbench.errors import UsageError
from nasbench.layers import ClassificationModel
from nasbench.zero_cost import ZERO_COST_PROXIES, zero_cost_score, zero_cost_scores
from search_spaces import nb201

torch.set_num_threads(1)

PROXIES = list(ZERO_COST_PROXIES)
# the output node sees only `none` edges and a node fed by `none`: logits ignore the image
CUT_OFF = "|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|skip_connect~1|none~2|"
OPTIMUM = nb201.REFERENCE_ARCHS["optimum"]

# NASLib's published scores were computed on batches of 32 images (nwot, a log-determinant of a
# batch x batch matrix, has their magnitude at 32 and twice it at 64); rankings agree at 32 and 64.
VALIDATION_BATCH = 32
VALIDATION_CELLS = 50
VALIDATION_SEED = 0


def _net(arch: dict[str, str] | str, seed: int = 0, image_size: int = 8) -> nn.Module:
    if isinstance(arch, str):
        arch = nb201.from_nb201_string(arch)
    torch.manual_seed(seed)
    return nb201.build(arch, 10, 3, image_size)


def _batch(n: int = 8, image_size: int = 8, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn((n, 3, image_size, image_size), generator=g), torch.arange(n) % 10


def _snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "state": {k: v.clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "grads": [p.grad for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "dtypes": [p.dtype for p in model.parameters()],
    }


def _same(before: dict[str, object], after: dict[str, object]) -> bool:
    same_state = before["state"].keys() == after["state"].keys() and all(
        torch.equal(before["state"][k], after["state"][k]) for k in before["state"]
    )
    rest = ("modes", "requires_grad", "dtypes")
    return (
        same_state
        and all(before[k] == after[k] for k in rest)
        and after["grads"] == [None] * len(after["grads"])
    )


@pytest.mark.parametrize("name", PROXIES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_scoring_leaves_weights_buffers_grads_and_mode_of_the_model_unchanged(name, mode):
    model = _net(OPTIMUM).train(mode == "train")
    if mode == "eval":
        model.head.requires_grad_(False)  # a frozen part stays frozen
    before = _snapshot(model)
    score = zero_cost_score(name, model, *_batch())
    assert math.isfinite(score)
    assert _same(before, _snapshot(model))


@pytest.mark.parametrize("name", PROXIES)
def test_same_seed_same_score_and_another_init_another_score(name):
    inputs, targets = _batch()
    first = zero_cost_score(name, _net(OPTIMUM, seed=3), inputs, targets)
    again = zero_cost_score(name, _net(OPTIMUM, seed=3), inputs, targets)
    other = zero_cost_score(name, _net(OPTIMUM, seed=4), inputs, targets)
    assert first == again
    assert other != first


@pytest.mark.parametrize("name", PROXIES)
def test_dropout_does_not_make_a_score_random(name):
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    model = ClassificationModel(backbone, 8, 10, dropout=0.5).train()
    inputs, targets = _batch()
    scores = {zero_cost_score(name, model, inputs, targets) for _ in range(3)}
    assert len(scores) == 1 and math.isfinite(scores.pop())


def test_synflow_ignores_the_images_and_the_labels():
    model = _net(OPTIMUM)
    a = zero_cost_score("synflow", model, *_batch(seed=1))
    b = zero_cost_score("synflow", model, _batch(seed=2)[0], torch.zeros(8, dtype=torch.long))
    assert a == b


@pytest.mark.parametrize("name", PROXIES)
def test_a_cell_whose_output_ignores_the_image_scores_nan(name):
    inputs, targets = _batch()
    assert math.isnan(zero_cost_score(name, _net(CUT_OFF), inputs, targets))
    # a parameter-free cell still passes the image through: a finite score
    all_skip = _net(nb201.REFERENCE_ARCHS["all_skip"])
    assert math.isfinite(zero_cost_score(name, all_skip, inputs, targets))


def test_scoring_several_proxies_at_once_gives_each_one_s_own_score():
    model, (inputs, targets) = _net(OPTIMUM), _batch()
    before = _snapshot(model)
    together = zero_cost_scores(["grad_norm", "nwot", "synflow", "snip"], model, inputs, targets)
    assert list(together) == ["grad_norm", "nwot", "synflow", "snip"]
    for name, score in together.items():
        assert score == pytest.approx(zero_cost_score(name, model, inputs, targets), rel=1e-9)
    assert _same(before, _snapshot(model))
    assert all(
        math.isnan(v) for v in zero_cost_scores(PROXIES, _net(CUT_OFF), inputs, targets).values()
    )


@pytest.mark.parametrize("score", [zero_cost_score, zero_cost_scores])
def test_an_unknown_proxy_is_a_one_line_usage_error_listing_the_valid_ones(score):
    name = "jacov" if score is zero_cost_score else ["snip", "jacov"]
    with pytest.raises(UsageError) as err:
        score(name, _net(OPTIMUM), *_batch())
    message = str(err.value)
    assert "\n" not in message and "'jacov'" in message
    assert all(name in message for name in PROXIES)


@pytest.mark.parametrize("name", ["nwot", "snip", "grad_norm"])
def test_a_data_dependent_proxy_refuses_a_batch_of_one_image(name):
    inputs, targets = _batch(n=1)
    with pytest.raises(UsageError, match="at least 2"):
        zero_cost_score(name, _net(OPTIMUM), inputs, targets)


# ---- validation against NASLib's published NAS-Bench-201 scores ---------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_scores_rank_nb201_cells_like_naslib_published_scores(shared_data):
    cells = cifar10_cells(shared_data("nb201_zero_cost_725.csv"))
    chosen = np.random.default_rng(VALIDATION_SEED).choice(len(cells), VALIDATION_CELLS, False)
    sample = cells.iloc[np.sort(chosen)]
    inputs, targets = cifar10_batch_from_zip(
        shared_data("cifar10_jpeg.zip"), VALIDATION_BATCH, seed=VALIDATION_SEED
    )
    figures = compare(score_cells(sample, inputs, targets), sample)
    assert figures["passes"].all(), "\n" + figures.to_string(float_format="%.3f")
