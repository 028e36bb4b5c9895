"""The proxy-training recipe: train(model, data, config) -> validation accuracy, loss, time, throughput.

SGD with Nesterov momentum (or AdamW), linear warm-up then cosine annealing stepped per iteration,
weight decay on weights only (not on norm or bias parameters), label smoothing, augmentation of
in-memory uint8 batches on the device (crop/flip, TrivialAugment/RandAugment, random erasing,
mixup/cutmix), optional EMA of the weights, channels_last, bf16 autocast on CUDA. No DataLoader:
the whole dataset is moved to the device once and shuffled with randperm each epoch.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nasbench.data import DataSplits, make_batch_augment, normalize
from nasbench.errors import UsageError

OPTIMIZERS = ("sgd", "adamw")
AUGMENTS = ("none", "flip_crop", "trivialaugment", "randaugment")


class ConfigError(UsageError):
    """A training setting that is unknown or out of range."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message says when."""


@dataclass
class TrainConfig:
    """One proxy-training recipe. Every field is a plain value, so the recipe can be stored as JSON."""

    epochs: int = 10
    steps: int = 0  # optimizer steps in all (the last epoch partial); 0: `epochs` full epochs
    batch_size: int = 128
    optimizer: str = "sgd"  # "sgd" (Nesterov momentum) or "adamw"
    lr: float = 0.1  # peak learning rate, reached after the warm-up
    momentum: float = 0.9
    weight_decay: float = 5e-4  # on weights only, never on norm or bias parameters
    warmup_epochs: float = 1.0
    # 0: cosine annealing after the warm-up; > 0: warm-up-stable-decay, the learning rate held at
    # its peak, then decayed linearly to zero over this last fraction of the steps
    decay_fraction: float = 0.0
    label_smoothing: float = 0.1
    augment: str = "flip_crop"  # none | flip_crop | trivialaugment | randaugment
    hflip: bool = True  # horizontal flips in the augmentation (off for digits and MNIST)
    crop_padding: float = 0.125  # zero padding before the random crop, as a fraction of the side
    random_erasing: float = 0.0  # probability per image
    mixup: float = 0.0  # alpha of v2.MixUp (0: off)
    cutmix: float = 0.0  # alpha of v2.CutMix (0: off); with mixup, one of the two per batch
    ema: bool = False  # evaluate an exponential moving average of the weights (and buffers)
    ema_decay: float = 0.999
    grad_clip: float = 0.0  # max gradient norm (0: off)
    bn_recalibration: int = 512  # training images that re-estimate batch-norm statistics (0: off)
    channels_last: bool = True
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    eval_batch_size: int = 1024

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if self.augment not in AUGMENTS:
            raise ConfigError(f"augment must be one of {', '.join(AUGMENTS)}, got {self.augment!r}")
        if self.bn_recalibration < 0:
            raise ConfigError(f"bn_recalibration must not be negative, got {self.bn_recalibration}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps < 0:
            raise ConfigError(f"steps must not be negative, got {self.steps}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be positive, got {self.lr}")
        if not 0.0 <= self.decay_fraction < 1.0:
            raise ConfigError(f"decay_fraction must be in [0, 1), got {self.decay_fraction}")
        for name in ("momentum", "ema_decay", "label_smoothing", "random_erasing"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0 and not (name == "random_erasing" and value == 1.0):
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        for name in (
            "weight_decay",
            "warmup_epochs",
            "mixup",
            "cutmix",
            "grad_clip",
            "crop_padding",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}")


# Defaults per dataset. digits: chosen by measurement so that a small MobileNet
# trains in ~2 s on 2 CPU cores: 8x8 (16x16 costs 4x); 3 epochs with batch-norm recalibration reach
# 95-97% validation accuracy (4 epochs: +1 point for a third more time); cropping 8x8 digits by a
# pixel costs 1-3 points at this budget, so no augmentation.
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {
        "epochs": 3,
        "batch_size": 64,
        "lr": 0.1,
        "warmup_epochs": 0.5,
        "augment": "none",
        "hflip": False,
    },
    "synthetic": {"epochs": 3, "batch_size": 32, "lr": 0.05, "hflip": False, "warmup_epochs": 0.0},
    "mnist": {"epochs": 5, "batch_size": 128, "hflip": False},
    "fashion_mnist": {"epochs": 5, "batch_size": 128},
    "cifar10": {"epochs": 10, "batch_size": 256, "lr": 0.2},
    "cifar100": {"epochs": 10, "batch_size": 256, "lr": 0.2},
    "imagefolder": {"epochs": 10, "batch_size": 128},
}


def default_train_config(dataset: str, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """The recipe that suits `dataset`, with `overrides` (a space's TRAIN_DEFAULTS, CLI flags) applied.

    Unknown keys and values of the wrong type raise ConfigError.
    """
    kind = dataset.split(":", 1)[0]
    settings = dict(DATASET_DEFAULTS.get(kind, {}))
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    for key, value in (overrides or {}).items():
        if key not in fields:
            raise ConfigError(f"unknown training setting {key!r}; valid: {', '.join(fields)}")
        settings[key] = _checked_type(key, fields[key].type, value)
    return TrainConfig(**settings)


def _checked_type(key: str, type_name: Any, value: Any) -> Any:
    expected = {"int": int, "float": float, "bool": bool, "str": str}[str(type_name)]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > sys.float_info.max:  # 10**400: no float
            raise ConfigError(f"training setting {key!r} must be a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"training setting {key!r} must be {expected.__name__}, got {value!r}")
    if expected is float and not math.isfinite(value):  # nan passes every `< 0` check
        raise ConfigError(f"training setting {key!r} must be a finite number, got {value!r}")
    return value


def train(
    model: nn.Module,
    data: DataSplits,
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    seed: int = 0,
    on_epoch: Callable[[int, float], bool] | None = None,
    test: bool = False,
    resume_from: Path | None = None,
    save_before_decay: Path | None = None,
) -> dict[str, Any]:
    """Train `model` in place with the recipe; return metrics (val_acc in percent, from the EMA if on:
    the model then ends with the EMA's weights).

    `on_epoch(epoch_index, val_acc)`, when given, is called after each epoch (index from 0) with the
    validation accuracy; returning True stops training (stopped_early). Without it, validation runs
    once, at the end. `test=True` adds test_acc (for retraining a chosen arch; never for selection).
    Raises TrainingDiverged when the loss becomes NaN or infinite. The caller's RNG state is kept.

    Under warm-up-stable-decay (`decay_fraction` > 0), `save_before_decay` is where the state at
    the first step of the decay is saved (weights, optimizer, EMA, steps), and `resume_from` such a
    state of a shorter run of the same recipe: training continues from it, still at the peak rate,
    to this recipe's longer end (new epochs, fresh shuffles), and only its own steps are timed.
    """
    device = torch.device(device)
    rng_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=rng_devices, device_type=device.type):
        torch.manual_seed(seed)
        return _train(model, data, config, device, on_epoch, test, resume_from, save_before_decay)


def _train(
    model: nn.Module,
    data: DataSplits,
    config: TrainConfig,
    device: torch.device,
    on_epoch: Callable[[int, float], bool] | None,
    test: bool,
    resume_from: Path | None = None,
    save_before_decay: Path | None = None,
) -> dict[str, Any]:
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    amp = config.amp and device.type == "cuda"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    train_x = data.train_x.to(device)
    train_y = data.train_y.to(device)
    n = len(train_y)
    batch_size = min(config.batch_size, n)
    steps_per_epoch, total_steps = steps_of(config, n)

    optimizer = _optimizer(model, config)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    padding = round(config.crop_padding * data.image_size)
    if config.augment != "none" and config.crop_padding > 0:
        padding = max(padding, 1)
    augment = make_batch_augment(
        config.augment,
        hflip=config.hflip,
        crop_padding=padding,
        random_erasing=config.random_erasing,
    )
    mix = _mixer(config, data.num_classes)
    ema = None
    if config.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(
            model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )
    resumed = _resume(resume_from, config, total_steps, model, optimizer, ema, device)
    start_step = resumed["steps"] if resumed else 0
    # a resumed run keeps its shorter run's warm-up, so that the schedule continues
    warmup = resumed["warmup"] if resumed else warmup_steps(config, steps_per_epoch, total_steps)
    scheduler = _scheduler(
        optimizer, config, steps_per_epoch, total_steps, warmup=warmup, start_step=start_step
    )
    decay_start = wsd_decay_start(config, total_steps)
    epochs = math.ceil((total_steps - start_step) / steps_per_epoch)

    calibration = train_x[torch.randperm(n, device=device)[: config.bn_recalibration]]
    val_x, val_y = data.val_x.to(device), data.val_y.to(device)

    def evaluate_val() -> float:
        evaluated = ema.module if ema is not None else model
        recalibrate_batch_norm(
            evaluated,
            data.normalize(calibration),
            config.batch_size,
            amp=amp,
            memory_format=memory_format,
        )
        return accuracy_of(
            evaluated,
            val_x,
            val_y,
            config.eval_batch_size,
            device,
            mean=data.mean,
            std=data.std,
            amp=config.amp,
            channels_last=config.channels_last,
        )

    losses = torch.zeros(steps_per_epoch, device=device)
    # over every step, a resumed run's earlier ones included: the training-speed estimate
    loss_sum = torch.tensor(resumed["loss_sum"] if resumed else 0.0, device=device)
    train_s = eval_s = 0.0
    val_acc = None
    epochs_run = 0
    steps_run = start_step
    stopped_early = False
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n, device=device)
        epoch_steps = min(
            steps_per_epoch, total_steps - steps_run
        )  # a step budget's last is partial
        for step in range(epoch_steps):
            index = order[step * batch_size : (step + 1) * batch_size]
            x = normalize(augment(train_x[index]), data.mean, data.std)
            target = train_y[index]
            if mix is not None:
                x, target = mix(x, target)
            x = x.contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                loss = loss_fn(model(x), target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            losses[step] = loss.detach()
            if save_before_decay is not None and steps_run + step + 1 == decay_start:
                done = steps_run + step + 1
                total_loss = float(loss_sum + losses[: step + 1].sum())
                _save_state(
                    save_before_decay, config, done, warmup, total_loss, model, optimizer, ema
                )
        # checked once per epoch so that CUDA need not synchronise at every step
        epoch_losses = losses[:epoch_steps]
        _check_finite(epoch_losses, epoch)
        loss_sum += epoch_losses.sum()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_s += time.perf_counter() - start
        epochs_run += 1
        steps_run += epoch_steps
        val_acc = None
        if on_epoch is not None:
            start = time.perf_counter()
            val_acc = evaluate_val()
            eval_s += time.perf_counter() - start
            if on_epoch(epoch, val_acc):
                stopped_early = epoch + 1 < epochs
                break

    start = time.perf_counter()
    if val_acc is None:
        val_acc = evaluate_val()
    result = {
        "val_acc": val_acc,
        "train_loss": float(epoch_losses.mean()),
        # Ru et al. (NeurIPS 2021): the sum of training losses ranks archs; per step, so that
        # budgets of other lengths read alike (lower is better; a score, not an accuracy)
        "tse": float(loss_sum) / max(steps_run, 1),
        "steps": steps_run,
        "images_seen": steps_run * batch_size,
        "warm_start_steps": start_step,  # steps that came from a resumed state, not timed here
        "train_s": train_s,
        "images_per_s": (steps_run - start_step) * batch_size / train_s if train_s > 0 else 0.0,
        "epochs": epochs_run,
        "batch_size": batch_size,
        "image_size": data.image_size,
        "stopped_early": stopped_early,
    }
    if test and data.test_x is not None:  # after evaluate_val: batch norm is recalibrated
        result["test_acc"] = accuracy_of(
            ema.module if ema is not None else model,
            data.test_x,
            data.test_y,
            config.eval_batch_size,
            device,
            mean=data.mean,
            std=data.std,
            amp=config.amp,
            channels_last=config.channels_last,
        )
    result["eval_s"] = eval_s + time.perf_counter() - start
    if ema is not None:  # the model ends holding the weights that were evaluated
        model.load_state_dict(ema.module.state_dict())
    return result


@torch.no_grad()
def recalibrate_batch_norm(
    model: nn.Module,
    x: torch.Tensor,
    batch_size: int,
    *,
    amp: bool = False,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> None:
    """Re-estimate the running statistics of every batch norm as plain averages over `x` (normalised).

    After a proxy's few hundred steps the running averages lag behind the weights, and a deep net
    evaluated with them can drop to chance (measured: 17% against 91% after recalibration, 2 epochs
    of digits); recomputing them with the final weights is the usual remedy of weight-sharing NAS.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or len(x) == 0:
        return
    was_training = model.training
    model.eval()  # dropout and stochastic depth off; only the norms see batches
    momenta = []
    for norm in norms:
        momenta.append(norm.momentum)
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
        norm.train()
    device_type = x.device.type
    for chunk in x.split(batch_size):
        if len(chunk) < 2:  # a batch of one has no variance
            break
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=amp):
            model(chunk.contiguous(memory_format=memory_format))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(was_training)


def _check_finite(losses: torch.Tensor, epoch: int) -> None:
    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        step = int(bad[0])
        kind = "nan" if torch.isnan(losses[step]) else "infinite"
        raise TrainingDiverged(f"loss became {kind} at epoch {epoch + 1}, step {step + 1}")


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for param in model.parameters():
        if param.requires_grad:
            # norm scales/shifts and biases are 1-d: decaying them only hurts
            (no_decay if param.ndim <= 1 else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(
        groups, lr=config.lr, momentum=config.momentum, nesterov=config.momentum > 0
    )


# warm-up takes at most this share of a run's steps, so that even a one-epoch budget anneals
MAX_WARMUP_FRACTION = 1 / 3


def warmup_steps(config: TrainConfig, steps_per_epoch: int, total_steps: int) -> int:
    """Steps of linear warm-up: the recipe's warm-up epochs, at most a third of the run (earlier
    versions capped it at every step but the last, so a one-epoch budget never annealed)."""
    return min(
        round(config.warmup_epochs * steps_per_epoch), int(total_steps * MAX_WARMUP_FRACTION)
    )


def steps_of(config: TrainConfig, num_train: int) -> tuple[int, int]:
    """(steps per epoch, total steps) of a training on `num_train` images: the ragged last batch
    is dropped (a batch of 1 breaks batch norm); a recipe's `steps` replaces its epochs."""
    steps_per_epoch = num_train // min(config.batch_size, num_train)
    return steps_per_epoch, config.steps or steps_per_epoch * config.epochs


def epochs_of(config: TrainConfig, num_train: int) -> int:
    """Passes over the training set a recipe makes (the last one partial under a step budget)."""
    steps_per_epoch, total = steps_of(config, num_train)
    return math.ceil(total / steps_per_epoch)


def schedule_changed(config: TrainConfig, num_train: int) -> bool:
    """Whether this recipe's warm-up is shorter now than before the one-third cap: results trained
    under the old schedule then belong to another protocol."""
    steps_per_epoch, total = steps_of(config, num_train)
    wanted = round(config.warmup_epochs * steps_per_epoch)
    return min(wanted, total - 1) != warmup_steps(config, steps_per_epoch, total)


def wsd_decay_start(config: TrainConfig, total_steps: int) -> int | None:
    """The first step of a warm-up-stable-decay schedule's decay (None under cosine)."""
    if not config.decay_fraction:
        return None
    return max(total_steps - round(config.decay_fraction * total_steps), 1)


def _scheduler(
    optimizer: torch.optim.Optimizer,
    config: TrainConfig,
    steps_per_epoch: int,
    total_steps: int,
    *,
    warmup: int | None = None,
    start_step: int = 0,
) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up, then cosine annealing to zero at the last step; or, with decay_fraction,
    warm-up, the peak rate held, and a linear decay to zero over the last fraction (warm-up-
    stable-decay, Hu et al. 2024), from `start_step` on for a resumed run (whose warm-up was its
    shorter run's: `warmup`)."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR

    if warmup is None:
        warmup = warmup_steps(config, steps_per_epoch, total_steps)
    decay_start = wsd_decay_start(config, total_steps)
    if decay_start is not None:

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            if step < decay_start:
                return 1.0
            return max(total_steps - step, 0) / max(total_steps - decay_start, 1)

        return LambdaLR(optimizer, lambda step: factor(start_step + step))
    cosine = CosineAnnealingLR(optimizer, T_max=max(total_steps - warmup, 1))
    if warmup <= 0:
        return cosine
    linear = LinearLR(optimizer, start_factor=1.0 / (warmup + 1), total_iters=warmup)
    return SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


def _save_state(
    path: Path,
    config: TrainConfig,
    steps: int,
    warmup: int,
    loss_sum: float,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: nn.Module | None,
) -> None:
    """Save what a longer run continues from, under a temporary name then renamed (a reader
    never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "recipe": dataclasses.asdict(config),
        "steps": steps,
        "warmup": warmup,
        "loss_sum": loss_sum,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "ema": ema.state_dict() if ema is not None else None,
    }
    partial = path.with_name(path.name + ".tmp")
    torch.save(state, partial)
    partial.replace(path)


# recipe fields a resumed run may change: its length (the rest must be the saved run's)
_LENGTH_FIELDS = ("epochs", "steps")


def _resume(
    path: Path | None,
    config: TrainConfig,
    total_steps: int,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    ema: nn.Module | None,
    device: torch.device,
) -> dict[str, Any] | None:
    """Load a saved state into the model, optimizer and EMA; None (train from the start) when
    there is none. A state of another recipe, or one not shorter than this run, is refused."""
    if path is None or not path.exists():
        return None
    if not config.decay_fraction:
        raise ValueError("only a warm-up-stable-decay recipe (decay_fraction > 0) can continue")
    state = torch.load(path, map_location=device, weights_only=True)
    saved = {k: v for k, v in state["recipe"].items() if k not in _LENGTH_FIELDS}
    now = {k: v for k, v in dataclasses.asdict(config).items() if k not in _LENGTH_FIELDS}
    if saved != now or state["steps"] >= total_steps or (state["ema"] is None) != (ema is None):
        raise ValueError(f"{path} was saved by another recipe or a longer run: it cannot continue")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    for group in optimizer.param_groups:  # the schedule sets the rate from the peak
        group["lr"] = config.lr
        group.pop("initial_lr", None)
    if ema is not None:
        ema.load_state_dict(state["ema"])
    return state


def _mixer(config: TrainConfig, num_classes: int) -> Callable | None:
    from torchvision.transforms import v2

    mixers = []
    if config.mixup > 0:
        mixers.append(v2.MixUp(alpha=config.mixup, num_classes=num_classes))
    if config.cutmix > 0:
        mixers.append(v2.CutMix(alpha=config.cutmix, num_classes=num_classes))
    if not mixers:
        return None
    return mixers[0] if len(mixers) == 1 else v2.RandomChoice(mixers)


@torch.inference_mode()
def accuracy_of(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
    *,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    amp: bool = True,
    channels_last: bool = False,
) -> float:
    """Top-1 accuracy in percent of `model` on images `x` and labels `y`, in eval mode.

    `x` is either float (already normalised) or uint8, which needs the `mean`/`std` it is
    standardised with (DataSplits.mean/std).
    """
    device = torch.device(device)
    if x.dtype == torch.uint8 and (mean is None or std is None):
        raise ValueError("uint8 images need mean= and std= (DataSplits.mean, DataSplits.std)")
    if len(y) == 0:
        return 0.0
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    was_training = model.training
    model.eval()
    correct = 0
    for xb, yb in zip(x.split(batch_size), y.split(batch_size), strict=True):
        xb = xb.to(device)
        xb = normalize(xb, mean, std) if xb.dtype == torch.uint8 else xb.float()
        xb = xb.contiguous(memory_format=memory_format)
        with torch.autocast(
            device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"
        ):
            logits = model(xb)
        correct += int((logits.argmax(dim=1) == yb.to(device)).sum())
    model.train(was_training)
    return 100.0 * correct / len(y)
