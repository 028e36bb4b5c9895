"""`nasbench fidelity`: how well proxy budgets and zero-cost proxies rank a benchmark's archs."""

from __future__ import annotations

import sys

from nasbench.results.formats import check_format, is_machine, render
from nasbench.results.ranking import SUMMARY_COLUMNS
from nasbench.search.fidelity import FidelitySettings, run_fidelity


def run_fidelity_command(settings: FidelitySettings, output_format: str = "table") -> int:
    """Measure what is missing, then print one row per budget."""
    check_format(output_format)

    def progress(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    summary = run_fidelity(settings, progress=progress)
    if not is_machine(output_format):
        print(
            f"rank agreement with {settings.benchmark}'s full-training accuracy over "
            f"{settings.archs} sampled archs (seed {settings.seed}); tau interval: bootstrap 95 %",
            file=sys.stderr,
        )
    sys.stdout.write(render(summary, output_format, SUMMARY_COLUMNS))
    return 0
