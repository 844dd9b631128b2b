"""Fixtures shared by the service unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.storage.store import Storage


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    """A migrated SQLite storage in the test's temporary directory."""
    store = Storage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.migrate()
    yield store
    store.dispose()
