"""Tabular benchmarks as data: accuracies of every cell, read from a CSV instead of training (no torch).

The file format is a CSV with one row per NAS-Bench-201 cell (extra columns are ignored):

    arch               the NAS-Bench-201 string, |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
    params             parameter count of the CIFAR-10 network built from the cell
    cifar10_valid_acc  top-1 (%) on the validation split: the accuracy a search may optimise
    cifar10_test_acc   top-1 (%) on the test set: for reporting the search's choice only

`../shared/data/nb201_cifar10.csv` (all 15,625 cells) has this format; a table may also hold a
subset of the cells, and looking up a cell it lacks is an error. Every bad-input case (missing file,
unreadable CSV, missing column, non-numeric value, unparsable or repeated arch string) raises
BenchmarkError with one line naming the file and, where it applies, the row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from nasbench.cells import from_nb201_string, to_nb201_string
from nasbench.errors import UsageError
from nasbench.spaces import ArchError

NB201 = "nb201"  # the space whose archs the table's cells are

REQUIRED_COLUMNS = ("arch", "params", "cifar10_valid_acc", "cifar10_test_acc")
NUMERIC_COLUMNS = REQUIRED_COLUMNS[1:]


class BenchmarkError(UsageError):
    """A tabular benchmark file that is missing or malformed, or a cell it does not hold."""


@dataclass(frozen=True)
class TabularBenchmark:
    """The rows of a benchmark file, indexed by NAS-Bench-201 string; `space` is the space they fit."""

    path: str
    frame: pd.DataFrame  # index: arch string; columns params, val_acc, test_acc (+ extras)
    fingerprint: str  # SHA-256 of the file's bytes (16 hex digits): which table a study used
    space: str = NB201
    dataset: str = "cifar10 (tabular)"  # what the table's accuracies were measured on

    def __len__(self) -> int:
        return len(self.frame)

    def lookup(self, arch: dict[str, Any]) -> dict[str, float | int]:
        """{val_acc, test_acc, params} of a cell; BenchmarkError if the arch is invalid or absent."""
        try:
            key = to_nb201_string(arch)
        except ArchError as err:
            raise BenchmarkError(f"cannot look up {arch!r} in {self.path}: {err}") from None
        try:
            row = self.frame.loc[key]
        except KeyError:
            raise BenchmarkError(f"benchmark {self.path} has no row for {key}") from None
        return {
            "val_acc": float(row["val_acc"]),
            "test_acc": float(row["test_acc"]),
            "params": int(row["params"]),
        }


def load_benchmark(path: str | Path) -> TabularBenchmark:
    """Read and check a benchmark CSV (format in the module docstring)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise BenchmarkError(f"benchmark file {name!r} does not exist")
    try:
        raw = pd.read_csv(path, dtype={"arch": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchmarkError(
            f"benchmark file {name!r} is not a readable CSV: {first_line}"
        ) from None

    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise BenchmarkError(
            f"benchmark file {name!r} lacks column(s) {', '.join(missing)}; "
            f"required: {', '.join(REQUIRED_COLUMNS)}"
        )
    if raw.empty:
        raise BenchmarkError(f"benchmark file {name!r} has no rows")

    frame = raw.copy()
    for column in NUMERIC_COLUMNS:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | ~numbers.abs().lt(float("inf"))
        if bad.any():
            row = int(bad.idxmax())
            raise BenchmarkError(
                f"benchmark file {name!r}, row {row + 1}: {column}={_shown(raw[column].iloc[row])} "
                "is not a number"
            )
        frame[column] = numbers
    fractional = frame["params"] != frame["params"].round()
    if fractional.any():
        row = int(fractional.idxmax())
        raise BenchmarkError(
            f"benchmark file {name!r}, row {row + 1}: params={_shown(raw['params'].iloc[row])} "
            "is not a whole number"
        )

    keys = []
    for row, text in enumerate(frame["arch"]):
        try:
            keys.append(to_nb201_string(from_nb201_string(text)))
        except ArchError as err:
            raise BenchmarkError(f"benchmark file {name!r}, row {row + 1}: {err}") from None
    frame.index = pd.Index(keys, name="arch")
    repeated = frame.index.duplicated()
    if repeated.any():
        row = int(repeated.argmax())
        raise BenchmarkError(f"benchmark file {name!r}, row {row + 1}: {keys[row]} appears twice")

    frame = frame.drop(columns="arch").rename(
        columns={"cifar10_valid_acc": "val_acc", "cifar10_test_acc": "test_acc"}
    )
    frame["params"] = frame["params"].astype("int64")
    fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return TabularBenchmark(path=name, frame=frame, fingerprint=fingerprint)


def _shown(value: Any) -> str:
    """A cell of the file as the user wrote it: quoted text, plain numbers (not np.float64(...))."""
    return repr(value) if isinstance(value, str) else str(value)
