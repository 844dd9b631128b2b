"""Connector-internal PET types: the decoded SUV calibration, the SUV volume, lesion masks and measurements.

These types never reach ``rules``: they carry pixels and header values in SI-like units named in the field
names (``_s`` seconds, ``_bq`` becquerel, ``_kg``, ``_m``, ``_mm``, ``_ml``). Every constructor validates
(valid or raise): a half-built calibration cannot exist, and an invalid one raises ``SuvNotComputableError``
naming the attribute, so the SUV code downstream never sees a non-positive dose or an acquisition before the
injection.

Reference: ``spec/pet-dicom.md`` §2 (header attributes) and §3 (QIBA vendor-neutral SUV pseudo-code, IBSI
extensions).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from connectors.errors import SuvNotComputableError

MAX_UPTAKE = dt.timedelta(days=14)
"""Longest plausible injection-to-acquisition interval (spec/pet-dicom.md §6); longer is refused."""

FloatArray = npt.NDArray[np.float32]
Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class PetUnits(StrEnum):
    """Units (0054,1001) of the rescaled pixel values (DICOM PS3.3 C.8.9.1.1.3)."""

    BQML = "BQML"
    CNTS = "CNTS"
    GML = "GML"
    CM2ML = "CM2ML"
    CPS = "CPS"
    PROPCNTS = "PROPCNTS"
    PROPCPS = "PROPCPS"
    NONE = "NONE"
    PCNT = "PCNT"
    MLMGM = "MLMGM"
    MGMINML = "MGMINML"
    UMOLMINML = "UMOLMINML"
    MLMINML = "MLMINML"
    MLML = "MLML"
    ONE_ML = "1/CM"


class SuvType(StrEnum):
    """SUV Type (0054,1006): the normalisation of GML/CM2ML pixels (empty means body weight)."""

    BW = "BW"
    LBM = "LBM"
    LBMJAMES128 = "LBMJAMES128"
    LBMJANMA = "LBMJANMA"
    IBW = "IBW"
    BSA = "BSA"


class DecayCorrection(StrEnum):
    """Decay Correction (0054,1102): the time the pixel activity is decay-corrected to."""

    START = "START"
    ADMIN = "ADMIN"
    NONE = "NONE"


class Sex(StrEnum):
    """Patient's Sex (0010,0040); anything else (absent, empty) is treated as ``O`` for sex-specific
    formulas."""

    MALE = "M"
    FEMALE = "F"
    OTHER = "O"


class Radionuclide(StrEnum):
    """PET radionuclides the service knows, with their reference half-life (``half_life_s``).

    Half-lives: NNDC/ENSDF (spec/pet-dicom.md §5). The header half-life wins; these values are a sanity check.
    """

    ZR89 = "89Zr"
    CU64 = "64Cu"
    GA68 = "68Ga"
    F18 = "18F"
    C11 = "11C"
    N13 = "13N"
    O15 = "15O"
    RB82 = "82Rb"
    I124 = "124I"

    @property
    def half_life_s(self) -> float:
        return _HALF_LIFE_S[self]

    @property
    def long_lived(self) -> bool:
        """True when a same-day injection-time fallback is unsafe (T½ ≥ 2 h; spec/pet-dicom.md §3 step 2)."""
        return self.half_life_s >= 2 * 3600.0


_HALF_LIFE_S: dict[Radionuclide, float] = {
    Radionuclide.ZR89: 282_276.0,  # 78.41 h
    Radionuclide.CU64: 45_724.0,  # 12.701 h
    Radionuclide.GA68: 4_062.6,  # 67.71 min (DDEP 67.83 min; headers carry 4057–4070 s)
    Radionuclide.F18: 6_586.2,  # 109.77 min
    Radionuclide.C11: 1_221.5,  # 20.36 min
    Radionuclide.N13: 597.9,  # 9.965 min
    Radionuclide.O15: 122.24,  # 2.037 min
    Radionuclide.RB82: 76.38,  # 1.273 min
    Radionuclide.I124: 360_806.4,  # 4.176 d
}

HALF_LIFE_TOLERANCE = 0.01
"""Relative tolerance between a header half-life and the table (spec/pet-dicom.md §5: outside ±1 % →
refuse)."""


def nuclide_for_half_life(half_life_s: float) -> Radionuclide | None:
    """The table nuclide whose half-life is within ±1 % of ``half_life_s``, or None."""
    for nuclide in Radionuclide:
        if abs(half_life_s - nuclide.half_life_s) <= HALF_LIFE_TOLERANCE * nuclide.half_life_s:
            return nuclide
    return None


def _require_positive(name: str, value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise SuvNotComputableError(f"{name} must be a positive finite number, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameTiming:
    """Timing of one slice's frame (bed position or dynamic frame).

    ``acquired_at`` is Acquisition Date/Time (0008,0022)/(0008,0032), the start of the frame; ``duration_s``
    is Actual Frame Duration (0018,1242) in seconds; ``reference_time_s`` is Frame Reference Time (0054,1300)
    in seconds, the offset from the series reference time to the frame's average count-rate time.
    """

    acquired_at: dt.datetime | None = None
    duration_s: float | None = None
    reference_time_s: float | None = None

    def __post_init__(self) -> None:
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise SuvNotComputableError(f"ActualFrameDuration must not be negative, got {self.duration_s!r}")
        if self.reference_time_s is not None and not math.isfinite(self.reference_time_s):
            raise SuvNotComputableError("FrameReferenceTime must be finite")


@dataclass(frozen=True, slots=True, kw_only=True)
class SuvCalibration:
    """Everything the SUV computation needs from the headers of one PET series, decoded and unit-converted.

    Absent header values are None; which of them are required depends on the branch (Units, Decay Correction)
    and is checked by ``connectors.pet.suv``, which names the missing attribute. This constructor checks what
    holds for every branch: present quantities are positive (dose in Bq, not MBq; weight in kg, not g), the
    injection precedes every acquisition, and the uptake time is at most 14 days.

    Fields: ``units`` (0054,1001); ``suv_type`` (0054,1006); ``decay_correction`` (0054,1102);
    ``corrected_image`` (0028,0051, with "DECAY" normalised to "DECY"); ``half_life_s`` (0018,1075);
    ``injected_dose_bq`` (0018,1074); ``injected_at`` (0018,1078, timezone removed); ``injection_time``
    (0018,1072, a time without date); ``injected_at_external`` an injection datetime supplied by another
    source (e.g. a FHIR MedicationAdministration); ``series_at`` (0008,0021/0031); ``frames`` one
    ``FrameTiming`` per slice in volume order; ``weight_kg`` (0010,1030); ``height_m`` (0010,1020); ``sex``
    (0010,0040); ``philips_suv_factor`` (7053,1000) and ``philips_activity_factor`` (7053,1009);
    ``ge_scan_at`` (0009,100D); ``decay_correction_at`` (0018,9701); ``radionuclide`` from the Radionuclide
    Code Sequence or the half-life; ``radionuclide_coded`` whether it came from a code.
    """

    units: PetUnits
    decay_correction: DecayCorrection
    half_life_s: float | None
    injected_dose_bq: float | None
    frames: tuple[FrameTiming, ...]
    suv_type: SuvType | None = None
    corrected_image: frozenset[str] = frozenset()
    injected_at: dt.datetime | None = None
    injection_time: dt.time | None = None
    injected_at_external: dt.datetime | None = None
    series_at: dt.datetime | None = None
    weight_kg: float | None = None
    height_m: float | None = None
    sex: Sex = Sex.OTHER
    philips_suv_factor: float | None = None
    philips_activity_factor: float | None = None
    ge_scan_at: dt.datetime | None = None
    decay_correction_at: dt.datetime | None = None
    radionuclide: Radionuclide | None = None
    radionuclide_coded: bool = False

    def __post_init__(self) -> None:
        if not self.frames:
            raise SuvNotComputableError("a PET series needs at least one frame")
        _require_positive("RadionuclideHalfLife (0018,1075)", self.half_life_s)
        _require_positive("RadionuclideTotalDose (0018,1074)", self.injected_dose_bq)
        _require_positive("PatientWeight (0010,1030)", self.weight_kg)
        _require_positive("PatientSize (0010,1020)", self.height_m)
        if self.injected_dose_bq is not None and self.injected_dose_bq < 1e4:
            raise SuvNotComputableError(
                f"RadionuclideTotalDose (0018,1074) {self.injected_dose_bq} is below 1e4 Bq: "
                "MBq instead of Bq?"
            )
        if self.weight_kg is not None and self.weight_kg > 1000:
            raise SuvNotComputableError(f"PatientWeight (0010,1030) {self.weight_kg} exceeds 1000 kg: grams?")
        if self.height_m is not None and self.height_m > 3.0:
            raise SuvNotComputableError(f"PatientSize (0010,1020) {self.height_m} exceeds 3 m: centimetres?")
        for name in ("philips_suv_factor", "philips_activity_factor"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise SuvNotComputableError(f"{name} must not be negative, got {value!r}")
        self._check_time_order()

    def _check_time_order(self) -> None:
        injected = self.injected_at_external or self.injected_at
        if injected is None:
            return
        for acquired in (f.acquired_at for f in self.frames):
            if acquired is None:
                continue
            if acquired < injected:
                raise SuvNotComputableError(
                    f"acquisition {acquired.isoformat()} precedes RadiopharmaceuticalStartDateTime "
                    f"{injected.isoformat()}"
                )
            if acquired - injected > MAX_UPTAKE:
                raise SuvNotComputableError(
                    f"uptake time {(acquired - injected) / dt.timedelta(hours=1):.1f} h exceeds 14 days"
                )

    @property
    def earliest_acquisition(self) -> dt.datetime | None:
        """The earliest Acquisition Date/Time over all frames (QIBA's fallback reference time)."""
        times = [f.acquired_at for f in self.frames if f.acquired_at is not None]
        return min(times) if times else None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PetGeometry:
    """Voxel grid of a PET volume in the DICOM patient coordinate system (LPS, mm).

    ``origin_mm`` is the centre of voxel (0, 0, 0) (Image Position (Patient) of the first slice);
    ``row_cosine``/``column_cosine`` are Image Orientation (Patient) (direction of increasing column index and
    of increasing row index); ``slice_normal`` points from slice k to slice k+1; ``spacing_mm`` is (slice,
    row, column) spacing, matching the array axes (z, y, x).
    """

    origin_mm: tuple[float, float, float]
    row_cosine: tuple[float, float, float]
    column_cosine: tuple[float, float, float]
    slice_normal: tuple[float, float, float]
    spacing_mm: tuple[float, float, float]

    def __post_init__(self) -> None:
        if any(not (math.isfinite(s) and s > 0) for s in self.spacing_mm):
            raise SuvNotComputableError(f"voxel spacing must be positive, got {self.spacing_mm}")

    @property
    def affine(self) -> Float64Array:
        """4×4 matrix mapping homogeneous array indices (z, y, x, 1) to patient coordinates (x, y, z, 1) in
        mm."""
        dz, dy, dx = self.spacing_mm
        matrix = np.eye(4, dtype=np.float64)
        matrix[:3, 0] = np.asarray(self.slice_normal) * dz
        matrix[:3, 1] = np.asarray(self.column_cosine) * dy
        matrix[:3, 2] = np.asarray(self.row_cosine) * dx
        matrix[:3, 3] = self.origin_mm
        return matrix

    @property
    def voxel_volume_ml(self) -> float:
        dz, dy, dx = self.spacing_mm
        return dz * dy * dx / 1000.0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PetVolume:
    """Body-weight SUV (g/ml) of one PET series as float32[z, y, x], with its geometry.

    ``suv_type`` records what the voxels hold (always SUVbw here; other normalisations are scalings of it).
    ``frame_of_reference_uid`` and ``sop_instance_uids`` (one per slice, in array order) let segmentations be
    aligned by geometry or by source instance.
    """

    suv: FloatArray
    geometry: PetGeometry
    frame_of_reference_uid: str | None = None
    sop_instance_uids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.suv.ndim != 3:
            raise SuvNotComputableError(f"a PET volume is 3-D (z, y, x), got shape {self.suv.shape}")
        if self.suv.dtype != np.float32:
            raise SuvNotComputableError(f"SUV voxels are float32, got {self.suv.dtype}")
        if self.sop_instance_uids and len(self.sop_instance_uids) != self.suv.shape[0]:
            raise SuvNotComputableError("one SOP Instance UID per slice is required when UIDs are given")

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return self.geometry.spacing_mm

    @property
    def affine(self) -> Float64Array:
        return self.geometry.affine


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class LesionMask:
    """A region on a PET volume's grid, stored as its bounding box: weights in [0, 1] (binary masks hold 0/1).

    ``weights`` is float32[dz, dy, dx] and ``offset`` the (z, y, x) index of its first voxel in the volume, so
    a mask costs its bounding box, not the whole volume. ``label`` names the region (tracking identifier or
    segment label); ``segment_number`` is the DICOM SEG segment it came from; ``tracking_uid`` the Tracking
    Unique Identifier; ``site_code`` the anatomic code (scheme, value) when the segmentation states one.
    """

    weights: FloatArray
    label: str
    offset: tuple[int, int, int] = (0, 0, 0)
    segment_number: int | None = None
    tracking_uid: str | None = None
    site_code: tuple[str, str] | None = None
    site_text: str | None = None

    def __post_init__(self) -> None:
        if self.weights.ndim != 3:
            raise SuvNotComputableError(f"a lesion mask is 3-D, got shape {self.weights.shape}")
        if any(o < 0 for o in self.offset):
            raise SuvNotComputableError(f"mask {self.label!r}: offset must not be negative")
        if self.weights.size and (float(self.weights.min()) < 0 or float(self.weights.max()) > 1):
            raise SuvNotComputableError(f"mask {self.label!r}: weights must lie in [0, 1]")

    @classmethod
    def from_full(cls, weights: npt.NDArray[np.generic], label: str, **kwargs: object) -> LesionMask:
        """Crop a full-volume mask (bool or fractional) to its bounding box; raises when it is empty."""
        full = np.asarray(weights, dtype=np.float32)
        nonzero = np.nonzero(full > 0)
        if not nonzero[0].size:
            raise SuvNotComputableError(f"mask {label!r} is empty")
        lo = [int(axis.min()) for axis in nonzero]
        hi = [int(axis.max()) + 1 for axis in nonzero]
        box = full[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        return cls(weights=np.ascontiguousarray(box), label=label, offset=(lo[0], lo[1], lo[2]), **kwargs)  # type: ignore[arg-type]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Index of the bounding box in the volume array."""
        z, y, x = self.offset
        dz, dy, dx = self.weights.shape
        return slice(z, z + dz), slice(y, y + dy), slice(x, x + dx)

    @property
    def binary(self) -> BoolArray:
        """Voxels of the bounding box with any membership (weight > 0)."""
        return np.asarray(self.weights > 0, dtype=np.bool_)

    def full(self, shape: tuple[int, ...]) -> BoolArray:
        """The binary mask on a volume of ``shape``."""
        out = np.zeros(shape, dtype=np.bool_)
        out[self.slices] = self.binary
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class LesionMeasurement:
    """SUV statistics of one region (spec/pet-dicom.md §7). SUVs in g/ml (SUVbw); ``peak_center`` and
    ``max_index`` are array indices (z, y, x)."""

    suv_max: float
    suv_peak: float | None
    suv_mean: float
    volume_ml: float
    voxel_count: int
    max_index: tuple[int, int, int]
    peak_center: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.voxel_count <= 0 or self.volume_ml <= 0:
            raise SuvNotComputableError("a measured region needs at least one voxel")


class ReferenceRegion(StrEnum):
    BLOOD_POOL = "blood_pool"
    LIVER = "liver"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceMeasurement:
    """SUVmean (g/ml) and SD of a reference region, with ``method`` saying how it was obtained
    (e.g. ``"reader SR"``, ``"SEG segment 'Liver'"``)."""

    region: ReferenceRegion
    suv_mean: float
    method: str
    suv_sd: float | None = None
    volume_ml: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.suv_mean) and self.suv_mean >= 0):
            raise SuvNotComputableError(
                f"{self.region.value} SUVmean must be non-negative, got {self.suv_mean}"
            )
        if not self.method:
            raise SuvNotComputableError("a reference measurement states how it was obtained")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class RawPetSlices:
    """Stored pixel values of one PET series before rescaling, in volume order, with one slope/intercept
    per slice.

    ``stored`` is int[z, y, x] (or float for Enhanced PET frames already decoded), ``slopes``/``intercepts``
    are Rescale Slope (0028,1053) and Intercept (0028,1052) per slice.
    """

    stored: npt.NDArray[np.generic]
    slopes: Float64Array
    intercepts: Float64Array
    geometry: PetGeometry
    frame_of_reference_uid: str | None = None
    sop_instance_uids: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        depth = self.stored.shape[0] if self.stored.ndim == 3 else -1
        if depth < 1 or self.slopes.shape != (depth,) or self.intercepts.shape != (depth,):
            raise SuvNotComputableError("one RescaleSlope and RescaleIntercept per slice are required")
