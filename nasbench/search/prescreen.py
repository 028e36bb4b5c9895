"""A zero-cost prescreen for a trained search: score many random archs, queue the best to train first.

Before the first training, `--prescreen nwot` scores `--prescreen-candidates` random archs of the
space (one seeded batch each, at the dataset's own image size, as a --zero-cost search scores) and
counts their MACs. The best tenth, in NSGA-II order of (score, MACs) as successive halving promotes,
is queued with `enqueue_trial`: workers take them before the sampler proposes anything, and the
sampler then learns from their trained results. The study records what the prescreen did (the
`prescreen` user attr: proxy, candidates, seconds, and every scored arch's score and MACs, best
first), so that a resumed or joined study does not score again; a time budget counts its seconds.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import optuna

from nasbench.arch import arch_hash
from nasbench.budget import ProxyBudget
from nasbench.config import SearchSettings
from nasbench.data import DataSplits
from nasbench.evaluation.model import build_for, input_shape
from nasbench.evaluation.scored import score_arch
from nasbench.measure import count_macs
from nasbench.search.promotion import promotion_order
from nasbench.workflow.contexts import budget_data

PRESCREEN_ATTR = "prescreen"
KEPT_FRACTION = 10  # the best tenth of the candidates train first


def kept_count(candidates: int, trials: int) -> int:
    """How many of the scored candidates are queued: the best tenth, at most the study's trials."""
    return max(1, min(math.ceil(candidates / KEPT_FRACTION), trials))


def random_candidates(space: Any, count: int, seed: int) -> list[tuple[dict, dict]]:
    """`count` distinct random archs of `space` as (params, arch); fewer if the space is smaller
    (after 20 x count draws)."""
    sampler_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: dict[str, tuple[dict, dict]] = {}
    for _ in range(20 * count):
        if len(found) == count:
            break
        trial = sampler_study.ask()
        arch = space.suggest(trial)
        found.setdefault(arch_hash(arch), (dict(trial.params), arch))
    return list(found.values())


def score_candidate(
    proxy: str, space: Any, arch: dict, data: DataSplits, seed: int, device: str
) -> tuple[float, float]:
    """(score, MACs) of one arch; a score of NaN when it cannot be scored or has no signal."""
    try:
        space.validate(arch)
        model = build_for(space, arch, data, seed=seed)
        macs = float(count_macs(model, input_shape(data)).macs)
        row = score_arch(proxy, space, arch, data, seed, device)
    except Exception:  # an arch that fails to build or score is simply not kept
        return math.nan, math.nan
    return float(row.get("proxy_score", math.nan)), macs


def run_prescreen(
    study: optuna.Study, settings: SearchSettings, space: Any, device: str, *, quiet: bool = False
) -> dict[str, Any] | None:
    """Score the candidates and queue the best, once per study; what it recorded (None without
    --prescreen). A study that already holds its record is left as it is."""
    if settings.prescreen is None:
        return None
    if PRESCREEN_ATTR in study.user_attrs:
        return study.user_attrs[PRESCREEN_ATTR]
    started = time.perf_counter()
    data = budget_data(settings.dataset, settings.data_dir, ProxyBudget())
    candidates = random_candidates(space, settings.prescreen_candidates, settings.seed)
    scored = []
    for params, arch in candidates:
        score, macs = score_candidate(settings.prescreen, space, arch, data, settings.seed, device)
        if math.isfinite(score) and math.isfinite(macs):
            scored.append((params, arch, score, macs))
    keep = kept_count(len(candidates), settings.trials)
    ranked = []
    if scored:
        order = promotion_order([[s, m] for *_, s, m in scored], ["maximize", "minimize"])
        ranked = [scored[i] for i in order]
    for params, *_ in ranked[:keep]:
        study.enqueue_trial(params, skip_if_exists=True)
    record = {
        "proxy": settings.prescreen,
        "candidates": len(candidates),
        "queued": min(keep, len(ranked)),
        "seconds": round(time.perf_counter() - started, 3),
        # every scored candidate, best first (the first `queued` were queued)
        "ranked": [{"arch_hash": arch_hash(a), "score": s, "macs": m} for _, a, s, m in ranked],
    }
    study.set_user_attr(PRESCREEN_ATTR, record)
    if not quiet:
        print(
            f"prescreen: scored {len(ranked)} of {len(candidates)} random archs with "
            f"{settings.prescreen} in {record['seconds']:.0f} s; the best {record['queued']} "
            "(non-dominated sorting of score and MACs) train first",
            file=sys.stderr,
        )
    return record
