"""`nasbench fidelity`: how well proxy budgets and zero-cost proxies rank a benchmark's archs."""

from __future__ import annotations

import argparse
import sys

from nasbench import arguments
from nasbench.budget import ProxyBudget
from nasbench.errors import UsageError
from nasbench.names import ZERO_COST_NAMES


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_benchmark(
        p, help_text="the table whose archs are trained and judged (NAME|FILE.csv)"
    )
    p.add_argument(
        "--space", default=None, help="with --benchmark FILE.csv: the space of its archs"
    )
    p.add_argument("--dataset", required=True, help="a dataset with the benchmark's classes")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--archs", type=arguments.bounded_int(2, 100_000), required=True, metavar="K")
    p.add_argument(
        "--budget",
        action="append",
        default=None,
        metavar='"epochs=3,image_size=16"',
        help="a proxy budget (repeatable; default, or 'default': the budget a search uses on "
        "the dataset; "
        '"" with --zero-cost: train nothing)',
    )
    p.add_argument("--zero-cost", default="", metavar=",".join(ZERO_COST_NAMES))
    p.add_argument("--seed", type=arguments.seed_int, default=0)
    arguments.add_storage(p)
    p.add_argument("--study-name", default=None, help="default: fidelity_BENCHMARK_DATASET")
    arguments.add_device(p)
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    """Measure what is missing, then print one row per budget."""
    from nasbench.evaluation.context import resolve_device
    from nasbench.results.formats import check_format, is_machine, render
    from nasbench.results.ranking import SUMMARY_COLUMNS
    from nasbench.workflow.fidelity import FidelitySettings, run_fidelity

    if not args.benchmark:
        raise UsageError("fidelity needs --benchmark NAME|FILE.csv: the truth to judge against")
    check_format(args.format)
    for text in args.budget or ():  # every budget checked before anything is read or stored
        ProxyBudget.parse(text)
    settings = FidelitySettings(
        benchmark=args.benchmark,
        dataset=args.dataset,
        archs=args.archs,
        budgets=args.budget,
        zero_cost=[z.strip() for z in args.zero_cost.split(",") if z.strip()],
        seed=args.seed,
        storage=args.storage,
        study_name=args.study_name,
        space=args.space,
        select_column=args.select_column,
        report_column=args.report_column,
        data_dir=args.data_dir or "data",
        device=resolve_device(args.device),
    )
    summary = run_fidelity(settings, progress=arguments.progress)
    if not is_machine(args.format):
        print(
            f"rank agreement with {settings.benchmark}'s full-training accuracy over "
            f"{settings.archs} sampled archs (seed {settings.seed}); tau interval: bootstrap 95 %",
            file=sys.stderr,
        )
    sys.stdout.write(render(summary, args.format, SUMMARY_COLUMNS))
    return 0
