"""Benchmark script: does a zero-cost warm-up help a search? Measured in tabular mode.

    OMP_NUM_THREADS=1 python experiments/zero_cost_warmup.py [--seeds 20] [--candidates 100]
        [--enqueue 10] [--proxy synflow] [--images ~/.cache/nasbench-data/cifar10-jpeg]

For nb201-cifar10 and nas-bench-macro, each seed runs the default single-objective search (the
`local` sampler) for 100 trials twice: as it is, and after a warm-up that scores `candidates`
random archs (seeded) with a zero-cost proxy on one batch of 64 CIFAR-10 training images and
enqueues the `enqueue` best first. It prints the best-by-selection arch's reported accuracy at 25,
50 and 100 trials (mean, std, standard error over seeds), the paired difference at 50 trials with
its standard error, and the warm-up's scoring time per search on this CPU. "Helps" means a higher
mean at 50 trials by more than the standard error of the paired difference, on both tables.
Writes reports/zero_cost_warmup_PROXY.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import torch
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from nasbench import zero_cost
from nasbench.arch import flatten_arch
from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import load_benchmark
from nasbench.results.formats import Column, render
from nasbench.search import samplers
from nasbench.spaces import load_space
from nasbench.zero_cost import zero_cost_score

TABLES = ("nb201-cifar10", "nas-bench-macro")
CHECKPOINTS = (25, 50, 100)
TRIALS = 100
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def cifar_batch(
    folder: Path, size: int = zero_cost.BATCH_SIZE, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    dataset = ImageFolder(str(folder / "train"), transform=v2.Compose(
        [v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(CIFAR_MEAN, CIFAR_STD)]
    ))  # fmt: skip
    pick = np.random.default_rng(seed).choice(len(dataset), size, replace=False)
    images, labels = zip(*(dataset[int(i)] for i in pick), strict=True)
    return torch.stack(images), torch.tensor(labels)


def run(bench, space, lookup, seed, enqueued):  # noqa: ANN001, ANN201
    sampler = samplers.make_sampler("local", seed=seed, n_objectives=1, space=space, parallel=False)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for key in enqueued:
        study.enqueue_trial(flatten_arch(parse_arch_string(bench.space, key)))
    best_val, best_test, curve = -1.0, float("nan"), []
    for _ in range(TRIALS):
        trial = study.ask()
        val, test = lookup[bench.key(space.suggest(trial))]
        study.tell(trial, val)
        if val > best_val:
            best_val, best_test = val, test
        curve.append(best_test)
    return [curve[c - 1] for c in CHECKPOINTS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--enqueue", type=int, default=10)
    parser.add_argument("--proxy", default="synflow")
    parser.add_argument("--images", default=str(Path.home() / ".cache/nasbench-data/cifar10-jpeg"))
    parser.add_argument("--out", default="reports")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.manual_seed(0)
    inputs, targets = cifar_batch(Path(args.images))
    lines = [
        f"# Zero-cost warm-up ({args.proxy}: {args.candidates} random candidates scored, best "
        f"{args.enqueue} enqueued) against none, {args.seeds} seeds, local search\n",
        "Produced by `OMP_NUM_THREADS=1 python experiments/zero_cost_warmup.py "
        f"--seeds {args.seeds} --candidates {args.candidates} --enqueue {args.enqueue} "
        f"--proxy {args.proxy}`.\n",
    ]
    for name in TABLES:
        bench = load_benchmark(name)
        space = load_space(bench.space)
        reported = bench.frame["test_acc"]
        lookup = dict(zip(bench.frame.index, zip(bench.frame["val_acc"], reported, strict=True),
                          strict=True))  # fmt: skip
        scores: dict[str, float] = {}
        rows, seconds = [], 0.0
        for seed in range(args.seeds):
            pool = np.random.default_rng(10_000 + seed).choice(
                bench.frame.index.to_numpy(), args.candidates, replace=False
            )
            for key in pool:
                if key not in scores:  # an arch drawn again by another seed is scored once
                    start = time.perf_counter()
                    torch.manual_seed(seed)
                    model = space.build(parse_arch_string(bench.space, key), 10, 3, 32)
                    score = zero_cost_score(args.proxy, model, inputs, targets)
                    scores[key] = score if np.isfinite(score) else -np.inf
                    seconds += time.perf_counter() - start
            best = sorted(pool, key=lambda k: -scores[k])[: args.enqueue]
            rows.append(["none", seed, *run(bench, space, lookup, seed, [])])
            rows.append([args.proxy, seed, *run(bench, space, lookup, seed, best)])
        frame = pd.DataFrame(rows, columns=["warmup", "seed", *[f"at_{c}" for c in CHECKPOINTS]])
        summary = frame.groupby("warmup", sort=False).agg(["mean", "std"])
        summary.columns = [f"{a}_{b}" for a, b in summary.columns]
        summary = summary.drop(columns=["seed_mean", "seed_std"]).reset_index()
        pivot = frame.pivot(index="seed", columns="warmup", values="at_50")
        diff = pivot[args.proxy] - pivot["none"]
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        verdict = "helps" if diff.mean() > se else "does not help"
        per_search = args.candidates * seconds / len(scores)
        lines.append(f"\n## {name}\n")
        lines.append(render(summary, "md", [Column(c, decimals=2) for c in summary.columns[1:]]))
        lines.append(
            f"\nAt 50 trials: warm-up minus none = {diff.mean():+.3f} (standard error {se:.3f}, "
            f"better on {int((diff > 0).sum())}, worse on {int((diff < 0).sum())} of "
            f"{len(diff)} seeds): {verdict}. Scoring {args.candidates} candidates (building each "
            f"network and scoring it) takes {per_search:.1f} s a search on this CPU; a tabular "
            "trial costs nothing.\n"
        )
        print("\n".join(lines[-3:]), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"zero_cost_warmup_{args.proxy}.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
