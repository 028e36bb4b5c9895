"""`nasbench compare-samplers`: search strategies on a benchmark table, at a few trial counts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nasbench import arguments
from nasbench.names import SAMPLER_NAMES

REPORTED_TRIALS = (10, 25, 50, 75, 100, 150, 200, 300, 500, 1000)
BASELINE = "random"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", default=None, help="default: the shipped benchmark's space")
    p.add_argument("--benchmark", required=True, metavar="NAME|FILE.csv")
    p.add_argument("--select-column", default=None, metavar="COLUMN[,COLUMN...]")
    p.add_argument("--report-column", default=None, metavar="COLUMN[,COLUMN...]")
    p.add_argument("--latency-device", default=None, metavar="DEVICE")
    p.add_argument(
        "--samplers", default="random,tpe,local", help=f"any of {', '.join(SAMPLER_NAMES)}"
    )
    p.add_argument("--trials", type=arguments.bounded_int(1, 100_000), default=100)
    p.add_argument("--seeds", type=arguments.bounded_int(1, 10_000), default=20)
    p.add_argument("--objectives", default="acc")
    p.add_argument("--output", default=None, metavar="FILE.html", help="also write a figure")
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_compare(
        args.space,
        args.benchmark,
        args.samplers.split(","),
        select_column=args.select_column,
        report_column=args.report_column,
        latency_device=args.latency_device,
        trials=args.trials,
        seeds=args.seeds,
        objectives=args.objectives.split(","),
        output=args.output,
        output_format=args.format,
    )


def run_compare(
    space_name: str | None,
    benchmark: str,
    samplers: Sequence[str],
    *,
    trials: int,
    seeds: int,
    objectives: Sequence[str],
    select_column: str | None = None,
    report_column: str | None = None,
    latency_device: str | None = None,
    output: str | None = None,
    output_format: str = "table",
) -> int:
    """Print the comparison at a few trial counts (and, with cost objectives and random among the
    samplers, each sampler paired with random seed by seed), and optionally write an HTML figure."""
    from nasbench.benchmarks import load_benchmark
    from nasbench.report.compare_figure import compare_figure
    from nasbench.results.formats import Column, is_machine, render
    from nasbench.search.compare import paired_against, reference_note, run_comparison, summarize

    samplers = [s.strip() for s in samplers]
    objectives = [o.strip() for o in objectives]
    columns = dict(select_column=select_column, report_column=report_column)
    bench = load_benchmark(benchmark, space_name, **columns)
    runs = run_comparison(
        benchmark,
        samplers,
        trials,
        seeds,
        objectives,
        space=space_name,
        latency_device=latency_device,
        progress=True,
        **columns,
    )
    summary = summarize(runs)
    shown = [n for n in REPORTED_TRIALS if n < trials] + [trials]
    table = summary[summary["trial"].isin(shown)].reset_index(drop=True)
    numbers = [Column(c, decimals=3) for c in table.columns if c.endswith(("_mean", "_std"))]
    if not is_machine(output_format):
        reported = "test" if bench.report else "validation (this table is validation only)"
        print(
            f"{bench.name}: best-by-{bench.select_label} arch's {reported} accuracy per trial "
            "count, mean and std over seeds",
            file=sys.stderr,
        )
        if len(objectives) > 1:
            print(reference_note(bench, objectives), file=sys.stderr)
    sys.stdout.write(render(table, output_format, numbers))
    if len(objectives) > 1 and BASELINE in samplers and not is_machine(output_format):
        paired = paired_against(runs, BASELINE, trials, "hv_ratio")
        print(f"\npaired with {BASELINE} on the same seeds at {trials} trials:")
        decimals = [Column(c, decimals=4) for c in paired.columns if "hv_ratio" in c or "diff" in c]
        sys.stdout.write(render(paired, output_format, decimals))
    if output:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        compare_figure(summary).write_html(path, include_plotlyjs=True, include_mathjax=False)
        print(f"figure written to {path}", file=sys.stderr)
    return 0
