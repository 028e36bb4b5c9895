"""Tests of the results store: round trips on SQLite and PostgreSQL, dedup, refusals, concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import optuna
import pandas as pd
import pytest
import sqlalchemy as sa

from nasbench.errors import UsageError
from nasbench.results import store
from nasbench.results.store import StoreError

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(autouse=True)
def _fresh_engines():
    yield
    store.dispose_engines()


def full_row(**overrides) -> dict:
    """A row with every column set to a value that a lossy type would change."""
    row = {
        "study_name": "mobilenet-digits",
        "trial_number": 12,
        "source": "search",
        "name": "trial 12",
        "space": "mobilenet",
        "arch": {"stages": [{"depth": 2, "kernel": 5, "se": True}], "width": 0.75, "stem": None},
        "arch_hash": "a1b2c3",
        "protocol_hash": "p0",
        "status": "complete",
        "error": "line one\nline two",
        "reused_from": 3,
        "val_acc": 97.123456789,
        "val_acc_std": 0.75,
        "train_runs": 3,
        "test_acc": 96.5,
        "train_loss": 0.0123,
        "tse": 0.71,
        "steps": 48,
        "images_seen": 3072,
        "macs": 5_000_000_000_123,  # beyond 32 bits
        "params": 3_000_000_000,
        "uncounted_ops": {"aten::add": 4, "aten::mul": 1},
        "latency_ms": 1.25,
        "latency_iqr_ms": 0.05,
        "latency_repeats": 30,
        "latency_batch_size": 1,
        "peak_memory_mb": 12.5,
        "train_s": 3.5,
        "eval_s": 0.25,
        "images_per_s": 5120.0,
        "epochs": 4,
        "dataset": "digits",
        "image_size": 32,
        "batch_size": 128,
        "seed": 7,
        "device": "cpu",
        "device_name": "AMD EPYC",
        "dtype": "float32",
        "threads": 2,
        "torch_version": "2.14.1",
        "cuda_version": None,
        "code_version": "0.1.0+gabc1234",
        "budget": "epochs=2,image_size=16",
        "rung": 1,
        "warm_start_steps": 1053,
        "proxy_score": 41.9487686,
        "truth_acc": 92.13,
        "latency_label": "pi4",
        "weights_path": "nasbench_weights/s/trial3_seed0_abc.pt",
        "started_at": datetime(2025, 1, 2, 13, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2))),
        "finished_at": datetime(2025, 1, 2, 11, 5, 0, tzinfo=UTC),
    }
    row.update(overrides)
    return row


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# ---------------------------------------------------------------- round trips


def test_full_row_round_trips_with_types_intact(backend_url):
    store.check_storage(backend_url, create=True)
    store.ensure_schema(backend_url)
    row = full_row()
    row_id = store.write_result(backend_url, row)

    found = store.find_result(backend_url, arch_hash="a1b2c3", protocol_hash="p0")
    assert found == {"id": row_id, **row}
    assert found["started_at"].tzinfo is not None
    assert found["started_at"].utcoffset() == timedelta(0)
    assert found["started_at"] == row["started_at"]  # the same instant, now in UTC

    frame = store.load_results(backend_url)
    assert list(frame.columns) == list(store.COLUMNS)
    assert len(frame) == 1
    got = frame.iloc[0]
    assert got["id"] == row_id
    assert got["arch"] == row["arch"]
    assert got["uncounted_ops"] == row["uncounted_ops"]
    assert got["macs"] == 5_000_000_000_123
    assert got["val_acc"] == pytest.approx(97.123456789, rel=1e-12)
    assert got["started_at"] == pd.Timestamp("2025-01-02 11:04:05.678901", tz="UTC")
    assert isinstance(frame["started_at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["started_at"].dtype.tz) == "UTC"
    assert got["cuda_version"] is None


def test_missing_values_are_sql_null_and_nullable_ints_stay_ints(backend_url):
    store.ensure_schema(backend_url)
    store.write_result(
        backend_url,
        {"study_name": "s", "source": "baseline", "status": "failed", "error": "boom"},
    )
    store.write_result(backend_url, full_row(study_name="s"))
    frame = store.load_results(backend_url)
    assert frame.loc[0, "arch"] is None
    assert pd.isna(frame.loc[0, "trial_number"])
    assert frame["trial_number"].dtype == "Int64"
    assert frame["test_acc"].dtype == "float64"  # all missing, still numeric
    assert frame.loc[1, "trial_number"] == 12


def test_unknown_or_missing_keys_are_rejected_by_name(tmp_path):
    url = sqlite_url(tmp_path / "r.db")
    with pytest.raises(ValueError, match="val_accuracy.*wrong"):
        store.write_result(url, full_row(val_accuracy=1.0, wrong=2))
    with pytest.raises(ValueError, match="study_name"):
        store.write_result(url, {"source": "search", "status": "complete"})
    with pytest.raises(ValueError, match="status"):
        store.write_result(url, full_row(status="done"))
    with pytest.raises(ValueError, match="naive datetime"):
        store.write_result(url, full_row(started_at=datetime(2025, 1, 1)))
    assert not (tmp_path / "r.db").exists()  # rejected before touching the database


def test_numpy_scalars_are_stored_as_plain_numbers(backend_url):
    np = pytest.importorskip("numpy")
    store.write_result(
        backend_url, full_row(macs=np.int64(123), val_acc=np.float64(50.5), epochs=np.int32(2))
    )
    got = store.load_results(backend_url).iloc[0]
    assert (got["macs"], got["val_acc"], got["epochs"]) == (123, 50.5, 2)


# ---------------------------------------------------------------- dedup and queries


def test_find_result_returns_earliest_match_under_the_same_protocol_from_any_study(backend_url):
    w = store.write_result
    failed = w(backend_url, full_row(study_name="a", status="failed", arch_hash="A"))
    first = w(backend_url, full_row(study_name="a", arch_hash="A"))
    w(backend_url, full_row(study_name="b", arch_hash="A"))
    other_protocol = w(backend_url, full_row(study_name="b", arch_hash="A", protocol_hash="p1"))

    def find(**kw):
        hit = store.find_result(backend_url, **kw)
        return None if hit is None else hit["id"]

    assert find(arch_hash="A", protocol_hash="p0") == first
    assert find(arch_hash="A", protocol_hash="p1") == other_protocol
    assert find(arch_hash="A", protocol_hash="p9") is None
    assert find(arch_hash="B", protocol_hash="p0") is None
    assert find(arch_hash="A", protocol_hash="p0", statuses=("complete", "failed")) == failed
    assert find(arch_hash="A", protocol_hash="p0", statuses=("infeasible",)) is None


def test_queries_filter_and_count_by_study(backend_url):
    for study, status in [("b", "complete"), ("a", "complete"), ("a", "failed"), ("a", "reused")]:
        store.write_result(backend_url, full_row(study_name=study, status=status))
    assert store.list_study_names(backend_url) == ["a", "b"]
    assert list(store.load_results(backend_url, ["b"])["study_name"]) == ["b"]
    assert len(store.load_results(backend_url, ["a", "b"])) == 4
    assert store.load_results(backend_url, ["nope"]).empty

    counts = store.result_counts(backend_url)
    assert list(counts.columns) == [*store.STATUSES, "total"]
    assert counts.loc["a"].to_dict() == {
        "complete": 1,
        "failed": 1,
        "infeasible": 0,
        "pruned": 0,
        "reused": 1,
        "total": 3,
    }
    assert counts.loc["b", "total"] == 1


def test_reads_of_a_database_without_results_table_are_empty(tmp_path):
    url = sqlite_url(tmp_path / "optuna_only.db")
    optuna.create_study(storage=url, study_name="s")
    assert store.load_results(url).empty
    assert list(store.load_results(url).columns) == list(store.COLUMNS)
    assert store.list_study_names(url) == []
    assert store.result_counts(url).empty


def test_reading_a_missing_sqlite_file_is_an_error_and_creates_nothing(tmp_path):
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match="no database at"):
        store.load_results(sqlite_url(path))
    assert not path.exists()


# ---------------------------------------------------------------- check_storage


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def assert_one_line_refusal(url: str, match: str, *, create: bool = True) -> None:
    with pytest.raises(StoreError, match=match) as caught:
        store.check_storage(url, create=create)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize("create", [True, False])
def test_text_file_is_refused_and_left_byte_for_byte_unchanged(tmp_path, create):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes\n" * 50)
    before = snapshot(tmp_path)
    assert_one_line_refusal(sqlite_url(path), "not a SQLite database", create=create)
    assert snapshot(tmp_path) == before  # no journal, -wal or -shm left beside it either


@pytest.mark.parametrize("wal", [False, True])
def test_foreign_sqlite_schema_is_refused_and_left_unchanged(tmp_path, wal):
    path = tmp_path / "shop.db"
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    before = snapshot(tmp_path)
    assert_one_line_refusal(sqlite_url(path), "something else.*customers")
    assert snapshot(tmp_path) == before


def test_foreign_table_named_results_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE results (run TEXT, score REAL)")
    conn.close()
    before = snapshot(tmp_path)
    assert_one_line_refusal(sqlite_url(path), "'results' that is not nasbench's")
    assert snapshot(tmp_path) == before


def test_foreign_postgres_schema_is_refused(postgres_db_url):
    engine = sa.create_engine(postgres_db_url)
    sa.Table("invoices", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)).create(
        engine
    )
    engine.dispose()
    assert_one_line_refusal(postgres_db_url, "something else.*invoices")


def test_missing_database_is_an_error_without_create(tmp_path):
    path = tmp_path / "nasbench.db"
    assert_one_line_refusal(sqlite_url(path), f"no database at {path}; run nasbench search first",
                            create=False)  # fmt: skip
    store.check_storage(sqlite_url(path), create=True)
    assert not path.exists()  # checking creates nothing


def test_empty_postgres_database_is_fine_to_create_in_but_not_to_read(postgres_db_url):
    store.check_storage(postgres_db_url, create=True)
    assert_one_line_refusal(postgres_db_url, "no nasbench tables", create=False)


def test_empty_file_is_fine_to_create_in_but_not_to_read(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    store.check_storage(sqlite_url(path), create=True)
    assert_one_line_refusal(sqlite_url(path), "no database at", create=False)
    store.ensure_schema(sqlite_url(path))
    store.check_storage(sqlite_url(path), create=False)


def test_directory_unparsable_url_and_missing_folder_are_refused(tmp_path):
    assert_one_line_refusal(sqlite_url(tmp_path), "is a directory")
    assert_one_line_refusal("not a url", "cannot parse storage URL")
    assert_one_line_refusal("nosuchdb://x/y", "cannot parse storage URL")
    assert_one_line_refusal(sqlite_url(tmp_path / "no" / "such.db"), "does not exist")


def test_unreachable_postgres_server_is_a_one_line_error():
    from pg_server import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres"
    assert_one_line_refusal(url, "cannot connect to", create=True)


def test_our_own_database_passes_the_check(backend_url):
    store.write_result(backend_url, full_row())
    store.check_storage(backend_url, create=False)
    store.check_storage(backend_url, create=True)


# ---------------------------------------------------------------- Optuna in the same database


def _optuna_study(url: str) -> None:
    storage = optuna.storages.RDBStorage(url, engine_kwargs=store.engine_kwargs(url))
    study = optuna.create_study(storage=storage, study_name="shared", directions=["maximize"])
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)


@pytest.mark.parametrize("optuna_first", [True, False], ids=["optuna-first", "results-first"])
def test_optuna_study_and_results_share_one_database(backend_url, optuna_first):
    if optuna_first:
        _optuna_study(backend_url)
        store.ensure_schema(backend_url)
    else:
        store.ensure_schema(backend_url)
        store.write_result(backend_url, full_row(study_name="shared"))
        _optuna_study(backend_url)
    store.write_result(backend_url, full_row(study_name="shared"))

    store.check_storage(backend_url, create=False)
    tables = set(sa.inspect(store.get_engine(backend_url)).get_table_names())
    assert tables == store.OPTUNA_TABLES | {"results"}
    loaded = optuna.load_study(study_name="shared", storage=backend_url)
    assert len(loaded.trials) == 2
    assert store.list_study_names(backend_url) == ["shared"]


def test_optuna_only_database_passes_the_check(tmp_path):
    url = sqlite_url(tmp_path / "o.db")
    _optuna_study(url)
    store.dispose_engines()
    store.check_storage(url, create=False)


# ---------------------------------------------------------------- engines and concurrency


def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path):
    engine = store.get_engine(sqlite_url(tmp_path / "w.db"))
    assert store.get_engine(sqlite_url(tmp_path / "w.db")) is engine
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == store.SQLITE_BUSY_TIMEOUT_MS


def test_postgres_engine_pings_before_use(postgres_db_url):
    assert store.get_engine(postgres_db_url).pool._pre_ping


def _insert_many(url: str, worker: int, count: int, barrier) -> None:
    barrier.wait()
    for i in range(count):
        store.write_result(url, full_row(study_name=f"w{worker}", trial_number=i))


def test_two_processes_write_to_one_sqlite_file_without_lock_errors(tmp_path):
    url = sqlite_url(tmp_path / "busy.db")
    store.ensure_schema(url)
    store.dispose_engines()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_insert_many, args=(url, w, 200, barrier)) for w in range(2)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0]
    counts = store.result_counts(url)
    assert counts["complete"].to_dict() == {"w0": 200, "w1": 200}


def test_code_version_starts_with_the_package_version():
    import nasbench

    assert store.code_version().startswith(nasbench.__version__)


def _ensure_then_write(url: str, worker: int, barrier) -> None:
    barrier.wait()
    store.ensure_schema(url)
    store.write_result(url, full_row(study_name=f"w{worker}"))


def test_workers_creating_the_schema_at_once_all_succeed(backend_url):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [
        context.Process(target=_ensure_then_write, args=(backend_url, w, barrier)) for w in range(4)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    assert store.list_study_names(backend_url) == ["w0", "w1", "w2", "w3"]


def test_a_results_table_from_an_earlier_version_reads_and_gains_new_columns(tmp_path):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    store.ensure_schema(url)
    store.write_result(url, {"study_name": "s", "source": "search", "status": "complete"})
    store.dispose_engines()
    with sqlite3.connect(path) as conn:  # as written before the eval_s column existed
        conn.execute("ALTER TABLE results DROP COLUMN eval_s")
    frame = store.load_results(url)
    assert len(frame) == 1 and frame["eval_s"].isna().all()
    store._ensured.clear()
    store.write_result(url, {"study_name": "s", "source": "search", "status": "complete",
                             "eval_s": 1.5})  # fmt: skip
    assert store.load_results(url)["eval_s"].tolist()[1] == 1.5


def test_reading_commands_leave_a_rollback_journal_file_byte_identical(tmp_path, capsys):
    """A results-only database in SQLite's default journal mode: commands that only read, or
    that find no study, neither switch it to WAL nor create Optuna's tables."""
    import hashlib
    import sqlite3

    from nasbench.cli import main

    path = tmp_path / "results_only.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table results (id integer primary key, study_name text, "
                     "source text, status text, arch_hash text)")  # fmt: skip
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    url = f"sqlite:///{path}"
    for args in (["table", "--study-name", "nosuch"], ["studies"],
                 ["export", "--study-name", "s", "--pareto", "--output", str(tmp_path / "o")],
                 ["measure", "--study-name", "s"], ["retrain", "--study-name", "s", "--pareto"]):  # fmt: skip
        main([*args, "--storage", url])
    capsys.readouterr()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    assert tables == {"results"}
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("backend_url", ["sqlite", "postgresql"], indirect=True)
def test_a_results_table_with_a_column_of_another_type_is_refused(backend_url):
    """Made by another tool (or edited): every command refuses it at the check, before writing."""
    engine = sa.create_engine(backend_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("create table results (id integer primary key, study_name text, "
                             "source text, status text, arch_hash text, val_acc text)"))  # fmt: skip
    engine.dispose()
    for create in (True, False):
        with pytest.raises(store.StoreError, match="column val_acc is TEXT, not FLOAT"):
            store.check_storage(backend_url, create=create)
