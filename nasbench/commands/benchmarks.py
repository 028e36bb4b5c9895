"""`nasbench benchmarks`: the benchmark tables shipped with nasbench, one row each."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from nasbench import arguments
from nasbench.benchmarks import benchmark_summaries
from nasbench.results.formats import check_format, render, shown_column


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_benchmarks(args.format)


def run_benchmarks(output_format: str = "table") -> int:
    """Print one row per shipped benchmark table."""
    check_format(output_format)
    frame = pd.DataFrame(benchmark_summaries())
    sys.stdout.write(render(frame, output_format, [shown_column("best_reportable_acc")]))
    return 0
