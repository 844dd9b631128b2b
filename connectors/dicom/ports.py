"""The PET study source port: one Protocol, three transports (embedded folder, DICOMweb, DIMSE).

A ``PetStudySource`` finds PET series (Modality ``PT``, DICOM PS3.3 C.7.3.1) of a patient or study, retrieves
their instances, and retrieves the reader's Structured Reports (TID 1500 Measurement Reports) and
Segmentations of the same study. Tracer recognition and SUV computation happen downstream
(``connectors.dicom.headers``, ``connectors.pet``), so a source returns every PT series, HER2-targeted or not.

pydicom ``Dataset`` objects returned here never leave ``connectors``; ``SeriesRef`` is the value that callers
outside may keep (it holds only UIDs, dates and counts).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydicom import Dataset

from connectors.http import Timeouts
from rules.domain import SourceRef

__all__ = ["PetStudySource", "PollingPetStudySource", "SeriesRef", "Timeouts"]


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
    every SR/SEG series of the study, so that a search stays a cheap query. ``fetch_related`` keeps only the
    instances that reference this series in every case. ``instance_count`` is
    the server's NumberOfSeriesRelatedInstances (0020,1209), ``None`` when not reported.
    """

    study_uid: str
    series_uid: str
    patient_id: str | None = None
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
    """Where PET series come from. Every method raises ``connectors.errors`` only.

    Outages (timeouts, refused connections, 5xx, failed DIMSE statuses) raise ``SourceUnavailableError``; an
    unknown series raises ``NotFoundError``; undecodable objects raise ``InvalidSourceDataError``.
    """

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        """PT series of a patient (DICOM PatientID) and/or a study; both None lists every PT series."""
        ...

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        """All instances of the series, with pixel data."""
        ...

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """One instance's header without pixel data (enough for tracer recognition, pet-dicom.md §8)."""
        ...

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """The SR and SEG instances of ``ref.related_sr`` and ``ref.related_seg``, in that order."""
        ...


@runtime_checkable
class PollingPetStudySource(PetStudySource, Protocol):
    """A source that can list PT series that arrived after a point in time (for ``her2-cds sync``)."""

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series received (embedded folder) or dated (PACS: StudyDate) on or after ``since``."""
        ...


# ------------------------------------------------------------------------------------------------------------
# Small pure helpers shared by the transports.


def is_uid(value: object) -> bool:
    """True for a syntactically valid DICOM UID (PS3.5 9.1: digits and dots, at most 64 characters)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and _UID.match(value) is not None


def parse_da(value: object) -> dt.date | None:
    """A DICOM DA value (``YYYYMMDD``) as a date; None when empty or malformed."""
    text = str(value or "").strip()
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if len(text) >= 8 else None
    except ValueError:
        return None


def parse_tm(value: object) -> dt.time | None:
    """A DICOM TM value (``HHMMSS.FFFFFF``, trailing parts optional) as a time; None if empty or malformed."""
    text = str(value or "").strip().replace(":", "")
    if len(text) < 2:
        return None
    whole, _, fraction = text.partition(".")
    try:
        hour, minute, second = int(whole[0:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
        micro = int((fraction + "000000")[:6]) if fraction else 0
        return dt.time(hour, minute, min(second, 59), micro)
    except ValueError:
        return None


def referenced_series(ds: Dataset) -> frozenset[str] | None:
    """SeriesInstanceUIDs an SR or SEG instance says it references, or None when it states none.

    Read from ReferencedSeriesSequence (0008,1115) (SEG, PS3.3 C.7.4.1) and from the SR evidence sequences
    CurrentRequestedProcedureEvidenceSequence (0040,A375) and PertinentOtherEvidenceSequence (0040,A385)
    (PS3.3 C.17.2), each item's ReferencedSeriesSequence.
    """
    found: set[str] = set()
    stated = False
    for item in ds.get("ReferencedSeriesSequence", []) or []:
        stated = True
        if uid := item.get("SeriesInstanceUID"):
            found.add(str(uid))
    for keyword in ("CurrentRequestedProcedureEvidenceSequence", "PertinentOtherEvidenceSequence"):
        for study in ds.get(keyword, []) or []:
            for series in study.get("ReferencedSeriesSequence", []) or []:
                stated = True
                if uid := series.get("SeriesInstanceUID"):
                    found.add(str(uid))
    return frozenset(found) if stated else None


def references_series(ds: Dataset, series_uid: str) -> bool:
    """True when ``ds`` references ``series_uid`` or states no references (then it may concern any series)."""
    refs = referenced_series(ds)
    return refs is None or series_uid in refs


def sort_instances(instances: Iterable[Dataset]) -> list[Dataset]:
    """Instances ordered by InstanceNumber (0020,0013), then SOPInstanceUID: one order for all transports."""

    def key(ds: Dataset) -> tuple[int, str]:
        try:
            number = int(ds.get("InstanceNumber") or 0)
        except (TypeError, ValueError):
            number = 0
        return number, str(ds.get("SOPInstanceUID", ""))

    return sorted(instances, key=key)


def modality_of(ds: Dataset) -> str:
    """The Modality of an instance, falling back on its SOP class when the attribute is missing."""
    modality = str(ds.get("Modality", "") or "").upper()
    if modality:
        return modality
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class in PET_STORAGE_SOP_CLASSES:
        return Modality.PT.value
    if sop_class in SR_STORAGE_SOP_CLASSES:
        return Modality.SR.value
    if sop_class in SEG_STORAGE_SOP_CLASSES:
        return Modality.SEG.value
    return ""
