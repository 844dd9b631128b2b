"""The hook's PET lookup: the patient's most recent HER2 PET study, within what is left of the hook budget.

``HookPetLookup`` implements ``cds_service.hooks.service.PetLookup`` (``spec/cds-hooks.md`` §13):

1. Link the patient to DICOM (``cds_service.pet.link``): StudyInstanceUIDs from ImagingStudy, PatientIDs from
   the Patient resource.
2. Read the analyses already stored for those studies and PatientIDs (receive, sync, earlier hooks).
3. Ask the DICOM source which PT series exist now (one search per PatientID and per linked study, on the
   background I/O pool). The hook waits at most until its deadline; a source that fails is unavailable, and
   so is one that does not answer in time unless an analysis is already stored (which then stands).
4. Series that are newer than the best stored analysis and not analysed yet (or analysed before a reader's
   SR/SEG arrived) are triaged by one header (only HER2 PET series count, ``spec/pet-dicom.md`` §8) and
   analysed in the background. Whatever finishes before the deadline is used; the rest keeps running and is
   stored for the next hook.
5. The most recent HER2 PET series wins: analysed → ``PetStatus.ANALYSED`` with its facts; still running →
   ``PetStatus.PENDING`` with its date (card (p)). With the source unreachable: stored facts if any (and the
   source named as unavailable, card (u)), else ``PetStatus.UNAVAILABLE`` (card (u) naming the PACS).

The hook thread itself makes no PACS call, so it never waits past its deadline because of the PACS; database
reads are local and short. Nothing here logs PHI (counts and outcomes only).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from cds_service.hooks.service import PetLookupResult
from cds_service.pet.jobs import PetJobs, SeriesJob, is_current, source_from_settings, stored_document
from cds_service.pet.link import PetLink, link_patient, sort_key
from connectors.dicom.ports import SeriesRef
from connectors.errors import ConnectorError, SourceUnavailableError
from rules.domain import PetStatus, PetStudyFacts

if TYPE_CHECKING:
    from cds_service.hooks.prefetch import Deadline
    from cds_service.settings import Settings
    from cds_service.storage.store import PetAnalysisRecord, Storage

log = logging.getLogger(__name__)

RENDER_MARGIN_S = 0.1
"""Seconds of the hook budget kept back for the rules, card rendering and the response."""

Key = tuple[str, str, str]


def _facts_key(facts: PetStudyFacts) -> Key:
    moment = facts.acquired_at or facts.injected_at
    return sort_key(moment.date() if moment else None, moment, facts.series)


def _ref_key(ref: SeriesRef) -> Key:
    return sort_key(ref.series_date, ref.series_time, ref.series_uid)


@dataclass(slots=True)
class _Candidates:
    """What the lookup knows: analysed facts per series and series still being analysed."""

    analysed: dict[str, PetStudyFacts] = field(default_factory=dict)
    pending: dict[str, SeriesRef] = field(default_factory=dict)
    unavailable: bool = False

    def best_analysed_key(self) -> Key | None:
        keys = [_facts_key(f) for f in self.analysed.values()]
        return max(keys) if keys else None

    def result(self) -> PetLookupResult:
        ranked: list[tuple[Key, PetStudyFacts | SeriesRef]] = [
            *((_facts_key(f), f) for f in self.analysed.values()),
            *((_ref_key(r), r) for r in self.pending.values()),
        ]
        if not ranked:
            status = PetStatus.UNAVAILABLE if self.unavailable else PetStatus.NONE
            return PetLookupResult(status=status)
        _, winner = max(ranked, key=lambda item: item[0])
        if isinstance(winner, PetStudyFacts):
            return PetLookupResult(pet=winner, status=PetStatus.ANALYSED, source_unavailable=self.unavailable)
        return PetLookupResult(
            status=PetStatus.PENDING, pending_date=winner.series_date, source_unavailable=self.unavailable
        )


class HookPetLookup:
    """``service.PetLookup`` over a DICOM source, the analyses in storage and the background ``PetJobs``.

    :param patient_id_system: ``HER2CDS_PATIENT_ID_SYSTEM`` (None: FHIR id and any identifier value).
    """

    def __init__(self, jobs: PetJobs, storage: Storage, *, patient_id_system: str | None = None) -> None:
        self.jobs = jobs
        self.storage = storage
        self.patient_id_system = patient_id_system

    def lookup(
        self,
        patient_id: str,
        imaging: Sequence[dict[str, Any]],
        deadline: Deadline,
        *,
        patient: Sequence[dict[str, Any]] = (),
    ) -> PetLookupResult:
        """The PET side of one hook (see the module docstring); never raises for source problems."""
        link = link_patient(patient_id, imaging, patient, self.patient_id_system)
        if link.empty:
            return PetLookupResult()
        records = self._stored(link)
        found, failed = self._search(link, deadline)
        candidates = _Candidates()
        if found is None:
            for record in records.values():
                document = stored_document(record)
                if document is not None and document.facts is not None:
                    candidates.analysed[record.series_instance_uid] = document.facts
            # A source that failed is an outage, shown as such. One that is merely slow to list the series
            # is an outage only when nothing is stored: otherwise the stored analysis stands, and the newer-
            # series check is left to the next hook (and to receive/sync).
            candidates.unavailable = failed or not candidates.analysed
            result = candidates.result()
            log.info(
                "PET source unavailable for a hook" if failed else "PET series search did not finish in time",
                extra={"pet_status": result.status.value},
            )
            return result
        stale = {ref.series_uid for ref in found if not is_current(records.get(ref.series_uid), ref)}
        for uid, record in records.items():
            document = stored_document(record)
            if document is not None and document.facts is not None and uid not in stale:
                candidates.analysed[uid] = document.facts
        self._analyse_newer(found, stale, candidates, deadline)
        return candidates.result()

    # -- steps -------------------------------------------------------------------------------------------

    def _stored(self, link: PetLink) -> dict[str, PetAnalysisRecord]:
        records: dict[str, PetAnalysisRecord] = {}
        keys: Sequence[str | None] = link.patient_ids or (None,)
        for key in keys:
            for record in self.storage.find_analyses(patient_id=key, study_uids=link.study_uids):
                records.setdefault(record.series_instance_uid, record)
        return records

    def _search(self, link: PetLink, deadline: Deadline) -> tuple[list[SeriesRef] | None, bool]:
        """PT series of the linked PatientIDs and studies, and whether the source failed: ``(None, True)``
        when a search raised, ``(None, False)`` when one did not finish before the deadline."""
        source = self.jobs.source
        calls: list[Callable[[], list[SeriesRef]]] = [
            *(partial(source.find_pet_series, patient_id=key) for key in link.patient_ids),
            *(partial(source.find_pet_series, study_uid=uid) for uid in link.study_uids),
        ]
        futures = [self.jobs.call(call) for call in calls]
        done, waiting = wait(futures, timeout=_budget(deadline), return_when=FIRST_EXCEPTION)
        failed = any(f.exception() is not None for f in done if not f.cancelled())
        if waiting or failed:
            for future in waiting:
                future.cancel()
            return None, failed
        refs: dict[str, SeriesRef] = {}
        for future in done:
            try:
                found = future.result(timeout=0)
            except (ConnectorError, FutureTimeout, ValueError):
                return None, True
            for ref in found:
                refs.setdefault(ref.series_uid, ref)
        return list(refs.values()), False

    def _analyse_newer(
        self, found: list[SeriesRef], stale: set[str], candidates: _Candidates, deadline: Deadline
    ) -> None:
        """Triage and analyse the unanalysed series newer than the best stored one, until the deadline."""
        best = candidates.best_analysed_key()
        newer = [r for r in found if r.series_uid in stale and (best is None or _ref_key(r) > best)]
        if not newer:
            return
        jobs = [self.jobs.process(ref) for ref in newer]
        wait([job.tracer for job in jobs], timeout=_budget(deadline))
        her2: list[SeriesJob] = []
        for job in jobs:
            outcome = _settled(job.tracer)
            if outcome is _FAILED:
                candidates.unavailable |= _outage(job.tracer)
            elif outcome is not None:  # HER2 tracer, or triage still running (may be HER2)
                her2.append(job)
        wait([job.document for job in her2], timeout=_budget(deadline))
        for job in her2:
            self._take(job, candidates)

    def _take(self, job: SeriesJob, candidates: _Candidates) -> None:
        """File one job's state: analysed facts, pending, or failed (an outage names the source)."""
        uid = job.ref.series_uid
        document = _settled(job.document)
        if document is _FAILED:
            candidates.unavailable |= _outage(job.document)
            return
        if document is None:  # claimed elsewhere: finished meanwhile, or still running there
            document = stored_document(self.storage.get_analysis(uid)) or _RUNNING
        if document is _RUNNING:
            candidates.pending[uid] = job.ref
        elif document.facts is not None:
            candidates.analysed[uid] = document.facts


_RUNNING = object()
_FAILED = object()


def _settled(future: Future[Any]) -> Any:
    """The result of a finished future, ``_RUNNING`` when not finished, ``_FAILED`` when it raised."""
    if not future.done():
        return _RUNNING
    if future.cancelled() or future.exception() is not None:
        return _FAILED
    return future.result()


def _outage(future: Future[Any]) -> bool:
    return not future.cancelled() and isinstance(future.exception(), SourceUnavailableError)


def _budget(deadline: Deadline) -> float:
    return max(0.0, deadline.remaining_s() - RENDER_MARGIN_S)


def build_pet_lookup(settings: Settings, storage: Storage) -> HookPetLookup:
    """The PET lookup of ``create_app``: the source of ``HER2CDS_DICOM_SOURCE`` with background jobs.

    Raises at start-up for an unusable source configuration (e.g. an unreadable credentials file), so a
    misconfigured pod fails readiness rather than the first hook.
    """
    jobs = PetJobs(source_from_settings(settings), storage)
    return HookPetLookup(jobs, storage, patient_id_system=settings.patient_id_system)
