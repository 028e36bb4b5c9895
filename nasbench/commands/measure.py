"""`nasbench measure`: re-measure the latency of a study's archs on this machine, as labelled rows
beside the search machine's (search on a GPU server, measure on the target CPU or board)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from nasbench import arguments
from nasbench.results import store
from nasbench.results.formats import check_format, render, shown_column
from nasbench.results.latency import MEASURED
from nasbench.results.selection import search_rows, select_trials
from nasbench.spaces import load_space

COLUMNS = tuple(
    shown_column(name) for name in ("latency_ms", "latency_iqr_ms", "search_latency_ms")
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    arguments.add_storage(p)
    arguments.add_study_name(p, required=True)
    arguments.add_trial_selection(p, default_all=True)
    p.add_argument("--label", default=None, help="the device's label (default: its name)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument(
        "--threads",
        type=arguments.bounded_int(1, 1024),
        default=None,
        help="default: all cores",
    )
    arguments.add_latency_budget(p)
    arguments.add_format(p)


def run(args: argparse.Namespace) -> int:
    return run_measure(
        args.storage,
        args.study_name,
        trials=args.trial or [],
        pareto=args.pareto,
        label=args.label,
        device=args.device,
        threads=args.threads,
        budget_s=args.latency_budget,
        output_format=args.format,
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
    from nasbench import measure
    from nasbench.workflow.rows import done_keys, identity, store_row
    from nasbench.workflow.studies import cost_input_size, load_search_attrs

    check_format(output_format)
    measure.check_device_and_dtype(device, "float32")
    store.check_storage(url, create=False)
    attrs = load_search_attrs(url, study_name, "measure")
    frame = store.load_results(url, [study_name])
    if trials or pareto:
        chosen = select_trials(
            frame, study_name, trials=trials, pareto=pareto, objectives=attrs.get("objectives")
        )
    else:
        chosen = search_rows(frame, study_name)
    chosen = chosen.drop_duplicates("arch_hash")
    label = label or measure.device_name(device)
    done = done_keys(frame, ("arch_hash",), source=MEASURED, complete=False, latency_label=label)
    classes, channels = _input_of(attrs)
    space = load_space(attrs["space"])
    measured = []
    for _, trial in chosen.iterrows():
        if (trial["arch_hash"],) in done:
            continue
        size = cost_input_size(attrs, int(trial["image_size"]))
        model = space.build(trial["arch"], classes, channels, size)
        figures = measure.measure_model(
            model, (1, channels, size, size), device=device, threads=threads, budget_s=budget_s
        )
        number = int(trial["trial_number"])
        row = identity(
            study_name,
            MEASURED,
            f"trial {number}",
            trial["space"],
            None,
            None,
            trial_number=number,
            **_measured_columns(trial, label, figures, size),
        )
        store_row(url, row)
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
        measured,
        columns=[
            "trial_number",
            "name",
            "latency_ms",
            "latency_iqr_ms",
            "search_latency_ms",
            "latency_label",
            "threads",
        ],
    )
    sys.stdout.write(render(table, output_format, COLUMNS))
    return 0


def _input_of(attrs: dict[str, Any]) -> tuple[int, int]:
    """Classes and channels of the study's data (recorded since they were; else read the data)."""
    if "num_classes" in attrs and "in_channels" in attrs:
        return int(attrs["num_classes"]), int(attrs["in_channels"])
    from nasbench.data import load_dataset

    settings = attrs["settings"]
    data = load_dataset(
        settings["dataset"],
        data_dir=settings.get("data_dir", "data"),
        image_size=attrs.get("image_size"),
        seed=0,
    )
    return data.num_classes, data.in_channels


def _measured_columns(
    trial: pd.Series, label: str, figures: dict[str, Any], size: int
) -> dict[str, Any]:
    columns = set(store.COLUMNS)
    return {
        **{k: v for k, v in figures.items() if k in columns and k != "batch_size"},
        "arch": trial["arch"],
        "arch_hash": trial["arch_hash"],
        "status": "complete",
        "latency_label": label,
        "image_size": size,
        "latency_batch_size": 1,
    }
