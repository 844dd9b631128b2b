"""Cached PET analyses keyed by DICOM SeriesInstanceUID: a part of :class:`cds_service.storage.store.Storage`.

A series is registered (``pending``), claimed by exactly one worker of all replicas (``running``), and its
result stored under that claim (``done`` with the PET facts, or ``failed``); a stale claim is taken over
and the old worker fenced. The decisions are single ``INSERT … ON CONFLICT`` or conditional ``UPDATE``
statements whose row count says who won, so they hold on SQLite and across PostgreSQL replicas alike.

The table keeps the DICOM PatientID as a lookup key; it is never logged (left out of the records' ``repr``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, or_, select, update

from cds_service.storage.engine import StoragePart, changed_a_row
from cds_service.storage.tables import AnalysisStatus, pet_analysis

__all__ = ["AnalysisStorage", "PetAnalysisRecord"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PetAnalysisRecord:
    """The stored state of one PET series analysis, keyed by DICOM SeriesInstanceUID.

    ``facts`` is the JSON form of the computed PET facts (``None`` until ``status`` is ``done``);
    ``analysis_version`` names the rules/analysis version that produced them. ``patient_id`` (DICOM PatientID)
    and ``facts`` are left out of ``repr`` so that logging a record by mistake does not leak them.
    """

    series_instance_uid: str
    study_instance_uid: str | None
    patient_id: str | None = field(repr=False)
    status: AnalysisStatus
    facts: Mapping[str, Any] | None = field(repr=False)
    error: str | None
    analysis_version: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    attempts: int
    updated_at: datetime


class AnalysisStorage(StoragePart):
    """Cached PET analyses and the claim protocol that makes one worker analyse each series."""

    def claim_analysis(
        self,
        series_uid: str,
        worker_id: str,
        stale_after_s: float,
        *,
        study_uid: str | None = None,
        patient_id: str | None = None,
        analysis_version: str | None = None,
    ) -> bool:
        """Try to become the one worker analysing ``series_uid``; ``True`` if this worker now holds the claim.

        A series is claimable when it is unknown (inserted as ``running``), ``pending``, ``running`` under a
        claim older than ``stale_after_s`` seconds (its worker presumably died), ``failed`` longer than
        ``stale_after_s`` ago (retry with back-off), or ``done`` by another ``analysis_version`` than the one
        given. Exactly one of several concurrent callers wins, on any backend and across replicas: the
        decision is a single ``INSERT … ON CONFLICT DO NOTHING`` or conditional ``UPDATE`` whose row count
        says who won.
        """
        if stale_after_s <= 0:
            raise ValueError("stale_after_s must be > 0 seconds")
        now = self._clock()
        stale_before = now - timedelta(seconds=stale_after_s)
        claim = {
            "status": AnalysisStatus.RUNNING.value,
            "claimed_by": worker_id,
            "claimed_at": now,
            "updated_at": now,
        }
        ids = {
            k: v for k, v in (("study_instance_uid", study_uid), ("patient_id", patient_id)) if v is not None
        }
        insert_stmt = self._insert(
            pet_analysis, values={"series_instance_uid": series_uid, "attempts": 1, **claim, **ids}
        ).on_conflict_do_nothing()  # type: ignore[attr-defined]
        col = pet_analysis.c
        claimable = or_(
            col.status == AnalysisStatus.PENDING.value,
            and_(col.status == AnalysisStatus.RUNNING.value, col.claimed_at < stale_before),
            and_(col.status == AnalysisStatus.FAILED.value, col.updated_at < stale_before),
        )
        if analysis_version is not None:
            claimable = or_(
                claimable,
                and_(
                    col.status == AnalysisStatus.DONE.value,
                    or_(col.analysis_version.is_(None), col.analysis_version != analysis_version),
                ),
            )
        update_stmt = (
            update(pet_analysis)
            .where(col.series_instance_uid == series_uid, claimable)
            .values(attempts=col.attempts + 1, **claim, **ids)
        )
        with self._write() as conn:
            if changed_a_row(conn, insert_stmt.returning(col.series_instance_uid)):
                return True
            return conn.execute(update_stmt).rowcount == 1

    def save_analysis(
        self,
        series_uid: str,
        *,
        worker_id: str,
        status: AnalysisStatus,
        facts: Mapping[str, Any] | None = None,
        error: str | None = None,
        analysis_version: str | None = None,
    ) -> bool:
        """Store the result of a claimed analysis (``done`` with ``facts``, or ``failed`` with ``error``).

        Fenced by the claim: ``False`` (nothing written) when ``worker_id`` no longer holds a running claim on
        the series, e.g. because another worker took it over as stale. ``error`` must be a short technical
        message without PHI.
        """
        status = AnalysisStatus(status)
        if status not in (AnalysisStatus.DONE, AnalysisStatus.FAILED):
            raise ValueError("save_analysis stores a final status: done or failed")
        if status is AnalysisStatus.DONE and facts is None:
            raise ValueError("a done analysis needs its facts")
        col = pet_analysis.c
        stmt = (
            update(pet_analysis)
            .where(
                col.series_instance_uid == series_uid,
                col.claimed_by == worker_id,
                col.status == AnalysisStatus.RUNNING.value,
            )
            .values(
                status=status.value,
                facts=dict(facts) if facts is not None else None,
                error=error,
                analysis_version=analysis_version,
                updated_at=self._clock(),
            )
        )
        with self._write() as conn:
            return conn.execute(stmt).rowcount == 1

    def get_analysis(self, series_uid: str) -> PetAnalysisRecord | None:
        """The stored analysis of one series, or ``None``."""
        with self._reader() as conn:
            row = conn.execute(
                select(pet_analysis).where(pet_analysis.c.series_instance_uid == series_uid)
            ).mappings()
            found = row.first()
        return _analysis_from_row(found) if found is not None else None


def _analysis_from_row(row: RowMapping) -> PetAnalysisRecord:
    return PetAnalysisRecord(
        series_instance_uid=row["series_instance_uid"],
        study_instance_uid=row["study_instance_uid"],
        patient_id=row["patient_id"],
        status=AnalysisStatus(row["status"]),
        facts=row["facts"],
        error=row["error"],
        analysis_version=row["analysis_version"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        attempts=int(row["attempts"]),
        updated_at=row["updated_at"],
    )
