"""Pure header decoding: PET datasets → ``SuvCalibration``; radiopharmaceutical → HER2 ``Tracer`` or skip.

Tracer recognition follows spec/pet-dicom.md §8: modality/SOP class first, then the Radiopharmaceutical Code
Sequence (CID 4021: Trastuzumab ^89^Zr DCM 126512 and Margetuximab ^89^Zr DCM 126740 are sufficient on their
own; the generic antibody codes DCM 126511/126510 need a HER2 word in the free text), then the free text
(0018,0031), then a radionuclide check (CID 4020 code or half-life within ±1 % of the table). A nuclide that
contradicts the tracer means the series is not recognised, with the reason stated. Series and study
descriptions are never sufficient.

Calibration decoding follows spec/pet-dicom.md §2: values are converted to the units named in the fields,
private Philips and GE elements are read through their creators with a literal-tag fallback, and
``lenient_units`` applies the IBSI corrections (weight in g → kg, dose in MBq → Bq) for the reference objects
only, recording a caveat.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from pydicom.dataset import Dataset

from connectors.dicom.values import (
    code_of,
    combine,
    first_item,
    number,
    parse_da,
    parse_dt,
    parse_tm,
    private_value,
    text,
)
from connectors.errors import SuvNotComputableError
from connectors.pet.types import (
    DecayCorrection,
    FrameTiming,
    PetUnits,
    Radionuclide,
    Sex,
    SuvCalibration,
    SuvType,
    nuclide_for_half_life,
)
from rules.domain import Tracer

PET_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.128",  # PET Image Storage
        "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET Image Storage
        "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET Image Storage
    }
)

PHILIPS_CREATOR = "Philips PET Private Group"
GE_PET_CREATOR = "GEMS_PETD_01"

# CID 4021 (PET Radiopharmaceutical), DICOM PS3.16.
_DCM_TRASTUZUMAB_ZR89 = ("DCM", "126512")
_DCM_MARGETUXIMAB_ZR89 = ("DCM", "126740")
_DCM_MAB_ZR89 = ("DCM", "126511")
_DCM_MAB_CU64 = ("DCM", "126510")
_FDG_CODES = frozenset({("SCT", "35321007"), ("SRT", "C-B1031")})

# CID 4020 (PET Radionuclide): SNOMED CT codes and the legacy SNOMED-RT values still written by scanners.
_NUCLIDE_CODES: dict[tuple[str, str], Radionuclide] = {
    ("SCT", "63360001"): Radionuclide.ZR89,
    ("SRT", "C-168A4"): Radionuclide.ZR89,
    ("SCT", "3932008"): Radionuclide.CU64,
    ("SCT", "35337001"): Radionuclide.GA68,
    ("SCT", "77004003"): Radionuclide.F18,
    ("SRT", "C-111A1"): Radionuclide.F18,
}

_TRACER_NUCLIDE: dict[Tracer, Radionuclide] = {
    Tracer.ZR89_TRASTUZUMAB: Radionuclide.ZR89,
    Tracer.ZR89_PERTUZUMAB: Radionuclide.ZR89,
    Tracer.ZR89_SS_PERTUZUMAB: Radionuclide.ZR89,
    Tracer.ZR89_MARGETUXIMAB: Radionuclide.ZR89,
    Tracer.CU64_TRASTUZUMAB: Radionuclide.CU64,
    Tracer.GA68_ABY025: Radionuclide.GA68,
    Tracer.GA68_NANOBODY: Radionuclide.GA68,
}

_SS_PERTUZUMAB = re.compile(r"ss[-\s]?pertuzumab|site[-\s]?specific.*pertuzumab", re.IGNORECASE)
_HER2_WORD = re.compile(
    r"trastuzumab|pertuzumab|herceptin|perjeta|margetuximab|her-?2|aby-?025|affibody|nanobody|zr-?89.*(tras|pert)",
    re.IGNORECASE,
)
_FDG_TEXT = re.compile(r"\bfdg\b|fluoro-?deoxy-?glucose|fludeoxyglucose", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class TracerRecognition:
    """The outcome of tracer recognition: a HER2 tracer, or ``skip_reason`` saying why the series is not one.

    ``radiopharmaceutical`` is the free text (0018,0031); ``radionuclide`` the nuclide from its code or
    half-life; ``caveats`` notes such as an unconfirmed nuclide.
    """

    tracer: Tracer | None
    radionuclide: Radionuclide | None
    radiopharmaceutical: str | None = None
    skip_reason: str | None = None
    caveats: tuple[str, ...] = ()

    @property
    def is_her2(self) -> bool:
        return self.tracer is not None


def is_pet(ds: Dataset) -> bool:
    """Modality PT, or a PET storage SOP class."""
    return text(ds.get("Modality")) == "PT" or text(ds.get("SOPClassUID")) in PET_SOP_CLASSES


def radionuclide_of(ds: Dataset) -> tuple[Radionuclide | None, bool]:
    """(nuclide, coded): from the Radionuclide Code Sequence, else from the half-life (±1 %)."""
    info = first_item(ds, "RadiopharmaceuticalInformationSequence")
    if info is None:
        return None, False
    coded = _NUCLIDE_CODES.get(code_of(first_item(info, "RadionuclideCodeSequence")) or ("", ""))
    if coded is not None:
        return coded, True
    half_life = number(info.get("RadionuclideHalfLife"))
    return (nuclide_for_half_life(half_life) if half_life else None), False


def _tracer_from_text(free_text: str, nuclide: Radionuclide | None) -> Tracer | None:
    lowered = free_text.lower()
    if _SS_PERTUZUMAB.search(free_text):
        return Tracer.ZR89_SS_PERTUZUMAB
    if "margetuximab" in lowered:
        return Tracer.ZR89_MARGETUXIMAB
    if "pertuzumab" in lowered or "perjeta" in lowered:
        return Tracer.ZR89_PERTUZUMAB
    if "trastuzumab" in lowered or "herceptin" in lowered:
        if nuclide is Radionuclide.CU64 or re.search(r"64\s*-?cu|cu\s*-?64", lowered):
            return Tracer.CU64_TRASTUZUMAB
        return Tracer.ZR89_TRASTUZUMAB
    if re.search(r"aby-?025|affibody", lowered):
        return Tracer.GA68_ABY025
    if "nanobody" in lowered:
        return Tracer.GA68_NANOBODY
    if _HER2_WORD.search(free_text):
        return Tracer.OTHER_HER2
    return None


def recognise_tracer(ds: Dataset) -> TracerRecognition:
    """Recognise a HER2-targeted PET tracer from one instance's headers (spec/pet-dicom.md §8)."""
    if not is_pet(ds):
        return TracerRecognition(tracer=None, radionuclide=None, skip_reason="not a PET image series")
    info = first_item(ds, "RadiopharmaceuticalInformationSequence")
    if info is None:
        return TracerRecognition(
            tracer=None,
            radionuclide=None,
            skip_reason="no Radiopharmaceutical Information Sequence (0054,0016)",
        )
    nuclide, _ = radionuclide_of(ds)
    free_text = text(info.get("Radiopharmaceutical")) or ""
    code = code_of(first_item(info, "RadiopharmaceuticalCodeSequence"))
    tracer: Tracer | None
    if code == _DCM_TRASTUZUMAB_ZR89:
        tracer = Tracer.ZR89_TRASTUZUMAB
    elif code == _DCM_MARGETUXIMAB_ZR89:
        tracer = Tracer.ZR89_MARGETUXIMAB
    elif code in (_DCM_MAB_ZR89, _DCM_MAB_CU64):
        hint = nuclide or (Radionuclide.CU64 if code == _DCM_MAB_CU64 else Radionuclide.ZR89)
        tracer = _tracer_from_text(free_text, hint) if _HER2_WORD.search(free_text) else None
    else:
        tracer = _tracer_from_text(free_text, nuclide)
    if tracer is None:
        what = "FDG" if code in _FDG_CODES or _FDG_TEXT.search(free_text) else repr(free_text or code)
        label = f" ({nuclide.value})" if nuclide else ""
        return TracerRecognition(
            tracer=None,
            radionuclide=nuclide,
            radiopharmaceutical=free_text or None,
            skip_reason=f"not a HER2-targeted tracer: {what}{label}",
        )
    return _check_nuclide(tracer, nuclide, free_text)


def _check_nuclide(tracer: Tracer, nuclide: Radionuclide | None, free_text: str) -> TracerRecognition:
    expected = _TRACER_NUCLIDE.get(tracer)
    if nuclide is None:
        return TracerRecognition(
            tracer=tracer,
            radionuclide=expected,
            radiopharmaceutical=free_text or None,
            caveats=("radionuclide not confirmed by code or half-life",),
        )
    if expected is not None and nuclide is not expected:
        return TracerRecognition(
            tracer=None,
            radionuclide=nuclide,
            radiopharmaceutical=free_text or None,
            skip_reason=f"radionuclide {nuclide.value} contradicts tracer {tracer.value}",
        )
    return TracerRecognition(tracer=tracer, radionuclide=nuclide, radiopharmaceutical=free_text or None)


_E = TypeVar("_E", PetUnits, DecayCorrection)


def _enum_or_refuse(kind: type[_E], value: str | None, name: str) -> _E:
    if value is None:
        raise SuvNotComputableError(f"{name} is missing")
    try:
        return kind(value.upper())
    except ValueError as exc:
        raise SuvNotComputableError(f"{name} {value!r} is not supported") from exc


def _suv_type(value: str | None) -> SuvType | None:
    if value is None:
        return None
    try:
        return SuvType(value.upper())
    except ValueError as exc:
        raise SuvNotComputableError(f"SUVType (0054,1006) {value!r} is not supported") from exc


def frame_timing(ds: Dataset) -> FrameTiming:
    """One instance's frame timing: acquisition datetime, Actual Frame Duration and Frame Reference Time
    (s)."""
    acquired = parse_dt(ds.get("AcquisitionDateTime"), local_offset=ds.get("TimezoneOffsetFromUTC"))
    if acquired is None:
        date = parse_da(ds.get("AcquisitionDate")) or parse_da(ds.get("SeriesDate"))
        acquired = combine(date, parse_tm(ds.get("AcquisitionTime")))
    duration_ms = number(ds.get("ActualFrameDuration"))
    frt_ms = number(ds.get("FrameReferenceTime"))
    return FrameTiming(
        acquired_at=acquired,
        duration_s=duration_ms / 1000.0 if duration_ms is not None else None,
        reference_time_s=frt_ms / 1000.0 if frt_ms is not None else None,
    )


def _sex(value: str | None) -> Sex:
    return Sex(value) if value in ("M", "F", "O") else Sex.OTHER


def calibration_from_datasets(
    datasets: Sequence[Dataset],
    *,
    lenient_units: bool = False,
    injected_at_external: dt.datetime | None = None,
) -> tuple[SuvCalibration, tuple[str, ...]]:
    """Decode the SUV calibration of one series; ``datasets`` are its instances in volume order.

    Series-level values come from the first instance; frame timing from every instance. ``lenient_units``
    applies the IBSI unit corrections (weight > 1000 taken as grams, dose < 1e4 taken as MBq) and returns them
    as caveats; without it such values are refused by ``SuvCalibration``. ``injected_at_external`` is an
    injection time from another source, e.g. a FHIR MedicationAdministration. Raises ``SuvNotComputableError``
    for missing or invalid attributes.
    """
    if not datasets:
        raise SuvNotComputableError("no PET instances")
    ds = datasets[0]
    caveats: list[str] = []
    info = first_item(ds, "RadiopharmaceuticalInformationSequence")
    if info is None:
        raise SuvNotComputableError("RadiopharmaceuticalInformationSequence (0054,0016) is missing")
    tz = ds.get("TimezoneOffsetFromUTC")
    weight = number(ds.get("PatientWeight"))
    dose = number(info.get("RadionuclideTotalDose"))
    if lenient_units and weight is not None and weight > 1000:
        weight /= 1000.0
        caveats.append("PatientWeight taken as grams and converted to kg")
    if lenient_units and dose is not None and 0 < dose < 1e4:
        dose *= 1e6
        caveats.append("RadionuclideTotalDose taken as MBq and converted to Bq")
    nuclide, coded = radionuclide_of(ds)
    corrected = {v.upper() for v in (text(x) for x in (ds.get("CorrectedImage") or [])) if v}
    if "DECAY" in corrected:
        corrected.add("DECY")
    calibration = SuvCalibration(
        units=_enum_or_refuse(PetUnits, text(ds.get("Units")), "Units (0054,1001)"),
        decay_correction=_enum_or_refuse(
            DecayCorrection, text(ds.get("DecayCorrection")), "DecayCorrection (0054,1102)"
        ),
        suv_type=_suv_type(text(ds.get("SUVType"))),
        corrected_image=frozenset(corrected),
        half_life_s=number(info.get("RadionuclideHalfLife")),
        injected_dose_bq=dose,
        injected_at=parse_dt(info.get("RadiopharmaceuticalStartDateTime"), local_offset=tz),
        injection_time=parse_tm(info.get("RadiopharmaceuticalStartTime")),
        injected_at_external=injected_at_external,
        series_at=combine(parse_da(ds.get("SeriesDate")), parse_tm(ds.get("SeriesTime"))),
        frames=tuple(frame_timing(item) for item in datasets),
        weight_kg=weight,
        height_m=number(ds.get("PatientSize")),
        sex=_sex(text(ds.get("PatientSex"))),
        philips_suv_factor=number(private_value(ds, 0x7053, 0x1000, PHILIPS_CREATOR)),
        philips_activity_factor=number(private_value(ds, 0x7053, 0x1009, PHILIPS_CREATOR)),
        ge_scan_at=parse_dt(private_value(ds, 0x0009, 0x100D, GE_PET_CREATOR), local_offset=tz),
        decay_correction_at=parse_dt(ds.get("DecayCorrectionDateTime"), local_offset=tz),
        radionuclide=nuclide,
        radionuclide_coded=coded,
    )
    return calibration, tuple(caveats)
