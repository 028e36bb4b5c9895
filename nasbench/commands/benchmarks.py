"""`nasbench benchmarks` (the shipped tables) and `nasbench table --benchmark` (a table's rows or true front)."""

from __future__ import annotations

import sys

import pandas as pd

from nasbench.benchmarks import DEFAULT_LATENCY_DEVICE, benchmark_summaries, load_benchmark
from nasbench.config import OBJECTIVES, parse_objectives
from nasbench.evaluation.tabular import objective_table, true_front
from nasbench.results.formats import Column, check_format, is_machine, render

ACCURACY = (Column("val_acc", decimals=2), Column("test_acc", decimals=2))
COSTS = {
    "macs": Column("macs", "MACs (M)", scale=1e-6, decimals=2),
    "params": Column("params", "params (M)", scale=1e-6, decimals=3),
    "latency_ms": Column("latency_ms", decimals=3),
}


def run_benchmarks(output_format: str = "table") -> int:
    """Print one row per shipped benchmark table."""
    check_format(output_format)
    frame = pd.DataFrame(benchmark_summaries())
    sys.stdout.write(render(frame, output_format, [Column("best_reportable_acc", decimals=2)]))
    return 0


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
    columns = [*ACCURACY, *COSTS.values()]
    sys.stdout.write(render(table, output_format, columns))
    return 0
