"""PET pictures and evidence-page snapshots: a part of :class:`cds_service.storage.store.Storage`.

- **PET pictures**: the coronal maximum-intensity-projection PNG of an analysed series
  (``SeriesAnalysis.picture()``), keyed by DICOM SeriesInstanceUID, written when the analysis is stored and
  read by the evidence page. Saving twice replaces the picture (a re-analysis under a new version draws a
  new one).
- **Evidence snapshots**: what one card's evidence page shows, stored under a random id of 256 bits
  (``secrets.token_urlsafe(32)``, 43 characters), which is the only thing the link carries: no PHI in the URL.
  A snapshot expires after ``ttl_s`` seconds; an expired one is never returned, and the retention task
  deletes it (:mod:`cds_service.storage.retention`). A hook makes its snapshot with
  :meth:`ArtifactStorage.new_evidence` (id and expiry, nothing written), puts the link in its card, and writes
  the snapshot in the call's one transaction together with its audit record and token id
  (``AuditStorage.record_call``); :meth:`ArtifactStorage.save_evidence` writes one at once.

Nothing here logs; payloads may hold clinical values and are never logged by callers either.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select

from cds_service.storage.engine import StoragePart, require_aware
from cds_service.storage.tables import EVIDENCE_ID_LENGTH, evidence_snapshots, pet_pictures

__all__ = ["EVIDENCE_ID_BYTES", "ArtifactStorage", "EvidenceSnapshot", "insert_evidence"]

#: Random bytes behind an evidence id (``secrets.token_urlsafe``): 32 bytes → 43 URL-safe characters.
EVIDENCE_ID_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceSnapshot:
    """One evidence snapshot before it is written: its random id, its lifetime and its JSON payload.

    The payload is left out of ``repr`` (it holds clinical values and an opaque patient reference).
    """

    id: str
    created_at: datetime
    expires_at: datetime
    payload: Mapping[str, Any] = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.id) != EVIDENCE_ID_LENGTH:
            raise ValueError(f"an evidence id has {EVIDENCE_ID_LENGTH} characters")
        require_aware("created_at", self.created_at)
        require_aware("expires_at", self.expires_at)
        if self.expires_at <= self.created_at:
            raise ValueError("an evidence snapshot must expire after it is created")


def insert_evidence(conn: Connection, snapshot: EvidenceSnapshot) -> None:
    """Write ``snapshot`` in the caller's transaction."""
    conn.execute(
        _EVIDENCE_INSERT,
        {
            "id": snapshot.id,
            "created_at": snapshot.created_at,
            "expires_at": snapshot.expires_at,
            "payload": dict(snapshot.payload),
        },
    )


_EVIDENCE_INSERT = evidence_snapshots.insert()
"""An evidence snapshot row, built once (its values are bound per call)."""


class ArtifactStorage(StoragePart):
    """PET pictures and evidence snapshots."""

    # -- PET pictures ---------------------------------------------------------------------------------------

    def save_picture(self, series_uid: str, png: bytes) -> None:
        """Store (or replace) the MIP PNG of ``series_uid``; ``ValueError`` unless ``png`` is a PNG."""
        if not series_uid:
            raise ValueError("save_picture needs a SeriesInstanceUID")
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("save_picture stores PNG images only (missing PNG signature)")
        values = {"series_uid": series_uid, "png": bytes(png), "created_at": self._clock()}
        stmt: Any = self._insert(pet_pictures, values=values)  # the dialect's INSERT: ON CONFLICT, excluded
        upsert = stmt.on_conflict_do_update(
            index_elements=[pet_pictures.c.series_uid],
            set_={"png": stmt.excluded.png, "created_at": stmt.excluded.created_at},
        )
        with self._write() as conn:
            conn.execute(upsert)

    def get_picture(self, series_uid: str) -> bytes | None:
        """The stored PNG of ``series_uid``, or ``None``."""
        with self._reader() as conn:
            png = conn.execute(
                select(pet_pictures.c.png).where(pet_pictures.c.series_uid == series_uid)
            ).scalar_one_or_none()
        return bytes(png) if png is not None else None

    # -- evidence snapshots ---------------------------------------------------------------------------------

    def new_evidence(self, payload: Mapping[str, Any], ttl_s: int) -> EvidenceSnapshot:
        """A snapshot of ``payload`` (JSON-serialisable) living ``ttl_s`` seconds from now, not written yet.

        The id is ``secrets.token_urlsafe(32)``: unguessable, URL-safe, and unrelated to the patient.
        """
        if ttl_s <= 0:
            raise ValueError("ttl_s must be a positive number of seconds")
        now = self._clock()
        return EvidenceSnapshot(
            id=secrets.token_urlsafe(EVIDENCE_ID_BYTES),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
            payload=dict(payload),
        )

    def save_evidence(self, payload: Mapping[str, Any], ttl_s: int) -> str:
        """Store ``payload`` (JSON-serialisable) for ``ttl_s`` seconds at once; returns its new random id."""
        snapshot = self.new_evidence(payload, ttl_s)
        with self._write() as conn:
            insert_evidence(conn, snapshot)
        return snapshot.id

    def get_evidence(self, evidence_id: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The payload stored under ``evidence_id``; ``None`` when unknown or expired at ``now`` (default:
        the clock)."""
        if not evidence_id or len(evidence_id) > EVIDENCE_ID_LENGTH:
            return None
        cutoff = now or self._clock()
        with self._reader() as conn:
            row = conn.execute(
                select(evidence_snapshots.c.payload).where(
                    evidence_snapshots.c.id == evidence_id, evidence_snapshots.c.expires_at > cutoff
                )
            ).first()
        return dict(row.payload) if row is not None else None

    def purge_expired_evidence(self, now: datetime | None = None) -> int:
        """Delete snapshots expired at ``now`` (default: the clock); returns how many."""
        cutoff = now or self._clock()
        with self._write() as conn:
            return conn.execute(
                delete(evidence_snapshots).where(evidence_snapshots.c.expires_at <= cutoff)
            ).rowcount
