"""The database connection every storage part shares: URL, engine, per-connection settings, transactions.

Two backends (``spec/operations.md`` §10):

- ``sqlite:///path/to/db`` (default; one replica with several workers). Every new connection gets, through a
  SQLAlchemy ``connect`` event: ``journal_mode=WAL`` (readers never wait for the writer), ``busy_timeout``
  5000 ms (a writer waits for the lock instead of failing), ``synchronous=NORMAL`` (a commit appends to the
  WAL without an fsync: durable against a crash of the process, and fsynced at each checkpoint) and
  ``foreign_keys=ON``. Write transactions open with ``BEGIN IMMEDIATE`` so that writers queue on the lock
  instead of failing on a read-to-write upgrade. Before that, a writer takes a process-local lock (the
  threads of one process) and then an exclusive ``flock`` on a lock file beside the database
  (``<database>.lock``, mode 0600, empty): the writers of every process of the host wait there, woken the
  moment the holder commits, rather than in SQLite's busy handler, which polls with sleeps of 1 to 100 ms
  and turned a sub-millisecond transaction into waits of tens of milliseconds when two workers wrote at
  once. The busy timeout stays as the authority for any other writer (a tool that does not take the lock). A
  transaction that must survive a power cut (:meth:`StoragePart._write` with ``durable=True``: feedback)
  runs with ``synchronous=FULL``, whose fsync of the WAL covers every commit before it as well. The
  database file is created with mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the same mode),
  and an existing file readable by others is narrowed to 0600.
- ``postgresql+psycopg://…`` (several replicas; ``postgresql://`` is read as psycopg 3), with a small
  connection pool. Conditional ``INSERT … ON CONFLICT`` and ``UPDATE`` statements are atomic under READ
  COMMITTED, which is what replay protection and analysis claims rely on.

Nothing here logs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, create_engine, event, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.dml import Insert

__all__ = [
    "DATABASE_FILE_MODE",
    "SQLITE_BUSY_TIMEOUT_MS",
    "StorageConfigError",
    "StoragePart",
    "changed_a_row",
    "make_engine",
    "normalise_url",
    "require_aware",
    "utc_now",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a SQLite connection waits for a lock before failing, in milliseconds."""
DATABASE_FILE_MODE = 0o600
"""Permissions of the SQLite database file: owner read/write only (it holds evidence snapshots, PHI)."""
_SYNCHRONOUS = "sqlite_synchronous"
"""Key, in a pooled connection's ``info``, of the ``synchronous`` level it runs with now."""


class StorageConfigError(ValueError):
    """The database URL names an unsupported backend or driver."""


def utc_now() -> datetime:
    """The current time as an aware UTC datetime (the default clock of the storage)."""
    return datetime.now(UTC)


def require_aware(name: str, value: datetime) -> None:
    """Refuse a naive datetime: every timestamp in the database is UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC)")


def normalise_url(url: str) -> str:
    """The database URL with its driver made explicit; :class:`StorageConfigError` for other backends."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StorageConfigError(
            f"unsupported database driver {parsed.drivername!r}: use sqlite:///path or postgresql+psycopg://…"
        )
    return parsed.render_as_string(hide_password=False)


def _create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists; narrow an existing file readable by others."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DATABASE_FILE_MODE)
    except FileExistsError:
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            path.chmod(DATABASE_FILE_MODE)
        return
    os.close(fd)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        # One shared in-memory database (tests and tools only): a single connection for all threads.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        _create_private_file(Path(database))
        engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN IMMEDIATE can be emitted below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
        record.info[_SYNCHRONOUS] = "NORMAL"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("sqlite_single_read", False):
            return  # one SELECT, its own implicit read transaction: no BEGIN, no ROLLBACK round trip
        if options.get("sqlite_deferred", False):
            conn.exec_driver_sql("BEGIN")
            return
        level = "FULL" if options.get("sqlite_durable", False) else "NORMAL"
        if conn.info.get(_SYNCHRONOUS) != level:  # a PRAGMA outside any transaction, so it takes effect
            conn.exec_driver_sql(f"PRAGMA synchronous = {level}")
            conn.info[_SYNCHRONOUS] = level
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str) -> Engine:
    """The SQLAlchemy engine for ``url`` (already normalised by :func:`normalise_url`)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def changed_a_row(conn: Connection, stmt: Any) -> bool:
    """Whether an ``INSERT … ON CONFLICT … RETURNING`` wrote its row.

    ``RETURNING`` yields the row only when it was inserted (or updated by ``DO UPDATE``); the DBAPI
    ``rowcount`` of an INSERT is not reliable across drivers (psycopg reports -1 through SQLAlchemy).
    """
    return conn.execute(stmt).first() is not None


def insert_for(dialect: str, table: Any, values: Mapping[str, Any]) -> Insert:
    """A dialect-specific INSERT that supports ``ON CONFLICT`` (both backends spell it the same way)."""
    if dialect == "postgresql":
        return postgresql.insert(table).values(**values)
    return sqlite.insert(table).values(**values)


class _WriteLock:
    """The writers' queue of one SQLite database: a thread lock, then ``flock`` on ``path`` (None: the thread
    lock alone, for an in-memory database). The lock file is opened once per process (a forked worker opens
    its own: a descriptor inherited across ``fork`` would share the parent's lock)."""

    def __init__(self, path: Path | None) -> None:
        self._thread = threading.Lock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._thread.acquire()
        try:
            if self._path is not None:
                fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self._thread.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._path is not None and self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread.release()

    def _descriptor(self) -> int:
        pid = os.getpid()
        if self._fd is None or self._pid != pid:
            assert self._path is not None
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, DATABASE_FILE_MODE)
            self._pid = pid
        return self._fd


def _write_lock(engine: Engine) -> contextlib.AbstractContextManager[Any]:
    """How the writers of ``engine`` queue: SQLite file → thread lock + lock file; in-memory SQLite → thread
    lock; PostgreSQL → nothing (its row locks decide)."""
    if engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return _WriteLock(None)
    return _WriteLock(Path(database + ".lock"))


class StoragePart:
    """What every part of :class:`cds_service.storage.store.Storage` shares: the engine, the clock and the
    transaction helpers. One short transaction per public method, committed before the method returns."""

    _engine: Engine
    _clock: Callable[[], datetime]
    _write_lock: contextlib.AbstractContextManager[Any]

    def _init_part(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self._engine = engine
        self._clock = clock
        # SQLite has one writer at a time: the writers of this host queue here, not in SQLite's busy loop.
        self._write_lock = _write_lock(engine)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def now(self) -> datetime:
        """The storage's current time (aware UTC; injected in tests)."""
        return self._clock()

    def _reader(self) -> Connection:
        """A connection for read-only work (SQLite: deferred BEGIN, so readers never queue behind writers)."""
        return self._engine.connect().execution_options(sqlite_deferred=True)

    def _single_read(self) -> Connection:
        """A connection for exactly one SELECT (the hook's reads): on SQLite no explicit transaction, the
        statement is its own consistent read (the module turns the driver's transaction control off); on
        PostgreSQL the same as :meth:`_reader`."""
        return self._engine.connect().execution_options(sqlite_deferred=True, sqlite_single_read=True)

    @contextlib.contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[Connection]:
        """One write transaction, committed on leaving the block (rolled back on an exception).

        ``durable``: on SQLite the commit is fsynced (``synchronous=FULL``), so it survives a power cut;
        used where the caller acknowledges the write to a client that will not send it again (feedback).
        """
        with self._write_lock, self._engine.connect() as conn:
            conn = conn.execution_options(sqlite_durable=durable)
            with conn.begin():
                yield conn

    def _insert(self, table: Any, *, values: Mapping[str, Any]) -> Insert:
        """A dialect-specific INSERT supporting ``ON CONFLICT``."""
        return insert_for(self.dialect, table, values)

    def _claim_lease(
        self,
        table: Table,
        *,
        key: tuple[Column[Any], str],
        lease: tuple[Column[Any], Column[Any]],
        owner: str,
        min_gap_s: float,
        lease_s: float,
    ) -> bool:
        """Take the lease held in one row of ``table`` for ``owner``; True when ``owner`` may run now.

        ``key`` is the row's key column and value, ``lease`` its (owner, started-at) columns; the first pass
        ever inserts the row already leased to ``owner``. Claimable when no pass started within ``min_gap_s``
        seconds (one pass per interval between all the processes sharing the database) and none is running,
        or the running one's lease of ``lease_s`` seconds ran out (its process died). One conditional
        statement decides, in one short write transaction.
        """
        now = self._clock()
        key_column, key_value = key
        owner_column, started_column = lease
        first = self._insert(
            table,
            values={key_column.name: key_value, owner_column.name: owner, started_column.name: now},
        )
        claim = (
            update(table)
            .where(
                key_column == key_value,
                or_(started_column.is_(None), started_column < now - timedelta(seconds=min_gap_s)),
                or_(owner_column.is_(None), started_column < now - timedelta(seconds=lease_s)),
            )
            .values({owner_column: owner, started_column: now})
        )
        with self._write() as conn:
            if changed_a_row(conn, first.on_conflict_do_nothing().returning(key_column)):  # type: ignore[attr-defined]
                return True
            return bool(conn.execute(claim).rowcount == 1)
