"""Proxy fidelity: train a seeded, stratified sample of a benchmark's archs under proxy budgets (and
score them with zero-cost proxies), store each as a row, and judge the ranking against the table.

A fidelity study samples K archs of a benchmark whose space can be built: the table's archs sorted
by their truth (the table's best estimate of full training) are cut into K strata of equal size and
one arch is drawn from each, so the sample covers the whole range and a few outliers do not decide
the ranking. Each budget (`epochs=2,image_size=16`: any of epochs, image_size, train_fraction,
batch_size over the dataset's search recipe) trains every sampled arch once with the evaluator the
search uses; each zero-cost proxy scores every arch on one batch of training images; params and
MACs are free baselines. Every (budget, arch) is one results row (source "fidelity"), so a rerun
continues where the last one stopped, and new budgets join the same sample. The sample (K, seed,
table, dataset) is stored with the study's Optuna record; a rerun with another is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from nasbench.arch import arch_hash
from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import TabularBenchmark, load_benchmark
from nasbench.budget import ProxyBudget, default_budget
from nasbench.config import DEFAULT_STORAGE, check_study_name
from nasbench.data import DataSplits, load_dataset
from nasbench.errors import UsageError
from nasbench.evaluation.context import Request
from nasbench.evaluation.scored import score_arch
from nasbench.evaluation.tabular import arch_costs
from nasbench.evaluation.trained import evaluate_trained
from nasbench.results import store
from nasbench.results.ranking import ZERO_COST_PREFIX, summarize_fidelity
from nasbench.spaces import load_space
from nasbench.workflow.contexts import budget_data, budget_recipe, trained_context
from nasbench.workflow.rows import done_keys, identity, store_row
from nasbench.workflow.studies import (
    check_heartbeat_settings,
    make_storage,
    quiet_optuna,
    trial_seed,
)
from nasbench.zero_cost import ZERO_COST_PROXIES

COST_BASELINES = ("params", "macs")
SAMPLE_SETTINGS = ("benchmark", "fingerprint", "truth", "dataset", "archs", "seed")


@dataclass
class FidelitySettings:
    """What a fidelity run measures; `budgets` None means one budget: the dataset's recipe."""

    benchmark: str
    dataset: str
    archs: int
    budgets: list[str] | None = None
    zero_cost: list[str] = field(default_factory=list)
    seed: int = 0
    storage: str = DEFAULT_STORAGE
    study_name: str | None = None
    space: str | None = None
    select_column: str | None = None
    report_column: str | None = None
    data_dir: str = "data"
    device: str = "cpu"


def sample_archs(bench: TabularBenchmark, archs: int, seed: int) -> list[str]:
    """`archs` arch strings: one drawn (seeded) from each of `archs` equal-count strata of the
    table sorted by truth, weakest first."""
    if not 2 <= archs <= len(bench):
        raise UsageError(
            f"--archs must be between 2 and the table's {len(bench)} rows, got {archs}"
        )
    ordered = bench.frame["truth"].sort_values(kind="stable").index.to_numpy()
    rng = np.random.default_rng(seed)
    return [str(rng.choice(stratum)) for stratum in np.array_split(ordered, archs)]


def fidelity_budgets(texts: list[str] | None, dataset: str) -> list[ProxyBudget]:
    """The budgets to measure: the search's default on `dataset` when none (or "default") is
    named; an empty one ("") trains nothing (zero-cost proxies only)."""
    if texts is None:
        return [default_budget(dataset)]
    budgets = [ProxyBudget.parse(text) for text in texts if text.strip()]
    return [default_budget(dataset) if budget.is_default else budget for budget in budgets]


def run_fidelity(
    settings: FidelitySettings, progress: Callable[[str], None] | None = None
) -> pd.DataFrame:
    """Measure every missing (budget, arch) of the study and return its summary (fidelity_summary)."""
    quiet_optuna()
    bench = load_benchmark(
        settings.benchmark, settings.space, settings.select_column, settings.report_column
    )
    budgets = fidelity_budgets(settings.budgets, settings.dataset)
    unknown = [z for z in settings.zero_cost if z not in ZERO_COST_PROXIES]
    if unknown:
        raise UsageError(
            f"unknown zero-cost proxy {', '.join(unknown)}; choose from {', '.join(ZERO_COST_PROXIES)}"
        )
    if not budgets and not settings.zero_cost:
        raise UsageError('--budget "" trains nothing: name a budget or --zero-cost proxies')
    space = load_space(bench.space)
    base = load_dataset(settings.dataset, data_dir=settings.data_dir, seed=0)
    if base.num_classes != bench.num_classes:
        raise UsageError(
            f"dataset {base.name} has {base.num_classes} classes, benchmark {bench.name} "
            f"{bench.num_classes}: the proxies must train the table's networks"
        )
    sample = sample_archs(bench, settings.archs, settings.seed)
    study_name = settings.study_name or f"fidelity_{bench.name}_{_dataset_label(base.name)}"
    check_study_name(study_name)
    check_heartbeat_settings()
    store.check_storage(settings.storage, create=True)
    store.ensure_schema(settings.storage)
    _open_study(settings, bench, base, study_name, sample)

    stored = store.load_results(settings.storage, [study_name])
    done = done_keys(stored, ("budget", "name"), source="fidelity", complete=False)
    trained_done = done_keys(stored, ("protocol_hash", "name"), source="fidelity", complete=False)
    truths = bench.frame["truth"]
    for name in COST_BASELINES:
        label = f"cost:{name}"
        for key in sample:
            if (label, key) not in done:
                costs = _costs(bench, space, key)
                row = _row(study_name, bench, key, label, settings.seed, truths[key])
                row.update(status="complete", proxy_score=float(costs[name]), train_s=0.0, **costs)
                store_row(settings.storage, row)
    # cheapest first: the free answers are in before the first training starts
    for name in settings.zero_cost:
        label = f"{ZERO_COST_PREFIX}{name}"
        missing = [key for key in sample if (label, key) not in done]
        for n, key in enumerate(missing, start=1):
            seed = trial_seed(settings.seed, sample.index(key))
            row = _row(study_name, bench, key, label, seed, truths[key])
            row.update(
                score_arch(
                    name, space, parse_arch_string(bench.space, key), base, seed, settings.device
                )
            )
            store_row(settings.storage, row)
            if progress and n % 10 == 0:
                progress(f"{label}: {n}/{len(missing)}")
    for budget in budgets:
        if all((budget.label, key) in done for key in sample):
            continue  # (without reading the data at this budget)
        data = budget_data(settings.dataset, settings.data_dir, budget, base)
        recipe = budget_recipe(data.name, getattr(space, "TRAIN_DEFAULTS", {}), budget)
        ctx = trained_context(
            space,
            data,
            recipe,
            {"space": bench.space, "purpose": "fidelity"},
            device=settings.device,
            budget=budget,
        )
        # keyed by protocol: a budget spelled another way that trains alike is done already
        missing = [key for key in sample if (ctx.protocol, key) not in trained_done]
        for n, key in enumerate(missing, start=1):
            seed = trial_seed(settings.seed, sample.index(key))
            row = _row(study_name, bench, key, budget.label, seed, truths[key], ctx.protocol)
            row.update(
                evaluate_trained(
                    parse_arch_string(bench.space, key), ctx, Request(seeds=(seed,))
                ).row
            )
            store_row(settings.storage, row)
            if progress:
                progress(
                    f"{budget.label}: {n}/{len(missing)} {key} {row['status']} "
                    f"{row.get('val_acc') or 0:.1f}%"
                )
    return summarize_fidelity(store.load_results(settings.storage, [study_name]))


# ---- internals -------------------------------------------------------------------------------


def _open_study(
    settings: FidelitySettings,
    bench: TabularBenchmark,
    data: DataSplits,
    study_name: str,
    sample: list[str],
) -> None:
    """Record the sample with the study's Optuna record, or check a rerun against it."""
    current = {
        "kind": "fidelity",
        "benchmark": bench.name,
        "fingerprint": bench.fingerprint,
        "space": bench.space,
        "truth": bench.truth_label,
        "dataset": data.name,
        "archs": settings.archs,
        "seed": settings.seed,
        "sample": sample,
    }
    study = optuna.create_study(
        storage=make_storage(settings.storage),
        study_name=study_name,
        load_if_exists=True,
        direction="maximize",
    )
    recorded = study.user_attrs.get("fidelity")
    if recorded is None:
        if study.get_trials(deepcopy=False) or len(
            store.load_results(settings.storage, [study_name])
        ):
            raise UsageError(f"study {study_name!r} exists and is not a fidelity study")
        study.set_user_attr("fidelity", current)
        return
    differs = [k for k in SAMPLE_SETTINGS if recorded.get(k) != current[k]]
    if differs:
        was = ", ".join(f"{k}={recorded.get(k)!r}" for k in differs)
        now = ", ".join(f"{k}={current[k]!r}" for k in differs)
        raise UsageError(
            f"study {study_name!r} sampled its archs with {was}, not {now}; keep them (new "
            "budgets join the same sample) or pick another --study-name"
        )


def _dataset_label(name: str) -> str:
    """'imagefolder:/data/cifar10-jpeg' -> 'imagefolder_cifar10-jpeg': short, and no slashes."""
    kind, _, path = name.partition(":")
    return f"{kind}_{Path(path).name}" if path else kind


def _costs(bench: TabularBenchmark, space: Any, key: str) -> dict[str, int]:
    """params and MACs of one arch: the table's, or computed for the sample only."""
    if all(c in bench.frame.columns for c in COST_BASELINES):
        return {c: int(bench.frame.loc[key, c]) for c in COST_BASELINES}
    return arch_costs(space, bench, parse_arch_string(bench.space, key))


def _row(
    study_name: str,
    bench: TabularBenchmark,
    key: str,
    label: str,
    seed: int,
    truth: float,
    protocol: str | None = None,
) -> dict[str, Any]:
    arch = parse_arch_string(bench.space, key)
    return identity(
        study_name,
        "fidelity",
        key,
        bench.space,
        protocol,
        seed,
        arch=arch,
        arch_hash=arch_hash(arch),
        budget=label,
        truth_acc=float(truth),
    )
