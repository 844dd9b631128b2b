"""The PET series index and per-source sync state: what the hook reads instead of asking the PACS.

``pet_series_index`` holds one row per PT series a PET source listed, keyed by SeriesInstanceUID: the DICOM
patient identifiers (PatientID and, when the source reports it, IssuerOfPatientID), the study, the series
date and time, the SR and SEG series of the study that may describe it, the header triage (HER2 tracer or
not, ``spec/pet-dicom.md`` §8) and which source listed it. Rows are written ahead of any hook by the C-STORE
receiver, ``her2-cds sync`` and the service's own background indexer (``cds_service.pet.index``).

``pet_source_state`` holds, per source, the last successful pass (and the watermark the next incremental pass
starts from) and the last failure with a short reason. A source has *failed* when its last failure is newer
than its last success; its index is *stale* when the last success is older than the configured age.

:meth:`SeriesIndex.find` answers a hook in one read: the patient's rows joined with their stored analyses.
The analysis state is not copied into the index: ``pet_analysis`` stays its only home.

Each method runs one short transaction on the engine of :class:`cds_service.storage.store.Storage`, whose
transaction helpers and SQLite writer queue it shares (:class:`cds_service.storage.engine.StoragePart`).
Nothing here logs; the PatientID columns are left out of the records' ``repr``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, or_, select, update

from cds_service.storage.analyses import PetAnalysisRecord
from cds_service.storage.engine import StoragePart
from cds_service.storage.tables import (
    AnalysisStatus,
    SeriesTriage,
    pet_analysis,
    pet_series_index,
    pet_source_state,
)
from rules.domain import Tracer

__all__ = ["IndexEntry", "IndexedSeries", "SeriesIndex", "SeriesTriage", "SourceState"]

MAX_REASON_CHARS = 500
"""Longest failure reason kept (a technical message without PHI)."""

_UPSERT_BATCH = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexedSeries:
    """One PT series as a source listed it, with its header triage.

    ``series_date``/``series_time`` are the naive local SeriesDate/SeriesTime (PS3.5 DA/TM). ``tracer`` is
    set when ``triage`` is ``her2``; ``triage_note`` says why a series is not HER2 PET.
    """

    series_uid: str
    study_uid: str
    source: str
    patient_id: str | None = field(default=None, repr=False)
    issuer_of_patient_id: str | None = field(default=None, repr=False)
    series_date: dt.date | None = None
    series_time: dt.time | None = None
    instance_count: int | None = None
    related_sr: tuple[str, ...] = ()
    related_seg: tuple[str, ...] = ()
    triage: SeriesTriage = SeriesTriage.UNKNOWN
    tracer: Tracer | None = None
    triage_note: str | None = None

    def __post_init__(self) -> None:
        if not (self.series_uid and self.study_uid and self.source):
            raise ValueError("IndexedSeries needs series_uid, study_uid and source")
        if (self.triage is SeriesTriage.HER2) != (self.tracer is not None):
            raise ValueError("IndexedSeries: a tracer is given exactly when the triage is her2")

    def same_listing(self, other: IndexedSeries) -> bool:
        """Whether ``other`` lists the same series content (study, patient, date, instances, SR/SEG)."""
        return (
            self.study_uid,
            self.patient_id,
            self.issuer_of_patient_id,
            self.series_date,
            self.series_time,
            self.instance_count,
            self.related_sr,
            self.related_seg,
        ) == (
            other.study_uid,
            other.patient_id,
            other.issuer_of_patient_id,
            other.series_date,
            other.series_time,
            other.instance_count,
            other.related_sr,
            other.related_seg,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexEntry:
    """An index row with the stored analysis of its series (None: never claimed)."""

    series: IndexedSeries
    analysis: PetAnalysisRecord | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceState:
    """The sync state of one PET source (all times aware UTC).

    ``watermark`` is when the last successful pass started: the next incremental pass lists what arrived
    since then (minus the source's overlap). ``pass_owner`` holds the lease of the pass running now (None:
    none), ``pass_started_at``/``pass_finished_at`` when the last pass under a lease started and ended.
    """

    source: str
    last_success_at: dt.datetime | None = None
    watermark: dt.datetime | None = None
    last_failure_at: dt.datetime | None = None
    failure_reason: str | None = None
    pass_owner: str | None = None
    pass_started_at: dt.datetime | None = None
    pass_finished_at: dt.datetime | None = None

    @property
    def failed(self) -> bool:
        """True when the last attempt that touched the source failed (no success since)."""
        if self.last_failure_at is None:
            return False
        return self.last_success_at is None or self.last_failure_at > self.last_success_at

    def stale(self, now: dt.datetime, max_age_s: float) -> bool:
        """True when the index of this source was not brought up to date within ``max_age_s`` seconds
        (never updated counts as stale)."""
        if self.last_success_at is None:
            return True
        return (now - self.last_success_at).total_seconds() > max_age_s


_FIND = (
    select(pet_series_index, *[c.label(f"a_{c.name}") for c in pet_analysis.c])
    .select_from(
        pet_series_index.outerjoin(
            pet_analysis, pet_analysis.c.series_instance_uid == pet_series_index.c.series_instance_uid
        )
    )
    .where(
        or_(
            pet_series_index.c.patient_id.in_(bindparam("patients", expanding=True)),
            pet_series_index.c.study_instance_uid.in_(bindparam("studies", expanding=True)),
        )
    )
)
"""A hook's one read of the index (``SeriesIndex.find``), built once: the rows of any of the patient ids or
study uids (an empty list matches nothing), each with its stored analysis."""

_STATES = select(pet_source_state).where(pet_source_state.c.source.in_(bindparam("keys", expanding=True)))


class SeriesIndex(StoragePart):
    """The series index and source states of a ``Storage`` (thread-safe, one transaction per call).

    :param storage: the process's storage (schema at ``0005_pet_series_index`` or later); its engine and
        writer queue are shared.
    :param clock: returns the current aware UTC time (default: the storage's); injected in tests.
    """

    def __init__(self, storage: StoragePart, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self._init_part(storage._engine, clock or storage.now)
        self._write_lock = storage._write_lock  # one SQLite writer queue per process

    # -- rows ---------------------------------------------------------------------------------------------

    def upsert(self, rows: Sequence[IndexedSeries]) -> None:
        """Insert or update rows (a series listed again keeps its first ``listed_at``)."""
        now = self._clock()
        for start in range(0, len(rows), _UPSERT_BATCH):
            with self._write() as conn:
                for row in rows[start : start + _UPSERT_BATCH]:
                    values = {**_row_values(row), "listed_at": now, "updated_at": now}
                    stmt = self._insert(pet_series_index, values=values)
                    changed = {
                        k: v for k, v in values.items() if k not in ("series_instance_uid", "listed_at")
                    }
                    upsert = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                        index_elements=[pet_series_index.c.series_instance_uid], set_=changed
                    )
                    conn.execute(upsert)

    def remove(self, series_uids: Collection[str]) -> int:
        """Delete rows of series that vanished from their source; returns how many."""
        if not series_uids:
            return 0
        with self._write() as conn:
            stmt = delete(pet_series_index).where(
                pet_series_index.c.series_instance_uid.in_(sorted(series_uids))
            )
            return int(conn.execute(stmt).rowcount)

    def of_source(self, source: str) -> dict[str, IndexedSeries]:
        """Every row a source listed, by SeriesInstanceUID."""
        stmt = select(pet_series_index).where(pet_series_index.c.source == source)
        with self._reader() as conn:
            return {r["series_instance_uid"]: _series(r) for r in conn.execute(stmt).mappings()}

    def get_many(self, series_uids: Iterable[str]) -> dict[str, IndexedSeries]:
        """The rows of the given series that exist, by SeriesInstanceUID."""
        uids = sorted(set(series_uids))
        if not uids:
            return {}
        stmt = select(pet_series_index).where(pet_series_index.c.series_instance_uid.in_(uids))
        with self._reader() as conn:
            return {r["series_instance_uid"]: _series(r) for r in conn.execute(stmt).mappings()}

    def find(
        self, *, patient_ids: Iterable[str] = (), study_uids: Iterable[str] = ()
    ) -> tuple[IndexEntry, ...]:
        """Rows of any of ``patient_ids`` (DICOM PatientID) **or** of any of ``study_uids``, each with its
        stored analysis: one read, what a hook needs."""
        patients, studies = sorted(set(patient_ids)), sorted(set(study_uids))
        if not (patients or studies):
            return ()
        with self._single_read() as conn:
            rows = conn.execute(_FIND, {"patients": patients, "studies": studies}).mappings()
            return tuple(IndexEntry(series=_series(row), analysis=_analysis(row)) for row in rows)

    # -- source states ------------------------------------------------------------------------------------

    def record_success(self, source: str, *, started_at: dt.datetime) -> None:
        """A pass over ``source`` that started at ``started_at`` completed: the index is current."""
        self._set_state(source, {"last_success_at": self._clock(), "watermark": started_at})

    def record_failure(self, source: str, reason: str) -> None:
        """An attempt on ``source`` failed (a pass, or a retrieval that met an outage); ``reason`` is a short
        technical message without PHI."""
        text = " ".join(reason.split())[:MAX_REASON_CHARS] or "unknown failure"
        self._set_state(source, {"last_failure_at": self._clock(), "failure_reason": text})

    def claim_pass(self, source: str, owner: str, *, min_gap_s: float, lease_s: float) -> bool:
        """Take the lease of the next pass over ``source``; True when ``owner`` may run it now
        (:meth:`~cds_service.storage.engine.StoragePart._claim_lease`)."""
        col = pet_source_state.c
        return self._claim_lease(
            pet_source_state,
            key=(col.source, source),
            lease=(col.pass_owner, col.pass_started_at),
            owner=owner,
            min_gap_s=min_gap_s,
            lease_s=lease_s,
        )

    def finish_pass(self, source: str, owner: str) -> None:
        """End ``owner``'s pass over ``source`` (its outcome is recorded by ``record_success`` or
        ``record_failure``)."""
        col = pet_source_state.c
        stmt = (
            update(pet_source_state)
            .where(col.source == source, col.pass_owner == owner)
            .values(pass_owner=None, pass_finished_at=self._clock())
        )
        with self._write() as conn:
            conn.execute(stmt)

    def states(self, sources: Iterable[str]) -> dict[str, SourceState]:
        """The recorded states of the given sources (a source never recorded is absent)."""
        keys = sorted(set(sources))
        if not keys:
            return {}
        with self._single_read() as conn:
            return {
                r["source"]: SourceState(**dict(r)) for r in conn.execute(_STATES, {"keys": keys}).mappings()
            }

    def state(self, source: str) -> SourceState | None:
        """The recorded state of one source, or None."""
        return self.states([source]).get(source)

    # -- internals ----------------------------------------------------------------------------------------

    def _set_state(self, source: str, values: Mapping[str, Any]) -> None:
        if not source:
            raise ValueError("a PET source key must not be empty")
        stmt = self._insert(pet_source_state, values={"source": source, **values})
        upsert = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[pet_source_state.c.source], set_=dict(values)
        )
        with self._write() as conn:
            conn.execute(upsert)


def _row_values(row: IndexedSeries) -> dict[str, Any]:
    return {
        "series_instance_uid": row.series_uid,
        "study_instance_uid": row.study_uid,
        "patient_id": row.patient_id,
        "issuer_of_patient_id": row.issuer_of_patient_id,
        "source": row.source,
        "series_date": row.series_date,
        "series_time": row.series_time,
        "instance_count": row.instance_count,
        "related_sr": list(row.related_sr),
        "related_seg": list(row.related_seg),
        "triage": row.triage.value,
        "tracer": row.tracer.value if row.tracer is not None else None,
        "triage_note": row.triage_note,
    }


def _series(row: RowMapping) -> IndexedSeries:
    return IndexedSeries(
        series_uid=row["series_instance_uid"],
        study_uid=row["study_instance_uid"],
        source=row["source"],
        patient_id=row["patient_id"],
        issuer_of_patient_id=row["issuer_of_patient_id"],
        series_date=row["series_date"],
        series_time=row["series_time"],
        instance_count=row["instance_count"],
        related_sr=tuple(row["related_sr"] or ()),
        related_seg=tuple(row["related_seg"] or ()),
        triage=SeriesTriage(row["triage"]),
        tracer=Tracer(row["tracer"]) if row["tracer"] else None,
        triage_note=row["triage_note"],
    )


def _analysis(row: RowMapping) -> PetAnalysisRecord | None:
    if row["a_series_instance_uid"] is None:
        return None
    return PetAnalysisRecord(
        series_instance_uid=row["a_series_instance_uid"],
        study_instance_uid=row["a_study_instance_uid"],
        patient_id=row["a_patient_id"],
        status=AnalysisStatus(row["a_status"]),
        facts=row["a_facts"],
        error=row["a_error"],
        analysis_version=row["a_analysis_version"],
        claimed_by=row["a_claimed_by"],
        claimed_at=row["a_claimed_at"],
        attempts=int(row["a_attempts"]),
        updated_at=row["a_updated_at"],
    )
