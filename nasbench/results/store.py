"""The `results` table beside Optuna's tables in one SQL database: checks, writes and DataFrame reads."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from nasbench import __version__
from nasbench.errors import UsageError
from nasbench.results.vocabulary import SOURCES, STATUSES, plain

SQLITE_BUSY_TIMEOUT_MS = 60_000

# Tables that Optuna's RDBStorage creates; hard-coded rather than imported from optuna's private
# models module, and pinned by a test that creates a real Optuna study.
OPTUNA_TABLES = frozenset(
    {
        "alembic_version",
        "studies",
        "study_directions",
        "study_user_attributes",
        "study_system_attributes",
        "trials",
        "trial_params",
        "trial_values",
        "trial_intermediate_values",
        "trial_user_attributes",
        "trial_system_attributes",
        "trial_heartbeats",
        "version_info",
    }
)
_OPTUNA_MARKERS = {"studies", "version_info"}


class StoreError(UsageError):
    """The storage URL names something that is not (or not yet) a nasbench database."""


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware datetime stored as UTC (SQLite keeps no offset, so naive UTC there)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()
# none_as_null: a missing arch is SQL NULL, not the JSON literal 'null'.
_JSON = sa.JSON(none_as_null=True)

results = sa.Table(
    "results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_name", sa.String, nullable=False, index=True),
    sa.Column("trial_number", sa.Integer),
    sa.Column("source", sa.String, nullable=False),
    sa.Column("name", sa.String),
    sa.Column("space", sa.String),
    sa.Column("arch", _JSON),
    sa.Column("arch_hash", sa.String, index=True),
    sa.Column("protocol_hash", sa.String, index=True),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("reused_from", sa.Integer),
    sa.Column("val_acc", sa.Float),  # percent; the mean over train_runs trainings
    sa.Column("val_acc_std", sa.Float),  # sample standard deviation over them (null for one)
    sa.Column("train_runs", sa.Integer),  # trainings behind val_acc, each with its own seed
    sa.Column("test_acc", sa.Float),
    sa.Column("train_loss", sa.Float),
    # training-speed estimate: the mean training loss over every step (lower ranks higher)
    sa.Column("tse", sa.Float),
    sa.Column("steps", sa.Integer),  # optimizer steps of the (first) training
    sa.Column("images_seen", sa.BigInteger),  # training images those steps saw
    sa.Column("macs", sa.BigInteger),
    sa.Column("params", sa.BigInteger),
    sa.Column("uncounted_ops", _JSON),
    sa.Column("latency_ms", sa.Float),
    sa.Column("latency_iqr_ms", sa.Float),
    sa.Column("latency_repeats", sa.Integer),
    sa.Column("latency_batch_size", sa.Integer),
    sa.Column("peak_memory_mb", sa.Float),
    sa.Column("train_s", sa.Float),  # all of the trial's trainings together
    sa.Column("eval_s", sa.Float),  # validation (and batch-norm recalibration) time
    sa.Column("images_per_s", sa.Float),
    sa.Column("epochs", sa.Integer),
    sa.Column("dataset", sa.String),
    sa.Column("image_size", sa.Integer),
    sa.Column("batch_size", sa.Integer),
    sa.Column("seed", sa.Integer),
    sa.Column("device", sa.String),
    sa.Column("device_name", sa.String),
    sa.Column("dtype", sa.String),
    sa.Column("threads", sa.Integer),
    sa.Column("torch_version", sa.String),
    sa.Column("cuda_version", sa.String),
    sa.Column("code_version", sa.String),
    # proxy fidelity rows (source "fidelity"): the proxy budget ("epochs=2,image_size=16",
    # "zero-cost:synflow", "cost:macs"), a zero-cost proxy's score, and the table's truth
    sa.Column("budget", sa.String),
    # a successive-halving search's rung (null: a study of one rung); its budget trains longer
    sa.Column("rung", sa.Integer),
    # steps a promoted training took over from its lower rung's saved state (0: from scratch)
    sa.Column("warm_start_steps", sa.Integer),
    sa.Column("proxy_score", sa.Float),
    sa.Column("truth_acc", sa.Float),
    # the device a re-measured latency belongs to (nasbench measure --label)
    sa.Column("latency_label", sa.String),
    # a retrained model's weights (nasbench retrain; nasbench export reads them)
    sa.Column("weights_path", sa.String),
    sa.Column("started_at", UTCDateTime),
    sa.Column("finished_at", UTCDateTime),
)

# One row per promotion of a successive-halving search: the primary key makes a promotion
# happen once, however many workers (on however many machines) find it due at once. Its own
# metadata: only a study with rungs creates the table.
promotion_metadata = sa.MetaData()
promotions = sa.Table(
    "promotions",
    promotion_metadata,
    sa.Column("study_name", sa.String, primary_key=True),
    sa.Column("arch_hash", sa.String, primary_key=True),
    sa.Column("rung", sa.Integer, primary_key=True),  # the rung it is promoted to
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("ranked_rows", _JSON),  # ids of the rows of the rung below it was ranked among
    sa.Column("attempt", sa.Integer, nullable=False),  # raised when a lost one is queued again
)

COLUMNS: tuple[str, ...] = tuple(results.c.keys())
_REQUIRED = ("study_name", "source", "status")
_INT_COLUMNS = [c.name for c in results.c if isinstance(c.type, sa.Integer) and c.name != "id"]
_FLOAT_COLUMNS = [c.name for c in results.c if isinstance(c.type, sa.Float)]
_TIME_COLUMNS = [c.name for c in results.c if isinstance(c.type, UTCDateTime)]


# ---------------------------------------------------------------- checking a URL before use


def _display(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (exc.ArgumentError, exc.NoSuchModuleError, ValueError) as err:
        raise StoreError(f"cannot parse storage URL {url!r}: {_first_line(err)}") from None
    return parsed


def _first_line(err: BaseException) -> str:
    text = str(getattr(err, "orig", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def sqlite_path(url: str) -> Path | None:
    """The file a SQLite storage URL names; None for another database or an in-memory one."""
    parsed = _parse(url)
    return _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None


def _sqlite_path(url: URL) -> Path | None:
    """The file a SQLite URL names, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def _classify(tables: set[str], columns: set[str] | None, where: str) -> None:
    """Refuse a database whose tables are neither Optuna's nor our results table."""
    if "results" in tables:
        missing = {"id", "study_name", "status", "arch_hash"} - (columns or set())
        if missing:
            raise StoreError(
                f"{where} has a table 'results' that is not nasbench's (no column "
                f"{', '.join(sorted(missing))}); use another --storage"
            )
        return
    if _OPTUNA_MARKERS <= tables:
        return
    strangers = sorted(tables - OPTUNA_TABLES)
    shown = ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else "")
    raise StoreError(
        f"{where} is a database of something else (tables: {shown}); "
        "refusing to touch it, use another --storage"
    )


def _inspect_tables(engine: Engine, where: str) -> tuple[set[str], set[str] | None]:
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = set(inspector.get_table_names())
        columns = inspector.get_columns("results") if "results" in tables else None
    if columns is not None:
        _check_column_types(columns, where)
    return tables, None if columns is None else {c["name"] for c in columns}


# the kinds of stored type each of our column types may have been created as (by any version)
_TYPE_FAMILIES = (
    (sa.Integer, (sa.Integer,)),
    (sa.Float, (sa.Float, sa.Numeric)),
    (sa.JSON, (sa.JSON, sa.Text, sa.String)),
    (UTCDateTime, (sa.DateTime, sa.String)),
    (sa.String, (sa.String, sa.Text)),
)


def _check_column_types(columns: list[dict[str, Any]], where: str) -> None:
    """Refuse a results table whose known columns were created with another kind of type (a
    number stored as text, on PostgreSQL, fails each insert; on SQLite it reads back as text)."""
    for found in columns:
        ours = results.c.get(found["name"])
        if ours is None or isinstance(found["type"], sa.types.NullType):
            continue
        for kind, allowed in _TYPE_FAMILIES:
            if isinstance(ours.type, kind):
                if not isinstance(found["type"], allowed):
                    raise StoreError(
                        f"{where}: the results table's column {found['name']} is "
                        f"{found['type']}, not {ours.type.compile()}; it was not made by "
                        "nasbench, use another --storage"
                    )
                break


def _check_sqlite(url: URL, *, create: bool) -> None:
    path = _sqlite_path(url)
    if path is None:  # what is written there is gone when the command exits
        raise StoreError(
            f"{_display(url)!r} is an in-memory SQLite database, which keeps no results; "
            "name a file: sqlite:///PATH.db"
        )
    if "\x00" in str(path):
        raise StoreError(f"storage URL {_display(url)!r} names a file with a NUL character (%00)")
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as err:  # a name too long, a folder that is a file...
        raise StoreError(f"cannot use {str(path)[:80]!r}: {err.strerror}") from None
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a SQLite database file")
    if not path.exists():
        if not create:
            raise StoreError(f"no database at {path}; run nasbench search first")
        if not path.parent.is_dir():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        return
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as err:
        raise StoreError(f"cannot read {path}: {err.strerror}") from None
    if not header:
        if not create:
            raise StoreError(f"no database at {path} (empty file); run nasbench search first")
        return
    if not header.startswith(b"SQLite format 3\x00"):
        raise StoreError(f"{path} is not a SQLite database; refusing to touch it")
    # Read-only and without a journal. A WAL database with no -wal file beside it (nobody has it
    # open) is opened immutable, as a read-only open would otherwise create -wal and -shm files.
    query = {"mode": "ro", "uri": "true"}
    wal_mode = len(header) > 18 and header[18] == 2
    if wal_mode and not Path(f"{path}-wal").exists():
        query["immutable"] = "1"
    ro_url = URL.create("sqlite", database="file:" + quote(str(path.resolve())), query=query)
    engine = sa.create_engine(ro_url, poolclass=NullPool)
    try:
        tables, columns = _inspect_tables(engine, str(path))
        _quick_check(engine, path)
    except exc.DBAPIError as err:
        raise StoreError(f"{path} is not a usable SQLite database: {_first_line(err)}") from None
    except UnicodeDecodeError:  # SQLite's error quotes the bytes of a damaged schema
        raise _damaged(path, "its schema is not text") from None
    finally:
        engine.dispose()
    if not tables:
        if not create:
            raise StoreError(f"no database at {path} (no tables); run nasbench search first")
        return
    _classify(tables, columns, str(path))


QUICK_CHECK_ENV = "NASBENCH_QUICK_CHECK"  # "off" skips it (very large files; at your own risk)


def _quick_check(engine: Engine, path: Path) -> None:
    """SQLite's PRAGMA quick_check, once per file and process tree: a damaged first page fails at
    open already, a damaged interior page only here. The file is refused, never written."""
    setting = os.environ.get(QUICK_CHECK_ENV, "").strip().lower()
    key = str(path.resolve())
    if setting == "off" or key in _quick_checked():
        return
    with engine.connect() as conn:
        found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
    if found != ["ok"]:
        lines = [line for text in found for line in str(text).splitlines()]
        first = next((line for line in lines if not line.startswith("***")), "damaged")
        raise _damaged(path, first)
    # worker processes inherit the environment: they need not check the file again
    os.environ[_CHECKED_ENV] = os.pathsep.join([*_quick_checked(), key])


_CHECKED_ENV = "NASBENCH_QUICK_CHECKED"


def _damaged(path: Path, what: str) -> StoreError:
    return StoreError(
        f"{path} is damaged ({what}); nothing was written to it. Recover what it holds "
        f"with the sqlite3 shell (sqlite3 {path.name} .recover | sqlite3 recovered.db) or use "
        "a copy from backup"
    )


def _quick_checked() -> list[str]:
    return [p for p in os.environ.get(_CHECKED_ENV, "").split(os.pathsep) if p]


def _check_server(url: URL, *, create: bool) -> None:
    where = _display(url)
    connect_args = {"connect_timeout": 10} if url.get_backend_name() == "postgresql" else {}
    try:
        engine = sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except ImportError as err:
        raise StoreError(f"cannot use {where}: its database driver is missing ({err})") from None
    except exc.ArgumentError as err:
        raise StoreError(f"cannot use {where}: {_first_line(err)}") from None
    try:
        tables, columns = _inspect_tables(engine, where)
    except exc.DBAPIError as err:
        raise StoreError(f"cannot connect to {where}: {_first_line(err)}") from None
    finally:
        engine.dispose()
    if not tables:
        if not create:
            raise StoreError(f"no nasbench tables in {where}; run nasbench search first")
        return
    _classify(tables, columns, where)


def check_storage(url: str, *, create: bool) -> None:
    """Raise StoreError unless `url` is (or, with create, may become) a nasbench database.

    Touches nothing: SQLite files are read only, without a journal, so a refused file is left
    byte-for-byte unchanged. With create=False a missing or empty database is an error too.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite(parsed, create=create)
    else:
        _check_server(parsed, create=create)


# ---------------------------------------------------------------- engines and schema

_engines: dict[tuple[int, str], Engine] = {}
_engines_lock = threading.Lock()
_ensured: set[tuple] = set()


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # busy_timeout first: switching to WAL itself may have to wait for another writer.
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, far fewer fsyncs
    cursor.close()


def backend_name(url: str) -> str:
    """'sqlite', 'postgresql', ... for a storage URL."""
    return _parse(url).get_backend_name()


def tune_engine(engine: Engine) -> None:
    """Give an engine made elsewhere (Optuna's RDBStorage) our SQLite settings on every connection:
    WAL, a busy timeout and synchronous=NORMAL. Optuna commits once per parameter and attribute, and
    with the default synchronous=FULL each commit waits for an fsync (3 ms against 1.5 ms here)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        engine.dispose()  # connections opened before the listener reconnect with it


def engine_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments for sqlalchemy.create_engine (and Optuna's RDBStorage engine_kwargs)."""
    if backend_name(url) == "sqlite":
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    return {"pool_pre_ping": True}


def get_engine(url: str, *, writing: bool = True) -> Engine:
    """The engine for `url`, one per URL, purpose and process (a forked worker gets its own). A
    reading engine leaves a SQLite file's journal mode as it is: reading changes nothing."""
    key = (os.getpid(), url) if writing else (os.getpid(), url, "reading")
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = sa.create_engine(_parse(url), **engine_kwargs(url))
            if writing:
                tune_engine(engine)
            elif engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _on_sqlite_read_connect)
            _engines[key] = engine
    return engine


def _on_sqlite_read_connect(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def dispose_engines() -> None:
    """Close every pooled connection this process holds (tests, and before handing off a URL)."""
    with _engines_lock:
        for (pid, *_), engine in list(_engines.items()):
            if pid == os.getpid():
                engine.dispose()
        _engines.clear()
        _ensured.clear()


def ensure_schema(url: str) -> None:
    """Create the results table and its indexes if missing; safe beside Optuna's tables."""
    engine = get_engine(url)
    for attempt in range(3):
        try:
            metadata.create_all(engine, checkfirst=True)
            break
        except (exc.OperationalError, exc.ProgrammingError, exc.IntegrityError):
            # Another worker created the table between our check and our CREATE.
            if attempt == 2:
                raise
    _add_missing_columns(engine)
    _ensured.add((os.getpid(), url))


def _add_missing_columns(engine: Engine) -> None:
    """Bring a results table written by an earlier version up to date: new columns are nullable."""
    with engine.begin() as conn:
        present = {c["name"] for c in sa.inspect(conn).get_columns("results")}
        for column in results.columns:
            if column.name not in present:
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(sa.text(f'ALTER TABLE results ADD COLUMN "{column.name}" {kind}'))


def _ensure_promotions(url: str) -> Engine:
    """The engine of `url`, with the promotions table made if missing (once per process)."""
    engine = _ensure_once(url)
    key = (os.getpid(), url, "promotions")
    if key not in _ensured:
        for attempt in range(3):
            try:
                promotion_metadata.create_all(engine, checkfirst=True)
                break
            except (exc.OperationalError, exc.ProgrammingError, exc.IntegrityError):
                if attempt == 2:  # another worker created it between our check and our CREATE
                    raise
        _ensured.add(key)
    return engine


def _ensure_once(url: str) -> Engine:
    if (os.getpid(), url) not in _ensured:
        ensure_schema(url)
    return get_engine(url)


# ---------------------------------------------------------------- writing and reading rows


def write_result(url: str, row: dict[str, Any]) -> int:
    """Insert one result row and return its id; unknown or missing required keys are a bug."""
    unknown = sorted((set(row) - set(COLUMNS)) | ({"id"} & set(row)))
    if unknown:
        raise ValueError(f"unknown result columns: {', '.join(unknown)}")
    missing = [k for k in _REQUIRED if row.get(k) is None]
    if missing:
        raise ValueError(f"result row lacks {', '.join(missing)}")
    if row["status"] not in STATUSES:
        raise ValueError(f"status {row['status']!r} is not one of {', '.join(STATUSES)}")
    if row["source"] not in SOURCES:
        raise ValueError(f"source {row['source']!r} is not one of {', '.join(SOURCES)}")
    naive = [k for k in _TIME_COLUMNS if isinstance(row.get(k), datetime) and not row[k].tzinfo]
    if naive:
        raise ValueError(f"naive datetime in {', '.join(naive)}: pass timezone-aware (UTC) ones")
    values = {k: plain(v) for k, v in row.items()}  # psycopg cannot adapt numpy.int64
    engine = _ensure_once(url)
    with engine.begin() as conn:
        inserted = conn.execute(sa.insert(results).values(**values))
        return int(inserted.inserted_primary_key[0])


def find_result(
    url: str,
    *,
    arch_hash: str,
    protocol_hash: str,
    statuses: Sequence[str] = ("complete",),
) -> dict[str, Any] | None:
    """The row with this arch and protocol and one of `statuses`, from any study, that has the most
    trainings behind its accuracy (train_runs); the earliest of those."""
    engine = _ensure_once(url)
    query = (
        sa.select(results)
        .where(
            results.c.arch_hash == arch_hash,
            results.c.protocol_hash == protocol_hash,
            results.c.status.in_(list(statuses)),
        )
        .order_by(sa.func.coalesce(results.c.train_runs, 0).desc(), results.c.id)
        .limit(1)
    )
    with engine.connect() as conn:
        found = conn.execute(query).first()
    return None if found is None else dict(found._mapping)


def claim_promotion(
    url: str, study_name: str, arch_hash: str, rung: int, ranked_rows: list[int]
) -> bool:
    """Record that this arch goes to `rung`; False when another worker recorded it first."""
    engine = _ensure_promotions(url)
    row = {
        "study_name": study_name,
        "arch_hash": arch_hash,
        "rung": rung,
        "claimed_at": datetime.now(UTC),
        "ranked_rows": [int(i) for i in ranked_rows],
        "attempt": 0,
    }
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(promotions).values(**row))
    except exc.IntegrityError:
        return False
    return True


def reclaim_promotion(url: str, study_name: str, arch_hash: str, rung: int, attempt: int) -> bool:
    """Take over a promotion whose trial was lost (its worker died before queueing it): True for
    the one worker whose update finds the attempt it read."""
    engine = _ensure_promotions(url)
    key = (
        (promotions.c.study_name == study_name)
        & (promotions.c.arch_hash == arch_hash)
        & (promotions.c.rung == rung)
        & (promotions.c.attempt == attempt)
    )
    with engine.begin() as conn:
        updated = conn.execute(sa.update(promotions).where(key).values(attempt=attempt + 1))
    return updated.rowcount == 1


def load_promotions(url: str, study_name: str) -> pd.DataFrame:
    """The study's promotions (columns of the promotions table), in the order they were claimed."""
    names = list(promotions.c.keys())
    with _reading(url) as conn:
        if conn is None or not sa.inspect(conn).has_table("promotions"):
            return pd.DataFrame(columns=names)
        query = sa.select(promotions).where(promotions.c.study_name == study_name)
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=names)
    frame["claimed_at"] = pd.to_datetime(frame["claimed_at"], utc=True)
    return frame.sort_values("claimed_at", kind="stable").reset_index(drop=True)


def has_optuna_tables(url: str) -> bool:
    """Whether the database holds Optuna's tables (without creating them, as Optuna would)."""
    with _reading(url):  # one line for a missing file
        pass
    with get_engine(url, writing=False).connect() as conn:
        return sa.inspect(conn).has_table("studies")


@contextmanager
def _reading(url: str) -> Iterator[sa.Connection | None]:
    """A connection for reading, or None when the database has no results table yet."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = _sqlite_path(parsed)
        if path is not None and not path.is_file():  # connecting would create it
            raise StoreError(f"no database at {path}; run nasbench search first")
    engine = get_engine(url, writing=False)
    try:
        with engine.connect() as conn:
            yield conn if sa.inspect(conn).has_table("results") else None
    except exc.OperationalError as err:
        raise StoreError(f"cannot read {_display(engine.url)}: {_first_line(err)}") from None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for name in _INT_COLUMNS:
        frame[name] = frame[name].astype("Int64")
    for name in _FLOAT_COLUMNS:
        frame[name] = frame[name].astype("float64")
    for name in _TIME_COLUMNS:
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def load_results(url: str, study_names: list[str] | None = None) -> pd.DataFrame:
    """Every column of the results rows (of the named studies, or all), in insertion order."""
    with _reading(url) as conn:
        if conn is None:
            rows, names = [], list(COLUMNS)
        else:  # a table written by an earlier version may lack newer columns: they read as null
            present = {c["name"] for c in sa.inspect(conn).get_columns("results")}
            names = [name for name in COLUMNS if name in present]
            query = sa.select(*(results.c[name] for name in names)).order_by(results.c.id)
            if study_names is not None:
                query = query.where(results.c.study_name.in_(study_names))
            try:
                rows = conn.execute(query).all()
                frame = pd.DataFrame([tuple(r) for r in rows], columns=names)
                return _typed(frame.reindex(columns=list(COLUMNS)))
            except (ValueError, TypeError) as err:
                raise StoreError(
                    f"{_display(conn.engine.url)}: {_wrong_value(conn, names) or _first_line(err)}"
                    "; the results table was not written by nasbench, or was edited"
                ) from None
    return _typed(pd.DataFrame(columns=list(COLUMNS)))


def _wrong_value(conn: sa.Connection, names: list[str]) -> str | None:
    """'row 2: arch '{broken' is not JSON': the first stored value of the wrong type."""
    for name in names:
        column = results.c[name]
        if not isinstance(column.type, (sa.JSON, sa.Integer, sa.Float)):
            continue
        raw = sa.select(results.c.id, sa.type_coerce(column, sa.String)).where(column.is_not(None))
        for row_id, text in conn.execute(raw.order_by(results.c.id)):
            try:
                json.loads(text) if isinstance(column.type, sa.JSON) else float(text)
            except (ValueError, TypeError):
                kind = "JSON" if isinstance(column.type, sa.JSON) else "a number"
                return f"results row {row_id}: {name} {str(text)[:40]!r} is not {kind}"
    return None


def list_study_names(url: str) -> list[str]:
    """Study names that have results rows, sorted."""
    query = sa.select(results.c.study_name).distinct().order_by(results.c.study_name)
    with _reading(url) as conn:
        return [] if conn is None else list(conn.scalars(query))


def result_counts(url: str) -> pd.DataFrame:
    """Rows per study (index) and status (columns, every known status, then `total`)."""
    query = sa.select(results.c.study_name, results.c.status, sa.func.count().label("n")).group_by(
        results.c.study_name, results.c.status
    )
    with _reading(url) as conn:
        rows = [] if conn is None else conn.execute(query).all()
    long = pd.DataFrame([tuple(r) for r in rows], columns=["study_name", "status", "n"])
    wide = long.pivot_table(index="study_name", columns="status", values="n", aggfunc="sum")
    extra = sorted(set(wide.columns) - set(STATUSES))
    wide = wide.reindex(columns=[*STATUSES, *extra]).fillna(0).astype("int64")
    wide["total"] = wide.sum(axis=1)
    wide.columns.name = None
    return wide.sort_index()


# ---------------------------------------------------------------- provenance


@functools.cache
def code_version() -> str:
    """The package version, plus '+g<git short hash>' (and '.dirty') inside a git checkout."""
    package_dir = Path(__file__).resolve().parents[1]  # nasbench/

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(package_dir), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return done.stdout.strip()

    try:
        top = Path(git("rev-parse", "--show-toplevel")).resolve()
        if top != package_dir.parent:  # an installed copy inside some unrelated repository
            return __version__
        short = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{short}" + (".dirty" if dirty else "")


# ---------------------------------------------------------------- a study's record, read only


def read_study_attrs(url: str, study_name: str) -> dict[str, Any] | None:
    """The user attrs Optuna keeps for `study_name` (JSON-decoded), or None when the database,
    its Optuna tables or the study do not exist. Reads Optuna's tables directly, so that nothing
    is created and no Optuna import is needed (checking a rerun before any work starts)."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        return None
    with _reading(url) as conn:
        inspector = sa.inspect(conn) if conn is not None else None
        if inspector is None or not {"studies", "study_user_attributes"} <= set(
            inspector.get_table_names()
        ):
            return None
        study_id = conn.execute(
            sa.text("SELECT study_id FROM studies WHERE study_name = :name"), {"name": study_name}
        ).scalar()
        if study_id is None:
            return None
        pairs = conn.execute(
            sa.text("SELECT key, value_json FROM study_user_attributes WHERE study_id = :id"),
            {"id": study_id},
        ).all()
    return {key: json.loads(value) for key, value in pairs}
