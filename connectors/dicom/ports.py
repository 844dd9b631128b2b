"""The PET study source port: one Protocol, three transports (embedded folder, DICOMweb, DIMSE).

A ``PetStudySource`` finds PET series (Modality ``PT``, DICOM PS3.3 C.7.3.1) of a patient or study, tells
from one header whether a series is HER2 PET (``spec/pet-dicom.md`` §8), and analyses a series with the
reader's Structured Reports (TID 1500 Measurement Reports) and Segmentations of its study. A source lists
every PT series, HER2-targeted or not.

The port speaks in domain objects only: ``SeriesRef`` (UIDs, patient identifiers, dates and counts),
``TracerRecognition`` and ``SeriesAnalysis``. pydicom ``Dataset`` objects stay inside ``connectors``
(:mod:`connectors.dicom.transport`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from connectors.http import Timeouts
from rules.domain import SourceRef

if TYPE_CHECKING:
    from connectors.dicom.analysis import SeriesAnalysis
    from connectors.dicom.headers import TracerRecognition

__all__ = [
    "PetStudySource",
    "PollingPetStudySource",
    "ScannedPetStudySource",
    "SeriesRef",
    "Timeouts",
]

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


class Modality(StrEnum):
    """The DICOM Modality (0008,0060) values a PET source deals with (PS3.3 C.7.3.1.1.1)."""

    PT = "PT"
    SR = "SR"
    SEG = "SEG"


PET_STORAGE_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.128",  # Positron Emission Tomography Image Storage
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image Storage
    "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET Image Storage
)
"""SOP classes whose instances are PET images (PS3.4 B.5)."""

SR_STORAGE_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR Storage
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR Storage
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR Storage
)
"""SOP classes that may carry a TID 1500 Measurement Report."""

SEG_STORAGE_SOP_CLASSES: tuple[str, ...] = ("1.2.840.10008.5.1.4.1.1.66.4",)  # Segmentation Storage

AUXILIARY_STORAGE_SOP_CLASSES: tuple[str, ...] = (
    "1.2.840.10008.5.1.4.1.1.481.3",  # RT Structure Set Storage
    "1.2.840.10008.5.1.4.1.1.67",  # Real World Value Mapping Storage
)

ALL_STORAGE_SOP_CLASSES: tuple[str, ...] = (
    PET_STORAGE_SOP_CLASSES + SR_STORAGE_SOP_CLASSES + SEG_STORAGE_SOP_CLASSES + AUXILIARY_STORAGE_SOP_CLASSES
)
"""Everything a PET source retrieves or the receiver accepts (pet-dicom.md §11)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesRef:
    """One PET series as found by a source, without its pixels.

    ``related_sr`` and ``related_seg`` are the SeriesInstanceUIDs of SR and SEG series of the same study that
    may describe this series: the embedded folder, which indexes references, lists those that reference it (in
    their evidence or referenced-series sequences) or state no references at all; the network transports list
    every SR/SEG series of the study, so that a search stays a cheap query. The analysis keeps only the
    instances that may describe this series in every case. ``instance_count`` is the server's
    NumberOfSeriesRelatedInstances (0020,1209), ``None`` when not reported. ``patient_id`` is the DICOM
    PatientID (0010,0020) and ``issuer_of_patient_id`` its Issuer of Patient ID (0010,0021) when the source
    reports one.
    """

    study_uid: str
    series_uid: str
    patient_id: str | None = None
    issuer_of_patient_id: str | None = None
    modality: str = Modality.PT.value
    series_date: dt.date | None = None
    series_time: dt.time | None = None
    description: str | None = None
    instance_count: int | None = None
    related_sr: tuple[str, ...] = ()
    related_seg: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("study_uid", "series_uid"):
            if not is_uid(getattr(self, name)):
                raise ValueError(f"SeriesRef.{name} is not a DICOM UID: {getattr(self, name)!r}")

    @property
    def source(self) -> SourceRef:
        """The provenance of facts derived from this series."""
        return SourceRef(system="dicom", reference=f"study/{self.study_uid}/series/{self.series_uid}")

    @property
    def series_datetime(self) -> dt.datetime | None:
        """SeriesDate + SeriesTime as a naive local datetime (PS3.5 DA/TM), or None without a date."""
        if self.series_date is None:
            return None
        return dt.datetime.combine(self.series_date, self.series_time or dt.time())


@runtime_checkable
class PetStudySource(Protocol):
    """Where PET series come from, as domain objects: series references, tracer triage, analyses.

    Every method raises ``connectors.errors`` only: outages (timeouts, refused connections, 5xx, failed DIMSE
    statuses) raise ``SourceUnavailableError``; an unknown series raises ``NotFoundError``. The transports
    implement it through :class:`connectors.dicom.transport.DicomTransport`, where the Dataset-level calls
    stay.
    """

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        """PT series of a patient (DICOM PatientID) and/or a study; both None lists every PT series."""
        ...

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        """The HER2 tracer of the series from one header (``spec/pet-dicom.md`` §8), or the reason it is
        not a HER2 PET series."""
        ...

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        """The series with its SR and SEG, analysed; data problems are the analysis' ``error``."""
        ...


@runtime_checkable
class PollingPetStudySource(PetStudySource, Protocol):
    """A source that can list PT series that arrived after a point in time (incremental sync)."""

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series received (embedded folder) or dated (PACS: StudyDate) on or after ``since``."""
        ...


@runtime_checkable
class ScannedPetStudySource(PetStudySource, Protocol):
    """A source whose whole listing is local and cheap (the embedded folder): rescanned, then listed whole,
    so that an index of it also learns which series vanished."""

    def scan(self, *, incremental: bool = True) -> bool:
        """Bring the source's own file index up to date; True when anything changed since the last scan.

        ``incremental`` lists only directories whose modification time changed (a file rewritten in place is
        then missed until the next full scan)."""
        ...

    def list_pet_series(self) -> list[SeriesRef]:
        """Every PT series as of the last scan, without touching the files."""
        ...


def is_uid(value: object) -> bool:
    """True for a syntactically valid DICOM UID (PS3.5 9.1: digits and dots, at most 64 characters)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and _UID.match(value) is not None
