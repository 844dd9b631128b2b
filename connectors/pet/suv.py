"""Body-weight SUV from PET pixel values: the QIBA vendor-neutral pseudo-code with the IBSI extensions.

Every branch of ``spec/pet-dicom.md`` §3: Units BQML, CNTS (Philips SUV or activity-concentration scale
factor), GML (any SUV Type) and CM2ML; Decay Correction START (QIBA reference-time order: series time if not
after the earliest acquisition, GE private scan datetime, Siemens back-computation from Frame Reference Time,
earliest acquisition; an explicit Decay Correction DateTime wins), ADMIN and NONE (each frame corrected with
its own acquisition time and duration); per-slice rescale. A header that does not allow a correct value raises
``SuvNotComputableError`` naming the attribute: never a guessed number.

References: QIBA FDG-PET/CT profile, "Vendor-neutral pseudo-code for SUV calculation" (QIBA wiki, 2013);
IBSI/OncoRay "Comprehensive Manual for SUV Computation and Digital Reference Objects for its Verification"
(Vacha et al.).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from connectors.errors import SuvNotComputableError
from connectors.pet.normalisation import Normalisation, normaliser
from connectors.pet.types import (
    HALF_LIFE_TOLERANCE,
    MAX_UPTAKE,
    DecayCorrection,
    FrameTiming,
    PetUnits,
    PetVolume,
    RawPetSlices,
    SuvCalibration,
    SuvType,
    nuclide_for_half_life,
)

SHORT_LIVED_MAX_S = 2 * 3600.0
"""Only nuclides with T½ below this may use the same-day injection-time fallback (18F, 68Ga; never 89Zr,
64Cu)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SuvConversion:
    """The result of decoding a calibration: one SUVbw factor per frame (g/ml per rescaled pixel unit).

    ``injected_at`` is the administration time used; ``reference_at`` the decay reference time (None for
    DecayCorrection NONE, where each frame has its own); ``uptake_h`` earliest acquisition minus injection;
    ``caveats`` what a reader of the numbers should know (fallbacks used, LBM formula assumed).
    """

    factors: tuple[float, ...]
    injected_at: dt.datetime
    reference_at: dt.datetime | None
    uptake_h: float | None
    caveats: tuple[str, ...] = ()

    @property
    def factor(self) -> float:
        """The factor of the first frame (all frames share it except under DecayCorrection NONE)."""
        return self.factors[0]


def _check_preconditions(cal: SuvCalibration) -> float:
    """QIBA preconditions (spec/pet-dicom.md §3); returns the half-life in seconds."""
    if "ATTN" not in cal.corrected_image:
        raise SuvNotComputableError("CorrectedImage (0028,0051) lacks ATTN: image not attenuation-corrected")
    if cal.decay_correction is not DecayCorrection.NONE and "DECY" not in cal.corrected_image:
        raise SuvNotComputableError(
            f"CorrectedImage (0028,0051) lacks DECY although DecayCorrection is {cal.decay_correction.value}"
        )
    if cal.weight_kg is None:
        raise SuvNotComputableError("PatientWeight (0010,1030) is missing")
    if cal.injected_dose_bq is None:
        raise SuvNotComputableError("RadionuclideTotalDose (0018,1074) is missing")
    if cal.half_life_s is None:
        raise SuvNotComputableError("RadionuclideHalfLife (0018,1075) is missing")
    check_half_life(cal)
    return cal.half_life_s


def check_half_life(cal: SuvCalibration) -> None:
    """Refuse a header half-life outside ±1 % of the table value of its nuclide (spec/pet-dicom.md §5)."""
    half_life = cal.half_life_s
    if half_life is None:
        raise SuvNotComputableError("RadionuclideHalfLife (0018,1075) is missing")
    nuclide = cal.radionuclide
    if nuclide is None:
        if nuclide_for_half_life(half_life) is None:
            raise SuvNotComputableError(
                f"RadionuclideHalfLife (0018,1075) {half_life:g} s matches no known PET radionuclide "
                "within ±1 %"
            )
        return
    if abs(half_life - nuclide.half_life_s) > HALF_LIFE_TOLERANCE * nuclide.half_life_s:
        raise SuvNotComputableError(
            f"RadionuclideHalfLife (0018,1075) {half_life:g} s differs by more than 1 % from {nuclide.value} "
            f"({nuclide.half_life_s:g} s)"
        )


def administration_time(cal: SuvCalibration) -> tuple[dt.datetime, tuple[str, ...]]:
    """t_adm per spec/pet-dicom.md §3 step 2, with caveats.

    RadiopharmaceuticalStartDateTime (0018,1078) first (an externally supplied injection datetime wins
    over it, with a caveat). Without it, only nuclides with T½ < 2 h may use Series Date + Radiopharmaceutical
    Start Time, minus one day if that lands after the earliest acquisition (injection before midnight).
    89Zr and 64Cu are refused: the same-day fallback would silently drop the days between injection and scan.
    """
    if cal.injected_at_external is not None:
        return cal.injected_at_external, ("injection datetime taken from a source other than the PET header",)
    if cal.injected_at is not None:
        return cal.injected_at, ()
    half_life = cal.half_life_s or 0.0
    long_lived = half_life >= SHORT_LIVED_MAX_S or (
        cal.radionuclide is not None and cal.radionuclide.long_lived
    )
    if long_lived:
        name = cal.radionuclide.value if cal.radionuclide is not None else f"T½ {half_life / 3600:.1f} h"
        raise SuvNotComputableError(
            f"RadiopharmaceuticalStartDateTime (0018,1078) is required for {name}: scans happen days after "
            "injection and a same-day Radiopharmaceutical Start Time would drop those days"
        )
    if cal.injection_time is None:
        raise SuvNotComputableError(
            "neither RadiopharmaceuticalStartDateTime (0018,1078) nor "
            "RadiopharmaceuticalStartTime (0018,1072)"
        )
    earliest = cal.earliest_acquisition
    day_source = cal.series_at or earliest
    if day_source is None:
        raise SuvNotComputableError(
            "SeriesDate (0008,0021) is needed with RadiopharmaceuticalStartTime alone"
        )
    injected = dt.datetime.combine(day_source.date(), cal.injection_time)
    caveats = ["injection datetime from SeriesDate + RadiopharmaceuticalStartTime (same-day fallback)"]
    if earliest is not None and injected > earliest:
        injected -= dt.timedelta(days=1)
        caveats.append("injection assumed on the day before the scan (start time after acquisition time)")
    return injected, tuple(caveats)


def average_count_rate_offset_s(duration_s: float, half_life_s: float) -> float:
    """T_ave = (1/λ)·ln(λT / (1 − e^(−λT))): time after frame start of the average count rate (QIBA)."""
    lam = math.log(2.0) / half_life_s
    x = lam * duration_s
    if x <= 0:
        return 0.0
    return math.log(x / -math.expm1(-x)) / lam


def _earliest_frame(cal: SuvCalibration) -> FrameTiming | None:
    frames = [f for f in cal.frames if f.acquired_at is not None]
    return min(frames, key=lambda f: f.acquired_at or dt.datetime.min) if frames else None


def start_reference_time(cal: SuvCalibration, half_life_s: float) -> tuple[dt.datetime, tuple[str, ...]]:
    """t_ref for DecayCorrection START, in the QIBA order (spec/pet-dicom.md §3 step 3)."""
    if cal.decay_correction_at is not None:
        return cal.decay_correction_at, ()
    earliest = _earliest_frame(cal)
    earliest_at = earliest.acquired_at if earliest is not None else None
    if cal.series_at is not None and (earliest_at is None or cal.series_at <= earliest_at):
        return cal.series_at, ()
    if cal.ge_scan_at is not None:
        return cal.ge_scan_at, ("reference time from the GE private scan datetime (0009,100D)",)
    if earliest is None or earliest_at is None:
        raise SuvNotComputableError(
            "neither SeriesTime (0008,0031) nor AcquisitionTime (0008,0032) is present"
        )
    frt, duration = earliest.reference_time_s, earliest.duration_s
    if frt is not None and duration is not None and frt > 0 and duration > 0:
        offset = average_count_rate_offset_s(duration, half_life_s) - frt
        return earliest_at + dt.timedelta(seconds=offset), (
            "series time after acquisition time: reference time back-computed from FrameReferenceTime",
        )
    return earliest_at, ("series time after acquisition time: reference time is the earliest acquisition",)


def _bqml_factors(
    cal: SuvCalibration, half_life_s: float, t_adm: dt.datetime
) -> tuple[list[float], dt.datetime | None, tuple[str, ...]]:
    """SUVbw per Bq/ml for each frame: W·1000/D_ref."""
    if cal.weight_kg is None or cal.injected_dose_bq is None:
        raise SuvNotComputableError("PatientWeight and RadionuclideTotalDose are required")
    grams = normaliser(Normalisation.BW, cal.weight_kg, cal.height_m, cal.sex)
    dose = cal.injected_dose_bq
    n = len(cal.frames)
    if cal.decay_correction is DecayCorrection.ADMIN:
        return [grams / dose] * n, t_adm, ()
    if cal.decay_correction is DecayCorrection.START:
        t_ref, caveats = start_reference_time(cal, half_life_s)
        decayed = dose * 2.0 ** (-(t_ref - t_adm).total_seconds() / half_life_s)
        return [grams / decayed] * n, t_ref, caveats
    lam = math.log(2.0) / half_life_s
    factors = []
    for index, frame in enumerate(cal.frames):
        if frame.acquired_at is None:
            raise SuvNotComputableError(
                f"DecayCorrection NONE needs AcquisitionTime (0008,0032) of slice {index}"
            )
        x = lam * (frame.duration_s or 0.0)
        in_frame = x / -math.expm1(-x) if x > 0 else 1.0
        to_admin = math.exp(lam * (frame.acquired_at - t_adm).total_seconds())
        factors.append(grams / dose * in_frame * to_admin)
    return factors, None, ()


def _gml_to_bw(cal: SuvCalibration) -> tuple[float, tuple[str, ...]]:
    """SUVbw per GML pixel unit: W / N_x with N_x the normaliser of the SUV Type (empty = BW)."""
    suv_type = cal.suv_type or SuvType.BW
    caveats: tuple[str, ...] = ()
    if suv_type is SuvType.BW:
        return 1.0, caveats
    if suv_type in (SuvType.LBM, SuvType.LBMJAMES128):
        kind = Normalisation.LBM_JAMES128
        if suv_type is SuvType.LBM:
            caveats = ("SUV Type LBM: formula unspecified, James (128) assumed",)
    elif suv_type is SuvType.LBMJANMA:
        kind = Normalisation.LBM_JANMA
    elif suv_type is SuvType.IBW:
        kind = Normalisation.IBW
    else:
        raise SuvNotComputableError("Units GML with SUV Type BSA is inconsistent (SUVbsa is CM2ML)")
    bw = normaliser(Normalisation.BW, cal.weight_kg, cal.height_m, cal.sex)
    return bw / normaliser(kind, cal.weight_kg, cal.height_m, cal.sex), caveats


def suvbw_conversion(cal: SuvCalibration) -> SuvConversion:
    """Decode a calibration into per-frame SUVbw factors (spec/pet-dicom.md §3 steps 2–4).

    Raises ``SuvNotComputableError`` for every refusal of the spec, naming the attribute.
    """
    half_life = _check_preconditions(cal)
    t_adm, caveats = administration_time(cal)
    uptake_h = _uptake_hours(cal, t_adm)
    n = len(cal.frames)
    units = cal.units
    reference_at: dt.datetime | None = None
    more: tuple[str, ...] = ()
    if units is PetUnits.BQML:
        factors, reference_at, more = _bqml_factors(cal, half_life, t_adm)
    elif units is PetUnits.CNTS:
        if cal.philips_suv_factor:
            factors = [cal.philips_suv_factor] * n
            more = ("Units CNTS: Philips SUV Scale Factor (7053,1000) used",)
        elif cal.philips_activity_factor:
            bqml, reference_at, more = _bqml_factors(cal, half_life, t_adm)
            factors = [f * cal.philips_activity_factor for f in bqml]
            more = (*more, "Units CNTS: Philips Activity Concentration Scale Factor (7053,1009) used")
        else:
            raise SuvNotComputableError(
                "Units CNTS without a Philips SUV Scale Factor (7053,1000) or Activity Concentration Scale "
                "Factor (7053,1009)"
            )
    elif units is PetUnits.GML:
        factor, more = _gml_to_bw(cal)
        factors = [factor] * n
    elif units is PetUnits.CM2ML:
        bsa_cm2 = normaliser(Normalisation.BSA, cal.weight_kg, cal.height_m, cal.sex)
        factors = [normaliser(Normalisation.BW, cal.weight_kg, cal.height_m, cal.sex) / bsa_cm2] * n
    else:
        raise SuvNotComputableError(f"Units (0054,1001) {units.value} cannot be converted to SUV")
    return SuvConversion(
        factors=tuple(factors),
        injected_at=t_adm,
        reference_at=reference_at,
        uptake_h=uptake_h,
        caveats=(*caveats, *more),
    )


def _uptake_hours(cal: SuvCalibration, t_adm: dt.datetime) -> float | None:
    earliest = cal.earliest_acquisition or cal.series_at
    if earliest is None:
        return None
    delta = earliest - t_adm
    if delta < dt.timedelta(0) or delta > MAX_UPTAKE:
        raise SuvNotComputableError(
            f"implausible uptake time {delta / dt.timedelta(hours=1):.1f} h (injection {t_adm.isoformat()})"
        )
    return delta / dt.timedelta(hours=1)


def suvbw_volume(raw: RawPetSlices, cal: SuvCalibration) -> tuple[PetVolume, SuvConversion]:
    """SUVbw volume (float32) from stored values: SV·m·factor per slice, voxel-wise before any statistic.

    Refuses a non-zero Rescale Intercept (spec/pet-dicom.md §3 preconditions) and a frame count that does not
    match the slices.
    """
    if np.any(raw.intercepts != 0):
        raise SuvNotComputableError("RescaleIntercept (0028,1052) must be 0 for SUV computation")
    conversion = suvbw_conversion(cal)
    depth = raw.stored.shape[0]
    if len(conversion.factors) != depth:
        raise SuvNotComputableError(f"{len(conversion.factors)} frame timings for {depth} slices")
    per_slice = (raw.slopes * np.asarray(conversion.factors, dtype=np.float64)).astype(np.float32)
    suv = np.multiply(raw.stored, per_slice[:, None, None], dtype=np.float32)
    volume = PetVolume(
        suv=suv,
        geometry=raw.geometry,
        frame_of_reference_uid=raw.frame_of_reference_uid,
        sop_instance_uids=raw.sop_instance_uids,
    )
    return volume, conversion
