"""Small, deterministic pydicom datasets for transport tests: PET slices, and SR/SEG headers referencing them.

They are not clinically complete (the phantom generator makes those); they carry exactly what a transport
indexes, queries and retrieves: UIDs, modality, SOP class, patient, series date/time, pixel data, and
references.
"""

from __future__ import annotations

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PET_SOP = "1.2.840.10008.5.1.4.1.1.128"
SR_SOP = "1.2.840.10008.5.1.4.1.1.88.34"
SEG_SOP = "1.2.840.10008.5.1.4.1.1.66.4"
PREFIX = "1.2.826.0.1.3680043.10.1351."


def uid() -> str:
    return generate_uid(prefix=PREFIX)


_FRAMES: dict[str, str] = {}


def frame_of_reference(series: str) -> str:
    """One FrameOfReferenceUID per series."""
    return _FRAMES.setdefault(series, uid())


def _base(sop_class: str, modality: str, study: str, series: str, patient: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.Modality = modality
    ds.PatientID = patient
    ds.PatientName = "Test^Transport"
    ds.StudyDate = "20240305"
    ds.StudyTime = "101500"
    ds.SeriesDate = "20240305"
    ds.SeriesTime = "101500"
    ds.StudyID = "1"
    ds.AccessionNumber = "A1"
    return ds


def pet_slice(study: str, series: str, patient: str, number: int, *, size: int = 8) -> Dataset:
    """One PET slice with a known pixel pattern (value = number * 10 + column)."""
    ds = _base(PET_SOP, "PT", study, series, patient)
    ds.SeriesNumber = 1
    ds.SeriesDescription = "PET 89Zr-trastuzumab"
    ds.InstanceNumber = number
    ds.FrameOfReferenceUID = frame_of_reference(series)
    ds.ImagePositionPatient = [0.0, 0.0, float(number) * 4.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [4.0, 4.0]
    ds.SliceThickness = 4.0
    ds.Units = "BQML"
    ds.DecayCorrection = "START"
    ds.CorrectedImage = ["ATTN", "DECY"]
    item = Dataset()
    item.Radiopharmaceutical = "89Zr-trastuzumab"
    item.RadiopharmaceuticalStartDateTime = "20240301101500"
    item.RadionuclideTotalDose = 37e6
    item.RadionuclideHalfLife = 282276.0
    ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    ds.PatientWeight = 70.0
    ds.RescaleSlope = 1.0
    ds.RescaleIntercept = 0.0
    pixels = (np.arange(size * size, dtype=np.int16).reshape(size, size) % size) + np.int16(number * 10)
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.PixelData = pixels.astype("<i2").tobytes()
    return ds


def pet_series(n: int = 3, *, patient: str = "PAT-1", study: str | None = None) -> list[Dataset]:
    """``n`` slices of one new PET series (new study unless ``study`` is given)."""
    study = study or uid()
    series = uid()
    return [pet_slice(study, series, patient, i + 1) for i in range(n)]


def _evidence(study: str, series_uids: list[str]) -> Sequence:
    study_item = Dataset()
    study_item.StudyInstanceUID = study
    items = []
    for series in series_uids:
        item = Dataset()
        item.SeriesInstanceUID = series
        item.ReferencedSOPSequence = Sequence()
        items.append(item)
    study_item.ReferencedSeriesSequence = Sequence(items)
    return Sequence([study_item])


def sr_header(pet: Dataset, *, references: list[str] | None = None) -> Dataset:
    """An SR header of the PET's study whose evidence references ``references`` (default: the PET series)."""
    ds = _base(SR_SOP, "SR", pet.StudyInstanceUID, uid(), pet.PatientID)
    ds.InstanceNumber = 1
    ds.SeriesNumber = 90
    refs = [pet.SeriesInstanceUID] if references is None else references
    ds.CurrentRequestedProcedureEvidenceSequence = _evidence(pet.StudyInstanceUID, refs)
    ds.ValueType = "CONTAINER"
    return ds


def seg_header(pet: Dataset, *, references: list[str] | None = None) -> Dataset:
    """A SEG header of the PET's study referencing ``references`` (default: the PET series)."""
    ds = _base(SEG_SOP, "SEG", pet.StudyInstanceUID, uid(), pet.PatientID)
    ds.InstanceNumber = 1
    ds.SeriesNumber = 91
    items = []
    for series in [pet.SeriesInstanceUID] if references is None else references:
        item = Dataset()
        item.SeriesInstanceUID = series
        item.ReferencedInstanceSequence = Sequence()
        items.append(item)
    ds.ReferencedSeriesSequence = Sequence(items)
    return ds
