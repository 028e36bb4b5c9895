"""Which way of training a promoted arch ranks better per second: retrain, or continue (WSD)?

For each of --archs NAS-Bench-Macro archs (stratified by truth, as `fidelity` samples them), both
ways of successive halving's two rungs run through the search's own evaluator:

  retrain   rung 0: the budget, cosine schedule; rung 1: from scratch, factor x the steps
  continue  rung 0: the budget, warm-up-stable-decay, its state saved before the decay;
            rung 1: continues that state to factor x the steps (only the new steps are timed)

and each rung's accuracies are ranked against the table's truth (Kendall tau, bootstrap 95 %
interval, and the paired interval of continue minus retrain). Seconds are the training seconds of
each rung, one torch thread: run it with nothing else on the machine.

    python experiments/promotion_ranking.py --data ~/.cache/nasbench-data/cifar10-jpeg \
        [--archs 16] [--budget steps=1053,width=0.25,image_size=8] [--factor 3] [--seed 0] \
        [--records promotion_ranking.jsonl]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import torch

from nasbench.arch_strings import parse_arch_string
from nasbench.benchmarks import load_benchmark
from nasbench.budget import ProxyBudget
from nasbench.config import SearchSettings
from nasbench.evaluation.context import Request
from nasbench.evaluation.trained import evaluate_trained
from nasbench.results.ranking import paired_tau_difference, rank_agreement
from nasbench.search.study import higher_rungs, search_context
from nasbench.workflow.fidelity import sample_archs

MODES = ("retrain", "continue")


def contexts_of(mode: str, args: argparse.Namespace) -> tuple:
    """Rung 0's and rung 1's evaluation contexts, as a search with these settings makes them."""
    settings = SearchSettings(
        study_name="promotion_ranking",
        space="nas_bench_macro",
        dataset=args.dataset,
        budget=ProxyBudget.parse(args.budget),
        rungs=2,
        reduction_factor=args.factor,
        promotion=mode,
        confirm_runs=1,
        device="cpu",
    )
    ctx = search_context(settings)
    return ctx, higher_rungs(settings, ctx)[0]


def measure(args: argparse.Namespace) -> pd.DataFrame:
    """Every (arch, mode) pair, arch by arch so that a stopped run is still paired; rows already
    in --records are kept, so a rerun continues."""
    bench = load_benchmark("nas-bench-macro")
    keys = sample_archs(bench, args.archs, args.seed)
    records = Path(args.records)
    done = (
        [json.loads(line) for line in records.read_text().splitlines()] if records.exists() else []
    )
    rows = [row for row in done if row["arch"] in keys]
    finished = {(row["mode"], row["arch"]) for row in rows}
    contexts = {mode: contexts_of(mode, args) for mode in MODES}
    with tempfile.TemporaryDirectory() as states:
        for index, key in enumerate(keys):
            for mode in MODES:
                if (mode, key) in finished:
                    continue
                rung0, rung1 = contexts[mode]
                arch = parse_arch_string("nas_bench_macro", key)
                state = Path(states) / f"{index}.pt" if mode == "continue" else None
                seeds = (args.seed * 1000 + index,)
                first = evaluate_trained(arch, rung0, Request(seeds, save_before_decay=state)).row
                second = evaluate_trained(arch, rung1, Request(seeds, resume_from=state)).row
                rows.append({
                    "mode": mode, "arch": key, "truth": float(bench.frame.at[key, "truth"]),
                    "acc0": first.get("val_acc"), "acc1": second.get("val_acc"),
                    "s0": first.get("train_s"), "s1": second.get("train_s"),
                    "steps1": second.get("steps"), "warm1": second.get("warm_start_steps"),
                })  # fmt: skip
                with records.open("a") as out:
                    out.write(json.dumps(rows[-1]) + "\n")
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def summary(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    lines = []
    for mode, part in frame.groupby("mode", sort=False):
        for rung in (0, 1):
            agreement = rank_agreement(part[f"acc{rung}"], part["truth"], seed=seed)
            seconds = part["s0"] if rung == 0 else part["s0"] + part["s1"]
            lines.append({
                "mode": mode, "rung": rung, "archs": agreement["archs"],
                "tau": agreement["kendall_tau"], "tau_low": agreement["kendall_tau_low"],
                "tau_high": agreement["kendall_tau_high"],
                "s / arch (rungs 0..r)": seconds.mean(),
            })  # fmt: skip
    return pd.DataFrame(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="an image folder of CIFAR-10, or 'digits'")
    parser.add_argument("--archs", type=int, default=16)
    parser.add_argument("--budget", default="steps=1053,width=0.25,image_size=8")
    parser.add_argument("--factor", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--records",
        default="promotion_ranking.jsonl",
        help="one line per (mode, arch); a rerun continues from it",
    )
    args = parser.parse_args()
    args.dataset = args.data if args.data == "digits" else f"imagefolder:{args.data}"
    torch.set_num_threads(1)
    frame = measure(args)
    paired = frame.groupby("arch")["mode"].transform("nunique") == len(MODES)
    frame = frame[paired]  # a stopped run's last arch may have one mode only
    table = summary(frame, args.seed)
    print(
        f"\n{frame.arch.nunique()} of {args.archs} archs, budget {args.budget}, factor {args.factor}, 1 thread\n"
    )
    print(table.to_markdown(index=False, floatfmt=".3f"))
    wide = frame.pivot(index="arch", columns="mode", values="acc1")
    truth = frame.drop_duplicates("arch").set_index("arch")["truth"].loc[wide.index]
    difference = paired_tau_difference(wide["continue"], wide["retrain"], truth, seed=args.seed)
    print(f"\nrung 1, tau of continue minus retrain (paired bootstrap): {difference}")


if __name__ == "__main__":
    main()
