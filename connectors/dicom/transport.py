"""The base of the three DICOM transports: Dataset-level calls inside ``connectors``, domain results outside.

A transport (embedded folder, DICOMweb, DIMSE) implements four Dataset-level calls: list the PT series,
retrieve a series, retrieve one header, retrieve the SR and SEG instances that may describe a series.
:class:`DicomTransport` builds the two domain-level methods of the PET port
(:class:`connectors.dicom.ports.PetStudySource`) on them once, for every transport:

- :meth:`DicomTransport.triage`: the HER2 tracer of a series from one header (``spec/pet-dicom.md`` §8);
- :meth:`DicomTransport.analyse`: the series with its SR and SEG, analysed into a ``SeriesAnalysis``.

pydicom ``Dataset`` objects therefore stay in ``connectors``: callers outside receive ``SeriesRef``,
``TracerRecognition`` and ``SeriesAnalysis`` only. The helpers below are shared by the transports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from pydicom import Dataset

from connectors.dicom.analysis import SeriesAnalysis, analyze_series
from connectors.dicom.headers import TracerRecognition, recognise_tracer
from connectors.dicom.ports import (
    PET_STORAGE_SOP_CLASSES,
    SEG_STORAGE_SOP_CLASSES,
    SR_STORAGE_SOP_CLASSES,
    Modality,
    SeriesRef,
)
from connectors.errors import InvalidSourceDataError


class DicomTransport(ABC):
    """What a transport implements (Dataset level) and the port methods derived from it (domain level).

    Every method raises ``connectors.errors`` only: outages ``SourceUnavailableError``, an unknown series
    ``NotFoundError``, undecodable objects ``InvalidSourceDataError``.
    """

    @abstractmethod
    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        """PT series of a patient (DICOM PatientID) and/or a study; both None lists every PT series."""

    @abstractmethod
    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        """All instances of the series, with pixel data, in :func:`in_instance_order`."""

    @abstractmethod
    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """One instance's header without pixel data (enough for tracer recognition, pet-dicom.md §8)."""

    @abstractmethod
    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """The SR and SEG instances of ``ref.related_sr`` and ``ref.related_seg`` that may describe ``ref``
        (``SeriesReferences.may_describe``), in that order."""

    def triage(self, ref: SeriesRef) -> TracerRecognition:
        """The HER2 tracer of ``ref`` from one header, or why it is not a HER2 PET series."""
        return recognise_tracer(self.fetch_header(ref))

    def analyse(self, ref: SeriesRef) -> SeriesAnalysis:
        """Retrieve ``ref`` with its SR and SEG and analyse it.

        Undecodable data becomes the analysis' ``error`` (``analyze_series`` never raises for data problems);
        outages (``SourceUnavailableError``) and vanished series (``NotFoundError``) propagate.
        """
        try:
            pet = self.fetch_series(ref)
            sr, seg = self.fetch_related(ref)
        except InvalidSourceDataError as exc:
            return SeriesAnalysis(
                study_uid=ref.study_uid, series_uid=ref.series_uid, patient_id=ref.patient_id, error=str(exc)
            )
        return analyze_series(pet, sr=sr, seg=seg)


def in_instance_order(instances: Iterable[Dataset]) -> list[Dataset]:
    """Instances ordered by InstanceNumber (0020,0013), then SOPInstanceUID: one retrieval order for every
    transport (the analysis orders slices by geometry itself, ``connectors.dicom.volume.sort_instances``)."""

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
