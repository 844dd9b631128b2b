"""The uptake call: reader first, unconfirmed candidates, optional labelled threshold, liver, window."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import parameters
from rules.domain import (
    DrugClass,
    LesionOrigin,
    LesionSite,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    ReferenceUptake,
    SourceRef,
    TherapyExposure,
    Tracer,
)
from rules.uptake import assess_uptake, uptake_hours, within_uptake_window

ACQUIRED = dt.datetime(2025, 6, 30, 10, 0)

SR, SEG, AUTO = LesionOrigin.READER_SR, LesionOrigin.SEG, LesionOrigin.AUTOMATED
AVID, NON_AVID, NOT_ASSESSED = ReaderCall.AVID, ReaderCall.NON_AVID, ReaderCall.NOT_ASSESSED
LIVER, OTHER, UNKNOWN_SITE = LesionSite.HEPATIC, LesionSite.NON_HEPATIC, LesionSite.UNKNOWN


def lesion(
    call: ReaderCall,
    origin: LesionOrigin,
    site: LesionSite = OTHER,
    suv_max: float | None = 6.0,
    lesion_id: str = "L1",
) -> PetLesion:
    return PetLesion(
        lesion_id=lesion_id,
        site=site,
        reader_call=call,
        origin=origin,
        suv_max=suv_max,
        suv_peak=None if suv_max is None else suv_max * 0.8,
        source=SourceRef(system="dicom", reference=f"study/1.2/series/1.2.9/{lesion_id}"),
    )


def facts(
    *lesions: PetLesion,
    tracer: Tracer = Tracer.ZR89_TRASTUZUMAB,
    uptake_h: float | None = 120.0,
    references: ReferenceUptake | None = None,
) -> PetStudyFacts:
    return PetStudyFacts(
        study="1.2",
        series="1.2.3",
        tracer=tracer,
        acquired_at=ACQUIRED,
        uptake_h=uptake_h,
        lesions=lesions,
        references=references or ReferenceUptake(),
        suv_available=True,
    )


@pytest.mark.parametrize(
    ("lesions", "read", "avid", "unconfirmed"),
    [
        pytest.param([lesion(AVID, SR)], True, True, 0, id="reader-SR-avid→avid"),
        pytest.param([lesion(NON_AVID, SR)], True, False, 0, id="reader-SR-non-avid→read-none-avid"),
        pytest.param([lesion(AVID, SEG)], True, True, 0, id="SEG-with-reader-call→avid"),
        pytest.param([lesion(AVID, AUTO)], True, True, 0, id="automated-confirmed-by-reader→avid"),
        pytest.param(
            [lesion(NOT_ASSESSED, AUTO, suv_max=25.0)],
            False,
            False,
            1,
            id="automated-candidate-high-SUV→unconfirmed-never-avid",
        ),
        pytest.param(
            [lesion(NOT_ASSESSED, SEG, suv_max=25.0)], False, False, 1, id="SEG-without-call→not-avid"
        ),
        pytest.param([lesion(NOT_ASSESSED, SR)], False, False, 1, id="SR-without-call→not-avid"),
        pytest.param([], False, False, 0, id="no-lesions→not-read"),
        pytest.param(
            [lesion(NON_AVID, SR), lesion(NOT_ASSESSED, AUTO, lesion_id="C1")],
            True,
            False,
            1,
            id="read-plus-candidate",
        ),
    ],
)
def test_reader_call_first(lesions: list[PetLesion], read: bool, avid: bool, unconfirmed: int) -> None:
    uptake = assess_uptake(facts(*lesions))
    assert uptake.lesions_read is read
    assert uptake.any_avid is avid
    assert len(uptake.avid_lesions) == (1 if avid else 0)
    assert uptake.unconfirmed_candidates == unconfirmed


def test_default_has_no_threshold() -> None:
    assert parameters.SUVMAX_THRESHOLDS == {}
    uptake = assess_uptake(facts(lesion(NOT_ASSESSED, SR, suv_max=40.0)))
    assert not uptake.any_avid
    assert not any("threshold" in line.statement for line in uptake.evidence)


THRESHOLD = {Tracer.ZR89_TRASTUZUMAB: 3.2}


@pytest.mark.parametrize(
    ("item", "avid", "read"),
    [
        pytest.param(
            lesion(NOT_ASSESSED, SR, OTHER, 3.2), True, True, id="SR-uncalled-at-threshold→avid-labelled"
        ),
        pytest.param(
            lesion(NOT_ASSESSED, SEG, OTHER, 3.19), False, True, id="SEG-uncalled-below→non-avid-labelled"
        ),
        pytest.param(lesion(NOT_ASSESSED, SR, LIVER, 9.0), False, False, id="hepatic-never-by-threshold"),
        pytest.param(
            lesion(NOT_ASSESSED, SR, UNKNOWN_SITE, 9.0), False, False, id="unknown-site-never-by-threshold"
        ),
        pytest.param(lesion(NOT_ASSESSED, AUTO, OTHER, 9.0), False, False, id="automated-never-by-threshold"),
        pytest.param(lesion(NON_AVID, SR, OTHER, 9.0), False, True, id="reader-call-beats-threshold"),
        pytest.param(lesion(NOT_ASSESSED, SR, OTHER, None), False, False, id="no-SUV-no-threshold-call"),
    ],
)
def test_optional_threshold_only_for_uncalled_non_hepatic(item: PetLesion, avid: bool, read: bool) -> None:
    uptake = assess_uptake(facts(item), thresholds=THRESHOLD)
    assert uptake.any_avid is avid
    assert uptake.lesions_read is read
    threshold_lines = [line for line in uptake.evidence if "by SUVmax threshold" in line.statement]
    assert bool(threshold_lines) is (read and item.reader_call is NOT_ASSESSED)
    assert any("threshold 3.2" in caveat for caveat in uptake.caveats)


def test_threshold_is_per_tracer_never_pooled() -> None:
    item = lesion(NOT_ASSESSED, SR, OTHER, 9.0)
    uptake = assess_uptake(facts(item, tracer=Tracer.ZR89_PERTUZUMAB), thresholds=THRESHOLD)
    assert not uptake.any_avid
    assert not uptake.lesions_read


@pytest.mark.parametrize(
    ("lesions", "hepatic"),
    [
        pytest.param([lesion(AVID, SR, LIVER)], True, id="avid-liver→flag"),
        pytest.param(
            [lesion(NON_AVID, SR, LIVER), lesion(AVID, SR, OTHER, lesion_id="L2")],
            False,
            id="liver-lesion-non-avid→no-flag",
        ),
        pytest.param([lesion(NOT_ASSESSED, AUTO, LIVER, 30.0)], False, id="liver-candidate→no-flag"),
        pytest.param([lesion(AVID, SR, UNKNOWN_SITE)], False, id="unknown-site-is-not-hepatic"),
    ],
)
def test_hepatic_flag(lesions: list[PetLesion], hepatic: bool) -> None:
    uptake = assess_uptake(facts(*lesions))
    assert uptake.hepatic_avid is hepatic
    assert any("liver" in caveat.lower() for caveat in uptake.caveats) is hepatic


@pytest.mark.parametrize(
    ("tracer", "hours", "inside"),
    [
        pytest.param(Tracer.ZR89_TRASTUZUMAB, 96.0, True, id="Zr-trastuzumab-4d-lower-edge"),
        pytest.param(Tracer.ZR89_TRASTUZUMAB, 168.0, True, id="Zr-trastuzumab-7d-upper-edge"),
        pytest.param(Tracer.ZR89_TRASTUZUMAB, 95.9, False, id="Zr-trastuzumab-just-early"),
        pytest.param(Tracer.ZR89_TRASTUZUMAB, 168.1, False, id="Zr-trastuzumab-just-late"),
        pytest.param(Tracer.ZR89_PERTUZUMAB, 100.0, False, id="Zr-pertuzumab-4d-too-early"),
        pytest.param(Tracer.ZR89_SS_PERTUZUMAB, 192.0, True, id="ss-pertuzumab-8d-edge"),
        pytest.param(Tracer.CU64_TRASTUZUMAB, 24.0, True, id="Cu64-24h"),
        pytest.param(Tracer.GA68_ABY025, 4.5, False, id="ABY025-4.5h-late"),
        pytest.param(Tracer.GA68_NANOBODY, 1.5, True, id="nanobody-90min-edge"),
        pytest.param(Tracer.ZR89_MARGETUXIMAB, 120.0, None, id="no-window-entry→None"),
        pytest.param(Tracer.OTHER_HER2, 120.0, None, id="other-tracer→None"),
        pytest.param(Tracer.ZR89_TRASTUZUMAB, None, None, id="unknown-uptake-time→None"),
    ],
)
def test_uptake_window(tracer: Tracer, hours: float | None, inside: bool | None) -> None:
    assert within_uptake_window(tracer, hours) is inside
    uptake = assess_uptake(facts(lesion(AVID, SR), tracer=tracer, uptake_h=hours))
    assert uptake.within_uptake_window is inside
    if inside is None:
        assert any("window" in caveat for caveat in uptake.caveats)


def test_uptake_hours_from_datetimes_when_not_given() -> None:
    pet = PetStudyFacts(
        study="1.2",
        series="1.2.3",
        tracer=Tracer.ZR89_TRASTUZUMAB,
        injected_at=dt.datetime(2025, 6, 25, 10, 0),
        acquired_at=ACQUIRED,
    )
    assert uptake_hours(pet) == pytest.approx(120.0)
    mixed = PetStudyFacts(
        study="1.2",
        series="1.2.3",
        tracer=Tracer.ZR89_TRASTUZUMAB,
        injected_at=dt.datetime(2025, 6, 25, 10, 0, tzinfo=dt.UTC),
        acquired_at=ACQUIRED,
    )
    assert uptake_hours(mixed) is None


def test_evidence_names_suv_caller_and_reference_regions() -> None:
    refs = ReferenceUptake(blood_pool_suvmean=2.0, blood_pool_method="reader SR", liver_suvmean=None)
    uptake = assess_uptake(
        facts(lesion(AVID, SR, OTHER, 8.0), lesion(NOT_ASSESSED, AUTO, LIVER, 12.0, "C1"), references=refs)
    )
    statements = [line.statement for line in uptake.evidence]
    avid_line = next(s for s in statements if s.startswith("Lesion L1 ("))
    assert "SUVmax 8.0" in avid_line
    assert "SUVpeak 6.4" in avid_line
    assert "called by reader" in avid_line
    candidate_line = next(s for s in statements if s.startswith("Lesion C1"))
    assert "automated candidate" in candidate_line
    assert "unconfirmed" in candidate_line
    assert any("tumour-to-blood-pool ratio 4.0" in s for s in statements)
    assert any(s.startswith("Blood-pool reference SUVmean 2.0 (reader SR)") for s in statements)
    assert "Liver reference SUVmean not recorded" in statements
    lesion_line = next(line for line in uptake.evidence if line.statement.startswith("Lesion L1 ("))
    assert lesion_line.value == 8.0
    assert lesion_line.unit == "g/ml"
    assert lesion_line.source is not None


def test_recent_anti_her2_becomes_a_caveat() -> None:
    dose = TherapyExposure(
        drug_class=DrugClass.ANTI_HER2, start=dt.date(2025, 6, 16), end=dt.date(2025, 6, 16)
    )
    uptake = assess_uptake(facts(lesion(AVID, SR)), therapies=[dose])
    assert any("14 day(s) before" in caveat for caveat in uptake.caveats)
    assert not any("Anti-HER2" in caveat for caveat in assess_uptake(facts(lesion(AVID, SR))).caveats)


def test_facts_caveats_are_kept() -> None:
    pet = PetStudyFacts(
        study="1.2", series="1.2.3", tracer=Tracer.ZR89_TRASTUZUMAB, caveats=("decay time assumed",)
    )
    uptake = assess_uptake(pet)
    assert "decay time assumed" in uptake.caveats
    assert any("SUV not computable" in caveat for caveat in uptake.caveats)
