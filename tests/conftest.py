"""Shared fixtures: a throwaway PostgreSQL server per session, a fresh database per test."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pg_server import PostgresServer, PostgresUnavailable  # noqa: E402

_database_numbers = itertools.count()


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
