"""The hook audit, and the one write of a hook call: a part of :class:`cds_service.storage.store.Storage`.

One record per hook call and one row per card returned (``hook_audit``, ``hook_audit_card``), without PHI:
identifiers of the call, timing, outcome, card uuids and topic codes, rules version and the calling EHR
(``spec/cds-hooks.md`` CH-29, CH-35). Card uuids join the records to the clinicians' feedback.

**One write per hook.** :meth:`AuditStorage.record_call` writes, in one short transaction, what a call
leaves behind: its client token id (:func:`cds_service.storage.replay.consume`, first, so that a replay
raced by another worker or replica is found before anything else is written and the whole transaction
rolls back), its audit record, and the evidence snapshot its cards link to. The caller answers only after
the commit. We chose this over writing audit and evidence off the request path through a queue because:

- nothing acknowledged can be lost: the answer leaves after its audit row, token id and evidence snapshot
  are committed, so neither a crash (``kill -9``), nor a full queue, nor a shutdown that does not drain, can
  drop an audit row or leave a card with a link to a snapshot that was never written;
- the token id must be committed before the answer anyway (replay protection is decided by the database's
  unique key across workers and replicas), so a queue would save only the audit and evidence rows, which
  ride in that same transaction at the cost of a few more row inserts;
- the transaction is short (a few row inserts, nothing computed inside; on SQLite no fsync with
  ``synchronous=NORMAL``, and the writers of one process queue on a process lock,
  ``cds_service.storage.engine``), so SQLite's single writer lock is no longer what limits hooks, and one
  merged write costs less than the three separate transactions it replaces
  (``tests/benchmarks/test_bench_storage.py``).

Retention: records older than ``HER2CDS_AUDIT_RETENTION_DAYS`` are deleted by the retention task, with their
card rows (:meth:`AuditStorage.purge_audit`). Nothing here logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.storage.artifacts import EvidenceSnapshot, insert_evidence
from cds_service.storage.engine import StoragePart, require_aware
from cds_service.storage.replay import ReplayedTokenError, TokenUse, consume
from cds_service.storage.tables import HookOutcome, hook_audit, hook_audit_card

__all__ = ["AuditStorage", "AuditedCard", "HookAuditRecord"]

PURGE_BATCH = 1000
"""Audit records deleted per transaction by :meth:`AuditStorage.purge_audit` (keeps each one short)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditedCard:
    """A card returned by a hook call: its ``uuid`` and ``source.topic`` code (scenario), never its text."""

    uuid: str
    topic: str | None = None

    def __post_init__(self) -> None:
        if not self.uuid:
            raise ValueError("AuditedCard.uuid must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class HookAuditRecord:
    """One hook call, without PHI: identifiers of the call, timing, outcome, cards and rules version.

    ``duration_ms`` is wall time from request receipt to response, in milliseconds. ``iss``/``tenant``
    identify the calling EHR (``spec/cds-hooks.md`` CH-35), never a patient.
    """

    hook_instance: str
    service_id: str
    hook: str
    received_at: datetime
    duration_ms: float
    outcome: HookOutcome
    rules_version: str
    cards: tuple[AuditedCard, ...] = ()
    iss: str | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        require_aware("received_at", self.received_at)
        if self.duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        if not (self.hook_instance and self.service_id and self.hook and self.rules_version):
            raise ValueError("hook_instance, service_id, hook and rules_version are required")
        object.__setattr__(self, "outcome", HookOutcome(self.outcome))
        object.__setattr__(self, "cards", tuple(self.cards))


def _insert_audit(conn: Connection, record: HookAuditRecord) -> int:
    """Write ``record`` and its cards in the caller's transaction; returns the audit id.

    A card uuid already audited (a cached answer served again) keeps its first audit row.
    """
    result = conn.execute(
        _AUDIT_INSERT,
        {
            "hook_instance": record.hook_instance,
            "service_id": record.service_id,
            "hook": record.hook,
            "iss": record.iss,
            "tenant": record.tenant,
            "received_at": record.received_at,
            "duration_ms": float(record.duration_ms),
            "outcome": record.outcome.value,
            "rules_version": record.rules_version,
        },
    )
    pk = result.inserted_primary_key
    assert pk is not None
    audit_id = int(pk[0])
    if record.cards:
        conn.execute(
            _CARD_INSERTS[conn.dialect.name],
            [{"card_uuid": c.uuid, "audit_id": audit_id, "topic": c.topic} for c in record.cards],
        )
    return audit_id


_AUDIT_INSERT = hook_audit.insert()
"""The audit row, built once (its values are bound per call)."""
_CARD_INSERTS = {
    "sqlite": sqlite.insert(hook_audit_card).on_conflict_do_nothing(),
    "postgresql": postgresql.insert(hook_audit_card).on_conflict_do_nothing(),
}
"""The card rows of an audit record, one statement for all of them; built once per dialect."""


class AuditStorage(StoragePart):
    """Hook audit records, and the one write of a hook call."""

    def record_call(
        self,
        record: HookAuditRecord | None,
        *,
        token: TokenUse | None = None,
        evidence: Sequence[EvidenceSnapshot] = (),
    ) -> int | None:
        """Write what one call leaves behind, in one transaction: ``token`` consumed, ``record`` (with its
        cards) and the ``evidence`` snapshots its cards link to. Returns the audit id (``None`` without a
        record).

        Raises :class:`~cds_service.storage.replay.ReplayedTokenError` when another call consumed the token
        first: then nothing is written, and the call must be refused.
        """
        with self._write() as conn:
            if token is not None and not consume(conn, token, self._clock()):
                raise ReplayedTokenError("the token id was consumed by another call")
            audit_id = _insert_audit(conn, record) if record is not None else None
            for snapshot in evidence:
                insert_evidence(conn, snapshot)
        return audit_id

    def record_hook(self, record: HookAuditRecord) -> int:
        """Store one hook audit record and its cards alone; returns the audit id."""
        audit_id = self.record_call(record)
        assert audit_id is not None
        return audit_id

    def hook_audits(self, hook_instance: str) -> tuple[dict[str, Any], ...]:
        """Audit rows of one hook instance, each with its ``cards`` as (uuid, topic) pairs (review, tests)."""
        with self._reader() as conn:
            rows = conn.execute(
                select(hook_audit)
                .where(hook_audit.c.hook_instance == hook_instance)
                .order_by(hook_audit.c.id)
            ).mappings()
            audits = []
            for row in rows:
                cards = conn.execute(
                    select(hook_audit_card.c.card_uuid, hook_audit_card.c.topic)
                    .where(hook_audit_card.c.audit_id == row["id"])
                    .order_by(hook_audit_card.c.card_uuid)
                ).all()
                audits.append({**row, "cards": tuple((c.card_uuid, c.topic) for c in cards)})
        return tuple(audits)

    def purge_audit(self, received_before: datetime) -> int:
        """Delete audit records received before ``received_before``, with their card rows; returns how many
        records. Runs in batches of :data:`PURGE_BATCH`, one short transaction each."""
        require_aware("received_before", received_before)
        total = 0
        while True:
            with self._write() as conn:
                ids = list(
                    conn.execute(
                        select(hook_audit.c.id)
                        .where(hook_audit.c.received_at < received_before)
                        .order_by(hook_audit.c.id)
                        .limit(PURGE_BATCH)
                    ).scalars()
                )
                if ids:
                    # Explicit rather than relying on ON DELETE CASCADE being enabled on the connection.
                    conn.execute(delete(hook_audit_card).where(hook_audit_card.c.audit_id.in_(ids)))
                    conn.execute(delete(hook_audit).where(hook_audit.c.id.in_(ids)))
            total += len(ids)
            if len(ids) < PURGE_BATCH:
                return total
