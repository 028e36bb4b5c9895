"""`nasbench judge`: searches run with --judge, judged by their benchmark table's truth (one row each)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from nasbench import arguments
from nasbench.benchmarks import TabularBenchmark, load_benchmark
from nasbench.errors import UsageError
from nasbench.report.load import read_optuna_studies
from nasbench.results import store
from nasbench.results.formats import check_format, is_machine, render
from nasbench.results.judged import COLUMNS, HUMAN_COLUMNS, judged_figures
from nasbench.results.selection import search_rows


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, many=True, help="default: every study run with --judge")
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_judge(args.storage, args.study_name, output_format=args.format)


def run_judge(
    url: str, study_names: list[str] | None = None, *, output_format: str = "table", seed: int = 0
) -> int:
    """Print one row of judged figures (nasbench.results.judged) per named study, or per study of
    the database whose user attrs record a `judge` table when none is named."""
    check_format(output_format)
    store.check_storage(url, create=False)
    attrs = {name: study.attrs for name, study in read_optuna_studies(url).items()}
    names = study_names or [name for name, a in attrs.items() if "judge" in a]
    if not names:
        raise UsageError(f"no study in {url} was run with --judge; nothing to judge")
    judges = {name: recorded_judge(name, attrs) for name in dict.fromkeys(names)}
    frame = store.load_results(url, list(judges))
    tables: dict[tuple[str, str], tuple[TabularBenchmark, pd.Series | None]] = {}
    records = []
    for name, judge in judges.items():
        key = (str(judge["benchmark"]), str(judge.get("space") or ""))
        if key not in tables:
            tables[key] = _table(name, judge)
        bench, table_macs = tables[key]
        figures = judged_figures(search_rows(frame, name), bench, seed=seed, table_macs=table_macs)
        records.append({"study_name": name, "benchmark": bench.name, **figures})
    table = pd.DataFrame(records)
    if not is_machine(output_format):
        table = table[list(HUMAN_COLUMNS)]
    sys.stdout.write(render(table, output_format, COLUMNS))
    return 0


def recorded_judge(study_name: str, attrs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The study's `judge` attr (benchmark, fingerprint, space); one line when the study is
    unknown or was not run with --judge."""
    if study_name not in attrs:
        known = ", ".join(sorted(attrs)) or "none"
        raise UsageError(f"no study {study_name!r} in this database; studies: {known}")
    judge = attrs[study_name].get("judge")
    if not isinstance(judge, dict) or not judge.get("benchmark"):
        raise UsageError(
            f"study {study_name!r} was not run with --judge; it records no benchmark table to "
            "judge its archs by (run nasbench search with --judge)"
        )
    return judge


def _table(study_name: str, judge: dict[str, Any]) -> tuple[TabularBenchmark, pd.Series | None]:
    """The recorded table, refused when its bytes changed since the search; and its MACs when
    the table has none (computed by the evaluation layer, which imports torch)."""
    bench = load_benchmark(str(judge["benchmark"]), judge.get("space") or None)
    recorded = judge.get("fingerprint")
    if recorded and recorded != bench.fingerprint:
        raise UsageError(
            f"benchmark {bench.name} has fingerprint {bench.fingerprint}, but study "
            f"{study_name!r} was judged by {recorded}: the table changed since the search"
        )
    if "macs" in bench.frame:
        return bench, None
    from nasbench.evaluation.tabular import table_costs

    return bench, table_costs(bench)["macs"]
