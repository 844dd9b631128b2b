"""Storage on SQLite (the default backend): the shared contract plus SQLite's connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from cds_service.storage.store import Storage, StorageConfigError
from tests.unit.cds_service.storage_contract import StorageContract


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
    finally:
        storage.dispose()


def test_in_memory_sqlite_is_shared_across_threads() -> None:
    storage = Storage("sqlite://")
    storage.migrate()
    assert storage.enqueue_analysis("1.2.3") is True
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
