"""``analyze_series``: lesion order of trust, refusals as errors, the JSON of issue 3 item 6, PET facts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from connectors.dicom.analysis import analyze_series
from connectors.dicom.phantom import PhantomSeries, PhantomSpec, PhantomVariant, make_phantom
from rules.domain import LesionOrigin, LesionSite, ReaderCall, Tracer
from tests.unit.connectors.pet.oracles import read_series

SERIES_KEYS = {
    "studyInstanceUid",
    "seriesInstanceUid",
    "patientId",
    "tracer",
    "radionuclide",
    "halfLifeSeconds",
    "injectionDateTime",
    "uptakeHours",
    "suvbwMax",
    "lesions",
    "warnings",
    "error",
}
LESION_KEYS = {"id", "source", "site", "suvMax", "suvPeak", "avid"}


@pytest.fixture(scope="module")
def full() -> PhantomSeries:
    return make_phantom(PhantomSpec(with_seg=True, with_sr=True))


def test_reader_reports_come_first_and_gain_seg_measurements(full: PhantomSeries) -> None:
    result = analyze_series(full.pet, sr=full.sr, seg=full.seg)
    assert result.error is None
    assert [lesion.origin for lesion in result.lesions] == [LesionOrigin.READER_SR] * 3
    for lesion, expected in zip(result.lesions, full.expected.lesions, strict=True):
        assert lesion.lesion_id == expected.label
        assert lesion.suv_max == pytest.approx(expected.suv_max, rel=1e-3)
        assert lesion.suv_peak == pytest.approx(expected.suv_peak, rel=1e-3)
        assert lesion.suv_mean == pytest.approx(expected.suv_mean, rel=1e-3)
        assert lesion.volume_ml == pytest.approx(expected.volume_ml)
        assert lesion.site is (LesionSite.HEPATIC if expected.hepatic else LesionSite.NON_HEPATIC)
        assert (
            lesion.reader_call
            is {True: ReaderCall.AVID, False: ReaderCall.NON_AVID, None: None}[expected.avid]
        )
    assert result.references[0].method == "reader SR"


def test_json_has_the_exact_shape_of_the_cli(full: PhantomSeries) -> None:
    document = analyze_series(full.pet, sr=full.sr, seg=full.seg).to_json()
    json.dumps(document)
    assert set(document) == SERIES_KEYS
    assert all(set(lesion) == LESION_KEYS for lesion in document["lesions"])
    assert document["tracer"] == "89Zr-trastuzumab"
    assert document["radionuclide"] == "89Zr"
    assert document["halfLifeSeconds"] == pytest.approx(282_276.0)
    assert document["injectionDateTime"] == "2024-03-04T09:00:00"
    assert document["uptakeHours"] == pytest.approx(120.0)
    assert document["suvbwMax"] == pytest.approx(full.expected.suvbw_max, rel=1e-3)
    assert [lesion["avid"] for lesion in document["lesions"]] == [True, True, False]
    assert [lesion["source"] for lesion in document["lesions"]] == ["sr", "sr", "sr"]
    assert document["lesions"][1]["site"] == "hepatic"
    assert document["error"] is None


def test_seg_without_reports_gives_unassessed_seg_lesions() -> None:
    series = make_phantom(PhantomSpec(with_seg=True))
    result = analyze_series(series.pet, seg=series.seg)
    assert [lesion.origin for lesion in result.lesions] == [LesionOrigin.SEG] * 3
    assert all(lesion.reader_call is ReaderCall.NOT_ASSESSED for lesion in result.lesions)
    assert [lesion.site for lesion in result.lesions] == [
        LesionSite.NON_HEPATIC,
        LesionSite.HEPATIC,
        LesionSite.NON_HEPATIC,
    ]
    methods = {ref.region.value: ref.method for ref in result.references}
    assert methods["liver"].startswith("SEG segment")
    liver = next(ref for ref in result.references if ref.region.value == "liver")
    assert liver.suv_mean == pytest.approx(series.expected.liver_suvmean, rel=1e-3)


def test_without_reads_automated_candidates_are_unconfirmed() -> None:
    series = make_phantom(PhantomSpec())
    result = analyze_series(series.pet)
    document = result.to_json()
    assert [lesion["source"] for lesion in document["lesions"]] == ["auto", "auto"]
    assert all(lesion["avid"] is None for lesion in document["lesions"])
    hot = sorted(series.expected.lesions, key=lambda e: -e.suv_max)
    assert [lesion["suvMax"] for lesion in document["lesions"]] == pytest.approx(
        [e.suv_max for e in hot[:2]], rel=1e-3
    )
    assert any("unconfirmed" in w for w in result.warnings)
    facts = result.facts()
    assert facts is not None
    assert all(lesion.origin is LesionOrigin.AUTOMATED for lesion in facts.lesions)


def test_fdg_is_skipped_with_a_reason() -> None:
    result = analyze_series(make_phantom(PhantomSpec(variant=PhantomVariant.FDG)).pet)
    assert result.tracer is None
    assert result.error == "not a HER2-targeted tracer: FDG (18F)"
    assert result.facts() is None
    assert result.to_json()["suvbwMax"] is None


def test_missing_injection_datetime_is_an_error_not_an_exception(full: PhantomSeries) -> None:
    series = make_phantom(PhantomSpec(variant=PhantomVariant.MISSING_INJECTION_DATETIME, with_sr=True))
    result = analyze_series(series.pet, sr=series.sr)
    document = result.to_json()
    assert document["suvbwMax"] is None
    assert document["halfLifeSeconds"] == pytest.approx(282_276.0)
    assert document["injectionDateTime"] is None
    assert "RadiopharmaceuticalStartDateTime (0018,1078)" in document["error"]
    assert all(lesion["suvMax"] is None for lesion in document["lesions"])
    assert [lesion["avid"] for lesion in document["lesions"]] == [True, True, False]
    facts = result.facts()
    assert facts is not None
    assert not facts.suv_available
    assert document["error"] in facts.caveats


def test_external_injection_datetime_recovers_the_suv() -> None:
    series = make_phantom(PhantomSpec(variant=PhantomVariant.MISSING_INJECTION_DATETIME))
    result = analyze_series(series.pet, injected_at=series.expected.injected_at)
    assert result.error is None
    assert result.suvbw_max == pytest.approx(series.expected.suvbw_max, rel=1e-3)


@pytest.mark.parametrize(
    ("variant", "tracer"),
    [
        (PhantomVariant.PERTUZUMAB, Tracer.ZR89_PERTUZUMAB),
        (PhantomVariant.SS_PERTUZUMAB, Tracer.ZR89_SS_PERTUZUMAB),
        (PhantomVariant.PHILIPS_CNTS, Tracer.ZR89_TRASTUZUMAB),
    ],
)
def test_variants(variant: PhantomVariant, tracer: Tracer) -> None:
    series = make_phantom(PhantomSpec(variant=variant))
    result = analyze_series(series.pet)
    assert result.tracer is tracer
    assert result.error is None
    assert result.suvbw_max == pytest.approx(series.expected.suvbw_max, rel=1e-3)


def test_synthetic_89zr_series(synthetic_89zr: Path) -> None:
    result = analyze_series(read_series(synthetic_89zr))
    document = result.to_json()
    assert document["tracer"] == "89Zr-trastuzumab"
    assert document["uptakeHours"] == pytest.approx(97.0)
    assert document["suvbwMax"] == pytest.approx(6.0, abs=1e-3)
    assert document["lesions"][0]["suvPeak"] == pytest.approx(4.1053, abs=1e-3)


def test_input_problems_become_errors(full: PhantomSeries) -> None:
    assert analyze_series([]).error == "no PET instances"
    other = make_phantom(PhantomSpec(variant=PhantomVariant.PERTUZUMAB)).pet
    assert "more than one series" in (analyze_series([*full.pet, *other]).error or "")
    duplicated = analyze_series([*full.pet, full.pet[0]])
    assert duplicated.error is not None
    assert "share a slice position" in duplicated.error


def test_picture_is_a_png(full: PhantomSeries) -> None:
    png = analyze_series(full.pet, sr=full.sr, seg=full.seg).picture()
    assert png is not None
    assert png.startswith(b"\x89PNG")
    assert analyze_series([]).picture() is None


def test_facts_carry_times_and_references(full: PhantomSeries) -> None:
    facts = analyze_series(full.pet, sr=full.sr, seg=full.seg).facts()
    assert facts is not None
    assert facts.injected_at == full.expected.injected_at
    assert facts.acquired_at == full.expected.injected_at + dt.timedelta(hours=120)
    assert facts.uptake_h == pytest.approx(120.0)
    assert facts.references.liver_suvmean == pytest.approx(4.0)
    assert facts.references.blood_pool_method == "reader SR"
    assert facts.suv_available


def _site_codes(spec: PhantomSpec) -> list[str]:
    return [lesion.site[0] for lesion in spec.lesions]


def test_reader_lesions_carry_the_finding_site_code_and_the_reader_suvmax(full: PhantomSeries) -> None:
    result = analyze_series(full.pet, sr=full.sr, seg=full.seg)
    assert [lesion.site_code for lesion in result.lesions] == _site_codes(PhantomSpec())
    assert [lesion.reader_suv_max for lesion in result.lesions] == [
        round(e.suv_max, 3) for e in full.expected.lesions
    ]


def test_the_reader_suvmax_is_kept_when_our_suv_is_refused() -> None:
    series = make_phantom(PhantomSpec(variant=PhantomVariant.MISSING_INJECTION_DATETIME, with_sr=True))
    result = analyze_series(series.pet, sr=series.sr)
    assert result.error is not None
    assert [lesion.suv_max for lesion in result.lesions] == [None] * 3
    assert [lesion.reader_suv_max for lesion in result.lesions] == [9.0, 13.0, 2.4]


def test_seg_lesions_carry_the_anatomic_region_code() -> None:
    series = make_phantom(PhantomSpec(with_seg=True))
    result = analyze_series(series.pet, seg=series.seg)
    assert [lesion.site_code for lesion in result.lesions] == _site_codes(PhantomSpec())
    assert all(lesion.reader_suv_max is None for lesion in result.lesions)


def test_an_automated_candidate_in_the_segmented_liver_is_coded_liver() -> None:
    pet = make_phantom(PhantomSpec(seed="auto-liver")).pet
    organs = make_phantom(PhantomSpec(seed="auto-liver", lesions=(), with_seg=True)).seg
    result = analyze_series(pet, seg=organs)
    assert {lesion.origin for lesion in result.lesions} == {LesionOrigin.AUTOMATED}
    coded = {lesion.site: lesion.site_code for lesion in result.lesions}
    assert coded[LesionSite.HEPATIC] == "10200004"
    assert coded[LesionSite.NON_HEPATIC] is None
