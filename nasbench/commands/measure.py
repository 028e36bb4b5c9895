"""`nasbench measure`: re-measure the latency of a study's archs on this machine, as labelled rows
beside the search machine's (search on a GPU server, measure on the target CPU or board)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from nasbench import measure
from nasbench.data import load_dataset
from nasbench.results import store
from nasbench.results.formats import Column, check_format, render
from nasbench.results.latency import MEASURED
from nasbench.results.selection import search_rows, select_trials
from nasbench.search.study import load_search_attrs
from nasbench.spaces import load_space

COLUMNS = (
    Column("latency_ms", "latency (ms)", decimals=3),
    Column("latency_iqr_ms", "IQR (ms)", decimals=3),
    Column("search_latency_ms", "search machine (ms)", decimals=3),
)


def run_measure(
    url: str,
    study_name: str,
    *,
    trials: list[int],
    pareto: bool,
    label: str | None,
    device: str = "cpu",
    threads: int | None = None,
    budget_s: float = 2.0,
    output_format: str = "table",
) -> int:
    """Measure every arch of the study (or the chosen trials) not yet measured under `label`."""
    check_format(output_format)
    measure.check_device_and_dtype(device, "float32")
    store.check_storage(url, create=False)
    attrs = load_search_attrs(url, study_name, "measure")
    frame = store.load_results(url, [study_name])
    if trials or pareto:
        chosen = select_trials(frame, study_name, trials=trials, pareto=pareto,
                               objectives=attrs.get("objectives"))  # fmt: skip
    else:
        chosen = search_rows(frame, study_name)
    chosen = chosen.drop_duplicates("arch_hash")
    label = label or measure.device_name(device)
    done = set(
        frame[(frame["source"] == MEASURED) & (frame["latency_label"] == label)]["arch_hash"]
    )
    classes, channels = _input_of(attrs)
    space = load_space(attrs["space"])
    measured = []
    for _, trial in chosen.iterrows():
        if trial["arch_hash"] in done:
            continue
        size = int(trial["image_size"])
        model = space.build(trial["arch"], classes, channels, size)
        figures = measure.measure_model(
            model, (1, channels, size, size), device=device, threads=threads, budget_s=budget_s
        )
        row = _row(study_name, trial, label, figures)
        store.write_result(url, row)
        measured.append({**row, "search_latency_ms": trial["latency_ms"]})
        print(
            f"trial {row['trial_number']}: {row['latency_ms']:.3f} ms on {label}", file=sys.stderr
        )
    print(
        f"{study_name}: {len(measured)} archs measured on {label!r}, "
        f"{len(chosen) - len(measured)} already were",
        file=sys.stderr,
    )
    table = pd.DataFrame(
        measured, columns=["trial_number", "name", "latency_ms", "latency_iqr_ms",
                           "search_latency_ms", "latency_label", "threads"],
    )  # fmt: skip
    sys.stdout.write(render(table, output_format, COLUMNS))
    return 0


def _input_of(attrs: dict[str, Any]) -> tuple[int, int]:
    """Classes and channels of the study's data (recorded since they were; else read the data)."""
    if "num_classes" in attrs and "in_channels" in attrs:
        return int(attrs["num_classes"]), int(attrs["in_channels"])
    settings = attrs["settings"]
    data = load_dataset(settings["dataset"], data_dir=settings.get("data_dir", "data"),
                        image_size=attrs.get("image_size"), seed=0)  # fmt: skip
    return data.num_classes, data.in_channels


def _row(study_name: str, trial: pd.Series, label: str, figures: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    columns = set(store.COLUMNS)
    return {
        **{k: v for k, v in figures.items() if k in columns and k != "batch_size"},
        "study_name": study_name, "trial_number": int(trial["trial_number"]),
        "source": MEASURED, "name": f"trial {int(trial['trial_number'])}", "space": trial["space"],
        "arch": trial["arch"], "arch_hash": trial["arch_hash"], "status": "complete",
        "latency_label": label, "image_size": int(trial["image_size"]),
        "latency_batch_size": 1, "code_version": store.code_version(),
        "started_at": now, "finished_at": now,
    }  # fmt: skip
