"""A throwaway PostgreSQL cluster in a temporary folder, for tests (initdb + pg_ctl, as `postgres` under root)."""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SEARCH_GLOBS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/local/pgsql/bin",
    "/opt/homebrew/opt/postgresql*/bin",
)
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (tests skip on this, and only on this)."""


def find_bin_dir() -> Path | None:
    """The folder holding initdb and pg_ctl: $PG_BIN, then the newest versioned install, then PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))

    def version(folder: str) -> tuple[int, ...]:
        digits = Path(folder).parent.name
        return tuple(int(p) for p in digits.split(".") if p.isdigit()) or (0,)

    for pattern in SEARCH_GLOBS:
        candidates += [Path(p) for p in sorted(glob.glob(pattern), key=version, reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """initdb + pg_ctl start on 127.0.0.1:<free port>; stop() shuts it down and deletes everything."""

    def __init__(self, bin_dir: Path | None = None) -> None:
        found = bin_dir or find_bin_dir()
        if found is None:
            raise PostgresUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl) in "
                + ", ".join(SEARCH_GLOBS)
                + ", $PG_BIN or PATH; install postgresql to run these tests"
            )
        self.bin_dir = found
        self.root: Path | None = None
        self.port: int | None = None
        self._as_postgres: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, but there is no 'postgres' user to run the server as"
                ) from None
            self._owner = (entry.pw_uid, entry.pw_gid)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]

    @property
    def data_dir(self) -> Path:
        assert self.root is not None
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database (psycopg 3 driver)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = START_TIMEOUT_S) -> None:
        command = [*self._as_postgres, str(self.bin_dir / tool), *args]
        done = subprocess.run(
            command, cwd=self.root, capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{tool} failed with status {done.returncode}:\n{done.stdout}{done.stderr}"
                + self.log_tail()
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except (OSError, AssertionError):
            return ""
        return "\n--- server log (tail) ---\n" + "\n".join(text)

    def start(self) -> str:
        self.root = Path(tempfile.mkdtemp(prefix="nasbench-pg-"))
        atexit.register(self.stop)  # a backstop if the fixture's teardown never runs
        sockets = self.root / "sock"
        sockets.mkdir()
        if self._owner is not None:
            for path in (self.root, sockets):
                os.chown(path, *self._owner)
        try:
            self._run(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            last_error: Exception | None = None
            for _attempt in range(3):  # the free port may be taken between our probe and the bind
                self.port = free_port()
                options = (
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {sockets} "
                    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200"
                )
                try:
                    self._run(
                        "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file),
                        "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start",
                    )  # fmt: skip
                    self._wait_ready()
                    return self.url
                except RuntimeError as err:
                    last_error = err
                    self._stop_server()
            raise RuntimeError(f"PostgreSQL did not start: {last_error}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        isready = self.bin_dir / "pg_isready"
        while time.monotonic() < deadline:
            if isready.is_file():
                probe = [str(isready), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
                if subprocess.run(probe, capture_output=True).returncode == 0:
                    return
            else:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"PostgreSQL on port {self.port} not ready after {START_TIMEOUT_S} s")

    def _stop_server(self) -> None:
        if self.root is None or not (self.data_dir / "postmaster.pid").exists():
            return
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass

    def stop(self) -> None:
        """Stop the server (if running) and delete its folder; safe to call twice."""
        self._stop_server()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
