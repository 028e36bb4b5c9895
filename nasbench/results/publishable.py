"""The publishable table: a study's retrained architectures beside its baselines, one row per
architecture and protocol: params, MACs, latency, proxy accuracy and the retrained test accuracy
(mean, spread, seeds), sorted by MACs."""

from __future__ import annotations

import math

import pandas as pd

from nasbench.results.formats import is_machine, shown_column
from nasbench.results.table import ARCH_COLUMNS

RETRAINED_SOURCES = ("retrain", "baseline")
COLUMNS = (
    *ARCH_COLUMNS,
    shown_column("proxy_acc"),
    shown_column("test_acc", name="test_acc_mean"),
    *(shown_column(name) for name in ("test_acc_std", "seeds", "epochs")),
)
_RAW = [c.name for c in COLUMNS]


def has_retrained_rows(frame: pd.DataFrame) -> bool:
    """Whether any retrain row exists: then `table` prints the publishable table."""
    return bool(len(frame)) and (frame["source"] == "retrain").any()


def publishable_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (study, retrained trial or baseline, protocol) with a test accuracy, raw
    columns and exact values, sorted by study then MACs. A retrained trial's proxy accuracy is
    its search row's; a baseline has none."""
    runs = frame[
        frame["source"].isin(RETRAINED_SOURCES)
        & (frame["status"] == "complete")
        & frame["test_acc"].notna()
    ]
    proxy = _proxy_accuracies(frame)
    rows = []
    keys = ["study_name", "source", "name", "protocol_hash"]
    for (study, source, name, _), group in runs.groupby(keys, sort=False):
        first = group.sort_values("id").iloc[0]
        accuracy = group["test_acc"].astype(float)
        trial = first["trial_number"]
        searched = source == "retrain" and pd.notna(trial)  # a baseline has no proxy accuracy
        rows.append(
            {
                "study_name": study,
                "name": name,
                "arch": first["arch"],
                "params": first["params"],
                "macs": first["macs"],
                "latency_ms": first["latency_ms"],
                "proxy_acc": proxy.get((study, int(trial)), math.nan) if searched else math.nan,
                "test_acc_mean": float(accuracy.mean()),
                "test_acc_std": float(accuracy.std(ddof=1)) if len(accuracy) > 1 else math.nan,
                "seeds": int(len(accuracy)),
                "epochs": first["epochs"],
            }
        )
    table = pd.DataFrame(rows, columns=_RAW)
    return table.sort_values(["study_name", "macs"], kind="stable", na_position="last").reset_index(
        drop=True
    )


def publishable_columns(table: pd.DataFrame, output_format: str) -> tuple[pd.DataFrame, list]:
    """The table and its columns as printed: for people, the test accuracy as 'mean ± std'."""
    if is_machine(output_format):
        return table, list(COLUMNS)
    digits = shown_column("test_acc").decimals
    text = [
        ""
        if math.isnan(mean)
        else f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")
        for mean, std in zip(table["test_acc_mean"], table["test_acc_std"], strict=True)
    ]
    shown = table.drop(columns=["test_acc_std"]).assign(test_acc_mean=text)
    return shown, [c for c in COLUMNS if c.name != "test_acc_std"]


def _proxy_accuracies(frame: pd.DataFrame) -> dict[tuple[str, int], float]:
    """(study, trial number) -> the search row's accuracy (the first evaluated one)."""
    search = frame[
        (frame["source"] == "search") & frame["val_acc"].notna() & frame["trial_number"].notna()
    ].sort_values("id")
    found: dict[tuple[str, int], float] = {}
    for study, trial, acc in zip(
        search["study_name"], search["trial_number"], search["val_acc"], strict=True
    ):
        found.setdefault((study, int(trial)), float(acc))
    return found
