"""Retention: what the database keeps, and for how long (issue 10 item 3, ``docs/configuration.md``).

- **Evidence snapshots** hold PHI (clinical values and an opaque patient reference). Each lives
  ``HER2CDS_EVIDENCE_TTL_S`` seconds (default one hour), after which its link no longer opens it; the purge
  deletes every snapshot past its expiry.
- **Hook audit records** (no PHI) and their card rows are deleted once older than
  ``HER2CDS_AUDIT_RETENTION_DAYS`` days (default 365).
- **Replay entries** (token ids) are deleted once past their token's expiry plus leeway.
- Card feedback and PET analyses are not purged: feedback is the clinicians' record and is never lost once
  acknowledged; analyses are a cache keyed by series and reused by every later hook.

**Where it runs**: a periodic task in the service itself (:class:`RetentionTask`, one daemon thread per
worker process, started by ``create_app``), every ``HER2CDS_PURGE_INTERVAL_S`` seconds (default 600) with
±10 % jitter so that workers and replicas spread their runs, and once shortly after start. The service is
the only writer of snapshots and audit records, so wherever they are written they are also deleted, with no
extra deployment object to forget; ``her2-cds sync`` and the receiver do not purge. Several workers and
replicas purging concurrently is harmless: each delete is by age and idempotent, in short batches.

Expired snapshots are never served even before the purge removes them (the page checks the expiry).
Nothing here logs: the task reports through its callbacks.
"""

from __future__ import annotations

import random
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cds_service.storage.store import Storage

__all__ = ["PurgeCounts", "RetentionPolicy", "RetentionTask", "purge_by_age"]

FIRST_RUN_WITHIN_S = 60.0
"""The first purge after start happens within this many seconds (at a random point, spreading workers)."""
JITTER = 0.1
"""Relative jitter of the interval between two purges."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionPolicy:
    """How long hook audit records are kept (days) and how often the purge runs (seconds)."""

    audit_days: int = 365
    interval_s: float = 600.0

    def __post_init__(self) -> None:
        if self.audit_days <= 0:
            raise ValueError("audit_days must be a positive number of days")
        if self.interval_s <= 0:
            raise ValueError("interval_s must be a positive number of seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class PurgeCounts:
    """How many rows one purge deleted, per kind."""

    evidence: int
    audit: int
    jti: int


def purge_by_age(storage: Storage, policy: RetentionPolicy, now: datetime | None = None) -> PurgeCounts:
    """Delete expired evidence snapshots and replay entries, and audit records older than the policy's
    retention, as of ``now`` (default: the storage's clock)."""
    at = now or storage.now()
    return PurgeCounts(
        evidence=storage.purge_expired_evidence(at),
        audit=storage.purge_audit(at - timedelta(days=policy.audit_days)),
        jti=storage.purge_expired_jti(at),
    )


class RetentionTask:
    """Runs :func:`purge_by_age` periodically on a daemon thread until :meth:`stop`, or until the storage is
    gone (the thread holds it only weakly, so an app that is dropped releases its connections).

    :param on_purge: called with the counts of every purge (the service logs them).
    :param on_error: called with the exception of a purge that failed; the task carries on.
    """

    def __init__(
        self,
        storage: Storage,
        policy: RetentionPolicy,
        *,
        on_purge: Callable[[PurgeCounts], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        first_run_within_s: float = FIRST_RUN_WITHIN_S,
    ) -> None:
        self._storage = weakref.ref(storage)
        self._policy = policy
        self._on_purge = on_purge
        self._on_error = on_error
        self._first_delay_s = random.uniform(0.0, min(first_run_within_s, policy.interval_s))  # noqa: S311
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="her2cds-retention", daemon=True)

    @property
    def policy(self) -> RetentionPolicy:
        """The retention this task applies."""
        return self._policy

    def start(self) -> RetentionTask:
        """Start the thread; returns the task."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to end and wait for it (a purge under way finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def run_once(self) -> PurgeCounts | None:
        """One purge now; ``None`` when the storage is gone or the purge failed (reported to ``on_error``)."""
        storage = self._storage()
        if storage is None:
            return None
        try:
            counts = purge_by_age(storage, self._policy)
        except Exception as exc:  # a failed purge is retried at the next interval
            if self._on_error is not None:
                self._on_error(exc)
            return None
        if self._on_purge is not None:
            self._on_purge(counts)
        return counts

    def _loop(self) -> None:
        delay = self._first_delay_s
        while not self._stop.wait(delay):
            if self._storage() is None:
                return
            self.run_once()
            delay = self._policy.interval_s * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
