"""How well a proxy ranks architectures against the truth: Kendall tau with a bootstrap interval,
Spearman rho, and the overlap of the two top fractions (scipy's statistics; no torch)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from nasbench.results.formats import Column

TOP_FRACTION = 0.2
ZERO_COST_PREFIX = "zero-cost:"  # budget label of a zero-cost proxy: zero-cost:NAME
TSE_SUFFIX = " (tse)"  # a trained budget ranked by its training-speed estimate, not val_acc
CONFIDENCE = 0.95
RESAMPLES = 1000
# how people read a summary (formats.render)
SUMMARY_COLUMNS = (
    Column("kendall_tau", decimals=3),
    Column("kendall_tau_low", decimals=3),
    Column("kendall_tau_high", decimals=3),
    Column("spearman_rho", decimals=3),
    Column("top_overlap", decimals=2),
    Column("top_fraction", decimals=2),
    Column("seconds_per_arch", decimals=2),
)


def rank_agreement(
    proxy: Sequence[float], truth: Sequence[float], *, seed: int = 0
) -> dict[str, Any]:
    """kendall_tau (tau-b) with its bootstrap 95 % interval (pairs resampled, percentile
    method), spearman_rho, and top_overlap: the fraction of the truth's top TOP_FRACTION that is
    also in the proxy's top TOP_FRACTION (at least one arch each). NaN pairs are left out (a proxy
    of -inf is kept: it ranks last); fewer than 3 pairs give NaN figures."""
    x, y = np.asarray(proxy, dtype=float), np.asarray(truth, dtype=float)
    keep = ~np.isnan(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    found: dict[str, Any] = {"archs": int(len(x)), "top_fraction": TOP_FRACTION}
    nan = float("nan")
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return found | dict.fromkeys(
            ("kendall_tau", "kendall_tau_low", "kendall_tau_high", "spearman_rho", "top_overlap"),
            nan,
        )
    tau = stats.kendalltau(x, y).statistic
    low, high = _bootstrap_interval(x, y, seed)
    return found | {
        "kendall_tau": float(tau),
        "kendall_tau_low": low,
        "kendall_tau_high": high,
        "spearman_rho": float(stats.spearmanr(x, y).statistic),
        "top_overlap": top_overlap(x, y),
    }


def _bootstrap_interval(x: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    """Percentile interval of tau over RESAMPLES resamples of the pairs. Written out rather than
    scipy.stats.bootstrap, which returns NaN as soon as one resample of a small sample has no
    variation (all pairs alike); such resamples are left out here."""
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, len(x), len(x))
        tau = stats.kendalltau(x[pick], y[pick]).statistic
        if np.isfinite(tau):
            taus.append(tau)
    if not taus:
        return float("nan"), float("nan")
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(taus, [tail, 100 - tail])
    return float(low), float(high)


def paired_tau_difference(
    proxy: Sequence[float], other: Sequence[float], truth: Sequence[float], *, seed: int = 0
) -> dict[str, float]:
    """tau(proxy, truth) - tau(other, truth) over the same archs, with its paired bootstrap 95 %
    interval: each resample draws archs, and both proxies are judged on that draw, so what the
    two share (the same hard pairs) cancels. Archs where either proxy is NaN are left out."""
    x, z, y = (np.asarray(v, dtype=float) for v in (proxy, other, truth))
    keep = ~np.isnan(x) & ~np.isnan(z) & np.isfinite(y)
    x, z, y = x[keep], z[keep], y[keep]
    nan = float("nan")
    if len(x) < 3:
        return {"difference": nan, "low": nan, "high": nan}
    difference = stats.kendalltau(x, y).statistic - stats.kendalltau(z, y).statistic
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(RESAMPLES):
        pick = rng.integers(0, len(x), len(x))
        d = (
            stats.kendalltau(x[pick], y[pick]).statistic
            - stats.kendalltau(z[pick], y[pick]).statistic
        )
        if np.isfinite(d):
            draws.append(d)
    if not draws:
        return {"difference": float(difference), "low": nan, "high": nan}
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return {"difference": float(difference), "low": float(low), "high": float(high)}


def top_overlap(proxy: np.ndarray, truth: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """|proxy's top k  intersected with  truth's top k| / k, k = ceil(fraction x n)."""
    k = max(1, math.ceil(fraction * len(proxy)))
    best_by_proxy = set(np.argsort(-proxy, kind="stable")[:k])
    best_by_truth = set(np.argsort(-truth, kind="stable")[:k])
    return len(best_by_proxy & best_by_truth) / k


def fidelity_summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One row per budget of a fidelity study's complete rows (columns budget, proxy, truth_acc,
    seconds), in the order the budgets first appear: the rank agreement and seconds per arch."""
    summary = []
    for budget, group in rows.groupby("budget", sort=False):
        agreement = rank_agreement(group["proxy"], group["truth_acc"], seed=seed)
        summary.append(
            {"budget": budget, **agreement, "seconds_per_arch": float(group["seconds"].mean())}
        )
    columns = [
        "budget",
        "archs",
        "kendall_tau",
        "kendall_tau_low",
        "kendall_tau_high",
        "spearman_rho",
        "top_overlap",
        "top_fraction",
        "seconds_per_arch",
    ]
    return pd.DataFrame(summary, columns=columns)


def summarize_fidelity(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The summary of a fidelity study's results rows: one line per budget (fidelity_summary).
    A trained budget's proxy is its val_acc, a zero-cost proxy's or a cost's its proxy_score;
    its seconds are training plus evaluation (scoring time for a zero-cost proxy)."""
    rows = fidelity_rows(rows)
    seconds = rows["train_s"].fillna(0.0) + rows["eval_s"].fillna(0.0)
    frame = pd.DataFrame(
        {
            "budget": rows["budget"],
            "proxy": rows["proxy"],
            "truth_acc": rows["truth_acc"].astype(float),
            "seconds": seconds.astype(float),
        }
    )
    return fidelity_summary(frame, seed)


def fidelity_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The complete fidelity rows, with a `proxy` column: the value the budget ranks by."""
    if "budget" not in rows.columns or not len(rows):
        return rows.iloc[0:0].assign(proxy=pd.Series(dtype=float))
    rows = rows[(rows["source"] == "fidelity") & (rows["status"] == "complete")]
    proxy = rows["proxy_score"].where(rows["proxy_score"].notna(), rows["val_acc"])
    # A zero-cost score with no signal is stored as NaN and ranks below every finite score.
    no_signal = rows["budget"].str.startswith(ZERO_COST_PREFIX) & proxy.isna()
    proxy = proxy.astype(float).mask(no_signal, -math.inf)
    rows = rows.assign(proxy=proxy)
    # each trained budget ranks a second way: by its training-speed estimate (lower is better)
    if "tse" not in rows.columns:
        return rows
    trained = rows[rows["proxy_score"].isna() & rows["tse"].notna()]
    by_speed = trained.assign(
        budget=trained["budget"] + TSE_SUFFIX, proxy=-trained["tse"].astype(float)
    )
    return pd.concat([rows, by_speed]) if len(by_speed) else rows
