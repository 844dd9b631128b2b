"""Storage of PET pictures and evidence-page snapshots, mixed into :class:`cds_service.storage.store.Storage`.

- **PET pictures**: the coronal maximum-intensity-projection PNG of an analysed series
  (``SeriesAnalysis.picture()``), keyed by DICOM SeriesInstanceUID, written when the analysis is stored and
  read by the evidence page. Saving twice replaces the picture (a re-analysis under a new version draws a
  new one).
- **Evidence snapshots**: what one card's evidence page shows, stored under a random id of 256 bits
  (``secrets.token_urlsafe(32)``, 43 characters), which is the only thing the link carries: no PHI in the URL.
  A snapshot expires after ``ttl_s`` seconds; an expired one is never returned and is purged on demand.

Each method runs one short transaction (SQLite: ``BEGIN IMMEDIATE`` for writes, deferred for reads, as in
``Storage``). Nothing here logs; payloads may hold clinical values and are never logged by callers either.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from cds_service.storage.tables import EVIDENCE_ID_LENGTH, evidence_snapshots, pet_pictures

#: Random bytes behind an evidence id (``secrets.token_urlsafe``): 32 bytes → 43 URL-safe characters.
EVIDENCE_ID_BYTES = 32


class ArtifactStorage:
    """PET pictures and evidence snapshots; relies on the ``_engine`` and ``_clock`` of ``Storage``."""

    _engine: Engine
    _clock: Callable[[], datetime]

    def _artifact_reader(self) -> Connection:
        return self._engine.connect().execution_options(sqlite_deferred=True)

    # -- PET pictures ---------------------------------------------------------------------------------------

    def save_picture(self, series_uid: str, png: bytes) -> None:
        """Store (or replace) the MIP PNG of ``series_uid``; ``ValueError`` unless ``png`` is a PNG."""
        if not series_uid:
            raise ValueError("save_picture needs a SeriesInstanceUID")
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("save_picture stores PNG images only (missing PNG signature)")
        values = {"series_uid": series_uid, "png": bytes(png), "created_at": self._clock()}
        dialect = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(pet_pictures).values(**values)
        upsert = stmt.on_conflict_do_update(
            index_elements=[pet_pictures.c.series_uid],
            set_={"png": stmt.excluded.png, "created_at": stmt.excluded.created_at},
        )
        with self._engine.begin() as conn:
            conn.execute(upsert)

    def get_picture(self, series_uid: str) -> bytes | None:
        """The stored PNG of ``series_uid``, or ``None``."""
        with self._artifact_reader() as conn:
            png = conn.execute(
                select(pet_pictures.c.png).where(pet_pictures.c.series_uid == series_uid)
            ).scalar_one_or_none()
        return bytes(png) if png is not None else None

    # -- evidence snapshots ---------------------------------------------------------------------------------

    def save_evidence(self, payload: Mapping[str, Any], ttl_s: int) -> str:
        """Store ``payload`` (JSON-serialisable) for ``ttl_s`` seconds; returns its new random id.

        The id is ``secrets.token_urlsafe(32)``: unguessable, URL-safe, and unrelated to the patient.
        """
        if ttl_s <= 0:
            raise ValueError("ttl_s must be a positive number of seconds")
        now = self._clock()
        evidence_id = secrets.token_urlsafe(EVIDENCE_ID_BYTES)
        assert len(evidence_id) == EVIDENCE_ID_LENGTH
        with self._engine.begin() as conn:
            conn.execute(
                evidence_snapshots.insert().values(
                    id=evidence_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_s),
                    payload=dict(payload),
                )
            )
        return evidence_id

    def get_evidence(self, evidence_id: str, now: datetime | None = None) -> dict[str, Any] | None:
        """The payload stored under ``evidence_id``; ``None`` when unknown or expired at ``now`` (default:
        the clock)."""
        if not evidence_id or len(evidence_id) > EVIDENCE_ID_LENGTH:
            return None
        cutoff = now or self._clock()
        with self._artifact_reader() as conn:
            row = conn.execute(
                select(evidence_snapshots.c.payload).where(
                    evidence_snapshots.c.id == evidence_id, evidence_snapshots.c.expires_at > cutoff
                )
            ).first()
        return dict(row.payload) if row is not None else None

    def purge_expired_evidence(self, now: datetime | None = None) -> int:
        """Delete snapshots expired at ``now`` (default: the clock); returns how many."""
        cutoff = now or self._clock()
        with self._engine.begin() as conn:
            return conn.execute(
                delete(evidence_snapshots).where(evidence_snapshots.c.expires_at <= cutoff)
            ).rowcount
