"""The retention task: a purge by age on a daemon thread, started by ``create_app``, reporting through its
callbacks, carrying on after a failed purge, and letting go of a storage nobody uses any more."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cds_service import RETENTION_KEY
from cds_service.storage.retention import PurgeCounts, RetentionPolicy, RetentionTask
from cds_service.storage.store import Storage
from tests.unit.cds_service.cds_support import make_app
from tests.unit.cds_service.storage_contract import Clock, audit_record

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WAIT_S = 60.0
"""How long a test waits for the thread to report (a bound against hanging, not a timing assertion)."""


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def storage(tmp_path: Path, clock: Clock) -> Iterator[Storage]:
    store = Storage(f"sqlite:///{tmp_path / 'retention.db'}", clock=clock)
    store.migrate()
    yield store
    store.dispose()


def test_the_task_purges_by_age_on_its_thread(storage: Storage, clock: Clock) -> None:
    storage.record_hook(audit_record("ancient", T0 - timedelta(days=400)))
    storage.record_hook(audit_record("fresh", T0 - timedelta(days=1)))
    expired = storage.save_evidence({"n": 1}, ttl_s=60)
    clock.advance(120)
    reported: list[PurgeCounts] = []
    done = threading.Event()

    def on_purge(counts: PurgeCounts) -> None:
        reported.append(counts)
        done.set()

    task = RetentionTask(storage, RetentionPolicy(), on_purge=on_purge, first_run_within_s=0).start()
    try:
        assert done.wait(WAIT_S)
    finally:
        task.stop()
    assert reported[0] == PurgeCounts(evidence=1, audit=1, jti=0)
    assert storage.hook_audits("ancient") == ()
    assert storage.hook_audits("fresh") != ()
    assert storage.get_evidence(expired, T0) is None


def test_a_failed_purge_is_reported_and_the_task_carries_on(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[Exception] = []
    task = RetentionTask(storage, RetentionPolicy(), on_error=errors.append)

    def broken(_before: datetime) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(storage, "purge_audit", broken)
    assert task.run_once() is None
    assert [type(e) for e in errors] == [OSError]
    monkeypatch.undo()
    assert task.run_once() == PurgeCounts(evidence=0, audit=0, jti=0)


def test_the_task_lets_go_of_a_dropped_storage(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'dropped.db'}")
    storage.migrate()
    task = RetentionTask(storage, RetentionPolicy(interval_s=3600))
    del storage
    gc.collect()
    assert task.run_once() is None


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="audit_days"):
        RetentionPolicy(audit_days=0)
    with pytest.raises(ValueError, match="interval_s"):
        RetentionPolicy(interval_s=0)


def test_create_app_starts_the_task(tmp_path: Path) -> None:
    app = make_app(tmp_path, audit_retention_days=30, purge_interval_s=900)
    task = app.extensions[RETENTION_KEY]
    assert isinstance(task, RetentionTask)
    assert task.policy == RetentionPolicy(audit_days=30, interval_s=900)
    task.stop()
