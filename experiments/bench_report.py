"""Benchmark: `nasbench report` over 10,000 synthetic-but-realistic trials (targets: <= 10 s, <= 15 MB).

    .venv/bin/python experiments/bench_report.py [--trials 10000] [--keep DIR] [--profile]
                                                 [--optuna-params]

Builds a SQLite database with a mobilenet-like study (results rows plus the matching Optuna study
made through optuna's own API: create_trial + add_trials) and ten reference models, then times
write_report. The report reads only study-level attrs from Optuna's tables, so by default the
Optuna trials carry states, values and user attrs but not their 45 params: with params, Optuna's
RDB storage needs ~140 ms a trial here (about 25 minutes for 10,000); --optuna-params adds them.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import optuna
import sqlalchemy as sa
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nasbench.report.page import write_report  # noqa: E402
from nasbench.results import store  # noqa: E402
from nasbench.spaces import arch_hash  # noqa: E402

STUDY = "mobilenet_cifar10"
STAGES = 7
# the mobilenet space's suggest() choices, copied so the benchmark needs no torch
CHOICES = {
    "width_mult": [0.25, 0.35, 0.5, 0.75, 1.0],
    "depths": [1, 2, 3],
    "expand_ratios": [1, 3, 6],
    "kernel_sizes": [3, 5, 7],
    "se": [False, True],
    "activations": ["relu", "hardswish"],
    "last_channels": [0, 256, 512, 1024],
    "dropout": [0.0, 0.1, 0.2],
}
PER_STAGE = ("depths", "expand_ratios", "kernel_sizes", "se", "activations")
WIDTHS = (16, 24, 32, 64, 96, 160, 320)
BASELINES = {  # name: (MACs, params, accuracy) of reference models at 32x32
    "resnet18": (557e6, 11.2e6, 93.1),
    "resnet50": (1.30e9, 23.5e6, 93.9),
    "mobilenet_v2": (6.3e6, 2.2e6, 90.4),
    "mobilenet_v3_small": (2.0e6, 1.5e6, 87.2),
    "mobilenet_v3_large": (7.0e6, 4.2e6, 90.9),
    "efficientnet_b0": (8.0e6, 4.0e6, 91.2),
    "regnet_y_400mf": (26e6, 3.9e6, 91.8),
    "mnasnet1_0": (6.5e6, 3.1e6, 90.1),
    "vgg11_bn": (153e6, 9.8e6, 91.5),
    "shufflenet_v2_x1_0": (3.0e6, 1.3e6, 88.6),
}


def sample_arch(rng: np.random.Generator) -> dict:
    arch = {}
    for key, choices in CHOICES.items():
        if key in PER_STAGE:
            arch[key] = [choices[rng.integers(len(choices))] for _ in range(STAGES)]
        else:
            arch[key] = choices[rng.integers(len(choices))]
    return _plain(arch)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") else value


def cost_of(arch: dict) -> tuple[float, float]:
    """Rough MACs and params of an MBConv net on 32x32 inputs (shape, not exactness, matters)."""
    macs = params = 0.0
    size, width = 32.0, 32 * arch["width_mult"]
    for i in range(STAGES):
        out = max(8.0, WIDTHS[i] * arch["width_mult"])
        if i in (2, 3, 5):
            size /= 2
        for _ in range(arch["depths"][i]):
            hidden = width * arch["expand_ratios"][i]
            k2 = arch["kernel_sizes"][i] ** 2
            block = width * hidden + hidden * k2 + hidden * out
            params += block + (hidden * hidden / 2 if arch["se"][i] else 0)
            macs += block * size * size
            width = out
    if arch["last_channels"]:
        params += width * arch["last_channels"]
        macs += width * arch["last_channels"] * size * size
    return macs, params + 10 * (arch["last_channels"] or width)


def synthetic_rows(n: int, rng: np.random.Generator) -> tuple[list[dict], list]:
    """n results rows and the matching Optuna trials (acc, MACs objectives)."""
    rows, trials = [], []
    start = datetime(2025, 1, 1, tzinfo=UTC)
    seen: dict[str, int] = {}
    distributions = {}
    for key, choices in CHOICES.items():
        names = [f"{key}_{i}" for i in range(STAGES)] if key in PER_STAGE else [key]
        for name in names:
            distributions[name] = CategoricalDistribution(choices)
    for number in range(n):
        arch = sample_arch(rng)
        h = arch_hash(arch)
        macs, params = cost_of(arch)
        acc = 60 + 32 / (1 + math.exp(-(math.log10(macs) - 6.3) * 1.8)) + rng.normal(0, 1.5)
        acc -= 2.0 * (arch["activations"].count("relu") / STAGES) - 1.0 * sum(arch["se"]) / STAGES
        latency = 0.05 + macs / 4e8 + 0.02 * sum(arch["depths"]) + abs(rng.normal(0, 0.02))
        status, error, reused = "complete", None, None
        draw = rng.random()
        if h in seen:
            status, reused = "reused", seen[h]
            error = f"reused the result of {STUDY} trial {reused}"
        elif draw < 0.03:
            status, error = "failed", "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"
        elif draw < 0.05:
            status, error = "infeasible", f"macs {macs:.0f} > max_macs 60000000"
        elif draw < 0.08:
            status, error = "pruned", "hopeless after 3 epochs: 31.2 % < 55.0 % needed"
        seen.setdefault(h, number)
        finished = start + timedelta(seconds=40 * number + 35)
        row = {
            "study_name": STUDY,
            "trial_number": number,
            "source": "search",
            "name": f"trial {number}",
            "space": "mobilenet",
            "arch": arch,
            "arch_hash": h,
            "protocol_hash": "p0",
            "status": status,
            "error": error,
            "reused_from": reused,
            "dataset": "cifar10",
            "image_size": 32,
            "batch_size": 256,
            "epochs": 10,
            "seed": number,
            "device": "cuda",
            "device_name": "NVIDIA H100 80GB HBM3",
            "dtype": "float32",
            "threads": 16,
            "torch_version": "2.14.1",
            "cuda_version": "12.8",
            "code_version": "0.1.0+gabc1234",
            "started_at": start + timedelta(seconds=40 * number),
            "finished_at": finished,
        }
        if status != "failed":
            row.update(
                macs=int(macs),
                params=int(params),
                latency_ms=latency,
                latency_iqr_ms=latency * 0.05,
                latency_repeats=30,
                latency_batch_size=1,
                peak_memory_mb=params * 4e-6 * 3 + 20,
            )
        if status in ("complete", "reused"):
            row.update(
                val_acc=float(acc),
                test_acc=float(acc - abs(rng.normal(0.3, 0.3))),
                train_loss=float(1.5 - acc / 100),
                train_s=float(30 + macs / 5e6),
                images_per_s=float(50000 * 10 / (30 + macs / 5e6)),
            )
        rows.append(row)
        params_of = {}
        for key in CHOICES:
            if key in PER_STAGE:
                params_of.update({f"{key}_{i}": v for i, v in enumerate(arch[key])})
            else:
                params_of[key] = arch[key]
        state = {
            "complete": TrialState.COMPLETE,
            "reused": TrialState.COMPLETE,
            "infeasible": TrialState.COMPLETE,
            "pruned": TrialState.PRUNED,
            "failed": TrialState.FAIL,
        }[status]
        values = (
            [float(row.get("val_acc") or 0.0), float(macs)]
            if state == TrialState.COMPLETE
            else None
        )
        trials.append(
            create_trial(
                state=state,
                params=params_of,
                distributions=distributions,
                values=values,
                user_attrs={"status": status, "arch_hash": h},
            )
        )
    for name, (macs, params, acc) in BASELINES.items():
        rows.append(
            {
                "study_name": STUDY,
                "source": "baseline",
                "name": name,
                "space": "torchvision",
                "arch": {"model": name},
                "arch_hash": arch_hash({"model": name}),
                "status": "complete",
                "val_acc": acc,
                "macs": int(macs),
                "params": int(params),
                "latency_ms": 0.05 + macs / 4e8,
                "dataset": "cifar10",
                "image_size": 32,
                "epochs": 10,
                "device_name": "NVIDIA H100 80GB HBM3",
                "torch_version": "2.14.1",
            }
        )
    return rows, trials


def _fast_sqlite(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = OFF")  # a throwaway database: no fsync per trial
    cursor.close()


def build_database(url: str, n: int, optuna_params: bool = False) -> None:
    rng = np.random.default_rng(0)
    rows, trials = synthetic_rows(n, rng)
    store.ensure_schema(url)
    columns = store.COLUMNS[1:]
    with store.get_engine(url).begin() as conn:
        conn.execute(sa.insert(store.results), [{c: r.get(c) for c in columns} for r in rows])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(url)
    sa.event.listen(storage.engine, "connect", _fast_sqlite)
    storage.engine.dispose()
    study = optuna.create_study(
        study_name=STUDY, storage=storage, directions=["maximize", "minimize"]
    )
    for key, value in {
        "space": "mobilenet",
        "dataset": "cifar10",
        "image_size": 32,
        "epochs": 10,
        "batch_size": 256,
        "objectives": ["acc", "macs"],
        "sampler": "NSGAIISampler",
        "device": "cuda",
        "torch_version": "2.14.1",
        "optuna_version": optuna.__version__,
        "code_version": "0.1.0+gabc1234",
    }.items():
        study.set_user_attr(key, value)
    if not optuna_params:
        trials = [
            create_trial(state=t.state, values=t.values, user_attrs=t.user_attrs) for t in trials
        ]
    study.add_trials(trials)
    storage.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--keep", default=None, help="folder to keep the database and report in")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest calls")
    parser.add_argument(
        "--optuna-params",
        action="store_true",
        help="store every trial's params in the Optuna study too (slow)",
    )
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench_report_"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        t = time.perf_counter()
        build_database(url, args.trials, args.optuna_params)
        print(f"built {db} with {args.trials} trials in {time.perf_counter() - t:.1f} s")
    store.dispose_engines()
    output = folder / "report.html"
    profiler = cProfile.Profile() if args.profile else None
    t, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    path = write_report(url, None, str(output))
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
    size_mb = path.stat().st_size / 1e6
    # CPU time as well: on a shared, busy machine the wall-clock figure mostly measures waiting
    print(
        f"write_report: {seconds:.2f} s wall, {cpu:.2f} s CPU, {size_mb:.2f} MB ({path}) "
        f"[targets: <= 10 s, <= 15 MB]"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
