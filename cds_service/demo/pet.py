"""The demo's HER2 PET side: synthetic series written once, analyses stored ahead, and two demo-only switches.

``prepare_demo`` runs when ``her2-cds demo`` starts:

1. **Generate** (deterministic, first run only): for every demo patient with a ``DemoPet``, the phantom PET
   series with its reader SR and SEG (``connectors.dicom.phantom``) is written below the embedded DICOM folder
   (``HER2CDS_DICOM_SOURCE=file://…``), in ``her2cds-demo/<patient id>/``. A marker file records the generator
   version and a fingerprint of the phantom specifications; a second start with the same fingerprint writes
   nothing. The folder is written under a hidden temporary name and renamed when complete, so the embedded
   source never indexes half a series.
2. **Analyse ahead** (idempotent): each ``PRECOMPUTED`` series is analysed and stored with its MIP picture,
   as ``her2-cds receive`` or ``sync`` would do (``pet_jobs.analyse_and_store``; a current analysis is kept).

``DemoPetLookup`` wraps the real hook lookup and applies the demo-only switches of ``DemoAnalysis``: a
``HELD_BACK`` patient's series is never analysed and reported as being analysed (card (p)); a
``PACS_UNREACHABLE`` patient gets an unreachable PACS (card (u)). Every other patient goes through the real
lookup. These switches exist only in demo mode and say so in the log and the console.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from cds_service.demo.data import ALL_DEMO_PATIENTS, DemoAnalysis, DemoPatient
from cds_service.hooks.service import PetLookup, PetLookupResult
from connectors.dicom.phantom import write_phantom
from rules.domain import PetStatus

if TYPE_CHECKING:
    from cds_service.hooks.prefetch import Deadline
    from cds_service.pet.jobs import PetJobs
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage
    from connectors.dicom.ports import PetStudySource

log = logging.getLogger(__name__)

GENERATOR_VERSION: Final = "1"
"""Bump when the demo series change in a way the phantom specifications do not show."""

DEMO_SUBFOLDER: Final = "her2cds-demo"
MARKER_NAME: Final = ".her2cds-demo.json"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def dicom_folder(settings: Settings) -> Path | None:
    """The embedded DICOM folder of ``HER2CDS_DICOM_SOURCE``, or None when the source is DICOMweb or DIMSE."""
    parts = urlsplit(settings.dicom_source)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def fingerprint(patients: Sequence[DemoPatient]) -> str:
    """A digest of the generator version and every phantom specification (their reprs are deterministic)."""
    text = json.dumps(
        [GENERATOR_VERSION, *([p.id, repr(p.pet_spec())] for p in patients if p.pet is not None)]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generate_series(
    folder: Path, patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS, progress: Progress = _quiet
) -> bool:
    """Write the demo PET series below ``folder`` unless the same generation is already there; True when
    written. Only ``folder/her2cds-demo`` is ever replaced."""
    target = folder / DEMO_SUBFOLDER
    marker = target / MARKER_NAME
    digest = fingerprint(patients)
    try:
        if json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == digest:
            return False
    except (OSError, ValueError, AttributeError):
        pass
    staging = folder / f".{DEMO_SUBFOLDER}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with_pet = [p for p in patients if p.pet is not None]
    for i, patient in enumerate(with_pet, start=1):
        progress(f"writing synthetic HER2 PET series {i}/{len(with_pet)} ({patient.id})")
        write_phantom(staging / patient.id, patient.pet_spec())
    record = {"generator": GENERATOR_VERSION, "fingerprint": digest, "patients": [p.id for p in with_pet]}
    (staging / MARKER_NAME).write_text(json.dumps(record, indent=2), encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return True


def precompute_analyses(
    source: PetStudySource,
    storage: Storage,
    patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS,
    progress: Progress = _quiet,
) -> int:
    """Analyse and store every ``PRECOMPUTED`` demo series not analysed yet; returns how many were stored."""
    from cds_service.pet.jobs import analyse_and_store, worker_identity

    worker = worker_identity()
    stored = 0
    for patient in patients:
        if patient.pet is None or patient.pet.analysis is not DemoAnalysis.PRECOMPUTED:
            continue
        for ref in source.find_pet_series(patient_id=patient.dicom_patient_id):
            if analyse_and_store(source, storage, ref, worker_id=worker) is not None:
                stored += 1
                progress(f"analysed the HER2 PET of {patient.id}")
    return stored


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPreparation:
    """What ``prepare_demo`` did: the DICOM folder (None: not an embedded folder), whether series were
    written, and how many analyses were stored."""

    folder: Path | None
    generated: bool
    analysed: int


def prepare_demo(
    settings: Settings, patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS, progress: Progress = _quiet
) -> DemoPreparation:
    """Generate the demo PET series (first run) and store their analyses (see the module docstring)."""
    from cds_service.storage.store import Storage
    from connectors.dicom.files import FilePetSource

    folder = dicom_folder(settings)
    if folder is None:
        progress("HER2CDS_DICOM_SOURCE is not an embedded folder: no demo PET series are written")
        return DemoPreparation(folder=None, generated=False, analysed=0)
    folder.mkdir(parents=True, exist_ok=True)
    generated = generate_series(folder, patients, progress)
    if settings.database_url.startswith("sqlite:"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.database_url)
    try:
        storage.migrate()
        analysed = precompute_analyses(FilePetSource(folder), storage, patients, progress)
    finally:
        storage.dispose()
    return DemoPreparation(folder=folder, generated=generated, analysed=analysed)


class DemoPetLookup:
    """``service.PetLookup`` for the demo: the real lookup, except for patients under a demo-only switch."""

    def __init__(self, inner: PetLookup, patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS) -> None:
        self.inner = inner
        self._switched = {
            p.id: p for p in patients if p.pet is not None and p.pet.analysis is not DemoAnalysis.PRECOMPUTED
        }

    def lookup(
        self,
        patient_id: str,
        imaging: Sequence[dict[str, Any]],
        deadline: Deadline,
        *,
        patient: Sequence[dict[str, Any]] = (),
    ) -> PetLookupResult:
        switched = self._switched.get(patient_id)
        if switched is None or switched.pet is None:
            return self.inner.lookup(patient_id, imaging, deadline, patient=patient)
        log.info("demo switch applied to a PET lookup", extra={"demo_switch": switched.pet.analysis.value})
        if switched.pet.analysis is DemoAnalysis.HELD_BACK:
            return PetLookupResult(status=PetStatus.PENDING, pending_date=switched.pet_date)
        return PetLookupResult(status=PetStatus.UNAVAILABLE)


def demo_pet_lookup(settings: Settings, storage: Storage) -> tuple[DemoPetLookup, PetJobs]:
    """The real hook lookup over ``HER2CDS_DICOM_SOURCE`` wrapped with the demo switches, and its background
    jobs (shut them down when done)."""
    from cds_service.pet.lookup import build_pet_lookup

    inner = build_pet_lookup(settings, storage)
    return DemoPetLookup(inner), inner.jobs
