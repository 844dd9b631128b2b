"""SUVbw against the published oracles (spec/pet-dicom.md §12) and the refusals of §3, plus property tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from connectors.dicom.headers import calibration_from_datasets
from connectors.dicom.volume import sort_instances, stack_slices
from connectors.errors import SuvNotComputableError
from connectors.pet.suv import (
    average_count_rate_offset_s,
    suvbw_conversion,
    suvbw_volume,
)
from connectors.pet.types import (
    DecayCorrection,
    FrameTiming,
    PetUnits,
    Radionuclide,
    Sex,
    SuvCalibration,
    SuvType,
)
from tests.unit.connectors.pet.oracles import cornerstone_series, read_nifti_mask, read_series

DROS = [
    "DRO_0_0",
    "DRO_1_0",
    "DRO_2_0",
    "DRO_2_1",
    "DRO_2_2",
    "DRO_2_3",
    "DRO_2_4",
    "DRO_2_5",
    "DRO_3_0",
    "DRO_3_1",
    "DRO_3_2",
    "DRO_3_3",
    "DRO_3_4",
    "DRO_4_0",
    "DRO_4_1",
    "DRO_4_2",
    "DRO_5_0",
]
CORNERSTONE = [
    "PHILIPS_BQML",
    "PHILIPS_CNTS_AND_BQML_SUV",
    "PHILIPS_CNTS_AND_SUV",
    "SIEMENS",
    "GE_MEDICAL_AND_BQML",
    "BQML_AC_DT_lessThan_S_DT_SIEMENS",
    "CPS_AND_BQML_AC_DT_-_S_DT",
    "RADIOPHARM_DATETIME_UNDEFINED",
]
Cornerstone = tuple[dict[str, list[Dataset]], dict[str, float]]
SYNTHETIC_FACTOR = 0.004459607551396731
T0 = dt.datetime(2024, 3, 4, 9, 0, 0)


# ----------------------------------------------------------------------------------------------------
# Oracle 1: IBSI/OncoRay DROs (SOURCES.md: min/median/max 0.20/1.00/4.00; tolerance 0.005, DRO_2_3 0.03)


@pytest.mark.parametrize("name", DROS)
def test_ibsi_dro_suvbw_inside_mask(dro_root: Path, name: str) -> None:
    folder = dro_root / name
    ordered = sort_instances(read_series(folder / "PT"))
    calibration, _ = calibration_from_datasets(ordered, lenient_units=True)
    raw, _ = stack_slices(ordered)
    volume, _ = suvbw_volume(raw, calibration)
    mask = read_nifti_mask(folder / "mask" / "DRO_mask.nii.gz") > 0
    assert mask.shape == volume.suv.shape
    inside = volume.suv[mask].astype(np.float64)
    tolerance = 0.03 if name == "DRO_2_3" else 0.005
    assert inside.min() == pytest.approx(0.20, abs=tolerance)
    assert float(np.median(inside)) == pytest.approx(1.00, abs=tolerance)
    assert inside.max() == pytest.approx(4.00, abs=tolerance)


def test_ibsi_dose_in_mbq_is_refused_without_lenient_units(dro_root: Path) -> None:
    ordered = sort_instances(read_series(dro_root / "DRO_3_0" / "PT"))
    with pytest.raises(SuvNotComputableError, match="MBq"):
        calibration_from_datasets(ordered)


def test_ibsi_series_after_acquisition_uses_frame_reference_time(dro_root: Path) -> None:
    ordered = sort_instances(read_series(dro_root / "DRO_3_2" / "PT"))
    conversion = suvbw_conversion(calibration_from_datasets(ordered)[0])
    assert conversion.reference_at is not None
    assert conversion.reference_at.time() < dt.time(11, 0, 5)
    assert any("FrameReferenceTime" in c for c in conversion.caveats)


def test_ibsi_decay_none_gives_each_frame_its_own_factor(dro_root: Path) -> None:
    ordered = sort_instances(read_series(dro_root / "DRO_3_4" / "PT"))
    conversion = suvbw_conversion(calibration_from_datasets(ordered)[0])
    assert conversion.reference_at is None
    assert len(set(conversion.factors)) == 2


# ----------------------------------------------------------------------------------------------------
# Oracle 2: cornerstone real-vendor header extracts (factor of instance 0 within 1e-6)


@pytest.fixture(scope="module")
def cornerstone(testdata: Path) -> Cornerstone:
    folder = testdata / "pet" / "cornerstone-calculate-suv"
    expected = json.loads((folder / "expected_suvbw_factors.json").read_text())
    return cornerstone_series(folder), expected


@pytest.mark.parametrize("name", CORNERSTONE)
def test_cornerstone_vendor_factor(cornerstone: Cornerstone, name: str) -> None:
    series, expected = cornerstone
    calibration, _ = calibration_from_datasets(series[name][:1])
    factor = suvbw_conversion(calibration).factor
    assert factor == pytest.approx(expected[name], abs=1e-6)
    assert factor == pytest.approx(expected[name], rel=1e-6)


def test_cornerstone_covers_every_expected_series(
    cornerstone: Cornerstone,
) -> None:
    series, expected = cornerstone
    assert set(CORNERSTONE) == set(series) == {k for k in expected if not k.startswith("_")}


# ----------------------------------------------------------------------------------------------------
# Oracle 3: synthetic 89Zr-trastuzumab series


def test_synthetic_89zr_factor_and_statistics(synthetic_89zr: Path) -> None:
    ordered = sort_instances(read_series(synthetic_89zr))
    calibration, _ = calibration_from_datasets(ordered)
    assert calibration.radionuclide is Radionuclide.ZR89
    raw, _ = stack_slices(ordered)
    assert len(set(raw.slopes.tolist())) == 3
    volume, conversion = suvbw_volume(raw, calibration)
    assert conversion.factor == pytest.approx(SYNTHETIC_FACTOR, rel=1e-9)
    assert conversion.uptake_h == pytest.approx(97.0)
    assert float(volume.suv.max()) == pytest.approx(6.0, abs=1e-3)
    lesion = volume.suv > 2.0
    assert int(lesion.sum()) == 81
    assert float(volume.suv[lesion].mean()) == pytest.approx(4.025, abs=5e-4)


def test_synthetic_89zr_without_start_datetime_is_refused(synthetic_89zr: Path) -> None:
    ordered = sort_instances(read_series(synthetic_89zr))
    for ds in ordered:
        del ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime
    calibration, _ = calibration_from_datasets(ordered)
    with pytest.raises(SuvNotComputableError, match=r"RadiopharmaceuticalStartDateTime \(0018,1078\).*89Zr"):
        suvbw_conversion(calibration)


def test_synthetic_89zr_external_injection_time_is_accepted_with_caveat(synthetic_89zr: Path) -> None:
    ordered = sort_instances(read_series(synthetic_89zr))
    for ds in ordered:
        del ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime
    calibration, _ = calibration_from_datasets(ordered, injected_at_external=T0)
    conversion = suvbw_conversion(calibration)
    assert conversion.factor == pytest.approx(SYNTHETIC_FACTOR, rel=1e-9)
    assert any("other than the PET header" in c for c in conversion.caveats)


# ----------------------------------------------------------------------------------------------------
# Refusals (spec/pet-dicom.md §3) on a hand-built calibration


def _calibration(**changes: object) -> SuvCalibration:
    base = SuvCalibration(
        units=PetUnits.BQML,
        decay_correction=DecayCorrection.START,
        half_life_s=282_276.0,
        injected_dose_bq=37e6,
        injected_at=T0,
        series_at=T0 + dt.timedelta(hours=97),
        frames=(
            FrameTiming(acquired_at=T0 + dt.timedelta(hours=97), duration_s=300.0, reference_time_s=0.0),
        ),
        corrected_image=frozenset({"ATTN", "DECY"}),
        weight_kg=70.0,
        height_m=1.65,
        sex=Sex.FEMALE,
        radionuclide=Radionuclide.ZR89,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_hand_built_calibration_reproduces_synthetic_factor() -> None:
    assert suvbw_conversion(_calibration()).factor == pytest.approx(SYNTHETIC_FACTOR, rel=1e-12)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"corrected_image": frozenset({"DECY"})}, "ATTN", id="no-attenuation-correction"),
        pytest.param({"corrected_image": frozenset({"ATTN"})}, "DECY", id="no-decay-correction-flag"),
        pytest.param({"weight_kg": None}, "PatientWeight", id="no-weight"),
        pytest.param({"injected_dose_bq": None}, "RadionuclideTotalDose", id="no-dose"),
        pytest.param({"half_life_s": None}, "RadionuclideHalfLife", id="no-half-life"),
        pytest.param({"half_life_s": 282_276.0 * 1.02}, "differs by more than 1 %", id="half-life-off-table"),
        pytest.param({"radionuclide": None, "half_life_s": 50_000.0}, "no known", id="unknown-half-life"),
        pytest.param(
            {"injected_at": None, "injection_time": T0.time()}, "required for 89Zr", id="89Zr-time-only"
        ),
        pytest.param(
            {
                "injected_at": None,
                "injection_time": T0.time(),
                "radionuclide": Radionuclide.CU64,
                "half_life_s": 45_724.0,
            },
            "required for 64Cu",
            id="64Cu-time-only",
        ),
        pytest.param(
            {"injected_at": None, "radionuclide": Radionuclide.F18, "half_life_s": 6586.2},
            "neither",
            id="no-injection-time",
        ),
        pytest.param({"units": PetUnits.CPS}, "CPS", id="units-cps"),
        pytest.param({"units": PetUnits.PROPCNTS}, "PROPCNTS", id="units-propcnts"),
        pytest.param({"units": PetUnits.CNTS}, "Philips", id="cnts-without-factors"),
        pytest.param({"units": PetUnits.GML, "suv_type": SuvType.BSA}, "inconsistent", id="gml-bsa"),
        pytest.param(
            {"units": PetUnits.GML, "suv_type": SuvType.IBW, "height_m": None},
            "PatientSize",
            id="ibw-no-height",
        ),
    ],
)
def test_refusals_name_what_is_missing(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SuvNotComputableError, match=message):
        suvbw_conversion(_calibration(**changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"weight_kg": 70_000.0}, "grams", id="weight-in-grams"),
        pytest.param({"injected_dose_bq": 37.0}, "MBq", id="dose-in-MBq"),
        pytest.param({"injected_at": T0 + dt.timedelta(days=5)}, "precedes", id="scan-before-injection"),
        pytest.param({"injected_at": T0 - dt.timedelta(days=20)}, "14 days", id="uptake-over-14-days"),
        pytest.param({"injected_dose_bq": -1.0}, "positive", id="negative-dose"),
        pytest.param({"frames": ()}, "at least one frame", id="no-frames"),
    ],
)
def test_calibration_validates_on_construction(changes: dict[str, object], message: str) -> None:
    with pytest.raises(SuvNotComputableError, match=message):
        _calibration(**changes)


def test_nonzero_rescale_intercept_is_refused(synthetic_89zr: Path) -> None:
    ordered = sort_instances(read_series(synthetic_89zr))
    ordered[3].RescaleIntercept = "5"
    calibration, _ = calibration_from_datasets(ordered)
    raw, _ = stack_slices(ordered)
    with pytest.raises(SuvNotComputableError, match="RescaleIntercept"):
        suvbw_volume(raw, calibration)


def test_lbm_suv_type_assumes_james_128_with_caveat() -> None:
    conversion = suvbw_conversion(_calibration(units=PetUnits.GML, suv_type=SuvType.LBM, sex=Sex.MALE))
    assert any("James (128)" in c for c in conversion.caveats)
    lbm = 1.10 * 70.0 - 128.0 * (70.0 / 165.0) ** 2
    assert conversion.factor == pytest.approx(70.0 / lbm)


def test_short_lived_time_only_injection_before_midnight_moves_a_day() -> None:
    scan = dt.datetime(2025, 1, 2, 0, 30)
    calibration = _calibration(
        radionuclide=Radionuclide.F18,
        half_life_s=6586.2,
        injected_at=None,
        injection_time=dt.time(23, 30),
        series_at=scan,
        frames=(FrameTiming(acquired_at=scan, duration_s=300.0, reference_time_s=0.0),),
    )
    conversion = suvbw_conversion(calibration)
    assert conversion.injected_at == dt.datetime(2025, 1, 1, 23, 30)
    assert conversion.uptake_h == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=60, deadline=None)
@given(dose=st.floats(1e6, 1e10), weight=st.floats(20.0, 250.0))
def test_suv_is_inverse_in_dose_and_linear_in_weight(dose: float, weight: float) -> None:
    base = suvbw_conversion(_calibration()).factor
    scaled = suvbw_conversion(_calibration(injected_dose_bq=dose, weight_kg=weight)).factor
    assert scaled == pytest.approx(base * (37e6 / dose) * (weight / 70.0), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(hours=st.floats(1.0, 300.0), extra=st.floats(0.1, 30.0))
def test_suv_factor_grows_with_decay_time_by_the_half_life_law(hours: float, extra: float) -> None:
    def factor(h: float) -> float:
        at = T0 + dt.timedelta(hours=h)
        frame = FrameTiming(acquired_at=at, duration_s=300.0, reference_time_s=0.0)
        return suvbw_conversion(_calibration(series_at=at, frames=(frame,))).factor

    early, late = factor(hours), factor(hours + extra)
    assert late > early
    assert late / early == pytest.approx(2.0 ** (extra * 3600.0 / 282_276.0), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(hours=st.floats(1.0, 300.0))
def test_decay_correction_branches_agree(hours: float) -> None:
    """START at t_acq is ADMIN times the decay to t_acq; NONE with a zero-length frame equals START."""
    at = T0 + dt.timedelta(hours=hours)
    frames = (FrameTiming(acquired_at=at, duration_s=0.0, reference_time_s=0.0),)
    start = suvbw_conversion(_calibration(series_at=at, frames=frames)).factor
    admin = suvbw_conversion(
        _calibration(series_at=at, frames=frames, decay_correction=DecayCorrection.ADMIN)
    )
    none = suvbw_conversion(_calibration(series_at=at, frames=frames, decay_correction=DecayCorrection.NONE))
    assert start == pytest.approx(admin.factor * 2.0 ** (hours * 3600.0 / 282_276.0), rel=1e-9)
    assert none.factor == pytest.approx(start, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([0.25, 0.5, 2.0, 4.0, 8.0]))
def test_suv_invariant_to_how_activity_is_split_between_pixels_and_slope(
    synthetic_89zr: Path, scale: float
) -> None:
    ordered = sort_instances(read_series(synthetic_89zr))
    calibration, _ = calibration_from_datasets(ordered)
    raw, _ = stack_slices(ordered)
    reference, _ = suvbw_volume(raw, calibration)
    rescaled = dataclasses.replace(
        raw, stored=raw.stored.astype(np.float64) * scale, slopes=raw.slopes / scale
    )
    volume, _ = suvbw_volume(rescaled, calibration)
    np.testing.assert_allclose(volume.suv, reference.suv, rtol=1e-5, atol=1e-6)


def test_average_count_rate_offset_is_about_half_a_short_frame() -> None:
    assert average_count_rate_offset_s(300.0, 282_276.0) == pytest.approx(150.0, rel=1e-3)
    assert average_count_rate_offset_s(0.0, 6586.2) == 0.0
    assert average_count_rate_offset_s(3600.0, 6586.2) < 1800.0
    assert math.isfinite(average_count_rate_offset_s(1e6, 76.0))
