"""The GPU path end to end, in one short script (under 5 minutes on one GPU): data resident on the
device, bf16 autocast, channels_last, latency with synchronisation, peak memory, a search with two
workers on one GPU, an out-of-memory trial recorded as infeasible, and the training-throughput
comparison on CIFAR-10-sized inputs (a subset of the JPEG CIFAR-10) for a MobileNetV2-scale arch.

    python experiments/bench_gpu.py [--zip ../shared/data/cifar10_jpeg.zip] [--per-class 500]

Without CUDA it is a dry run: the same steps on the CPU at a tiny size, the CUDA-only ones skipped
with a line saying so, so that the script is known to work before a GPU is spent on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import torch

from nasbench.data import load_dataset
from nasbench.evaluation.context import Context, Request, make_recipe
from nasbench.evaluation.limits import OUT_OF_MEMORY
from nasbench.evaluation.trained import evaluate_trained
from nasbench.measure import measure_model
from nasbench.results import store
from nasbench.spaces import load_space
from nasbench.train import train

ROOT = Path(__file__).resolve().parents[1]
MOBILENET_V2 = load_space("mobilenet").mobilenet_v2_arch(1.0)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def skip(reason: str) -> None:
    print(f"   skipped: {reason}", flush=True)


def unpack_subset(archive: Path, per_class: int, folder: Path) -> Path:
    """The first `per_class` images of each class of both splits, as an imagefolder tree."""
    with zipfile.ZipFile(archive) as source:
        taken: dict[tuple[str, str], int] = {}
        for name in sorted(source.namelist()):
            parts = name.split("/")
            if not name.endswith(".jpg") or len(parts) < 3:
                continue
            split, label = parts[-3], parts[-2]
            key = (split, label)
            limit = per_class if split == "train" else max(1, per_class // 5)
            if taken.get(key, 0) < limit:
                target = folder / split / label / parts[-1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read(name))
                taken[key] = taken.get(key, 0) + 1
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", type=Path, default=ROOT.parent / "shared/data/cifar10_jpeg.zip")
    parser.add_argument("--per-class", type=int, default=None, help="default 500 (CUDA), 20 (dry)")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    per_class = args.per_class or (500 if cuda else 20)
    started = time.perf_counter()
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, device {device}"
          + (f" ({torch.cuda.get_device_name(0)})" if cuda else ": dry run on the CPU"))  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="nasbench_gpu_"))
    images = unpack_subset(args.zip, per_class, work / "cifar10")
    dataset = f"imagefolder:{images}"
    data = load_dataset(dataset)
    print(f"data: {len(data.train_y)} training, {len(data.val_y)} validation images, "
          f"{data.image_size}x{data.image_size}")  # fmt: skip
    space = load_space("mobilenet")

    step("training with data resident on the device, bf16 autocast, channels_last")
    recipe = make_recipe(data.name, {"epochs": 1, "amp": True, "channels_last": True}, None, 128)
    torch.manual_seed(0)
    model = space.build(MOBILENET_V2, data.num_classes, data.in_channels, data.image_size)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result = train(model, data, recipe, device=device, seed=0)
    resident = f", peak {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB" if cuda else ""
    print(f"   mobilenet_v2: {result['images_per_s']:.0f} images/s, val acc "
          f"{result['val_acc']:.1f} % after 1 epoch{resident}")  # fmt: skip
    if cuda:
        data_bytes = data.train_x.numel() + data.val_x.numel()
        print(f"   the uint8 dataset ({data_bytes / 2**20:.0f} MiB) is copied to the GPU once")
    else:
        skip("bf16 autocast and device-resident data are CUDA paths (amp is ignored on CPU)")

    step("latency with synchronisation, peak memory")
    dtype = "bfloat16" if cuda else "float32"
    for batch in (1, 64):
        row = measure_model(model.cpu(), (batch, 3, 32, 32), device=device, dtype=dtype,
                            budget_s=1.0)  # fmt: skip
        peak = row.get("peak_memory_mb")
        print(f"   batch {batch:3d} {dtype}: {row['latency_ms']:.3f} ms "
              f"(IQR {row['latency_iqr_ms']:.3f}, {row['latency_repeats']} blocks)"
              + (f", peak {peak:.0f} MB" if peak else ""))  # fmt: skip

    step("a search with two workers on one GPU")
    storage = f"sqlite:///{work / 'search.db'}"
    if cuda:
        command = [sys.executable, "-m", "nasbench.cli", "search", "--space", "mobilenet",
                   "--dataset", dataset, "--trials", "6", "--epochs", "1", "--storage", storage,
                   "--study-name", "two_workers", "--devices", "cuda:0,cuda:0"]  # fmt: skip
        begun = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=240)
        rows = store.load_results(storage, ["two_workers"]) if done.returncode == 0 else None
        print(f"   exit {done.returncode} in {time.perf_counter() - begun:.0f} s; "
              + (f"{len(rows)} rows, statuses {rows['status'].value_counts().to_dict()}, "
                 f"devices {sorted(set(rows['device'].dropna()))}" if rows is not None
                 else done.stderr.strip().splitlines()[-1]))  # fmt: skip
    else:
        skip("--devices cuda:0,cuda:0 needs a GPU")

    step("an out-of-memory trial is recorded as infeasible")
    if cuda:
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(256 * 2**20 / total)  # a 256 MiB GPU
        big = {**MOBILENET_V2, "width_mult": 2.0, "depths": [2, 3, 4, 5, 4, 4, 2]}
        ctx = Context(space=space, protocol="oom-check", data=data, device=device,
                      recipe=make_recipe(data.name, {"epochs": 1}, None, 1024))  # fmt: skip
        row = evaluate_trained(big, ctx, Request()).row
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
        ok = row["status"] == "infeasible" and str(row["error"]).startswith(OUT_OF_MEMORY)
        print(f"   status {row['status']}: {row['error']} -> {'as expected' if ok else 'WRONG'}")
    else:
        skip("capping the process's GPU memory needs a GPU")

    step("training throughput against two plain PyTorch loops (MobileNetV2, 32x32)")
    spec = importlib.util.spec_from_file_location(
        "bench_training_throughput", ROOT / "experiments/bench_training_throughput.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    options = argparse.Namespace(repeats=2, workers=min(4, os.cpu_count() or 1), device=device)
    config = make_recipe(data.name, {"epochs": 2 if cuda else 1, "augment": "flip_crop"}, None, 128)
    torch.manual_seed(0)
    initial = space.build(MOBILENET_V2, data.num_classes, data.in_channels, data.image_size)
    bench.compare(initial, data, config, options)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 1), "device": device}))


if __name__ == "__main__":
    main()
