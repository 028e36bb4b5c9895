"""Benchmark tables as data: a space plus other people's full-training results, one row per arch (no torch).

A benchmark answers, for each arch of its space, an accuracy the search may select on, an accuracy
to report (or none: "validation only") and costs (params, MACs, latency on named devices). The
search looks those up instead of training, and the table's true front is what a search is judged
against.

`load_benchmark(REF, space=...)` reads one of two kinds:

- a table shipped with the package, by name (`SHIPPED`: nb201-cifar10, nb201-cifar100,
  nb201-imagenet16, nas-bench-macro; sources and licences in benchmark_tables/NOTICE.md);
- a user's CSV, by path (anything with a path separator or a `.csv` / `.csv.gz` suffix). It has an
  `arch` column (the space's benchmark arch string, nasbench.arch_strings), the accuracy to select on
  (`valid_acc`, or the column(s) named by `select_column`) and optionally the accuracy to report
  (`test_acc`, or `report_column`), `params`, `macs` and `latency_ms_DEVICE` columns. Several
  comma-separated columns are averaged. Params and MACs absent from a table are computed by the
  evaluation layer (nasbench.evaluation.tabular).

Every bad input (unknown name, missing file, unreadable CSV, missing column, non-numeric value,
malformed or repeated arch string, a space the table is not for) raises BenchmarkError with one
line naming the file and, where it applies, the row (1 = the first row under the header).
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pandas as pd

from nasbench.arch_strings import (
    arch_string_spaces,
    format_arch_string,
    has_arch_string,
    parse_arch_string,
)
from nasbench.errors import UsageError
from nasbench.spaces import ArchError, SpaceError

COST_COLUMNS = ("params", "macs")
LATENCY_PREFIX = "latency_ms_"
MAX_FILE_BYTES = 1 << 30  # a user table: NAS-Bench-201's whole table is 2 MB
MAX_HEADER_BYTES = 1 << 20
MAX_COST = 1e18  # params, MACs or milliseconds: far beyond any network, well inside int64
DEFAULT_SELECT = "valid_acc"
DEFAULT_REPORT = "test_acc"
# the latency column a latency objective reads unless --latency-device says otherwise: HELP's
# Pixel 3 latencies are the only phone's not rounded to whole milliseconds
DEFAULT_LATENCY_DEVICE = "pixel3"
VALIDATION_ONLY = "validation only: this table has no test accuracy to report"


class BenchmarkError(UsageError):
    """A benchmark that is unknown, missing or malformed, or an arch it does not hold."""


@dataclass(frozen=True)
class Shipped:
    """A table shipped in nasbench/benchmark_tables/, and what its columns mean."""

    space: str
    dataset: str
    num_classes: int
    image_size: int
    file: str
    select: tuple[str, ...]
    report: tuple[str, ...]
    source: str
    licence: str
    how: str  # how selection and reporting work, in one sentence
    # the table's best estimate of full training, what a proxy's ranking is judged against
    # (default: the reported accuracy, or the selection accuracy of a validation-only table)
    truth: tuple[str, ...] = ()
    latency_file: str | None = None


SHIPPED: dict[str, Shipped] = {
    "nb201-cifar10": Shipped(
        "nb201", "cifar10", 10, 32, "nb201_cifar10.csv.gz", ("valid_acc",), ("test_acc",),
        "NAS-Bench-201 (Dong & Yang, ICLR 2020); latencies: HELP (Lee et al., NeurIPS 2021)",
        "MIT",
        "selects on validation accuracy (cifar10-valid split, 200 epochs), reports test accuracy "
        "(trained on train+valid); latency on 27 devices",
        latency_file="nb201_latency.csv.gz",
    ),
    "nb201-cifar100": Shipped(
        "nb201", "cifar100", 100, 32, "nb201_cifar100.csv.gz", ("valid_acc",), ("test_acc",),
        "NAS-Bench-201 (Dong & Yang, ICLR 2020), as extracted by NASLib and HW-NAS-Bench",
        "MIT (NASLib's extraction Apache-2.0)",
        "selects on validation accuracy (half of CIFAR-100's test set), reports test accuracy "
        "(the other half); no latency",
    ),
    "nb201-imagenet16": Shipped(
        "nb201", "imagenet16-120", 120, 16, "nb201_imagenet16.csv.gz", ("valid_acc",), (),
        "NAS-Bench-201 (Dong & Yang, ICLR 2020), as extracted by NASLib",
        "MIT (NASLib's extraction Apache-2.0)",
        "validation only: selects on and reports validation accuracy (no test column); no latency",
    ),
    "nas-bench-macro": Shipped(
        "nas_bench_macro", "cifar10", 10, 32, "nas_bench_macro.csv.gz", ("test_acc_1",),
        ("test_acc_2", "test_acc_3"),
        "NAS-Bench-Macro (Su et al., CVPR 2021)", "Apache-2.0",
        "three test-set runs and no validation split: selects on run 1, reports the mean of runs "
        "2 and 3, so that selection noise does not inflate the reported figure",
        truth=("test_acc_1", "test_acc_2", "test_acc_3"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class TabularBenchmark:
    """A loaded benchmark: rows indexed by the canonical arch string of `space`.

    frame columns: val_acc (what the search selects on), test_acc (what it reports; absent when
    the table is validation only), truth (the best estimate of full training: what proxies are
    judged against), params and macs when the table has them, latency_ms_DEVICE.
    """

    name: str  # the shipped name, or the path as given
    path: str
    space: str
    dataset: str
    num_classes: int
    image_size: int
    frame: pd.DataFrame
    fingerprint: str  # SHA-256 of the file's bytes (16 hex digits): which table a study used
    select: tuple[str, ...]  # the table's columns behind val_acc (averaged)
    report: tuple[str, ...]  # behind test_acc; () when the table is validation only
    truth: tuple[str, ...] = ()  # behind truth
    source: str = "user table"
    licence: str = "(the user's)"
    how: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def validation_only(self) -> bool:
        return not self.report

    @property
    def latency_devices(self) -> list[str]:
        return [
            c[len(LATENCY_PREFIX) :] for c in self.frame.columns if c.startswith(LATENCY_PREFIX)
        ]

    @property
    def select_label(self) -> str:
        return _label(self.select)

    @property
    def truth_label(self) -> str:
        return _label(self.truth)

    @property
    def report_label(self) -> str:
        return _label(self.report) if self.report else VALIDATION_ONLY

    def key(self, arch: dict[str, Any]) -> str:
        """The table's key of an arch; BenchmarkError if it is not an arch of the space."""
        try:
            return format_arch_string(self.space, arch)
        except ArchError as err:
            raise BenchmarkError(f"cannot look up {arch!r} in {self.name}: {err}") from None

    def lookup(self, arch: dict[str, Any], latency_device: str | None = None) -> dict[str, Any]:
        """val_acc, test_acc (unless validation only), the table's params/macs, and latency_ms on
        `latency_device`; BenchmarkError if the arch is invalid or absent."""
        key = self.key(arch)
        try:
            row = self.frame.loc[key]
        except KeyError:
            raise BenchmarkError(f"benchmark {self.name} has no row for {key}") from None
        found: dict[str, Any] = {"val_acc": float(row["val_acc"])}
        if not self.validation_only:
            found["test_acc"] = float(row["test_acc"])
        for column in COST_COLUMNS:
            if column in self.frame.columns:
                found[column] = int(row[column])
        if latency_device is not None:
            found["latency_ms"] = float(row[self.latency_column(latency_device)])
        return found

    def latency_column(self, device: str) -> str:
        """The column of `device`'s latency; BenchmarkError naming the devices the table has."""
        column = LATENCY_PREFIX + device
        if column not in self.frame.columns:
            devices = ", ".join(self.latency_devices)
            has = f"devices: {devices}" if devices else "no latency columns"
            raise BenchmarkError(f"benchmark {self.name} has no latency on {device!r} ({has})")
        return column


def is_file_reference(ref: str) -> bool:
    """A path (separator or .csv suffix) rather than the name of a shipped table."""
    return os.sep in ref or "/" in ref or ref.endswith((".csv", ".csv.gz"))


def load_benchmark(
    ref: str | os.PathLike[str],
    space: str | None = None,
    select_column: str | None = None,
    report_column: str | None = None,
) -> TabularBenchmark:
    """Read and check a shipped table (by name) or a user's CSV (by path; `space` required)."""
    ref = os.fspath(ref)
    if not is_file_reference(ref):
        return _load_shipped(ref, space, select_column, report_column)
    if space is None:
        raise BenchmarkError(
            f"benchmark file {ref!r}: name the space its archs belong to (--space)"
        )
    if not has_arch_string(space):
        raise BenchmarkError(f"benchmark file {ref!r}: {_no_arch_string(space)}")
    if not os.path.isfile(ref):
        raise BenchmarkError(f"benchmark file {ref!r} does not exist")
    if os.path.getsize(ref) > MAX_FILE_BYTES:
        raise BenchmarkError(
            f"benchmark file {ref!r} is {os.path.getsize(ref) / 2**30:.1f} GB: larger than the "
            f"{MAX_FILE_BYTES // 2**30} GB a table of archs may be"
        )
    with open(ref, "rb") as handle:
        data = handle.read()
    select = _columns(select_column) or (DEFAULT_SELECT,)
    frame = _read(ref, data)
    if report_column:
        report = _columns(report_column)
    else:
        report = (DEFAULT_REPORT,) if DEFAULT_REPORT in frame.columns else ()
    return _benchmark(
        ref, ref, frame, data, space, select, report, report or select,
        dataset="user table", num_classes=10, image_size=32,
    )  # fmt: skip


def shipped_names() -> list[str]:
    return list(SHIPPED)


def benchmark_summaries() -> list[dict[str, Any]]:
    """One row per shipped table, for `nasbench benchmarks`."""
    rows = []
    for name in SHIPPED:
        bench = load_benchmark(name)
        best = bench.frame["val_acc" if bench.validation_only else "test_acc"].max()
        rows.append(
            {
                "name": name,
                "space": bench.space,
                "dataset": bench.dataset,
                "classes": bench.num_classes,
                "input": f"{bench.image_size}x{bench.image_size}",
                "rows": len(bench),
                "best_reportable_acc": round(float(best), 2),
                "reported": "validation only" if bench.validation_only else "test",
                "latency_devices": len(bench.latency_devices),
                "source": bench.source,
                "licence": bench.licence,
                "selection_and_reporting": bench.how,
            }
        )
    return rows


# ---- reading ---------------------------------------------------------------------------------


def _load_shipped(
    name: str, space: str | None, select_column: str | None, report_column: str | None
) -> TabularBenchmark:
    spec = SHIPPED.get(name)
    if spec is None:
        raise BenchmarkError(
            f"unknown benchmark {name!r}; shipped: {', '.join(SHIPPED)} (or give a CSV file's path)"
        )
    if space is not None and space != spec.space:
        raise BenchmarkError(
            f"benchmark {name} holds {spec.space} archs, not {space!r} archs; use --space {spec.space}"
        )
    data = _package_bytes(spec.file)
    frame = _read(name, data)
    if spec.latency_file:
        latency = _read(name, _package_bytes(spec.latency_file))
        frame = frame.merge(latency, on="arch", how="left", validate="one_to_one")
        data += _package_bytes(spec.latency_file)
    select = _columns(select_column) or spec.select
    report = _columns(report_column) or spec.report
    truth = spec.truth or report or select
    return _benchmark(
        name, f"nasbench/benchmark_tables/{spec.file}", frame, data, spec.space, select, report,
        truth,
        dataset=spec.dataset, num_classes=spec.num_classes, image_size=spec.image_size,
        source=spec.source, licence=spec.licence,
        how=spec.how if (select, report) == (spec.select, spec.report) else "",
    )  # fmt: skip


def _package_bytes(file: str) -> bytes:
    return resources.files("nasbench").joinpath("benchmark_tables", file).read_bytes()


def _read(name: str, data: bytes) -> pd.DataFrame:
    compression = "gzip" if data[:2] == b"\x1f\x8b" else None
    if compression is None:
        _check_header_line(name, data)
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype={"arch": str}, compression=compression)
        header = pd.read_csv(io.BytesIO(data), header=None, nrows=1, dtype=str,
                             compression=compression).iloc[0].tolist()  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError,
            OSError, EOFError) as err:  # fmt: skip
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BenchmarkError(
            f"benchmark file {name!r} is not a readable CSV: {first_line}"
        ) from None
    repeated = [c for c in dict.fromkeys(header) if header.count(c) > 1]
    if repeated:  # pandas would read the second as "NAME.1"
        raise BenchmarkError(f"benchmark file {name!r} names column {repeated[0]!r} twice")
    return raw


def _check_header_line(name: str, data: bytes) -> None:
    """One line for a file whose first line is no header (a megabyte without a line break)."""
    if len(data) > MAX_HEADER_BYTES and b"\n" not in data[:MAX_HEADER_BYTES]:
        raise BenchmarkError(
            f"benchmark file {name!r} has no header line in its first "
            f"{MAX_HEADER_BYTES // 2**20} MB: not a table of archs"
        )


def _benchmark(
    name: str,
    path: str,
    raw: pd.DataFrame,
    data: bytes,
    space: str,
    select: tuple[str, ...],
    report: tuple[str, ...],
    truth: tuple[str, ...],
    **about: Any,
) -> TabularBenchmark:
    where = f"benchmark file {name!r}" if is_file_reference(name) else f"benchmark {name}"
    if "arch" not in raw.columns:
        raise BenchmarkError(f"{where} lacks the arch column")
    for columns, flag in ((select, "--select-column"), (report, "--report-column")):
        missing = [c for c in columns if c not in raw.columns]
        if missing:
            raise BenchmarkError(
                f"{where} lacks column(s) {', '.join(missing)}; name its accuracy column(s) with "
                f"{flag} (columns: {', '.join(raw.columns)})"
            )
    if raw.empty:
        raise BenchmarkError(f"{where} has no rows")

    accuracies = [*dict.fromkeys([*select, *report, *truth])]
    costs = [c for c in raw.columns if c in COST_COLUMNS or c.startswith(LATENCY_PREFIX)]
    frame = pd.DataFrame(index=raw.index)
    for column in [*accuracies, *costs]:
        frame[column] = _numbers(raw, column, where, whole=column in COST_COLUMNS)
        low, high = (0, 100) if column in accuracies else (0, MAX_COST)
        outside = ~frame[column].between(low, high)
        if outside.any():
            row = int(outside.to_numpy().argmax())
            what = "an accuracy in percent" if column in accuracies else "a cost"
            raise BenchmarkError(
                f"{where}, row {row + 1}: {column}={_shown(raw[column].iloc[row])} is outside "
                f"[{low}, {high:g}] ({what})"
            )
    frame.index = pd.Index(_keys(raw["arch"], space, where), name="arch")
    repeated = frame.index.duplicated()
    if repeated.any():
        row = int(repeated.argmax())
        raise BenchmarkError(f"{where}, row {row + 1}: {frame.index[row]} appears twice")

    frame["val_acc"] = frame[list(select)].mean(axis=1)
    if report:
        frame["test_acc"] = frame[list(report)].mean(axis=1)
    frame["truth"] = frame[list(truth)].mean(axis=1)
    kept = ["val_acc", *(["test_acc"] if report else []), "truth"]
    kept += [c for c in frame.columns if c in COST_COLUMNS or c.startswith(LATENCY_PREFIX)]
    fingerprint = hashlib.sha256(data).hexdigest()[:16]
    return TabularBenchmark(
        name=name, path=path, space=space, frame=frame[kept], fingerprint=fingerprint,
        select=select, report=report, truth=truth, **about,
    )  # fmt: skip


def _numbers(raw: pd.DataFrame, column: str, where: str, whole: bool) -> pd.Series:
    numbers = pd.to_numeric(raw[column], errors="coerce")
    bad = numbers.isna() | ~numbers.abs().lt(float("inf"))
    if bad.any():
        row = int(bad.to_numpy().argmax())
        value = raw[column].iloc[row]
        raise BenchmarkError(
            f"{where}, row {row + 1}: {column}={_shown(value)} is not a finite number"
        )
    if whole:
        # beyond MAX_COST an int64 column wraps around (1e30 MACs were stored as -2**63)
        huge = numbers.abs() > MAX_COST
        if huge.any():
            row = int(huge.to_numpy().argmax())
            raise BenchmarkError(
                f"{where}, row {row + 1}: {column}={_shown(raw[column].iloc[row])} is outside "
                f"[0, {MAX_COST:g}] (a cost)"
            )
        fractional = numbers != numbers.round()
        if fractional.any():
            row = int(fractional.to_numpy().argmax())
            value = raw[column].iloc[row]
            raise BenchmarkError(
                f"{where}, row {row + 1}: {column}={_shown(value)} is not a whole number"
            )
        return numbers.astype("int64")
    return numbers.astype(float)


def _keys(texts: pd.Series, space: str, where: str) -> list[str]:
    """The canonical arch string of every row (parsed and written back: a check and a key)."""
    keys = []
    for row, text in enumerate(texts):
        try:
            keys.append(format_arch_string(space, parse_arch_string(space, _text(text))))
        except (ArchError, SpaceError) as err:
            raise BenchmarkError(f"{where}, row {row + 1}: {err}") from None
    return keys


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ArchError(f"arch {_shown(value)} is not an arch string")


def _columns(spec: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in spec.split(",") if c.strip()) if spec else ()


def _label(columns: tuple[str, ...]) -> str:
    return columns[0] if len(columns) == 1 else f"mean of {', '.join(columns)}"


def _no_arch_string(space: str) -> str:
    return (
        f"space {space!r} has no benchmark arch string, so no table can name its archs; "
        f"spaces with one: {', '.join(arch_string_spaces())}"
    )


def _shown(value: Any) -> str:
    """A cell of the file as the user wrote it: quoted text, plain numbers (not np.float64(...))."""
    return repr(value) if isinstance(value, str) else str(value)
