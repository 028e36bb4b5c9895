"""Latency on a chosen device: the labelled rows of `nasbench measure` in place of the latency the
search machine measured, for `table` and `report` (--latency-device LABEL)."""

from __future__ import annotations

import pandas as pd

from nasbench.errors import UsageError

MEASURED = "measure"  # the source of a re-measured latency row


def latency_labels(frame: pd.DataFrame) -> list[str]:
    """Every device whose latency the rows hold: measure labels, then the search machines'."""
    if not len(frame):
        return []
    measured = frame[frame["source"] == MEASURED]["latency_label"].dropna()
    searched = frame[frame["source"] != MEASURED]["device_name"].dropna()
    return list(dict.fromkeys([*sorted(measured.unique()), *sorted(searched.unique())]))


def measured_on(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """The rows `nasbench measure` stored for `label`, the latest per (study, arch) last."""
    if not len(frame):
        return frame
    measured = frame[(frame["source"] == MEASURED) & (frame["latency_label"] == label)]
    return measured.sort_values("id").drop_duplicates(["study_name", "arch_hash"], keep="last")


def on_device(frame: pd.DataFrame, label: str | None) -> pd.DataFrame:
    """The rows with latency_ms (and its spread) as measured on `label`: a measure row of the
    same study and arch, else missing. The search machine's own label (its device name) changes
    nothing. One line naming the labels there are when none is `label`."""
    if label is None or not len(frame):
        return frame
    latest = measured_on(frame, label)
    if not len(latest):
        if label in set(frame["device_name"].dropna()):
            return frame
        raise UsageError(
            f"no latency measured on {label!r}; devices: {', '.join(latency_labels(frame)) or 'none'}"
            " (nasbench measure --label LABEL adds one)"
        )
    lookup = latest.set_index(["study_name", "arch_hash"])
    keys = pd.MultiIndex.from_arrays([frame["study_name"], frame["arch_hash"]])
    others = frame["source"] != MEASURED
    frame = frame.copy()
    for column in ("latency_ms", "latency_iqr_ms", "threads"):
        found = lookup[column].reindex(keys).to_numpy()
        frame[column] = frame[column].where(~others, found)
    frame.loc[others, "device_name"] = label
    return frame
