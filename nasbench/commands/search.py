"""`nasbench search`: one process, or a supervisor of worker processes sharing the study."""

from __future__ import annotations

import sys

from nasbench.config import SearchSettings
from nasbench.search.run import run_search
from nasbench.search.workers import choose_workers, run_workers


def run(settings: SearchSettings) -> int:
    """Run (or resume) the search the settings describe; return the exit status."""
    settings, chosen = choose_workers(settings)
    if chosen:
        print(chosen, file=sys.stderr, flush=True)
    if settings.workers > 1 or settings.devices:
        return run_workers(settings)
    return run_search(settings)
