"""A deterministic synthetic HER2 PET series with known answers, for tests and the service demo.

``make_phantom`` builds a PET Image Storage series (int16 pixels, one Rescale Slope per slice, Units BQML,
Decay Correction START, a radiopharmaceutical sequence coded DCM 126512 Trastuzumab ^89^Zr with radionuclide
SCT 63360001, injection about five days before the scan) of a body with a liver, an aortic blood pool and
spherical lesions, each a uniform sphere with one hotter central voxel. Because the central voxel's 1 cm³
PERCIST sphere lies wholly inside the lesion, the expected values are analytic: SUVmax = the central value,
SUVpeak = (v_max + (n − 1)·v)/n with n the number of voxel centres within 6.2035 mm, SUVmean over the sphere
likewise. Optionally a reader's TID 1500 report and a SEG (both written with highdicom) describe the lesions.

Variants: other tracer texts (pertuzumab, ss-pertuzumab), FDG (not HER2), a missing injection DateTime (must
be refused) and Philips CNTS with the private SUV scale factor. Nothing here reads a clock or the environment.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from connectors.dicom.phantom_objects import make_seg, make_sr
from rules.domain import Tracer

PET_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"
PEAK_RADIUS_MM = 6.2035


class PhantomVariant(StrEnum):
    TRASTUZUMAB = "trastuzumab"
    PERTUZUMAB = "pertuzumab"
    SS_PERTUZUMAB = "ss-pertuzumab"
    FDG = "fdg"
    MISSING_INJECTION_DATETIME = "missing-injection-datetime"
    PHILIPS_CNTS = "philips-cnts"


@dataclass(frozen=True, slots=True, kw_only=True)
class PhantomLesion:
    """A spherical lesion: ``centre`` is a voxel index (z, y, x); SUV ``suv`` inside ``radius_mm``,
    ``suv_max`` at the centre voxel. ``hepatic`` places it in the liver (for the finding site); ``avid`` is
    the reader's call."""

    label: str
    centre: tuple[int, int, int]
    radius_mm: float = 14.0
    suv: float = 6.0
    suv_max: float = 9.0
    hepatic: bool = False
    avid: bool | None = True
    site: tuple[str, str, str] = ("59441001", "SCT", "Lymph node")


DEFAULT_LESIONS = (
    PhantomLesion(label="lesion-1", centre=(20, 20, 44), suv=6.0, suv_max=9.0),
    PhantomLesion(
        label="lesion-2",
        centre=(20, 30, 18),
        suv=10.0,
        suv_max=13.0,
        hepatic=True,
        site=("10200004", "SCT", "Liver"),
    ),
    PhantomLesion(
        label="lesion-3",
        centre=(10, 42, 48),
        suv=2.0,
        suv_max=2.4,
        avid=False,
        site=("76752008", "SCT", "Breast"),
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhantomSpec:
    """What to build. Sizes are (z, y, x) voxels and mm; SUVs are body-weight SUV (g/ml); times are local.
    ``patient_name`` (DICOM PN) and ``birth_date`` (DA, ``YYYYMMDD``) are synthetic identity fields."""

    variant: PhantomVariant = PhantomVariant.TRASTUZUMAB
    shape: tuple[int, int, int] = (40, 64, 64)
    spacing_mm: tuple[float, float, float] = (4.0, 4.0, 4.0)
    weight_kg: float = 70.0
    height_m: float = 1.65
    sex: str = "F"
    dose_bq: float = 37e6
    injected_at: dt.datetime = dt.datetime(2024, 3, 4, 9, 0, 0)
    uptake_h: float = 120.0
    background_suv: float = 1.0
    blood_pool_suv: float = 2.5
    liver_suv: float = 4.0
    lesions: tuple[PhantomLesion, ...] = DEFAULT_LESIONS
    with_sr: bool = False
    with_seg: bool = False
    seed: str = "phantom-1"
    patient_id: str = "PHANTOM-001"
    patient_name: str = "Phantom^HER2"
    birth_date: str = "19700101"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedLesion:
    label: str
    hepatic: bool
    avid: bool | None
    suv_max: float
    suv_peak: float
    suv_mean: float
    volume_ml: float
    voxel_count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PhantomExpected:
    """The known answers. ``suvbw_factor`` is g/ml per Bq/ml (None for GML-free variants where it is a scanner
    factor); ``tracer`` None means the series must be skipped; ``refused`` means SUV must not be computed."""

    tracer: Tracer | None
    half_life_s: float
    injected_at: dt.datetime
    acquired_at: dt.datetime
    uptake_h: float
    suvbw_factor: float
    suvbw_max: float
    lesions: tuple[ExpectedLesion, ...]
    blood_pool_suvmean: float
    liver_suvmean: float
    refused: bool = False


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PhantomSeries:
    pet: tuple[Dataset, ...]
    expected: PhantomExpected
    sr: tuple[Dataset, ...] = ()
    seg: tuple[Dataset, ...] = ()
    truth: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0), np.float32))
    masks: dict[str, np.ndarray] = field(default_factory=dict)


_TRACERS: dict[PhantomVariant, tuple[str, tuple[str, str, str] | None, Tracer | None]] = {
    PhantomVariant.TRASTUZUMAB: (
        "Trastuzumab Zr-89",
        ("126512", "DCM", "Trastuzumab ^89^Zr"),
        Tracer.ZR89_TRASTUZUMAB,
    ),
    PhantomVariant.PERTUZUMAB: (
        "89Zr-DFO-pertuzumab",
        ("126511", "DCM", "Monoclonal Antibody ^89^Zr"),
        Tracer.ZR89_PERTUZUMAB,
    ),
    PhantomVariant.SS_PERTUZUMAB: ("89Zr-ss-pertuzumab", None, Tracer.ZR89_SS_PERTUZUMAB),
    PhantomVariant.FDG: ("Fludeoxyglucose F^18^", ("35321007", "SCT", "Fluorodeoxyglucose F^18^"), None),
}


def _uid(spec: PhantomSpec, *parts: object) -> str:
    return str(generate_uid(entropy_srcs=[spec.seed, *map(str, parts)]))


def phantom_uids(spec: PhantomSpec) -> tuple[str, str]:
    """(StudyInstanceUID, SeriesInstanceUID) of the PET series ``make_phantom(spec)`` builds, without building
    it (e.g. to write a FHIR ImagingStudy that points at the series)."""
    return _uid(spec, "study"), _uid(spec, "series", spec.variant.value)


def kernel_count(spacing_mm: Sequence[float], radius_mm: float = PEAK_RADIUS_MM) -> int:
    """Number of voxel centres within ``radius_mm`` of a voxel centre (counted by enumeration)."""
    half = [int(radius_mm // s) for s in spacing_mm]
    ranges = [range(-h, h + 1) for h in half]
    return sum(
        1
        for offset in itertools.product(*ranges)
        if sum((o * s) ** 2 for o, s in zip(offset, spacing_mm, strict=True)) <= radius_mm**2 + 1e-9
    )


def _index_grid(spec: PhantomSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    z, y, x = np.meshgrid(*[np.arange(n, dtype=np.float64) for n in spec.shape], indexing="ij")
    return z, y, x


def _truth(spec: PhantomSpec) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Ground-truth SUV volume and region masks (body, liver without lesions, blood pool, each lesion)."""
    z, y, x = _index_grid(spec)
    dz, dy, dx = spec.spacing_mm
    nz, ny, nx = spec.shape
    cy, cx = (ny - 1) / 2.0, (nx - 1) / 2.0
    body = ((y - cy) * dy / (0.3125 * ny * dy)) ** 2 + ((x - cx) * dx / (0.43 * nx * dx)) ** 2 <= 1.0
    liver = (
        ((z - nz / 2) * dz / 40.0) ** 2
        + ((y - 0.47 * ny) * dy / 40.0) ** 2
        + ((x - 0.31 * nx) * dx / 45.0) ** 2
        <= 1.0
    ) & body
    aorta = (((y - 0.6 * ny) * dy) ** 2 + ((x - 0.56 * nx) * dx) ** 2 <= 10.0**2) & body
    suv = np.where(body, spec.background_suv, 0.0)
    suv = np.where(liver, spec.liver_suv, suv)
    suv = np.where(aorta, spec.blood_pool_suv, suv)
    masks: dict[str, np.ndarray] = {"body": body, "aorta": aorta}
    all_lesions = np.zeros(spec.shape, dtype=bool)
    for lesion in spec.lesions:
        lz, ly, lx = lesion.centre
        sphere = ((z - lz) * dz) ** 2 + ((y - ly) * dy) ** 2 + (
            (x - lx) * dx
        ) ** 2 <= lesion.radius_mm**2 + 1e-9
        suv = np.where(sphere, lesion.suv, suv)
        suv[lz, ly, lx] = lesion.suv_max
        masks[lesion.label] = sphere
        all_lesions |= sphere
    masks["liver"] = liver & ~all_lesions & ~aorta
    return suv.astype(np.float64), masks


def _expected_lesions(spec: PhantomSpec, masks: dict[str, np.ndarray]) -> tuple[ExpectedLesion, ...]:
    n = kernel_count(spec.spacing_mm)
    voxel_ml = math.prod(spec.spacing_mm) / 1000.0
    out = []
    for lesion in spec.lesions:
        count = int(masks[lesion.label].sum())
        out.append(
            ExpectedLesion(
                label=lesion.label,
                hepatic=lesion.hepatic,
                avid=lesion.avid,
                suv_max=lesion.suv_max,
                suv_peak=(lesion.suv_max + (n - 1) * lesion.suv) / n,
                suv_mean=(lesion.suv_max + (count - 1) * lesion.suv) / count,
                volume_ml=count * voxel_ml,
                voxel_count=count,
            )
        )
    return tuple(out)


def make_phantom(spec: PhantomSpec | None = None) -> PhantomSeries:
    """Build the series (and optional SEG and SR) of ``spec``; deterministic for a given spec."""
    spec = spec or PhantomSpec()
    fdg = spec.variant is PhantomVariant.FDG
    half_life = 6586.2 if fdg else 282_276.0
    injected = spec.injected_at
    uptake_h = 1.0 if fdg else spec.uptake_h
    acquired = injected + dt.timedelta(hours=uptake_h)
    decayed = spec.dose_bq * 2.0 ** (-(acquired - injected).total_seconds() / half_life)
    factor = spec.weight_kg * 1000.0 / decayed
    truth, masks = _truth(spec)
    expected = PhantomExpected(
        tracer=_TRACERS.get(spec.variant, _TRACERS[PhantomVariant.TRASTUZUMAB])[2],
        half_life_s=half_life,
        injected_at=injected,
        acquired_at=acquired,
        uptake_h=uptake_h,
        suvbw_factor=factor,
        suvbw_max=float(truth.max()),
        lesions=_expected_lesions(spec, masks),
        blood_pool_suvmean=spec.blood_pool_suv,
        liver_suvmean=spec.liver_suv,
        refused=spec.variant is PhantomVariant.MISSING_INJECTION_DATETIME,
    )
    pet = tuple(_slices(spec, truth, factor, half_life, acquired))
    seg = (make_seg(spec, pet, masks, _uid),) if spec.with_seg else ()
    sr = (make_sr(spec, pet, seg, _uid, expected.lesions),) if spec.with_sr else ()
    return PhantomSeries(
        pet=pet, expected=expected, sr=sr, seg=seg, truth=truth.astype(np.float32), masks=masks
    )


def _radiopharmaceutical(spec: PhantomSpec, half_life: float) -> Dataset:
    text, code, _ = _TRACERS.get(spec.variant, _TRACERS[PhantomVariant.TRASTUZUMAB])
    fdg = spec.variant is PhantomVariant.FDG
    item = Dataset()
    item.Radiopharmaceutical = text
    injected = spec.injected_at
    item.RadiopharmaceuticalStartTime = injected.strftime("%H%M%S")
    if spec.variant is not PhantomVariant.MISSING_INJECTION_DATETIME:
        item.RadiopharmaceuticalStartDateTime = injected.strftime("%Y%m%d%H%M%S")
    item.RadionuclideTotalDose = f"{spec.dose_bq:.1f}"
    item.RadionuclideHalfLife = f"{half_life}"
    item.RadionuclidePositronFraction = "0.967" if fdg else "0.227"
    nuclide = Dataset()
    nuclide.CodeValue, nuclide.CodingSchemeDesignator = ("77004003", "SCT") if fdg else ("63360001", "SCT")
    nuclide.CodeMeaning = "^18^Fluorine" if fdg else "^89^Zirconium"
    item.RadionuclideCodeSequence = DicomSequence([nuclide])
    if code is not None:
        coded = Dataset()
        coded.CodeValue, coded.CodingSchemeDesignator, coded.CodeMeaning = code
        item.RadiopharmaceuticalCodeSequence = DicomSequence([coded])
    return item


def _base(spec: PhantomSpec, acquired: dt.datetime) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = PET_SOP_CLASS
    ds.Modality = "PT"
    ds.PatientID = spec.patient_id
    ds.PatientName = spec.patient_name
    ds.PatientSex = spec.sex
    ds.PatientWeight = f"{spec.weight_kg}"
    ds.PatientSize = f"{spec.height_m}"
    ds.PatientBirthDate = spec.birth_date
    ds.StudyInstanceUID = _uid(spec, "study")
    ds.SeriesInstanceUID = _uid(spec, "series", spec.variant.value)
    ds.FrameOfReferenceUID = _uid(spec, "frame")
    ds.StudyID = "1"
    ds.AccessionNumber = "PH0001"
    ds.ReferringPhysicianName = ""
    ds.SeriesNumber = 1
    ds.Manufacturer = "her2-pet-cds phantom"
    for prefix in ("Study", "Series", "Acquisition", "Content"):
        setattr(ds, f"{prefix}Date", acquired.strftime("%Y%m%d"))
        setattr(ds, f"{prefix}Time", acquired.strftime("%H%M%S"))
    ds.StudyDescription = "HER2 PET phantom"
    ds.SeriesDescription = f"PET {spec.variant.value}"
    ds.Units = "CNTS" if spec.variant is PhantomVariant.PHILIPS_CNTS else "BQML"
    ds.DecayCorrection = "START"
    ds.CorrectedImage = ["ATTN", "DECY", "SCAT", "NORM"]
    ds.SeriesType = ["WHOLE BODY", "IMAGE"]
    ds.CountsSource = "EMISSION"
    ds.FrameReferenceTime = "0"
    ds.ActualFrameDuration = 300000
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [f"{spec.spacing_mm[1]}", f"{spec.spacing_mm[2]}"]
    ds.SliceThickness = f"{spec.spacing_mm[0]}"
    ds.Rows, ds.Columns = spec.shape[1], spec.shape[2]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept = "0"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    return ds


def _slices(
    spec: PhantomSpec,
    truth: np.ndarray,
    factor: float,
    half_life: float,
    acquired: dt.datetime,
) -> list[Dataset]:
    cnts = spec.variant is PhantomVariant.PHILIPS_CNTS
    out = []
    for k in range(spec.shape[0]):
        ds = _base(spec, acquired)
        ds.RadiopharmaceuticalInformationSequence = DicomSequence([_radiopharmaceutical(spec, half_life)])
        activity = truth[k] / factor  # Bq/ml (or counts scaled to Bq/ml for the CNTS variant)
        peak = float(activity.max())
        slope = peak / 32000.0 if peak > 0 else 1.0
        ds.RescaleSlope = f"{slope:.10g}"
        slope = float(ds.RescaleSlope)
        ds.PixelData = np.rint(activity / slope).astype("<i2").tobytes()
        if cnts:
            block = ds.private_block(0x7053, "Philips PET Private Group", create=True)
            block.add_new(0x00, "DS", f"{factor:.12g}")
            block.add_new(0x09, "DS", "1.0")
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [
            f"{-(spec.shape[2] - 1) * spec.spacing_mm[2] / 2:.3f}",
            f"{-(spec.shape[1] - 1) * spec.spacing_mm[1] / 2:.3f}",
            f"{k * spec.spacing_mm[0]:.3f}",
        ]
        ds.SliceLocation = f"{k * spec.spacing_mm[0]:.3f}"
        ds.SOPInstanceUID = _uid(spec, "pet", spec.variant.value, k)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        out.append(ds)
    return out


def write_phantom(folder: Path, spec: PhantomSpec | None = None) -> list[Path]:
    """Write the phantom's PET (and SEG/SR) instances as DICOM Part 10 files into ``folder``; returns the
    paths."""
    series = make_phantom(spec)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, ds in [
        *((f"pt_{i + 1:03d}.dcm", ds) for i, ds in enumerate(series.pet)),
        *((f"seg_{i + 1}.dcm", ds) for i, ds in enumerate(series.seg)),
        *((f"sr_{i + 1}.dcm", ds) for i, ds in enumerate(series.sr)),
    ]:
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def with_variant(spec: PhantomSpec, variant: PhantomVariant) -> PhantomSpec:
    """The same phantom with another variant."""
    return replace(spec, variant=variant)
