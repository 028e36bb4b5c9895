"""`nasbench compare-samplers`: search strategies on a tabular benchmark, at a few trial counts."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from nasbench.results.formats import Column, render
from nasbench.search.compare import compare_figure, compare_samplers

REPORTED_TRIALS = (10, 25, 50, 75, 100, 150, 200, 300, 500, 1000)


def run_compare(
    space_name: str,
    benchmark_path: str,
    samplers: Sequence[str],
    *,
    trials: int,
    seeds: int,
    objectives: Sequence[str],
    output: str | None = None,
    output_format: str = "table",
) -> int:
    """Print the comparison at a few trial counts, and optionally write an HTML figure."""
    summary = compare_samplers(space_name, benchmark_path, [s.strip() for s in samplers],
                               trials, seeds, [o.strip() for o in objectives],
                               progress=True)  # fmt: skip
    shown = [n for n in REPORTED_TRIALS if n < trials] + [trials]
    table = summary[summary["trial"].isin(shown)].reset_index(drop=True)
    columns = [Column(c, decimals=3) for c in table.columns if c.endswith(("_mean", "_std"))]
    sys.stdout.write(render(table, output_format, columns))
    if output:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        compare_figure(summary).write_html(path, include_plotlyjs=True, include_mathjax=False)
        print(f"figure written to {path}", file=sys.stderr)
    return 0
