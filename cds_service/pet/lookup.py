"""The hook's PET lookup: the patient's most recent HER2 PET study, from the database alone.

``HookPetLookup`` implements ``cds_service.hooks.service.PetLookup`` (``spec/cds-hooks.md`` §13). It never
calls the PACS, never walks a folder and never waits for an analysis: everything slow happened before the
hook asked (the C-STORE receiver, ``her2-cds sync``, the service's background indexer,
``cds_service.pet.index``).

1. Link the patient to DICOM (``cds_service.pet.link``): StudyInstanceUIDs from ImagingStudy, PatientIDs from
   the Patient resource.
2. One read of the series index joined with the stored analyses (``SeriesIndex.find``), one read of the
   states of the sources involved (the service's own source and those that listed the patient's series).
3. The most recent HER2 PET series wins (series not HER2 PET by their header, or by their analysis, never
   count): analysed with its present SR/SEG → ``PetStatus.ANALYSED`` with its facts; not analysed yet (or
   analysed before a reader's SR/SEG arrived) → ``PetStatus.PENDING`` with its date, and its analysis is
   queued in the background when the series belongs to the service's own source.
4. Sources: a source whose last attempt failed (a sync pass, or a retrieval that met an outage) is
   unavailable. A pending series of a failed source cannot be analysed: the most recent analysed series
   stands, with the source named as unavailable, else ``PetStatus.UNAVAILABLE``. The service's own source
   having failed makes the answer name it as unavailable whatever the patient's rows. A source that has not
   failed but was not brought up to date within ``HER2CDS_PET_INDEX_MAX_AGE_S`` (or never yet) is stale: the
   result says so (``index_stale``, with the time of the last update) and the card states it.

Nothing here logs PHI (outcomes only).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cds_service.hooks.service import PetLookupResult
from cds_service.pet.codec import AnalysisDocument
from cds_service.pet.index import series_ref, source_key
from cds_service.pet.jobs import analysis_version, stored_document
from cds_service.pet.link import link_patient, sort_key
from cds_service.storage.series_index import IndexedSeries, IndexEntry, SeriesIndex, SeriesTriage, SourceState
from cds_service.storage.tables import AnalysisStatus
from rules.domain import PetStatus, PetStudyFacts

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage
    from connectors.http import Deadline

log = logging.getLogger(__name__)

QueueFn = Callable[[IndexedSeries], None]
"""Queues the background analysis of an indexed series (``PetJobs.queue``); returns at once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Candidate:
    """One HER2 PET series of the patient: analysed (``facts``) or pending."""

    entry: IndexEntry
    facts: PetStudyFacts | None


def _key(entry: IndexEntry) -> tuple[str, str, str]:
    row = entry.series
    return sort_key(row.series_date, row.series_time, row.series_uid)


class HookPetLookup:
    """``service.PetLookup`` over the series index and the stored analyses (see the module docstring).

    :param source_name: the index name of the service's own DICOM source (``index.source_key``); None when
        the service has none (its source states are then not consulted).
    :param queue: queues the analysis of a pending series of the service's own source.
    :param max_age_s: ``HER2CDS_PET_INDEX_MAX_AGE_S``.
    :param patient_id_system: ``HER2CDS_PATIENT_ID_SYSTEM`` (None: FHIR id and any identifier value).
    """

    def __init__(
        self,
        index: SeriesIndex,
        *,
        source_name: str | None,
        queue: QueueFn | None = None,
        max_age_s: float = 900.0,
        patient_id_system: str | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.index = index
        self.source_name = source_name
        self.max_age_s = max_age_s
        self.patient_id_system = patient_id_system
        self._queue = queue
        self._clock = clock

    def lookup(
        self,
        patient_id: str,
        imaging: Sequence[dict[str, Any]],
        deadline: Deadline,
        *,
        patient: Sequence[dict[str, Any]] = (),
    ) -> PetLookupResult:
        """The PET side of one hook (see the module docstring); reads the database only, never raises for
        source problems. ``deadline`` is not waited on: nothing here waits."""
        link = link_patient(patient_id, imaging, patient, self.patient_id_system)
        entries = (
            self.index.find(patient_ids=link.patient_ids, study_uids=link.study_uids)
            if not link.empty
            else ()
        )
        involved = {entry.series.source for entry in entries}
        if self.source_name is not None:
            involved.add(self.source_name)
        states = self.index.states(involved)
        failed = {name for name, state in states.items() if state.failed}
        stale, updated = self._staleness(states)
        result = self._decide(entries, failed)
        log.debug("PET lookup", extra={"pet_status": result.status.value, "pet_index_stale": stale})
        if stale:
            return PetLookupResult(
                pet=result.pet,
                status=result.status,
                pending_date=result.pending_date,
                source_unavailable=result.source_unavailable,
                index_stale=True,
                index_updated_at=updated,
            )
        return result

    def _decide(self, entries: Sequence[IndexEntry], failed: set[str]) -> PetLookupResult:
        """Most recent HER2 PET series first; stored documents are decoded only as far as needed."""
        involved_failed = bool(failed)
        ordered = sorted(entries, key=_key, reverse=True)
        candidates = (c for c in map(_candidate, ordered) if c is not None)
        winner = next(candidates, None)
        if winner is None:
            status = PetStatus.UNAVAILABLE if self.source_name in failed else PetStatus.NONE
            return PetLookupResult(status=status)
        if winner.facts is not None:
            return PetLookupResult(
                pet=winner.facts, status=PetStatus.ANALYSED, source_unavailable=involved_failed
            )
        if winner.entry.series.source in failed:
            # The newest series cannot be analysed while its source is down: the newest analysed one
            # stands, with the outage named; without one the PET side is unavailable.
            analysed = next((c for c in candidates if c.facts is not None), None)
            if analysed is None:
                return PetLookupResult(status=PetStatus.UNAVAILABLE)
            return PetLookupResult(pet=analysed.facts, status=PetStatus.ANALYSED, source_unavailable=True)
        self._queue_analysis(winner.entry)
        return PetLookupResult(
            status=PetStatus.PENDING,
            pending_date=winner.entry.series.series_date,
            source_unavailable=involved_failed,
        )

    def _queue_analysis(self, entry: IndexEntry) -> None:
        """Queue a pending series of our own source (another source's series are analysed where they are
        received or synced); a series being analysed right now is left to its worker."""
        analysis = entry.analysis
        running = analysis is not None and analysis.status is AnalysisStatus.RUNNING
        if self._queue is None or running or entry.series.source != self.source_name:
            return
        self._queue(entry.series)

    def _staleness(self, states: dict[str, SourceState]) -> tuple[bool, dt.datetime | None]:
        """Whether the service's own source is stale (not failed, not updated within the maximum age)."""
        if self.source_name is None:
            return False, None
        state = states.get(self.source_name)
        if state is None:
            return True, None
        if state.failed:
            return False, state.last_success_at
        return state.stale(self._clock(), self.max_age_s), state.last_success_at


def _candidate(entry: IndexEntry) -> _Candidate | None:
    """The entry as a HER2 PET candidate, or None when it is not HER2 PET (by header or by analysis)."""
    if entry.series.triage is SeriesTriage.OTHER:
        return None
    document = _current_document(entry)
    if document is not None and document.facts is None:
        return None  # analysed, and not HER2 PET after all
    return _Candidate(entry=entry, facts=document.facts if document is not None else None)


def _current_document(entry: IndexEntry) -> AnalysisDocument | None:
    """The stored document when it analysed the series with its present SR/SEG, else None (pending)."""
    record = entry.analysis
    if record is None or record.analysis_version != analysis_version(series_ref(entry.series)):
        return None
    return stored_document(record)


def build_pet_lookup(settings: Settings, storage: Storage) -> HookPetLookup:
    """A lookup over the series index of ``HER2CDS_DICOM_SOURCE`` that queues nothing: for commands that
    assess a patient outside the service (review alerts from ``receive``, ``sync``, ``alerts``), which
    analyse what they index themselves. The service builds its own, with background analyses
    (``cds_service.pet.wiring.build_pet_side``)."""
    return HookPetLookup(
        SeriesIndex(storage),
        source_name=source_key(settings.dicom_source),
        max_age_s=settings.pet_index_max_age_s,
        patient_id_system=settings.patient_id_system,
    )
