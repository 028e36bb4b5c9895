"""Shared fixtures: a throwaway PostgreSQL server per session, a fresh database per test, the
benchmark files of ../shared/data, and the `gpu` marker's skip on machines without CUDA."""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_server import PostgresServer, PostgresUnavailable  # noqa: E402

_database_numbers = itertools.count()

# Searches in tests run in their own process unless a test asks for workers: the default of one
# worker per core (search.workers.choose_workers) would make every search spawn processes, and
# only one worker reproduces a run exactly from its seed. tests/test_workers.py tests the rule.
os.environ["NASBENCH_WORKERS"] = "1"
# decoded image folders are cached (nasbench.data_cache): in a folder of the test run, not ~/.cache
os.environ.setdefault("NASBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="nasbench-cache-"))

# Under pytest-xdist (one test process per core) each process gets its share of the cores, as the
# search's own workers do; torch's default of all cores in every process would oversubscribe the
# CPU. OMP_NUM_THREADS carries the share to the nasbench processes that tests start.
_test_processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _test_processes > 1:
    _threads = max(1, (os.cpu_count() or 1) // _test_processes)
    torch.set_num_threads(_threads)
    os.environ["OMP_NUM_THREADS"] = str(_threads)

# benchmark tables and published results beside the repository (../shared/data), absent from a
# fresh clone
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked `gpu` when no CUDA device is visible."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if item.get_closest_marker("gpu") is not None:
            item.add_marker(skip)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def shared_data() -> Callable[..., Path]:
    """`shared_data(name, env=None)`: the path of ../shared/data/NAME (a file or a folder), or of
    $ENV when that variable is set. When it is absent the test is skipped, or fails when $CI is set
    (CI must not pass by skipping). Call it inside the test or fixture that reads the file."""

    def locate(name: str, env: str | None = None) -> Path:
        override = os.environ.get(env) if env else None
        path = Path(override) if override else SHARED_DATA / name
        if path.exists():  # a file, or a folder such as published/
            return path
        hint = f" (set {env} to its path)" if env else ""
        message = f"shared data file absent: {path}{hint}"
        if _in_ci():
            pytest.fail(f"{message}; CI is set, so this is an error, not a skip", pytrace=False)
        pytest.skip(message)

    return locate


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the `postgres` database of a PostgreSQL server started for this test session."""
    try:
        server = PostgresServer()
    except PostgresUnavailable as err:
        pytest.skip(str(err))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """URL of a database created for this test alone, dropped afterwards."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            # FORCE: engines cached by the code under test may still hold pooled connections.
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty storage URL on each backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nasbench.db'}"
    return request.getfixturevalue("postgres_db_url")
