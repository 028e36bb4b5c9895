"""Judge proxy budgets from fidelity studies: Kendall tau against the table's truth with its bootstrap
interval, the paired bootstrap interval of each budget's tau minus a baseline's (NASWOT, MACs),
seconds, steps and images per arch, the noise ceiling of NAS-Bench-Macro's repeated runs, and a
figure of tau against seconds.

    python experiments/proxy_fidelity_report.py --storage sqlite:///screen_a.db \
        --storage sqlite:///screen_b.db --study-name screen16 [--figure reports/x.html]

Several storages may hold parts of one sample (fidelity runs in parallel write one file each);
their rows are pooled, one per (budget, arch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from figure_png import save_png  # experiments/, beside this script
from scipy import stats

from nasbench.results import store
from nasbench.results.ranking import (
    CONFIDENCE,
    RESAMPLES,
    TSE_SUFFIX,
    fidelity_rows,
    paired_tau_difference,
    rank_agreement,
)

TABLES = Path(__file__).resolve().parents[1] / "nasbench" / "benchmark_tables"
BASELINES = ("zero-cost:nwot", "cost:macs")


def pooled_rows(storages: list[str], study: str) -> pd.DataFrame:
    """The complete fidelity rows of `study` in every storage, one per (budget, arch)."""
    frames = [fidelity_rows(store.load_results(url, [study])) for url in storages]
    rows = pd.concat(frames, ignore_index=True)
    rows["seconds"] = rows["train_s"].fillna(0.0) + rows["eval_s"].fillna(0.0)
    return rows.drop_duplicates(["budget", "name"], keep="first")


def noise_ceiling(archs: list[str], seed: int = 0) -> dict[str, float]:
    """tau of NAS-Bench-Macro's run 1 against the mean of its runs 2 and 3 over `archs`, with its
    bootstrap interval: how well one full training ranks these archs against another."""
    table = pd.read_csv(TABLES / "nas_bench_macro.csv.gz", dtype={"arch": str})
    table["arch"] = table["arch"].str.zfill(8)
    runs = table.set_index("arch").loc[archs]
    x = runs["test_acc_1"].to_numpy()
    y = ((runs["test_acc_2"] + runs["test_acc_3"]) / 2).to_numpy()
    rng = np.random.default_rng(seed)
    draws = [
        stats.kendalltau(x[p], y[p]).statistic
        for p in (rng.integers(0, len(x), len(x)) for _ in range(RESAMPLES))
    ]
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.nanpercentile(draws, [tail, 100 - tail])
    return {"tau": float(stats.kendalltau(x, y).statistic), "low": float(low), "high": float(high)}


def summary(rows: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One line per budget: agreement, paired differences with the baselines, cost per arch."""
    by_budget = {b: g.set_index("name") for b, g in rows.groupby("budget", sort=False)}
    lines = []
    for budget, group in by_budget.items():
        agreement = rank_agreement(group["proxy"], group["truth_acc"], seed=seed)
        line = {
            "budget": budget,
            "archs": agreement["archs"],
            "tau": agreement["kendall_tau"],
            "tau_low": agreement["kendall_tau_low"],
            "tau_high": agreement["kendall_tau_high"],
            "rho": agreement["spearman_rho"],
            "s_per_arch": float(group["seconds"].median()),
            "steps": _median(group, "steps"),
            "images_seen": _median(group, "images_seen"),
        }
        # a training-speed ranking is also paired with the same trainings' validation accuracy
        own = budget.removesuffix(TSE_SUFFIX) if budget.endswith(TSE_SUFFIX) else None
        for baseline, short in zip((*BASELINES, own), ("nwot", "macs", "val"), strict=True):
            other = by_budget.get(baseline) if baseline else None
            if other is None or budget == baseline:
                line[f"minus_{short}"] = line[f"minus_{short}_low"] = line[
                    f"minus_{short}_high"
                ] = None
                continue
            names = group.index.intersection(other.index)
            d = paired_tau_difference(
                group.loc[names, "proxy"],
                other.loc[names, "proxy"],
                group.loc[names, "truth_acc"],
                seed=seed,
            )
            line.update(
                {f"minus_{short}": d["difference"], f"minus_{short}_low": d["low"],
                 f"minus_{short}_high": d["high"]}
            )  # fmt: skip
        lines.append(line)
    return pd.DataFrame(lines).sort_values("s_per_arch", kind="stable")


def _median(group: pd.DataFrame, column: str) -> float | None:
    values = group[column].dropna() if column in group else pd.Series(dtype=float)
    return float(values.median()) if len(values) else None


def markdown(table: pd.DataFrame) -> str:
    def interval(value, low, high) -> str:
        if value is None or pd.isna(value):
            return ""
        return f"{value:+.3f} [{low:+.3f}, {high:+.3f}]"

    lines = [
        "| budget | archs | tau [95 %] | rho | tau - NASWOT [paired 95 %] | tau - MACs [paired 95 %] "
        "| (tse) - val acc [paired 95 %] | s / arch | steps | images seen |",
        "|:--|--:|:--|--:|:--|:--|:--|--:|--:|--:|",
    ]
    for _, r in table.iterrows():
        steps = "" if pd.isna(r["steps"]) else f"{r['steps']:.0f}"
        seen = "" if pd.isna(r["images_seen"]) else f"{r['images_seen']:,.0f}"
        lines.append(
            f"| {r['budget']} | {r['archs']} | {r['tau']:.3f} [{r['tau_low']:.3f}, "
            f"{r['tau_high']:.3f}] | {r['rho']:.3f} | "
            f"{interval(r['minus_nwot'], r['minus_nwot_low'], r['minus_nwot_high'])} | "
            f"{interval(r['minus_macs'], r['minus_macs_low'], r['minus_macs_high'])} | "
            f"{interval(r['minus_val'], r['minus_val_low'], r['minus_val_high'])} | "
            f"{r['s_per_arch']:.1f} | {steps} | {seen} |"
        )
    return "\n".join(lines) + "\n"


def figure(table: pd.DataFrame, path: Path, title: str, ceiling: dict | None = None) -> None:
    """tau against seconds per arch (log axis), each budget with its interval; the free rankings
    and, for NAS-Bench-Macro, the noise ceiling as lines."""
    import plotly.graph_objects as go

    trained = table[table["s_per_arch"] > 2]
    free = table[table["s_per_arch"] <= 2]
    fig = go.Figure()
    for by_speed in (False, True):
        part = trained[trained["budget"].str.endswith("(tse)") == by_speed]
        fig.add_trace(
            go.Scatter(
                x=part["s_per_arch"],
                y=part["tau"],
                mode="markers",
                name="training-speed estimate" if by_speed else "validation accuracy",
                text=part["budget"],
                error_y={
                    "type": "data",
                    "array": part["tau_high"] - part["tau"],
                    "arrayminus": part["tau"] - part["tau_low"],
                },
                hovertemplate="%{text}<br>%{x:.1f} s: tau %{y:.3f}<extra></extra>",
            )
        )
    for _, r in free.iterrows():
        fig.add_hline(y=r["tau"], line_dash="dot", annotation_text=f"{r['budget']} {r['tau']:.2f}")
    if ceiling is not None:
        fig.add_hline(y=ceiling["tau"], line_dash="dash", line_color="gray",
                      annotation_text=f"noise ceiling {ceiling['tau']:.2f}")  # fmt: skip
    fig.update_layout(
        title=title, xaxis={"title": "seconds per arch (train + eval)", "type": "log"},
        yaxis={"title": "Kendall tau against full training"},
    )  # fmt: skip
    fig.write_html(path, include_plotlyjs="cdn")
    save_png(fig, path.with_suffix(".png"))  # the README shows this


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", action="append", required=True)
    parser.add_argument("--study-name", required=True)
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--noise-ceiling", action="store_true", help="NAS-Bench-Macro samples")
    args = parser.parse_args()
    rows = pooled_rows(args.storage, args.study_name)
    table = summary(rows)
    print(markdown(table))
    ceiling = None
    if args.noise_ceiling:
        archs = sorted(rows.loc[rows["budget"] == "cost:macs", "name"])
        ceiling = noise_ceiling(archs)
        print(
            f"noise ceiling over these {len(archs)} archs (NAS-Bench-Macro run 1 against the mean "
            f"of runs 2-3): tau {ceiling['tau']:.3f} [{ceiling['low']:.3f}, {ceiling['high']:.3f}]"
        )
    if args.figure:
        title = f"{args.study_name}: rank agreement against seconds"
        figure(table, args.figure, title, ceiling)
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
