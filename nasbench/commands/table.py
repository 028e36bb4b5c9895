"""`nasbench table`: the accuracy-versus-MACs table of the named studies (or of a benchmark table),
in any output format."""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from nasbench import arguments
from nasbench.benchmarks import DEFAULT_LATENCY_DEVICE, load_benchmark
from nasbench.config import OBJECTIVES, parse_objectives
from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.formats import check_format, is_machine, render, shown_column
from nasbench.results.latency import on_device
from nasbench.results.pareto import pareto_mask
from nasbench.results.publishable import (
    has_retrained_rows,
    publishable_columns,
    publishable_table,
)
from nasbench.results.ranking import SUMMARY_COLUMNS, summarize_fidelity
from nasbench.results.table import SORT_KEYS, results_table, sort_column, table_columns

BENCHMARK_COLUMNS = tuple(
    shown_column(name) for name in ("val_acc", "test_acc", "macs", "params", "latency_ms")
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, many=True)
    p.add_argument("--pareto", action="store_true", help="only the non-dominated rows")
    p.add_argument(
        "--space", default=None, help="with --benchmark FILE.csv: the space of its archs"
    )
    arguments.add_benchmark(
        p,
        help_text="print a benchmark table's rows (with --pareto: its true front) instead of a "
        "study's",
    )
    p.add_argument(
        "--objectives", default=None, help="with --benchmark: acc and the costs (default acc,macs)"
    )
    p.add_argument("--sort", default=None, metavar="COLUMN")
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    if args.benchmark:
        return run_benchmark_table(
            args.benchmark,
            space=args.space,
            select_column=args.select_column,
            report_column=args.report_column,
            objectives=args.objectives or "acc,macs",
            latency_device=args.latency_device,
            pareto=args.pareto,
            output_format=args.format,
        )
    return run_table(
        args.storage,
        args.study_name,
        pareto=args.pareto,
        sort=args.sort,
        output_format=args.format,
        latency_device=args.latency_device,
    )


def run_table(
    url: str,
    study_names: list[str] | None,
    *,
    pareto: bool = False,
    sort: str | None = None,
    output_format: str = "table",
    latency_device: str | None = None,
) -> int:
    """Print the table of the named studies (all when None); `latency_device`: the latency
    measured on that device (nasbench measure --label) in place of the search machine's."""
    check_format(output_format)
    store.check_storage(url, create=False)
    if study_names:
        known = store.list_study_names(url)
        unknown = [n for n in study_names if n not in known]
        if unknown:
            raise UsageError(
                f"no results for study {', '.join(map(repr, unknown))}; "
                f"studies with results: {', '.join(known) or 'none'}"
            )
    frame = on_device(store.load_results(url, study_names or None), latency_device)
    fidelity = frame["source"] == "fidelity" if len(frame) else pd.Series(dtype=bool)
    if fidelity.any():
        if not fidelity.all():
            raise UsageError(
                "these studies mix proxy-fidelity studies and searches; name one kind with "
                f"--study-name (fidelity: {', '.join(frame[fidelity]['study_name'].unique())})"
            )
        summary = pd.concat(
            [
                summarize_fidelity(rows).assign(study=name)
                for name, rows in frame.groupby("study_name", sort=False)
            ],
            ignore_index=True,
        )
        summary = summary[["study", *summary.columns[:-1]]]
        sys.stdout.write(render(summary, output_format, SUMMARY_COLUMNS))
        return 0
    if has_retrained_rows(frame):
        table = _sorted(publishable_table(frame), pareto, sort)
        shown, columns = publishable_columns(table, output_format)
        sys.stdout.write(render(shown, output_format, columns))
        return 0
    table = results_table(frame, pareto=pareto, sort=sort, output_format=output_format)
    sys.stdout.write(render(table, output_format, table_columns(table, output_format)))
    return 0


# the publishable table's column for each sort key of the proxy table
RETRAINED_SORT = {"val_acc": "proxy_acc", "test_acc": "test_acc_mean"}


def _sorted(table: pd.DataFrame, pareto: bool, sort: str | None) -> pd.DataFrame:
    """The publishable table's front of test accuracy against MACs per study, and its order."""
    if pareto:
        keep = np.zeros(len(table), dtype=bool)
        for positions in table.groupby("study_name", sort=False).indices.values():
            part = table.iloc[positions]
            keep[positions] = pareto_mask(part["test_acc_mean"], part["macs"].astype(float))
        table = table[keep]
    if sort is not None:
        key = sort_column(sort)
        column = RETRAINED_SORT.get(key, key)
        table = table.sort_values(
            column, ascending=SORT_KEYS[key], kind="stable", na_position="last"
        )
    return table.reset_index(drop=True)


def run_benchmark_table(
    ref: str,
    *,
    space: str | None = None,
    select_column: str | None = None,
    report_column: str | None = None,
    objectives: str = "acc,macs",
    latency_device: str | None = None,
    pareto: bool = False,
    output_format: str = "table",
) -> int:
    """Print a benchmark's rows (or, with `pareto`, its true front) with the objectives' columns,
    cheapest first. The front is on the accuracy the table selects on; both accuracies are shown."""
    from nasbench.evaluation.tabular import objective_table, true_front

    check_format(output_format)
    names = parse_objectives(objectives)
    bench = load_benchmark(ref, space, select_column, report_column)
    if "latency" in names:
        bench.latency_column(latency_device or DEFAULT_LATENCY_DEVICE)
    device = latency_device or (DEFAULT_LATENCY_DEVICE if "latency" in names else None)
    if pareto:
        table = true_front(bench, names, device)
    else:
        table = objective_table(bench, names, device)
        costs = [OBJECTIVES[n].column for n in names[1:]]
        table = table.sort_values(costs or ["val_acc"], ascending=bool(costs))
    table = table.reset_index()
    if not is_machine(output_format):
        what = "true Pareto front" if pareto else "all rows"
        device_note = f", latency on {device}" if device else ""
        reported = bench.report_label.split(":")[0]
        print(
            f"{bench.name} ({bench.space}, {bench.dataset}): {what}, {len(table)} of {len(bench)} "
            f"archs; val_acc = {bench.select_label}, test_acc = {reported}{device_note}",
            file=sys.stderr,
        )
    sys.stdout.write(render(table, output_format, BENCHMARK_COLUMNS))
    return 0
