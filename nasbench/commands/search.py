"""`nasbench search`: one process, or a supervisor of worker processes sharing the study."""

from __future__ import annotations

from nasbench.config import SearchSettings
from nasbench.search.run import run_search
from nasbench.search.workers import run_workers


def run(settings: SearchSettings) -> int:
    """Run (or resume) the search the settings describe; return the exit status."""
    if settings.workers > 1 or settings.devices:
        return run_workers(settings)
    return run_search(settings)
