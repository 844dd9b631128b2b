"""A real PostgreSQL server (Debian package ``postgresql``) for integration tests (spec/operations.md §10).

``start_postgres()`` creates a cluster with ``initdb`` in a fresh temporary folder (trust authentication,
loopback only), starts ``postgres`` on a free 127.0.0.1 port with its Unix socket in that folder, waits
until it accepts connections, and returns a handle that stops that one server by PID (``pg_ctl stop``, then
SIGKILL of the recorded postmaster PID if needed) and removes the folder.

PostgreSQL refuses to run as root: when the tests run as root, ``initdb`` and ``postgres`` run as the
``postgres`` system user through ``runuser -u postgres --``, and the folder is handed to that user.

Fixtures: ``postgres_server`` (one server per test session) and ``postgres_url`` (a new empty database on it
for each test, as a ``postgresql+psycopg://`` URL).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port, missing_dependency

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
SERVICE_USER = "postgres"


def _bin_dir() -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<major>/bin`` holding ``initdb`` and ``pg_ctl``."""
    candidates = sorted(
        (
            p
            for p in Path("/usr/lib/postgresql").glob("*/bin")
            if (p / "initdb").exists() and (p / "pg_ctl").exists()
        ),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return candidates[-1] if candidates else None


@dataclass
class PostgresServer:
    """One running PostgreSQL cluster on 127.0.0.1."""

    bin_dir: Path
    workdir: Path
    port: int
    process: subprocess.Popen[bytes]
    run_as: tuple[str, ...]

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SERVICE_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """Create an empty database with a unique name and return its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        conninfo = f"host=127.0.0.1 port={self.port} user={SERVICE_USER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop this server (fast shutdown by ``pg_ctl``, then the postmaster PID) and remove its folder."""
        if self.process.poll() is None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                subprocess.run(
                    [
                        *self.run_as,
                        str(self.bin_dir / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.datadir),
                        "-m",
                        "fast",
                        "-w",
                    ],
                    check=False,
                    capture_output=True,
                    timeout=STOP_TIMEOUT_S,
                )
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                _kill_postmaster(self.datadir)
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _kill_postmaster(datadir: Path) -> None:
    """SIGKILL the postmaster whose PID is on the first line of ``postmaster.pid`` (our server only)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((datadir / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)


def _run_as() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        missing_dependency(f"running as root needs the '{SERVICE_USER}' system user (package postgresql)")
    if not Path(runuser).exists():
        missing_dependency("running as root needs runuser (util-linux) to start PostgreSQL as 'postgres'")
    return (runuser, "-u", SERVICE_USER, "--")


def start_postgres() -> PostgresServer:
    """initdb + postgres on a free loopback port; skips (fails under CI=true) without PostgreSQL."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        missing_dependency(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt install postgresql)"
        )
    assert bin_dir is not None
    run_as = _run_as()
    workdir = Path(tempfile.mkdtemp(prefix="her2cds-pg-"))
    if run_as:
        entry = pwd.getpwnam(SERVICE_USER)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    datadir = workdir / "data"
    init = subprocess.run(
        [
            *run_as,
            str(bin_dir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SERVICE_USER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ],
        capture_output=True,
        check=False,
        timeout=120,
    )
    if init.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-2000:]}")
    port = free_port()
    log = (workdir / "postgres.log").open("wb")
    process = subprocess.Popen(
        [
            *run_as,
            str(bin_dir / "postgres"),
            "-D",
            str(datadir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={workdir}",
            "-c",
            "fsync=off",
            "-c",
            "max_connections=100",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = PostgresServer(bin_dir=bin_dir, workdir=workdir, port=port, process=process, run_as=run_as)
    _wait_ready(server)
    return server


def _wait_ready(server: PostgresServer) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    conninfo = f"host=127.0.0.1 port={server.port} user={SERVICE_USER} dbname=postgres connect_timeout=2"
    while True:
        if server.process.poll() is not None:
            text = (server.workdir / "postgres.log").read_text(errors="replace")[-2000:]
            server.stop()
            raise RuntimeError(f"postgres exited with {server.process.returncode}: {text}")
        try:
            with psycopg.connect(conninfo) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("postgres did not accept connections in time") from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session, stopped by PID at the end."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on the session server, as a SQLAlchemy URL."""
    return postgres_server.create_database()
