"""The PET side of the service, built once by ``create_app``: index, lookup, background indexer and jobs.

:func:`build_pet_side` opens the DICOM source of ``HER2CDS_DICOM_SOURCE`` (a misconfigured source fails here,
at start-up, not at the first hook), then wires:

- :class:`~cds_service.pet.lookup.HookPetLookup`, the hook's PET lookup, reading the series index only;
- :class:`~cds_service.pet.jobs.PetJobs`, the background analyses the lookup and the indexer queue (an outage
  they meet is recorded in the source's state);
- :class:`~cds_service.pet.index.BackgroundIndexer`, the service's own index passes over the source (folder
  scan or PACS sync; none with ``HER2CDS_PET_SYNC_INTERVAL_S=0`` for a PACS).

The first hook after a start must be right: ``build_pet_side`` waits for the first pass of the process (at
most ``START_WAIT_S``, below gunicorn's worker timeout), so that a source that failed while the service was
down is known to have failed, and a folder filled meanwhile is indexed; :meth:`PetSide.ready` (readiness)
stays false until that pass has finished.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cds_service.pet.index import BackgroundIndexer, PetIndexer, series_ref, source_key
from cds_service.pet.jobs import PetJobs, source_from_settings
from cds_service.pet.lookup import HookPetLookup
from cds_service.storage.series_index import IndexedSeries, SeriesIndex, SeriesTriage

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage
    from connectors.dicom.ports import PetStudySource

START_WAIT_S = 20.0
"""Longest wait for the first index pass while the app is built (gunicorn kills a worker silent for 30 s)."""


@dataclass(slots=True)
class PetSide:
    """What ``create_app`` keeps of the PET side."""

    lookup: HookPetLookup
    jobs: PetJobs
    indexer: BackgroundIndexer | None

    def ready(self) -> bool:
        """Readiness: the first index pass of this process has finished (or the service runs none)."""
        return self.indexer is None or self.indexer.ready

    def shutdown(self) -> None:
        """Stop the indexer and the background jobs (tests, orderly exit)."""
        if self.indexer is not None:
            self.indexer.stop()
        self.jobs.shutdown(wait=False)


def build_pet_side(settings: Settings, storage: Storage, *, wait_s: float = START_WAIT_S) -> PetSide:
    """Build and start the PET side for ``settings`` (see the module docstring)."""
    return pet_side_for(
        source_from_settings(settings),
        storage,
        name=source_key(settings.dicom_source),
        interval_s=settings.pet_index_interval_s,
        max_age_s=settings.pet_index_max_age_s,
        patient_id_system=settings.patient_id_system,
        wait_s=wait_s,
    )


def pet_side_for(
    source: PetStudySource,
    storage: Storage,
    *,
    name: str,
    interval_s: float,
    max_age_s: float,
    patient_id_system: str | None = None,
    wait_s: float = START_WAIT_S,
    jobs: PetJobs | None = None,
) -> PetSide:
    """The PET side over one source under the index name ``name``; ``interval_s`` 0 runs no indexer."""
    index = SeriesIndex(storage)
    jobs = jobs or PetJobs(source, storage)
    jobs.on_outage = lambda exc: index.record_failure(name, f"{type(exc).__name__}: {exc}")

    def queue(row: IndexedSeries) -> None:
        jobs.queue(series_ref(row), her2_known=row.triage is SeriesTriage.HER2)

    lookup = HookPetLookup(
        index, source_name=name, queue=queue, max_age_s=max_age_s, patient_id_system=patient_id_system
    )
    if not interval_s:
        return PetSide(lookup=lookup, jobs=jobs, indexer=None)
    indexer = BackgroundIndexer(PetIndexer(source, index, name=name), interval_s=interval_s, on_new=queue)
    indexer.start()
    indexer.wait_first_pass(wait_s)
    return PetSide(lookup=lookup, jobs=jobs, indexer=indexer)
