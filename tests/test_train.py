"""The proxy-training recipe: learns, is seeded, fails loudly on NaN, stops on request, every option runs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nasbench.data import load_dataset
from nasbench.errors import UsageError
from nasbench.train import (
    ConfigError,
    TrainConfig,
    TrainingDiverged,
    _optimizer,
    _scheduler,
    default_train_config,
    evaluate,
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


@pytest.mark.parametrize(
    "overrides",
    [
        {"augment": "none"},
        {"augment": "flip_crop", "hflip": True},
        {"augment": "trivialaugment"},
        {"augment": "randaugment", "hflip": True},
        {"random_erasing": 0.5},
        {"mixup": 0.2},
        {"cutmix": 1.0},
        {"mixup": 0.2, "cutmix": 1.0},
        {"ema": True, "ema_decay": 0.9},
        {"grad_clip": 1.0, "channels_last": False},
        {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05},
    ],
)
def test_every_recipe_option_trains(synthetic, overrides):
    config = default_train_config("synthetic", {"epochs": 1, **overrides})
    result = train(small_cnn(3, 4), synthetic, config, seed=0, test=True)
    assert 0.0 <= result["val_acc"] <= 100.0 and 0.0 <= result["test_acc"] <= 100.0
    assert math.isfinite(result["train_loss"])


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
    stale = evaluate(model, synthetic.val_x, synthetic.val_y, 64, **stats)
    model.train(False)
    recalibrate_batch_norm(model, synthetic.normalize(synthetic.train_x), 32)
    assert not model.training and all(norm.momentum == 0.1 for norm in norms)
    assert stale < trained - 20
    assert evaluate(model, synthetic.val_x, synthetic.val_y, 64, **stats) >= trained - 5
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
    assert evaluate(Predicts(), x, y, batch_size=3) == 75.0
    with pytest.raises(ValueError, match="mean= and std="):
        evaluate(Predicts(), x.to(torch.uint8), y, batch_size=3)


def test_batch_larger_than_the_training_set_uses_the_whole_set(synthetic):
    config = default_train_config("synthetic", {"epochs": 1, "batch_size": 10_000})
    assert train(small_cnn(3, 4), synthetic, config)["batch_size"] == 256


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda_with_bf16_autocast(synthetic):
    config = default_train_config("synthetic", {"augment": "trivialaugment", "ema": True})
    result = train(small_cnn(3, 4), synthetic, config, device="cuda", seed=0, test=True)
    assert result["val_acc"] > 90.0
    again = train(small_cnn(3, 4), synthetic, config, device="cuda", seed=0, test=True)
    assert again["train_loss"] == pytest.approx(result["train_loss"], rel=1e-3)
