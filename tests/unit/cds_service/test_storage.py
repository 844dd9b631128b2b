"""Storage on SQLite (the default backend): the shared contract plus SQLite's connection settings, file
modes and the fsync of acknowledged feedback."""

from __future__ import annotations

import fcntl
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from cds_service.storage.store import FeedbackOutcome, FeedbackRecord, Storage, StorageConfigError
from tests.unit.cds_service.storage_contract import StorageContract, audit_record


class TestStorageSqlite(StorageContract):
    @pytest.fixture
    def storage_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/state/her2cds.db"  # parent folder created on demand


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path}/s.db")
    try:
        with storage.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 5000
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
    finally:
        storage.dispose()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_files_are_private(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # the usual default, under which SQLite alone would create 0644 files
    try:
        storage = Storage(f"sqlite:///{tmp_path}/private/her2cds.db")
        storage.migrate()
        storage.record_hook(audit_record("mode-check"))
        with storage.engine.connect() as conn:  # keeps -wal and -shm in place while looking
            conn.execute(text("SELECT 1"))
            suffixes = ("", "-wal", "-shm", ".lock")
            files = [tmp_path / "private" / f"her2cds.db{suffix}" for suffix in suffixes]
            assert [_mode(f) for f in files] == [0o600, 0o600, 0o600, 0o600]
        assert _mode(tmp_path / "private") == 0o700
        storage.dispose()
    finally:
        os.umask(old_umask)


def test_writers_of_two_storages_queue_on_the_lock_file(tmp_path: Path) -> None:
    """Two storages on one database file (as two workers have) never write at the same time: the second
    writer waits on the lock file until the first has committed, then goes ahead."""
    url = f"sqlite:///{tmp_path}/her2cds.db"
    first, second = Storage(url), Storage(url)
    first.migrate()
    inside, done = threading.Event(), threading.Event()

    def write_second() -> None:
        with second._write():
            inside.set()
        done.set()

    with first._write():
        probe = os.open(tmp_path / "her2cds.db.lock", os.O_RDWR)
        try:  # the lock file is held: another process's writer would wait on it, not in SQLite's busy loop
            with pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(probe)
        worker = threading.Thread(target=write_second)
        worker.start()
        assert not inside.wait(0.3), "the second writer entered while the first held the lock"
    assert done.wait(30)
    worker.join(30)
    first.dispose()
    second.dispose()


def test_existing_world_readable_database_is_narrowed(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    database.touch()
    database.chmod(0o644)
    Storage(f"sqlite:///{database}").dispose()
    assert _mode(database) == 0o600


def test_feedback_commit_is_fsynced_and_hook_writes_are_not(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path}/sync.db")
    storage.migrate()
    statements: list[str] = []

    @event.listens_for(storage.engine, "before_cursor_execute")
    def _seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith(("PRAGMA synchronous", "BEGIN")):
            statements.append(statement)

    item = FeedbackRecord(
        card_uuid="c-1",
        service_id="her2-pet-review",
        outcome=FeedbackOutcome.ACCEPTED,
        outcome_timestamp=datetime(2026, 3, 1, tzinfo=UTC),
        accepted_suggestions=("s",),
    )
    storage.record_hook(audit_record("before"))
    storage.record_feedback([item])
    storage.record_hook(audit_record("after"))
    durable = statements.index("PRAGMA synchronous = FULL")
    assert statements[durable + 1] == "BEGIN IMMEDIATE"
    assert "PRAGMA synchronous = NORMAL" in statements[durable + 2 :]
    assert "PRAGMA synchronous = FULL" not in statements[:durable]
    storage.dispose()


def test_in_memory_sqlite_is_shared_across_threads() -> None:
    storage = Storage("sqlite://")
    storage.migrate()
    assert storage.claim_analysis("1.2.3", "w1", 300) is True
    assert storage.get_analysis("1.2.3") is not None


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql+asyncpg://u@h/db", "oracle://x"])
def test_unsupported_backends_refused(url: str) -> None:
    with pytest.raises(StorageConfigError, match="unsupported database driver"):
        Storage(url)


def test_plain_postgresql_url_uses_psycopg_and_hides_password() -> None:
    storage = Storage("postgresql://cds:s3cret@db.example:5432/cds")
    assert storage.engine.url.drivername == "postgresql+psycopg"
    assert "s3cret" not in storage.describe()
    assert storage.dialect == "postgresql"  # no connection is made until first use
