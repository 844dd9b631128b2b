"""Tracer recognition (spec/pet-dicom.md §8) and header decoding helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from connectors.dicom.headers import calibration_from_datasets, recognise_tracer
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom
from connectors.dicom.values import parse_dt, parse_tm, private_value
from connectors.errors import SuvNotComputableError
from connectors.pet.types import DecayCorrection, PetUnits, Radionuclide
from rules.domain import Tracer
from tests.unit.connectors.pet.oracles import read_series


def _code(value: str, scheme: str, meaning: str = "") -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _pet(
    text: str | None = None,
    code: tuple[str, str] | None = None,
    nuclide: tuple[str, str] | None = None,
    half_life: float | None = None,
    modality: str = "PT",
) -> Dataset:
    ds = Dataset()
    ds.Modality = modality
    info = Dataset()
    if text is not None:
        info.Radiopharmaceutical = text
    if code is not None:
        info.RadiopharmaceuticalCodeSequence = DicomSequence([_code(*code)])
    if nuclide is not None:
        info.RadionuclideCodeSequence = DicomSequence([_code(*nuclide)])
    if half_life is not None:
        info.RadionuclideHalfLife = str(half_life)
    ds.RadiopharmaceuticalInformationSequence = DicomSequence([info])
    return ds


ZR = ("63360001", "SCT")


@pytest.mark.parametrize(
    ("ds", "tracer"),
    [
        pytest.param(_pet(code=("126512", "DCM"), nuclide=ZR), Tracer.ZR89_TRASTUZUMAB, id="DCM-126512"),
        pytest.param(
            _pet(code=("126740", "DCM"), half_life=282276), Tracer.ZR89_MARGETUXIMAB, id="DCM-126740"
        ),
        pytest.param(
            _pet("89Zr-DFO-pertuzumab", ("126511", "DCM"), ZR), Tracer.ZR89_PERTUZUMAB, id="126511+text"
        ),
        pytest.param(
            _pet("Trastuzumab Zr-89", nuclide=("C-168A4", "SRT")), Tracer.ZR89_TRASTUZUMAB, id="text+SRT"
        ),
        pytest.param(
            _pet("89Zr-ss-pertuzumab", half_life=282276.0), Tracer.ZR89_SS_PERTUZUMAB, id="ss-pertuzumab"
        ),
        pytest.param(_pet("Site-specific 89Zr pertuzumab"), Tracer.ZR89_SS_PERTUZUMAB, id="site-specific"),
        pytest.param(_pet("Zr89 HERCEPTIN"), Tracer.ZR89_TRASTUZUMAB, id="herceptin-upper"),
        pytest.param(
            _pet("64Cu-DOTA-trastuzumab", ("126510", "DCM"), half_life=45724),
            Tracer.CU64_TRASTUZUMAB,
            id="64Cu-trastuzumab",
        ),
        pytest.param(_pet("68Ga-ABY-025", half_life=4062.6), Tracer.GA68_ABY025, id="ABY-025"),
        pytest.param(
            _pet("68Ga-NOTA-anti-HER2 nanobody", half_life=4062.6), Tracer.GA68_NANOBODY, id="nanobody"
        ),
    ],
)
def test_her2_tracers_are_recognised(ds: Dataset, tracer: Tracer) -> None:
    result = recognise_tracer(ds)
    assert result.tracer is tracer
    assert result.skip_reason is None


@pytest.mark.parametrize(
    ("ds", "reason"),
    [
        pytest.param(
            _pet("FDG", nuclide=("C-111A1", "SRT")), "not a HER2-targeted tracer: FDG (18F)", id="FDG"
        ),
        pytest.param(_pet("Fludeoxyglucose", code=("35321007", "SCT")), "FDG", id="FDG-code"),
        pytest.param(_pet("Ga68-PSMA", half_life=4057.7), "not a HER2-targeted tracer", id="PSMA"),
        pytest.param(
            _pet(code=("126511", "DCM"), nuclide=ZR), "not a HER2", id="generic-mab-without-HER2-word"
        ),
        pytest.param(
            _pet("Trastuzumab Zr-89", nuclide=("77004003", "SCT")), "contradicts", id="nuclide-mismatch"
        ),
        pytest.param(_pet("Trastuzumab Zr-89", modality="CT"), "not a PET", id="not-PET"),
    ],
)
def test_other_series_are_skipped_with_a_reason(ds: Dataset, reason: str) -> None:
    result = recognise_tracer(ds)
    assert result.tracer is None
    assert result.skip_reason is not None
    assert reason in result.skip_reason


def test_series_description_alone_is_not_sufficient() -> None:
    ds = _pet("")
    ds.SeriesDescription = "89Zr trastuzumab PET"
    assert recognise_tracer(ds).tracer is None


def test_unconfirmed_nuclide_is_a_caveat() -> None:
    result = recognise_tracer(_pet("Trastuzumab"))
    assert result.tracer is Tracer.ZR89_TRASTUZUMAB
    assert result.caveats


def test_synthetic_series_is_89zr_trastuzumab(synthetic_89zr: Path) -> None:
    ds = read_series(synthetic_89zr)[0]
    result = recognise_tracer(ds)
    assert (result.tracer, result.radionuclide) == (Tracer.ZR89_TRASTUZUMAB, Radionuclide.ZR89)


def test_calibration_decodes_phantom_headers() -> None:
    series = make_phantom(PhantomSpec())
    calibration, caveats = calibration_from_datasets(series.pet)
    assert caveats == ()
    assert calibration.units is PetUnits.BQML
    assert calibration.decay_correction is DecayCorrection.START
    assert calibration.injected_at == series.expected.injected_at
    assert calibration.weight_kg == 70.0
    assert len(calibration.frames) == len(series.pet)


def test_philips_private_factor_read_through_its_creator() -> None:
    ds = make_phantom(PhantomSpec(variant=PhantomVariant.PHILIPS_CNTS)).pet[0]
    assert "Philips PET Private Group" in str(ds[0x70530010].value)
    calibration, _ = calibration_from_datasets([ds])
    assert calibration.philips_suv_factor == pytest.approx(make_phantom(PhantomSpec()).expected.suvbw_factor)


def test_private_value_falls_back_to_the_literal_tag() -> None:
    ds = Dataset()
    ds.add_new(0x70531000, "DS", "0.0005")
    assert private_value(ds, 0x7053, 0x1000, "Philips PET Private Group") == pytest.approx(0.0005)


def test_unknown_units_are_refused() -> None:
    ds = make_phantom(PhantomSpec()).pet[0]
    ds.Units = "WEIRD"
    with pytest.raises(SuvNotComputableError, match="Units"):
        calibration_from_datasets([ds])


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("20240304090000", None, dt.datetime(2024, 3, 4, 9)),
        ("20240304090000.5 ", None, dt.datetime(2024, 3, 4, 9, 0, 0, 500000)),
        ("20240304090000+0100", None, dt.datetime(2024, 3, 4, 9)),
        ("20240304090000+0100", "+0200", dt.datetime(2024, 3, 4, 10)),
        ("2024", None, dt.datetime(2024, 1, 1)),
        ("garbage", None, None),
    ],
)
def test_parse_dt(value: str, offset: str | None, expected: dt.datetime | None) -> None:
    assert parse_dt(value, local_offset=offset) == expected


def test_parse_tm_accepts_legacy_colons_and_fractions() -> None:
    assert parse_tm("09:30:15") == dt.time(9, 30, 15)
    assert parse_tm("093015.123") == dt.time(9, 30, 15, 123000)
    assert parse_tm("") is None
