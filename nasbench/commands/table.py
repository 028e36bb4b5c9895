"""`nasbench table`: the accuracy-versus-MACs table of the named studies, in any output format."""

from __future__ import annotations

import sys

from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.formats import check_format, render
from nasbench.results.table import results_table, table_columns


def run_table(
    url: str,
    study_names: list[str] | None,
    *,
    pareto: bool = False,
    sort: str | None = None,
    output_format: str = "table",
) -> int:
    """Print the table of the named studies (all when None)."""
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
    frame = store.load_results(url, study_names or None)
    table = results_table(frame, pareto=pareto, sort=sort, output_format=output_format)
    sys.stdout.write(render(table, output_format, table_columns(table, output_format)))
    return 0
