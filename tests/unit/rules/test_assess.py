"""``rules.assess.assess`` end to end: pathology, ER/PR, PET and chart → cards, label rows, evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from rules import parameters
from rules.assess import assess
from rules.domain import (
    AssessInputs,
    CardScenario,
    ClinicalContext,
    DrugClass,
    Her2Result,
    HrStatus,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IndicationStatus,
    IshResult,
    LesionOrigin,
    LesionSite,
    OrderBasis,
    PetLesion,
    PetStatus,
    PetStudyFacts,
    ReaderCall,
    Receptor,
    ReceptorResult,
    ReportedStatus,
    SiteConcordance,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
    TdxdCategory,
    TherapyExposure,
    Tracer,
)

S = CardScenario
NOW = dt.datetime(2025, 9, 1, 12, 0, tzinfo=dt.UTC)
COLLECTED = dt.date(2025, 6, 1)
PET_AT = dt.datetime(2025, 6, 20, 10, 0, tzinfo=dt.UTC)


def her2(
    score: IhcScore | None = IhcScore.ONE_PLUS,
    *,
    collected: dt.date | None = COLLECTED,
    zero: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED,
    ish: IshResult | None = None,
    reported: ReportedStatus | None = None,
    description: str | None = None,
) -> Her2Result:
    return Her2Result(
        specimen=SpecimenRef(
            id="S1", collected=collected, site=SpecimenSite.METASTASIS, description=description
        ),
        ihc=IhcResult(score=score, zero_subtype=zero, assay="4B5") if score is not None else None,
        ish=ish,
        reported_status=reported,
        source=SourceRef(system="fhir", reference="DiagnosticReport/her2-1"),
        reported=collected,
    )


def er(percent: float) -> ReceptorResult:
    return ReceptorResult(receptor=Receptor.ER, percent=percent, specimen=SpecimenRef(collected=COLLECTED))


def pet(
    *calls: tuple[ReaderCall, LesionSite],
    acquired: dt.datetime = PET_AT,
    uptake_h: float = 120.0,
    tracer: Tracer = Tracer.ZR89_TRASTUZUMAB,
) -> PetStudyFacts:
    lesions = tuple(
        PetLesion(
            lesion_id=f"L{i}",
            site=site,
            site_text="liver segment 6" if site is LesionSite.HEPATIC else None,
            reader_call=call,
            origin=LesionOrigin.READER_SR,
            suv_max=7.5,
        )
        for i, (call, site) in enumerate(calls, start=1)
    )
    return PetStudyFacts(
        study="1.2.3",
        series="1.2.3.4",
        tracer=tracer,
        injected_at=acquired - dt.timedelta(hours=uptake_h),
        acquired_at=acquired,
        uptake_h=uptake_h,
        lesions=lesions,
        suv_available=True,
        source=SourceRef(system="dicom", reference="study/1.2.3/series/1.2.3.4"),
    )


AVID = (ReaderCall.AVID, LesionSite.NON_HEPATIC)
AVID_LIVER = (ReaderCall.AVID, LesionSite.HEPATIC)
NON_AVID = (ReaderCall.NON_AVID, LesionSite.NON_HEPATIC)
NON_AVID_LIVER = (ReaderCall.NON_AVID, LesionSite.HEPATIC)
CANDIDATE = (ReaderCall.NOT_ASSESSED, LesionSite.NON_HEPATIC)


def given(*results: Her2Result, facts: PetStudyFacts | None = None, **kwargs: object) -> AssessInputs:
    return AssessInputs(her2_results=results, pet=facts, **kwargs)  # type: ignore[arg-type]


CASES = [
    pytest.param(given(her2(IhcScore.ONE_PLUS)), (S.HER2_LOW_NO_PET,), id="IHC1+-no-PET→k"),
    pytest.param(
        given(her2(None, reported=ReportedStatus.NEGATIVE)),
        (S.HER2_UNSCORED_NEGATIVE,),
        id="bare-negative-no-PET→l",
    ),
    pytest.param(given(her2(IhcScore.TWO_PLUS)), (S.IHC2_ISH_PENDING,), id="IHC2+-no-ISH→g"),
    pytest.param(
        given(her2(IhcScore.ZERO, zero=IhcZeroSubtype.ULTRALOW)), (S.HER2_ULTRALOW,), id="ultralow→c"
    ),
    pytest.param(given(her2(IhcScore.THREE_PLUS)), (), id="IHC3+-no-PET→no-card"),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), pathology_cards_enabled=False), (), id="site-switch-off→no-card"
    ),
    pytest.param(given(her2(IhcScore.ONE_PLUS), facts=pet(AVID)), (S.HER2_LOW_PET_AVID,), id="low+avid→a"),
    pytest.param(
        given(her2(IhcScore.ZERO, zero=IhcZeroSubtype.NULL), facts=pet(AVID)),
        (S.HER2_ZERO_PET_AVID,),
        id="null+avid→b",
    ),
    pytest.param(
        given(her2(IhcScore.THREE_PLUS), facts=pet(AVID)), (S.HER2_POSITIVE_PET_AVID,), id="positive+avid→d"
    ),
    pytest.param(
        given(her2(IhcScore.ZERO, zero=IhcZeroSubtype.NULL), facts=pet(NON_AVID)),
        (S.HER2_ZERO_PET_NONAVID,),
        id="null+non-avid→e",
    ),
    pytest.param(given(facts=pet(AVID)), (S.PET_AVID_NO_PATHOLOGY,), id="avid-no-pathology→f"),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), facts=pet(NON_AVID)), (S.HER2_LOW_PET_NONAVID,), id="low+non-avid→m"
    ),
    pytest.param(given(her2(IhcScore.THREE_PLUS), facts=pet(NON_AVID)), (), id="positive+non-avid→no-card"),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), facts=pet(CANDIDATE)),
        (S.HER2_LOW_NO_PET,),
        id="automated-candidate-only→pathology-card",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS, collected=PET_AT.date() - dt.timedelta(days=60)), facts=pet(AVID)),
        (S.HER2_LOW_PET_AVID,),
        id="exactly-60-days→no-h",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS, collected=PET_AT.date() - dt.timedelta(days=61)), facts=pet(AVID)),
        (S.HER2_LOW_PET_AVID, S.PAIRING_OUT_OF_WINDOW),
        id="61-days→a+h",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS, collected=None), facts=pet(AVID)),
        (S.HER2_LOW_PET_AVID,),
        id="no-collection-date→no-h",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), facts=pet(AVID_LIVER)),
        (S.HER2_LOW_PET_AVID, S.HEPATIC_LESION),
        id="hepatic-avid→a+i",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), facts=pet(AVID, uptake_h=48.0)),
        (S.HER2_LOW_PET_AVID, S.OUTSIDE_UPTAKE_WINDOW),
        id="uptake-2d→a+w",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), pet_status=PetStatus.PENDING, pending_pet_date=dt.date(2025, 8, 30)),
        (S.HER2_LOW_NO_PET, S.PET_ANALYSIS_PENDING),
        id="pending→k+p",
    ),
    pytest.param(given(unavailable_sources=("FHIR server",)), (S.DATA_UNAVAILABLE,), id="FHIR-down→u-alone"),
    pytest.param(
        given(unavailable_sources=("FHIR server",), facts=pet(AVID)),
        (S.DATA_UNAVAILABLE,),
        id="FHIR-down-avid→u-not-f",
    ),
    pytest.param(
        given(her2(IhcScore.ONE_PLUS), pet_status=PetStatus.UNAVAILABLE, unavailable_sources=("PACS",)),
        (S.HER2_LOW_NO_PET, S.DATA_UNAVAILABLE),
        id="PACS-down→k+u",
    ),
]


@pytest.mark.parametrize(("inputs", "cards"), CASES)
def test_assess_end_to_end(inputs: AssessInputs, cards: tuple[CardScenario, ...]) -> None:
    result = assess(inputs, NOW)
    assert result.cards == cards
    assert result.scenario is (cards[0] if cards and cards[0] not in _EXTRAS else None)
    assert result.rules_version == parameters.RULES_VERSION
    assert any(line.rule and line.rule.startswith("card-scenario#") for line in result.evidence)


_EXTRAS = {S.PAIRING_OUT_OF_WINDOW, S.PET_ANALYSIS_PENDING, S.DATA_UNAVAILABLE}


def single_dose(day: dt.date) -> TherapyExposure:
    return TherapyExposure(drug_class=DrugClass.ANTI_HER2, display="trastuzumab", start=day, end=day)


def test_recent_anti_her2_before_pet_adds_j() -> None:
    dose = single_dose(PET_AT.date() - dt.timedelta(days=21))
    context = ClinicalContext(metastatic=True, therapies=(dose,))
    result = assess(given(her2(IhcScore.THREE_PLUS), facts=pet(AVID), context=context), NOW)
    assert result.cards == (S.HER2_POSITIVE_PET_AVID, S.RECENT_ANTI_HER2)
    assert any("21 day(s) before the HER2 PET" in line.statement for line in result.evidence)
    late = single_dose(PET_AT.date() - dt.timedelta(days=22))
    result = assess(
        given(her2(IhcScore.THREE_PLUS), facts=pet(AVID), context=ClinicalContext(therapies=(late,))), NOW
    )
    assert result.cards == (S.HER2_POSITIVE_PET_AVID,)


def test_pairing_gap_site_match_and_evidence() -> None:
    result = assess(
        given(her2(IhcScore.ONE_PLUS, description="Liver, core biopsy"), facts=pet(AVID_LIVER)), NOW
    )
    assert result.pairing_gap_days == 19
    statements = [line.statement for line in result.evidence]
    assert "HER2 PET and specimen 19 days apart" in statements
    assert "Biopsied site against the PET read: biopsied site (liver) is avid lesion L1" in statements
    assert any("SUVmax 7.5" in s for s in statements)
    assert result.uptake is not None
    assert result.uptake.hepatic_avid
    assert result.site is not None
    assert result.site.outcome is SiteConcordance.BIOPSIED_AVID


@pytest.mark.parametrize(
    ("description", "calls", "outcome"),
    [
        pytest.param(
            "Liver, core biopsy", (AVID_LIVER,), SiteConcordance.BIOPSIED_AVID, id="liver-biopsy-avid-liver"
        ),
        pytest.param(
            "Liver, core biopsy",
            (AVID, NON_AVID_LIVER),
            SiteConcordance.BIOPSIED_NON_AVID,
            id="liver-read-not-avid",
        ),
        pytest.param(
            "Liver, core biopsy", (AVID,), SiteConcordance.NOT_AMONG_READ, id="liver-not-among-read"
        ),
        pytest.param(None, (AVID,), SiteConcordance.UNKNOWN, id="metastasis-site-not-coded"),
        pytest.param("Bone", (AVID,), SiteConcordance.UNKNOWN, id="avid-lesion-site-not-coded"),
    ],
)
def test_site_comparison_decides_what_the_cards_may_call_concordant(
    description: str | None, calls: tuple[tuple[ReaderCall, LesionSite], ...], outcome: SiteConcordance
) -> None:
    result = assess(given(her2(IhcScore.ONE_PLUS, description=description), facts=pet(*calls)), NOW)
    assert result.site is not None
    assert result.site.outcome is outcome


def test_a_tdxd_order_always_gets_card_o_with_the_her2_basis() -> None:
    null = her2(IhcScore.ZERO, zero=IhcZeroSubtype.NULL)
    assert assess(given(null), NOW).cards == ()
    result = assess(given(null, tdxd_order=True), NOW)
    assert result.cards == (S.TDXD_ORDER,)
    assert result.order_basis is OrderBasis.HER2_NULL
    positive = assess(given(her2(IhcScore.THREE_PLUS), tdxd_order=True), NOW)
    assert positive.cards == (S.TDXD_ORDER,)
    assert positive.order_basis is OrderBasis.HER2_POSITIVE
    low_avid = assess(given(her2(IhcScore.ONE_PLUS), facts=pet(AVID), tdxd_order=True), NOW)
    assert low_avid.cards == (S.TDXD_ORDER, S.HER2_LOW_PET_AVID)


def course(start: dt.date, end: dt.date | None, *, ended: bool) -> TherapyExposure:
    return TherapyExposure(
        drug_class=DrugClass.ANTI_HER2, display="trastuzumab", start=start, end=end, ended=ended
    )


@pytest.mark.parametrize(
    ("exposure", "modifier"),
    [
        pytest.param(
            course(dt.date(2019, 1, 10), dt.date(2019, 11, 30), ended=True), False, id="completed-2019"
        ),
        pytest.param(
            course(dt.date(2019, 1, 10), None, ended=True), False, id="completed-2019-end-not-recorded"
        ),
        pytest.param(course(dt.date(2019, 1, 10), None, ended=False), True, id="ongoing-since-2019"),
        pytest.param(
            course(PET_AT.date() - dt.timedelta(days=10), None, ended=True),
            True,
            id="completed-started-in-window",
        ),
        pytest.param(
            course(dt.date(2025, 1, 1), PET_AT.date() - dt.timedelta(days=5), ended=True),
            True,
            id="completed-5-days-before-PET",
        ),
    ],
)
def test_anti_her2_modifier_follows_the_course_dates_and_status(
    exposure: TherapyExposure, modifier: bool
) -> None:
    context = ClinicalContext(metastatic=True, therapies=(exposure,))
    result = assess(given(her2(IhcScore.THREE_PLUS), facts=pet(AVID), context=context), NOW)
    assert (S.RECENT_ANTI_HER2 in result.cards) is modifier
    assert (result.anti_her2 is not None) is modifier
    if exposure.ended and exposure.end is None and not modifier:
        assert any("recorded as completed without an end date" in line.statement for line in result.evidence)


def test_missing_data_gives_caveats_never_exceptions() -> None:
    result = assess(AssessInputs(), NOW)
    assert result.cards == ()
    assert result.scenario is None
    assert result.uptake is None
    assert result.pairing_gap_days is None
    assert all(check.status is IndicationStatus.UNKNOWN for check in result.indications)
    undated = pet(AVID)
    undated = PetStudyFacts(
        study=undated.study, series=undated.series, tracer=undated.tracer, lesions=undated.lesions
    )
    result = assess(given(her2(IhcScore.ONE_PLUS), facts=undated), NOW)
    assert result.pairing_gap_days is None
    assert any("PET acquisition date unknown" in caveat for caveat in result.caveats)
    assert result.cards == (S.HER2_LOW_PET_AVID,)


def test_analysed_status_without_facts_is_a_caveat() -> None:
    result = assess(given(her2(IhcScore.ONE_PLUS), pet_status=PetStatus.ANALYSED), NOW)
    assert result.cards == (S.HER2_LOW_NO_PET,)
    assert any("no PET facts" in caveat for caveat in result.caveats)


@pytest.mark.parametrize(
    ("updated", "caveat"),
    [
        pytest.param(
            dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            "HER2 PET index last updated 2026-01-05 08:30 UTC: HER2 PET studies stored since then are not "
            "included",
            id="stale-since",
        ),
        pytest.param(
            None,
            "HER2 PET index not updated yet: HER2 PET studies may be missing from this assessment",
            id="never-updated",
        ),
    ],
)
def test_a_stale_pet_index_is_a_caveat_not_an_outage(updated: dt.datetime | None, caveat: str) -> None:
    stale = given(
        her2(IhcScore.ONE_PLUS), facts=pet(AVID), pet_index_stale=True, pet_index_updated_at=updated
    )
    result = assess(stale, NOW)
    assert caveat in result.caveats
    assert result.cards == (S.HER2_LOW_PET_AVID,)  # the clinical answer is unchanged, no (u) card
    fresh = assess(given(her2(IhcScore.ONE_PLUS), facts=pet(AVID), pet_index_updated_at=updated), NOW)
    assert not any("PET index" in c for c in fresh.caveats)


def test_hr_status_from_er_pr_and_chart_fallback() -> None:
    ultralow = her2(IhcScore.ZERO, zero=IhcZeroSubtype.ULTRALOW)
    endocrine = TherapyExposure(drug_class=DrugClass.ENDOCRINE, start=dt.date(2025, 2, 1))
    context = ClinicalContext(metastatic=True, metastatic_since=dt.date(2025, 1, 1), therapies=(endocrine,))
    result = assess(AssessInputs(her2_results=(ultralow,), receptors=(er(80.0),), context=context), NOW)
    assert result.her2.hr_status is HrStatus.POSITIVE
    assert next(c for c in result.indications if c.row == "D").status is IndicationStatus.MET
    stated = ClinicalContext(metastatic=True, hr_status=HrStatus.NEGATIVE)
    result = assess(AssessInputs(her2_results=(ultralow,), context=stated), NOW)
    assert result.her2.hr_status is HrStatus.NEGATIVE
    assert next(c for c in result.indications if c.row == "D").status is IndicationStatus.NOT_MET


def test_future_dates_are_flagged() -> None:
    result = assess(given(her2(IhcScore.ONE_PLUS, collected=dt.date(2025, 10, 1))), NOW)
    assert any("in the future" in caveat for caveat in result.caveats)


def test_current_category_is_the_newest_specimen() -> None:
    old_low = her2(IhcScore.ONE_PLUS, collected=dt.date(2023, 1, 1))
    new_null = Her2Result(
        specimen=SpecimenRef(id="S2", collected=COLLECTED),
        ihc=IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.NULL),
    )
    result = assess(AssessInputs(her2_results=(old_low, new_null), pet=pet(NON_AVID)), NOW)
    assert result.her2.current is not None
    assert result.her2.current.category is TdxdCategory.HER2_NULL
    assert result.cards == (S.HER2_ZERO_PET_NONAVID,)
