"""Proxy-training throughput: nasbench.train.train against two plain PyTorch loops, in one run.

All three train the same model (same initial weights) on the same data with the same batch size,
epochs, optimizer, schedule, loss and augmentation:
- the plain DataLoader loop: a map-style Dataset with per-sample torchvision transforms, a
  torch.utils.data.DataLoader, `for x, y in loader:` (what tutorials do);
- the in-memory loop: the training set already on the device as uint8 tensors, batches taken by
  indexing a permutation, augmented as whole batches, normalised, channels_last and bf16 autocast
  on CUDA as ours: the strongest plain loop, with nothing of a harness around it;
- nasbench train() (also with channels_last off, to show where the difference comes from).
Timings cover the training epochs only (no evaluation), median over --repeats, runs interleaved so
that load from other processes hits all variants alike; CUDA is synchronised before each clock
read. It prints ours against each plain loop as a ratio of images per second.

    python experiments/bench_training_throughput.py            # digits, the default recipe (~1-2 min)
    python experiments/bench_training_throughput.py --epochs 2 --repeats 5 --augment flip_crop
    python experiments/bench_training_throughput.py --device cuda --dataset imagefolder:DIR --arch mobilenet:mobilenet_v2
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from nasbench.arch_strings import resolve_arch
from nasbench.data import load_dataset, make_batch_augment, normalize
from nasbench.spaces import load_space
from nasbench.train import AUGMENTS, TrainConfig, accuracy_of, default_train_config, train

# A small arch of the mobilenet space, typical of what a digits search trains.
TYPICAL_ARCH = {
    "width_mult": 0.35,
    "depths": [1, 2, 2, 1, 1, 1, 1],
    "expand_ratios": [1, 3, 3, 3, 3, 3, 3],
    "kernel_sizes": [3, 3, 5, 3, 3, 3, 3],
    "se": [False] * 7,
    "activations": ["relu"] * 7,
    "last_channels": 0,
    "dropout": 0.1,
}


class ImageDataset(Dataset):
    """Map-style dataset: one image at a time through per-sample transforms, as tutorials do."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform: v2.Transform) -> None:
        self.x, self.y, self.transform = x, y, transform

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.x[i]), int(self.y[i])


DATALOADER, IN_MEMORY, OURS = "plain DataLoader loop", "in-memory loop", "nasbench train()"


def plain_recipe(model: nn.Module, config: TrainConfig, steps_per_epoch: int) -> tuple:
    """The plain loops' optimizer, schedule and loss, as the recipe has them: SGD with Nesterov
    momentum, linear warm-up then cosine annealing stepped per iteration, label smoothing."""
    total = steps_per_epoch * config.epochs
    warmup = round(config.warmup_epochs * steps_per_epoch)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                nesterov=True, weight_decay=config.weight_decay)  # fmt: skip
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup))
    if warmup:
        linear = torch.optim.lr_scheduler.LinearLR(optimizer, 1 / (warmup + 1), total_iters=warmup)
        scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [linear, scheduler], [warmup])
    return optimizer, scheduler, nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)


def plain_loop(model: nn.Module, data, config: TrainConfig, workers: int, device: str) -> float:  # noqa: ANN001
    """Train with a DataLoader and the usual loop; return the seconds the epochs took."""
    device = torch.device(device)
    cuda = device.type == "cuda"
    model.to(device)
    size = data.image_size
    steps = []
    if config.augment != "none":
        padding = max(1, round(config.crop_padding * size))
        steps.append(v2.RandomCrop(size, padding=padding))
        if config.hflip:
            steps.append(v2.RandomHorizontalFlip())
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(data.mean, data.std)]
    loader = DataLoader(
        ImageDataset(data.train_x, data.train_y, v2.Compose(steps)),
        batch_size=config.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=cuda,
    )
    optimizer, scheduler, criterion = plain_recipe(model, config, len(loader))
    _synchronize(device)
    start = time.perf_counter()
    model.train()
    for _ in range(config.epochs):
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            optimizer.zero_grad()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda and config.amp):
                loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
    _synchronize(device)
    return time.perf_counter() - start


def in_memory_loop(model: nn.Module, data, config: TrainConfig, device: str) -> float:  # noqa: ANN001
    """Train over batched tensors already on the device; return the seconds the epochs took."""
    device = torch.device(device)
    model.to(device)
    cuda = device.type == "cuda"
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    train_x, train_y = data.train_x.to(device), data.train_y.to(device)
    padding = max(1, round(config.crop_padding * data.image_size))
    augment = make_batch_augment(config.augment, hflip=config.hflip, crop_padding=padding)
    steps = len(train_y) // config.batch_size
    optimizer, scheduler, criterion = plain_recipe(model, config, steps)
    _synchronize(device)
    start = time.perf_counter()
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(train_y), device=device)
        for step in range(steps):
            index = order[step * config.batch_size : (step + 1) * config.batch_size]
            x = normalize(augment(train_x[index]), data.mean, data.std)
            x = x.contiguous(memory_format=memory_format)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda and config.amp):
                loss = criterion(model(x), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    _synchronize(device)
    return time.perf_counter() - start


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--arch", default=None, help="SPACE:NAME or SPACE:FILE.json (default: a small mobilenet)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="default: the dataset's recipe")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument(
        "--augment",
        choices=AUGMENTS[:2],
        nargs="+",
        default=None,
        help="one run per choice (default: the dataset's recipe, then flip_crop)",
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="default: torch's default")
    parser.add_argument(
        "--workers", type=int, default=0, help="DataLoader workers of the plain loop"
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--train-fraction", type=float, default=1.0, help="a stratified share of the training set"
    )
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    base = default_train_config(args.dataset)
    augments = args.augment or list(dict.fromkeys([base.augment, "flip_crop"]))
    data = load_dataset(args.dataset, data_dir=args.data_dir, train_fraction=args.train_fraction)
    if args.arch:
        space, arch, label = resolve_arch(args.arch)
    else:
        space, arch, label = load_space("mobilenet"), TYPICAL_ARCH, "mobilenet (small, typical)"
    torch.manual_seed(0)
    initial = space.build(arch, data.num_classes, data.in_channels, data.image_size)
    print(
        f"model: {label}; dataset {args.dataset} ({len(data.train_y)} training images, "
        f"{data.image_size}x{data.image_size}); torch threads {torch.get_num_threads()}; "
        f"median of {args.repeats} repeats"
    )
    for augment in augments:
        overrides = {"augment": augment}
        overrides.update(
            {
                k: v
                for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size))
                if v is not None
            }
        )
        compare(initial, data, default_train_config(args.dataset, overrides), args)


def compare(initial: nn.Module, data, config: TrainConfig, args: argparse.Namespace) -> None:  # noqa: ANN001
    """Time both plain loops and our train() (channels_last on and off), interleaved; print a
    table and our ratios against each plain loop."""
    images = (len(data.train_y) // config.batch_size) * config.batch_size * config.epochs
    variants = {
        DATALOADER: None,
        IN_MEMORY: None,
        OURS: config,
        "nasbench train(), channels_last off": dataclasses.replace(config, channels_last=False),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in variants}
    accuracy: dict[str, float] = {}
    for repeat in range(args.repeats):
        for name, variant in variants.items():
            model = copy.deepcopy(initial)
            torch.manual_seed(repeat)
            cpu_start = time.process_time()
            if variant is None:
                if name == DATALOADER:
                    took = plain_loop(model, data, config, args.workers, args.device)
                else:
                    took = in_memory_loop(model, data, config, args.device)
                seconds[name].append(took)
                accuracy[name] = accuracy_of(
                    model, data.val_x, data.val_y, 1024, args.device, mean=data.mean, std=data.std
                )
            else:
                result = train(model, data, variant, device=args.device, seed=repeat)
                seconds[name].append(result["train_s"])
                accuracy[name] = result["val_acc"]
            cpu_seconds[name].append(time.process_time() - cpu_start)
            print(
                f"  repeat {repeat + 1}: {name}: {seconds[name][-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )

    hflip = " + hflip" if config.hflip and config.augment != "none" else ""
    print(
        f"augment {config.augment}{hflip}, epochs {config.epochs}, batch {config.batch_size}, "
        f"device {args.device}:"
    )
    baseline = statistics.median(seconds[DATALOADER])
    cpu_baseline = statistics.median(cpu_seconds[DATALOADER])
    for name in variants:
        median, cpu = statistics.median(seconds[name]), statistics.median(cpu_seconds[name])
        print(
            f"  {name:38s} {images / median:7.0f} images/s ({median:6.2f} s) x{baseline / median:4.2f}"
            f" | CPU time of the whole call {cpu:6.2f} s x{cpu_baseline / cpu:4.2f}"
            f" | val acc {accuracy[name]:.1f}%",
            flush=True,
        )
    ours = statistics.median(seconds[OURS])
    print(
        f"  ratio, images/s of nasbench train(): {baseline / ours:.2f}x the DataLoader loop, "
        f"{statistics.median(seconds[IN_MEMORY]) / ours:.2f}x the in-memory loop",
        flush=True,
    )


if __name__ == "__main__":
    main()
