"""The proxy-training recipe: learns, is seeded, fails loudly on NaN, stops on request, every option runs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.train import (
    ConfigError,
    TrainConfig,
    TrainingDiverged,
    _mixer,
    _optimizer,
    _scheduler,
    accuracy_of,
    default_train_config,
    recalibrate_batch_norm,
    train,
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def small_cnn(in_channels: int, num_classes: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),  # keeps some layout: digits need it
        nn.Flatten(),
        nn.Dropout(0.1),
        nn.Linear(32 * 4, num_classes),
    )


class NaNModel(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(1, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.mean(dim=(1, 2, 3)).unsqueeze(1)) * float("nan")


def test_training_on_synthetic_data_beats_chance_by_far(synthetic):
    config = default_train_config("synthetic")
    result = train(small_cnn(3, 4), synthetic, config, seed=0)
    assert result["val_acc"] > 90.0  # chance: 25%
    assert result["epochs"] == config.epochs and not result["stopped_early"]
    assert result["batch_size"] == config.batch_size and result["image_size"] == 8
    assert result["train_s"] > 0 and result["images_per_s"] > 0
    assert math.isfinite(result["train_loss"])


def test_training_on_digits_beats_chance_by_far_in_two_epochs(digits):
    config = default_train_config("digits", {"epochs": 2})
    result = train(small_cnn(1, 10), digits, config, seed=0)
    assert result["val_acc"] > 70.0  # chance: 10%
    assert result["images_per_s"] == pytest.approx(
        2 * (1077 // config.batch_size) * config.batch_size / result["train_s"]
    )


def test_same_seed_gives_identical_results_and_weights(synthetic):
    config = default_train_config(
        "synthetic", {"augment": "flip_crop", "hflip": True, "mixup": 0.2}
    )
    runs = []
    for _ in range(2):
        model = small_cnn(3, 4)
        result = train(model, synthetic, config, seed=3)
        runs.append((result, model.state_dict()))
    (a, weights_a), (b, weights_b) = runs
    assert a["val_acc"] == b["val_acc"] and a["train_loss"] == b["train_loss"]
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    other = train(small_cnn(3, 4), synthetic, config, seed=4)
    assert other["train_loss"] != a["train_loss"]


def test_training_leaves_the_callers_random_state_alone(synthetic):
    model = small_cnn(3, 4)
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    train(model, synthetic, default_train_config("synthetic", {"epochs": 1}), seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_nan_output_raises_training_diverged_with_when(synthetic):
    with pytest.raises(TrainingDiverged, match=r"^loss became nan at epoch 1, step 1$"):
        train(NaNModel(4), synthetic, default_train_config("synthetic"), seed=0)


def test_huge_learning_rate_diverges(synthetic):
    config = default_train_config("synthetic", {"lr": 1e30, "warmup_epochs": 0})
    with pytest.raises(
        TrainingDiverged, match=r"loss became (nan|infinite) at epoch \d+, step \d+"
    ):
        train(small_cnn(3, 4), synthetic, config, seed=0)


def test_on_epoch_sees_every_epoch_and_can_stop_training(synthetic):
    seen = []

    def stop_after_second(epoch: int, val_acc: float) -> bool:
        seen.append((epoch, val_acc))
        return epoch == 1

    config = default_train_config("synthetic", {"epochs": 5})
    result = train(small_cnn(3, 4), synthetic, config, seed=0, on_epoch=stop_after_second)
    assert [e for e, _ in seen] == [0, 1]
    assert all(0.0 <= acc <= 100.0 for _, acc in seen)
    assert result["epochs"] == 2 and result["stopped_early"]
    assert result["val_acc"] == seen[-1][1]

    seen.clear()
    result = train(
        small_cnn(3, 4), synthetic, config, seed=0, on_epoch=lambda e, a: bool(seen.append(e))
    )
    assert seen == [0, 1, 2, 3, 4] and result["epochs"] == 5 and not result["stopped_early"]


@pytest.fixture(scope="module")
def plain_weights(synthetic) -> torch.Tensor:
    """First-layer weights after one epoch of the plain recipe (no augmentation), seed 0."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model = small_cnn(3, 4)
    train(model, synthetic, default_train_config("synthetic", {"epochs": 1, "augment": "none"}))
    torch.set_num_threads(threads)
    return model[0].weight.detach().clone()


@pytest.mark.parametrize(
    "overrides",
    [
        {"augment": "flip_crop", "hflip": True},
        {"augment": "trivialaugment"},
        {"augment": "randaugment", "hflip": True},
        {"random_erasing": 0.5},
        {"mixup": 0.2},
        {"cutmix": 1.0},
        {"mixup": 0.2, "cutmix": 1.0},
        {"grad_clip": 0.01},
        {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05},
    ],
)
def test_every_recipe_option_changes_what_is_trained(synthetic, plain_weights, overrides):
    # against the plain recipe with the same seed: the option reaches the training loop
    model = small_cnn(3, 4)
    config = default_train_config("synthetic", {"epochs": 1, "augment": "none", **overrides})
    result = train(model, synthetic, config, seed=0, test=True)
    assert 0.0 <= result["val_acc"] <= 100.0 and 0.0 <= result["test_acc"] <= 100.0
    assert math.isfinite(result["train_loss"])
    assert not torch.equal(model[0].weight, plain_weights)


def test_the_plain_recipe_is_reproduced_exactly(synthetic, plain_weights):
    # so that any difference above comes from the option, not from run-to-run noise
    model = small_cnn(3, 4)
    train(model, synthetic, default_train_config("synthetic", {"epochs": 1, "augment": "none"}))
    assert torch.equal(model[0].weight, plain_weights)


# ---- augmentation: what the model is fed --------------------------------------------------------


@pytest.fixture(scope="module")
def few_digits():
    """A tenth of digits' training images (107): three steps of 32 per epoch."""
    return load_dataset("digits", train_fraction=0.1)


def first_training_batch(data, seed: int = 0, **overrides) -> torch.Tensor:
    """The first batch the model is trained on, back in uint8 units (float, unrounded)."""
    batches = []
    model = small_cnn(data.in_channels, data.num_classes)

    def record(module, args):
        if module.training and not batches:
            batches.append(args[0].detach().clone())

    model[0].register_forward_pre_hook(record)
    config = default_train_config(
        "digits", {"epochs": 1, "batch_size": 32, "bn_recalibration": 0, **overrides}
    )
    train(model, data, config, seed=seed)
    shape = (1, data.in_channels, 1, 1)
    mean = torch.tensor(data.mean).view(shape) * 255.0
    std = torch.tensor(data.std).view(shape) * 255.0
    return batches[0] * std + mean


def as_uint8(x: torch.Tensor) -> torch.Tensor:
    assert torch.allclose(x, x.round(), atol=1e-3), "not whole uint8 values"
    return x.round().to(torch.uint8)


def test_without_augmentation_the_model_sees_training_images_unchanged(few_digits):
    batch = as_uint8(first_training_batch(few_digits, augment="none"))
    assert len(batch) == 32
    for image in batch:
        assert (few_digits.train_x == image).all(dim=(1, 2, 3)).any()
    # flip_crop without flips and without padding does nothing either
    same = first_training_batch(few_digits, augment="flip_crop", hflip=False, crop_padding=0.0)
    assert torch.equal(as_uint8(same), batch)


def test_flips_mirror_about_half_of_the_images_of_a_batch(few_digits):
    plain = as_uint8(first_training_batch(few_digits, augment="none"))
    flipped = as_uint8(
        first_training_batch(few_digits, augment="flip_crop", hflip=True, crop_padding=0.0)
    )
    mirrored = [
        not torch.equal(f, p) and torch.equal(f, p.flip(-1))
        for f, p in zip(flipped, plain, strict=True)
    ]
    kept = [torch.equal(f, p) for f, p in zip(flipped, plain, strict=True)]
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    assert 8 <= sum(mirrored) <= 24


def test_random_crops_shift_images_within_the_zero_padding(few_digits):
    plain = as_uint8(first_training_batch(few_digits, augment="none"))
    cropped = as_uint8(first_training_batch(few_digits, augment="flip_crop", hflip=False))
    # crop_padding 0.125 of 8 pixels: one pixel of zeros on each side, then an 8x8 window
    padded = torch.nn.functional.pad(plain, (1, 1, 1, 1))
    offsets = []
    for image, source in zip(cropped, padded, strict=True):
        found = [(dy, dx) for dy in range(3) for dx in range(3)
                 if torch.equal(image, source[:, dy : dy + 8, dx : dx + 8])]  # fmt: skip
        assert found, "each image is a window of its own padded image"
        offsets.append(found)
    assert sum((1, 1) not in found for found in offsets) >= 8  # shifted, not just the original
    assert len({found[0] for found in offsets}) >= 4  # a draw per image, not one per batch


@pytest.mark.parametrize("augment", ["trivialaugment", "randaugment"])
def test_augment_policies_change_the_images(few_digits, augment):
    plain = as_uint8(first_training_batch(few_digits, augment="none"))
    changed = as_uint8(
        first_training_batch(few_digits, augment=augment, hflip=False, crop_padding=0.0)
    )
    differs = [not torch.equal(c, p) for c, p in zip(changed, plain, strict=True)]
    assert sum(differs) >= 8


def test_random_erasing_blanks_a_region_of_the_chosen_images(few_digits):
    plain = as_uint8(first_training_batch(few_digits, augment="none"))
    erased = as_uint8(first_training_batch(few_digits, augment="none", random_erasing=1.0))
    # pixels either unchanged or set to 0; most images lose some ink
    assert ((erased == plain) | (erased == 0)).all()
    assert sum(not torch.equal(e, p) for e, p in zip(erased, plain, strict=True)) >= 16
    assert erased.sum() < plain.sum()


def test_mixup_feeds_convex_mixtures_of_each_image_with_its_neighbour(few_digits):
    plain = first_training_batch(few_digits, augment="none")
    mixed = first_training_batch(few_digits, augment="none", mixup=1.0)
    neighbour = plain.roll(1, dims=0)
    # one mixing weight for the batch: mixed = lam * plain + (1 - lam) * neighbour
    direction = plain - neighbour
    lam = float(((mixed - neighbour) * direction).sum() / (direction * direction).sum())
    assert 0.05 < lam < 0.95
    assert torch.allclose(mixed, lam * plain + (1 - lam) * neighbour, atol=1e-3)


def test_cutmix_pastes_one_box_of_the_neighbour_into_every_image(few_digits):
    plain = first_training_batch(few_digits, augment="none")
    cut = first_training_batch(few_digits, augment="none", cutmix=1.0)
    neighbour = plain.roll(1, dims=0)
    from_neighbour = torch.isclose(cut, neighbour, atol=1e-3)
    from_self = torch.isclose(cut, plain, atol=1e-3)
    assert (from_neighbour | from_self).all()
    pasted = (from_neighbour & ~from_self).any(dim=0)  # positions taken from the neighbour
    assert pasted.any() and not pasted.all()


@pytest.mark.parametrize(
    ("overrides", "box"),
    [({"mixup": 0.4}, False), ({"cutmix": 1.0}, True)],
    ids=["mixup", "cutmix"],
)
def test_mixed_images_carry_mixed_labels_in_the_same_proportion(synthetic, overrides, box):
    # synthetic images are noisy everywhere: each pixel tells which image it came from
    mix = _mixer(TrainConfig(**overrides), synthetic.num_classes)
    torch.manual_seed(1)
    x, y = synthetic.normalize(synthetic.train_x[:16]), synthetic.train_y[:16]
    mixed, target = mix(x, y)
    neighbour_x, neighbour_y = x.roll(1, dims=0), y.roll(1, dims=0)
    if box:  # the share of pixels kept from the image itself
        lam = float(torch.isclose(mixed, x).all(dim=(0, 1)).float().mean())
    else:
        direction = x - neighbour_x
        lam = float(((mixed - neighbour_x) * direction).sum() / (direction * direction).sum())
    assert 0.0 < lam < 1.0
    one_hot = torch.nn.functional.one_hot
    expected = lam * one_hot(y, 4) + (1 - lam) * one_hot(neighbour_y, 4)
    assert torch.allclose(target, expected.float(), atol=1e-5)
    assert torch.allclose(target.sum(dim=1), torch.ones(16))
    assert (y != neighbour_y).all() and ((target > 0).sum(dim=1) == 2).all()


def test_mixup_with_cutmix_uses_one_of_the_two_per_batch(synthetic):
    mix = _mixer(TrainConfig(mixup=1.0, cutmix=1.0), synthetic.num_classes)
    torch.manual_seed(2)
    x, y = synthetic.normalize(synthetic.train_x[:16]), synthetic.train_y[:16]
    kinds = []
    for _ in range(12):
        mixed, _ = mix(x, y)
        # cutmix leaves some pixels exactly as they were; mixup blends every pixel
        kinds.append("cutmix" if torch.isclose(mixed, x).all(dim=(0, 1)).any() else "mixup")
    assert set(kinds) == {"mixup", "cutmix"}


def test_no_mixing_without_mixup_or_cutmix():
    assert _mixer(TrainConfig(), 10) is None


# ---- EMA ------------------------------------------------------------------------------------------


def ema_run(data, **overrides):
    """Train a linear classifier; return the weights after each step, and the evaluated weights."""
    torch.manual_seed(0)
    linear = nn.Linear(data.in_channels * 64, data.num_classes)
    model = nn.Sequential(nn.Flatten(), linear)
    steps, evaluated = [], []

    def record(module, args):
        if not module.training:
            weights = (module.weight.detach().clone(), module.bias.detach().clone())
            evaluated.append((module is linear, *weights))

    def after_step(optimizer, args, kwargs):
        steps.append((linear.weight.detach().clone(), linear.bias.detach().clone()))

    linear.register_forward_pre_hook(record)  # the EMA's copy of the model has it too
    handle = register_optimizer_step_post_hook(after_step)
    config = default_train_config(
        "digits", {"epochs": 1, "batch_size": 32, "warmup_epochs": 0.0, **overrides}
    )
    try:
        train(model, data, config, seed=0)
    finally:
        handle.remove()
    return steps, evaluated


def test_ema_evaluates_an_exponential_average_of_the_weights_after_each_step(few_digits):
    after_steps, evaluated = ema_run(few_digits, ema=True, ema_decay=0.5)
    assert len(after_steps) == 3  # 107 images, batches of 32
    (is_raw, weight, bias), *_ = evaluated
    assert not is_raw  # the copy holding the average is evaluated, not the model
    # torch's AveragedModel starts from the weights after the first step
    expected_w, expected_b = after_steps[0]
    for w, b in after_steps[1:]:
        expected_w = 0.5 * expected_w + 0.5 * w
        expected_b = 0.5 * expected_b + 0.5 * b
    assert torch.allclose(weight, expected_w, atol=1e-6)
    assert torch.allclose(bias, expected_b, atol=1e-6)
    final_w, _ = after_steps[-1]
    assert not torch.allclose(weight, final_w, atol=1e-4)  # differs from the raw weights


def test_with_ema_the_model_ends_holding_the_weights_that_were_evaluated(few_digits):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(few_digits.in_channels * 64, 10))
    config = default_train_config("digits", {"epochs": 1, "batch_size": 32, "ema": True})
    result = train(model, few_digits, config, seed=0)
    stats = dict(mean=few_digits.mean, std=few_digits.std)
    again = accuracy_of(model, few_digits.val_x, few_digits.val_y, 64, **stats)
    assert again == pytest.approx(result["val_acc"])


def test_without_ema_the_trained_weights_are_evaluated(few_digits):
    after_steps, evaluated = ema_run(few_digits)
    (is_raw, weight, _), *_ = evaluated
    assert is_raw and torch.equal(weight, after_steps[-1][0])


def test_ema_does_not_change_the_training_itself(few_digits):
    with_ema, _ = ema_run(few_digits, ema=True, ema_decay=0.5)
    without, _ = ema_run(few_digits)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(with_ema, without, strict=True))


def test_ema_model_is_what_gets_evaluated(synthetic):
    # a decay this close to 1 keeps the initial weights: accuracy stays near chance
    config = default_train_config("synthetic", {"ema": True, "ema_decay": 0.999999})
    frozen = train(small_cnn(3, 4), synthetic, config, seed=0)
    trained = train(small_cnn(3, 4), synthetic, default_train_config("synthetic"), seed=0)
    assert frozen["val_acc"] < trained["val_acc"] - 20


def test_batch_norm_recalibration_recovers_from_stale_statistics(synthetic):
    model = small_cnn(3, 4)
    config = default_train_config("synthetic")
    trained = train(model, synthetic, config, seed=0)["val_acc"]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for norm in norms:  # statistics that no longer match the weights
        norm.running_mean.fill_(5.0)
        norm.running_var.fill_(50.0)
    stats = dict(mean=synthetic.mean, std=synthetic.std)
    stale = accuracy_of(model, synthetic.val_x, synthetic.val_y, 64, **stats)
    model.train(False)
    recalibrate_batch_norm(model, synthetic.normalize(synthetic.train_x), 32)
    assert not model.training and all(norm.momentum == 0.1 for norm in norms)
    assert stale < trained - 20
    assert accuracy_of(model, synthetic.val_x, synthetic.val_y, 64, **stats) >= trained - 5
    # the first norm now holds the plain statistics of its inputs over the calibration images
    with torch.no_grad():
        first = model[0](synthetic.normalize(synthetic.train_x))
    assert torch.allclose(norms[0].running_mean, first.mean(dim=(0, 2, 3)), atol=1e-4)


def test_default_config_suits_the_dataset():
    assert not default_train_config("digits").hflip
    assert not default_train_config("mnist").hflip
    assert default_train_config("cifar10").hflip
    assert default_train_config("imagefolder:/data/x").epochs >= 1
    assert default_train_config("digits", {"optimizer": "adamw"}).optimizer == "adamw"


def test_default_train_config_rejects_an_unknown_override():
    with pytest.raises(ConfigError, match="unknown training setting 'learning_rate'") as err:
        default_train_config("digits", {"learning_rate": 0.1})
    assert isinstance(err.value, UsageError)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("epochs", "3"),
        ("epochs", 2.5),
        ("hflip", 1),
        ("lr", "0.1"),
        ("augment", 3),
    ],
)
def test_default_train_config_rejects_a_value_of_the_wrong_type(key, value):
    with pytest.raises(ConfigError, match=f"'{key}' must be"):
        default_train_config("digits", {key: value})


@pytest.mark.parametrize(
    "overrides",
    [
        {"optimizer": "lamb"},
        {"augment": "autoaugment"},
        {"epochs": 0},
        {"lr": 0.0},
        {"momentum": 1.0},
        {"label_smoothing": -0.1},
        {"mixup": -1.0},
    ],
)
def test_out_of_range_settings_are_refused(overrides):
    with pytest.raises(ConfigError):
        default_train_config("digits", overrides)


def test_an_integer_is_accepted_for_a_float_setting():
    assert default_train_config("digits", {"warmup_epochs": 2}).warmup_epochs == 2.0


def test_weight_decay_skips_norm_and_bias_parameters():
    model = small_cnn(3, 4)
    decayed, plain = _optimizer(model, TrainConfig(weight_decay=0.1)).param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in decayed["params"])
    # two batch norms (weight, bias) and the linear bias
    assert len(plain["params"]) == 5 and all(p.ndim == 1 for p in plain["params"])


def test_learning_rate_warms_up_linearly_then_anneals_to_zero():
    model = small_cnn(3, 4)
    config = TrainConfig(lr=0.4, epochs=3, warmup_epochs=1.0)
    optimizer = _optimizer(model, config)
    scheduler = _scheduler(optimizer, config, steps_per_epoch=10, total_steps=30)
    rates = []
    for _ in range(30):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.4 / 11)
    assert rates[:11] == sorted(rates[:11]) and rates[10] == pytest.approx(0.4)
    assert rates[10:] == sorted(rates[10:], reverse=True) and rates[-1] < 0.01


def test_evaluate_counts_top1_accuracy():
    class Predicts(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:  # class = first pixel > 0
            return torch.stack([-x[:, 0, 0, 0], x[:, 0, 0, 0]], dim=1)

    x = torch.tensor([-1.0, 2.0, 3.0, -4.0]).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    y = torch.tensor([0, 1, 0, 0])
    assert accuracy_of(Predicts(), x, y, batch_size=3) == 75.0
    with pytest.raises(ValueError, match="mean= and std="):
        accuracy_of(Predicts(), x.to(torch.uint8), y, batch_size=3)


def test_batch_larger_than_the_training_set_uses_the_whole_set(synthetic):
    config = default_train_config("synthetic", {"epochs": 1, "batch_size": 10_000})
    assert train(small_cnn(3, 4), synthetic, config)["batch_size"] == 256


@pytest.mark.gpu
def test_training_on_cuda_with_bf16_autocast(synthetic):
    config = default_train_config("synthetic", {"augment": "trivialaugment", "ema": True})
    result = train(small_cnn(3, 4), synthetic, config, device="cuda", seed=0, test=True)
    assert result["val_acc"] > 90.0
    again = train(small_cnn(3, 4), synthetic, config, device="cuda", seed=0, test=True)
    assert again["train_loss"] == pytest.approx(result["train_loss"], rel=1e-3)


def _learning_rates(config, steps_per_epoch: int) -> list[float]:
    """The learning rate of every step of a training, and the one after its last step."""
    from nasbench.train import _scheduler

    total = config.steps or steps_per_epoch * config.epochs
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=config.lr)
    scheduler = _scheduler(optimizer, config, steps_per_epoch, total)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return [*rates, optimizer.param_groups[0]["lr"]]


@pytest.mark.parametrize(("epochs", "warmup_epochs"), [(1, 1.0), (1, 0.5), (3, 1.0), (3, 0.5)])
def test_a_schedule_warms_up_for_at_most_a_third_and_ends_at_zero(epochs, warmup_epochs):
    from nasbench.train import TrainConfig

    config = TrainConfig(epochs=epochs, warmup_epochs=warmup_epochs, lr=0.2)
    rates = _learning_rates(config, steps_per_epoch=30)
    total = 30 * epochs
    peak = rates.index(max(rates))
    assert max(rates) == pytest.approx(0.2)
    assert peak <= total // 3  # the warm-up ends within the first third
    assert peak == min(round(warmup_epochs * 30), total // 3)  # shortened only when longer
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)  # after the last step: zero
    assert all(a >= b for a, b in zip(rates[peak:], rates[peak + 1 :], strict=False))


def test_a_shortened_warm_up_is_another_protocol_and_an_unchanged_one_keeps_its_hash():
    from nasbench.train import TrainConfig, schedule_changed

    # digits' default (3 epochs, half an epoch of warm-up) and longer budgets are as they were
    assert not schedule_changed(TrainConfig(epochs=3, warmup_epochs=0.5, batch_size=64), 1077)
    assert not schedule_changed(TrainConfig(epochs=10, warmup_epochs=1.0, batch_size=128), 45000)
    # one epoch with a warm-up of an epoch (the image-folder recipe) or of half of it changes
    assert schedule_changed(TrainConfig(epochs=1, warmup_epochs=1.0, batch_size=128), 45000)
    assert schedule_changed(TrainConfig(epochs=1, warmup_epochs=0.5, batch_size=64), 1077)


@pytest.mark.parametrize("steps", [7, 30, 45, 100])
def test_a_step_budget_schedules_its_steps_and_ends_at_zero(steps):
    from nasbench.train import TrainConfig, steps_of

    config = TrainConfig(epochs=10, steps=steps, warmup_epochs=1.0, lr=0.2)
    assert steps_of(config, 30 * 128) == (30, steps)  # the steps replace the epochs
    rates = _learning_rates(config, steps_per_epoch=30)
    assert len(rates) == steps + 1
    peak = rates.index(max(rates))
    assert peak == min(30, steps // 3)  # an epoch of warm-up, at most a third of the steps
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)


def test_a_step_budget_stops_inside_an_epoch_and_counts_what_it_saw(synthetic):
    # synthetic: 230 training images, batch 32 -> 7 steps an epoch; 10 steps = 1 epoch and 3 steps
    config = default_train_config("synthetic", {"steps": 10})
    epochs_seen = []
    result = train(
        small_cnn(3, 4),
        synthetic,
        config,
        seed=0,
        on_epoch=lambda e, a: bool(epochs_seen.append(e)),
    )
    per_epoch = len(synthetic.train_y) // 32
    assert result["steps"] == 10 and result["images_seen"] == 10 * 32
    assert result["epochs"] == epochs_seen[-1] + 1 == -(-10 // per_epoch)
    assert math.isfinite(result["tse"]) and result["tse"] > 0
