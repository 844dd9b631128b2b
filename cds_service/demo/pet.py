"""The demo's HER2 PET side: synthetic series written once, analyses stored ahead, two demo-only switches.

``prepare_demo`` runs when ``her2-cds demo`` starts:

1. **Generate** (deterministic, first run only): for every demo patient with a ``DemoPet``, the phantom PET
   series with its reader SR and SEG (``connectors.dicom.phantom``) is written in ``her2cds-demo/<patient
   id>/``: below the embedded DICOM folder (``HER2CDS_DICOM_SOURCE=file://…``) for the ``PRECOMPUTED``
   patients, below ``<data dir>/demo-pet-elsewhere`` for the two patients under a demo switch. A marker file
   records the generator version and a fingerprint of the phantom specifications; a second start with the
   same fingerprint writes nothing. A folder is written under a hidden temporary name and renamed when
   complete, so the embedded source never indexes half a series.
2. **Analyse ahead** (idempotent): each ``PRECOMPUTED`` series is analysed and stored with its MIP picture,
   as ``her2-cds receive`` or ``sync`` would do (``pet.jobs.analyse_and_store``; a current analysis is kept).
3. **Switches, through the series index** (``cds_service.storage.series_index``), the same mechanism as any
   source: the series of the ``HELD_BACK`` patient is indexed under the source ``DEMO_HELD_BACK_SOURCE``,
   which the service does not analyse, so its hook answers "analysis pending" (card (p)); the series of the
   ``PACS_UNREACHABLE`` patient is indexed under ``DEMO_PACS_DOWN_SOURCE``, whose state records a failure, so
   its hook names the PACS as unavailable (card (u)). Every other patient goes through the embedded folder,
   which the service indexes itself.

These switches exist only in demo mode and say so in the console.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote, urlsplit

from cds_service.demo.data import ALL_DEMO_PATIENTS, DemoAnalysis, DemoPatient
from connectors.dicom.phantom import write_phantom

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage
    from connectors.dicom.ports import PetStudySource

log = logging.getLogger(__name__)

GENERATOR_VERSION: Final = "2"
"""Bump when the demo series change in a way the phantom specifications do not show."""

DEMO_SUBFOLDER: Final = "her2cds-demo"
MARKER_NAME: Final = ".her2cds-demo.json"
ELSEWHERE_FOLDER: Final = "demo-pet-elsewhere"
"""Below the data directory: the series of the patients under a demo switch (not in the embedded folder)."""

DEMO_HELD_BACK_SOURCE: Final = "demo://analysis-held-back"
"""Index source of the ``HELD_BACK`` patient's series: indexed, never analysed by the service."""

DEMO_PACS_DOWN_SOURCE: Final = "demo://pacs-unreachable"
"""Index source of the ``PACS_UNREACHABLE`` patient's series: its state records a failure."""

SWITCH_SOURCES: Final = {
    DemoAnalysis.HELD_BACK: DEMO_HELD_BACK_SOURCE,
    DemoAnalysis.PACS_UNREACHABLE: DEMO_PACS_DOWN_SOURCE,
}

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


def index_switched(
    folder: Path,
    storage: Storage,
    patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS,
) -> int:
    """Index the series of the patients under a demo switch under their demo sources and record those
    sources' states (see the module docstring); returns how many series were indexed."""
    from cds_service.pet.index import triaged
    from cds_service.storage.series_index import SeriesIndex
    from connectors.dicom.files import FilePetSource

    index = SeriesIndex(storage)
    source = FilePetSource(folder, create=True)
    rows = []
    for patient in patients:
        if patient.pet is None or patient.pet.analysis not in SWITCH_SOURCES:
            continue
        name = SWITCH_SOURCES[patient.pet.analysis]
        for ref in source.find_pet_series(patient_id=patient.dicom_patient_id):
            row = triaged(source, ref, name)
            if row is not None:
                rows.append(row)
    index.upsert(rows)
    index.record_success(DEMO_HELD_BACK_SOURCE, started_at=dt.datetime.now(dt.UTC))
    index.record_failure(DEMO_PACS_DOWN_SOURCE, "demo: PACS marked unreachable")
    return len(rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPreparation:
    """What ``prepare_demo`` did: the DICOM folder (None: not an embedded folder), whether series were
    written, how many analyses were stored and how many series were indexed under a demo switch."""

    folder: Path | None
    generated: bool
    analysed: int
    switched: int = 0


def prepare_demo(
    settings: Settings, patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS, progress: Progress = _quiet
) -> DemoPreparation:
    """Generate the demo PET series (first run), store their analyses and index the switched ones (see the
    module docstring)."""
    from cds_service.storage.store import Storage
    from connectors.dicom.files import FilePetSource

    folder = dicom_folder(settings)
    if folder is None:
        progress("HER2CDS_DICOM_SOURCE is not an embedded folder: no demo PET series are written")
        return DemoPreparation(folder=None, generated=False, analysed=0)
    folder.mkdir(parents=True, exist_ok=True)
    elsewhere = settings.data_dir / ELSEWHERE_FOLDER
    precomputed = [p for p in patients if p.pet is not None and p.pet.analysis is DemoAnalysis.PRECOMPUTED]
    switched = [p for p in patients if p.pet is not None and p.pet.analysis in SWITCH_SOURCES]
    generated = generate_series(folder, precomputed, progress)
    generated |= generate_series(elsewhere, switched, progress)
    if settings.database_url.startswith("sqlite:"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = Storage(settings.database_url)
    try:
        storage.migrate()
        analysed = precompute_analyses(FilePetSource(folder), storage, patients, progress)
        indexed = index_switched(elsewhere, storage, patients)
    finally:
        storage.dispose()
    return DemoPreparation(folder=folder, generated=generated, analysed=analysed, switched=indexed)
