"""Every card the service can emit, rendered from hand-built assessments, checked against
clinical-logic.md §15: summaries (< 140 characters, the spec's wording), indicators (with the (e) escalation),
the basis in the detail, structure (source, topic, uuid, override reasons, suggestions) and the global and
per-card "never claim" lists.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest

from cds_service.hooks.cards import render_card, render_cards
from cds_service.hooks.models import Card
from cds_service.settings import SiteConfig, SiteLink
from rules.domain import (
    AssessInputs,
    Assessment,
    CardScenario,
    Evidence,
    Her2Assessment,
    Her2Result,
    HrStatus,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshResult,
    LesionOrigin,
    LesionSite,
    PatientHer2,
    PetLesion,
    PetStatus,
    PetStudyFacts,
    ReaderCall,
    ReferenceUptake,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
    TdxdCategory,
    Tracer,
    UptakeAssessment,
)
from tests.unit.cds_service.cds_support import card_problems, schema_errors

S = CardScenario
C = TdxdCategory
MODIFIERS = {S.HEPATIC_LESION, S.RECENT_ANTI_HER2, S.OUTSIDE_UPTAKE_WINDOW}


def occasion(
    category: TdxdCategory,
    score: IhcScore | None = IhcScore.ONE_PLUS,
    *,
    collected: dt.date = dt.date(2025, 1, 10),
    ish: IshResult | None = None,
    status: ReportedStatus | None = None,
    subtype: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED,
) -> Her2Assessment:
    result = Her2Result(
        specimen=SpecimenRef(id="S-1", collected=collected, site=SpecimenSite.METASTASIS),
        ihc=IhcResult(score=score, zero_subtype=subtype, assay="4B5") if score is not None else None,
        ish=ish,
        reported_status=status,
        source=SourceRef(system="fhir", reference="DiagnosticReport/dr-7"),
        reported=collected + dt.timedelta(days=3),
    )
    from rules.domain import AscoCapStatus

    return Her2Assessment(result=result, status=AscoCapStatus.NEGATIVE, category=category)


AVID = PetLesion(
    lesion_id="L1",
    site=LesionSite.HEPATIC,
    site_text="liver segment 7",
    reader_call=ReaderCall.AVID,
    origin=LesionOrigin.READER_SR,
    suv_max=7.4,
    suv_peak=5.1,
)
PET = PetStudyFacts(
    study="1.2.3",
    series="1.2.3.4",
    tracer=Tracer.ZR89_TRASTUZUMAB,
    injected_at=dt.datetime(2025, 2, 1, 9, tzinfo=dt.UTC),
    acquired_at=dt.datetime(2025, 2, 5, 9, tzinfo=dt.UTC),
    uptake_h=96.0,
    lesions=(AVID,),
)
PET_ALL_ORIGINS = PetStudyFacts(
    study="1.2.3",
    series="1.2.3.4",
    tracer=Tracer.ZR89_PERTUZUMAB,
    injected_at=dt.datetime(2025, 2, 1, 9),
    acquired_at=dt.datetime(2025, 2, 7, 9),
    uptake_h=144.0,
    lesions=(
        AVID,
        PetLesion(
            lesion_id="L2",
            site=LesionSite.NON_HEPATIC,
            reader_call=ReaderCall.NON_AVID,
            origin=LesionOrigin.READER_SR,
            suv_max=2.1,
            suv_peak=1.7,
            source=SourceRef(system="dicom", reference="study/1.2.3/series/9/instances/1"),
        ),
        PetLesion(lesion_id="S1", origin=LesionOrigin.SEG, suv_max=4.4, suv_peak=3.9),
        PetLesion(lesion_id="auto-1", origin=LesionOrigin.AUTOMATED, suv_max=12.5, suv_peak=8.0),
    ),
    references=ReferenceUptake(
        blood_pool_suvmean=2.46, blood_pool_method="reader SR", liver_suvmean=4.1, liver_method="SEG 'Liver'"
    ),
    suv_available=True,
    source=SourceRef(system="dicom", reference="study/1.2.3/series/1.2.3.4"),
)
AVID_UPTAKE = UptakeAssessment(lesions_read=True, any_avid=True, avid_lesions=(AVID,), hepatic_avid=True)
NONAVID_UPTAKE = UptakeAssessment(lesions_read=True, any_avid=False)


@dataclass(frozen=True)
class Case:
    """One renderable situation: the assessment, its inputs, and the PET facts shown."""

    assessment: Assessment
    inputs: AssessInputs
    pet: PetStudyFacts | None = None


def case(
    cards: tuple[CardScenario, ...],
    current: Her2Assessment | None,
    *,
    hr: HrStatus = HrStatus.POSITIVE,
    uptake: UptakeAssessment | None = None,
    gap: int | None = None,
    pet: PetStudyFacts | None = None,
    occasions: tuple[Her2Assessment, ...] | None = None,
    inputs: AssessInputs | None = None,
) -> Case:
    her2 = PatientHer2(
        current=current,
        occasions=occasions if occasions is not None else ((current,) if current else ()),
        discordance=("primary 2023 IHC 0 vs metastasis 2025 IHC 1+",) if current else (),
        hr_status=hr,
    )
    assessment = Assessment(
        her2=her2,
        uptake=uptake,
        pairing_gap_days=gap,
        scenario=cards[0] if cards else None,
        cards=cards,
        evidence=(
            Evidence(
                statement="Most recent specimen",
                value="2025-01-10",
                source=SourceRef(system="fhir", reference="DiagnosticReport/dr-7"),
            ),
        ),
        rules_version="1.0.0",
        pet=pet,
        pending_pet_date=inputs.pending_pet_date if inputs else None,
        unavailable_sources=inputs.unavailable_sources if inputs else (),
    )
    return Case(assessment, inputs or AssessInputs(), pet)


ISH_PENDING = IshResult(pending=True)
ISH_NUMBERS = IshResult(ratio=1.4, her2_per_cell=3.2, cep17_per_cell=2.3, reported_group=5)

CASES: dict[str, Case] = {
    "a": case(
        (S.HER2_LOW_PET_AVID, S.HEPATIC_LESION), occasion(C.HER2_LOW), uptake=AVID_UPTAKE, gap=26, pet=PET
    ),
    "b": case(
        (S.HER2_ZERO_PET_AVID,), occasion(C.HER2_NULL, IhcScore.ZERO), uptake=AVID_UPTAKE, gap=26, pet=PET
    ),
    "b-unscored": case(
        (S.HER2_ZERO_PET_AVID,),
        occasion(C.NEGATIVE_UNSCORED, None, status=ReportedStatus.NEGATIVE),
        uptake=AVID_UPTAKE,
        pet=PET,
    ),
    "c": case((S.HER2_ULTRALOW,), occasion(C.HER2_ULTRALOW, IhcScore.ZERO, subtype=IhcZeroSubtype.ULTRALOW)),
    "c-hr-neg": case(
        (S.HER2_ULTRALOW,),
        occasion(C.HER2_ULTRALOW, IhcScore.ZERO, subtype=IhcZeroSubtype.ULTRALOW),
        hr=HrStatus.NEGATIVE,
    ),
    "d": case(
        (S.HER2_POSITIVE_PET_AVID,),
        occasion(C.HER2_POSITIVE, IhcScore.THREE_PLUS),
        uptake=AVID_UPTAKE,
        pet=PET,
    ),
    "e-legacy": case(
        (S.HER2_ZERO_PET_NONAVID,),
        occasion(C.HER2_NULL, IhcScore.ZERO, collected=dt.date(2019, 5, 2)),
        uptake=NONAVID_UPTAKE,
        pet=PET,
    ),
    "e-recent": case(
        (S.HER2_ZERO_PET_NONAVID,), occasion(C.HER2_NULL, IhcScore.ZERO), uptake=NONAVID_UPTAKE, pet=PET
    ),
    "e-hr-neg-legacy": case(
        (S.HER2_ZERO_PET_NONAVID,),
        occasion(C.HER2_NULL, IhcScore.ZERO, collected=dt.date(2019, 5, 2)),
        hr=HrStatus.NEGATIVE,
        uptake=NONAVID_UPTAKE,
        pet=PET,
    ),
    "f": case((S.PET_AVID_NO_PATHOLOGY,), None, uptake=AVID_UPTAKE, pet=PET),
    "f-variant": case(
        (S.PET_AVID_NO_PATHOLOGY,),
        occasion(C.NEEDS_REVIEW, None, status=ReportedStatus.INDETERMINATE),
        uptake=AVID_UPTAKE,
        pet=PET,
    ),
    "g": case((S.IHC2_ISH_PENDING,), occasion(C.UNKNOWN, IhcScore.TWO_PLUS, ish=ISH_PENDING)),
    "h": case(
        (S.HER2_LOW_PET_AVID, S.PAIRING_OUT_OF_WINDOW),
        occasion(C.HER2_LOW, IhcScore.TWO_PLUS, ish=ISH_NUMBERS),
        uptake=AVID_UPTAKE,
        gap=120,
        pet=PET,
    ),
    "k": case((S.HER2_LOW_NO_PET,), occasion(C.HER2_LOW)),
    "l": case(
        (S.HER2_UNSCORED_NEGATIVE,), occasion(C.NEGATIVE_UNSCORED, None, status=ReportedStatus.NEGATIVE)
    ),
    "m": case((S.HER2_LOW_PET_NONAVID,), occasion(C.HER2_LOW), uptake=NONAVID_UPTAKE, gap=10, pet=PET),
    "p": case(
        (S.HER2_LOW_NO_PET, S.PET_ANALYSIS_PENDING),
        occasion(C.HER2_LOW),
        inputs=AssessInputs(pet_status=PetStatus.PENDING, pending_pet_date=dt.date(2025, 3, 1)),
    ),
    "u-fhir": case((S.DATA_UNAVAILABLE,), None, inputs=AssessInputs(unavailable_sources=("FHIR server",))),
    "u-both": case(
        (S.HER2_LOW_NO_PET, S.DATA_UNAVAILABLE),
        occasion(C.HER2_LOW),
        inputs=AssessInputs(unavailable_sources=("FHIR server", "PACS")),
    ),
    "pet-details": case(
        (S.HER2_ZERO_PET_AVID, S.PAIRING_OUT_OF_WINDOW, S.HEPATIC_LESION, S.OUTSIDE_UPTAKE_WINDOW),
        occasion(C.HER2_NULL, IhcScore.ZERO),
        uptake=UptakeAssessment(
            lesions_read=True,
            any_avid=True,
            avid_lesions=(AVID,),
            hepatic_avid=True,
            unconfirmed_candidates=1,
        ),
        gap=75,
        pet=PET_ALL_ORIGINS,
    ),
    "f-pet-details": case((S.PET_AVID_NO_PATHOLOGY,), None, uptake=AVID_UPTAKE, pet=PET_ALL_ORIGINS),
    "modifiers": case(
        (S.HER2_LOW_PET_AVID, S.HEPATIC_LESION, S.RECENT_ANTI_HER2, S.OUTSIDE_UPTAKE_WINDOW),
        occasion(C.HER2_LOW),
        uptake=AVID_UPTAKE,
        gap=5,
        pet=PET,
    ),
}

SITES = {
    "default": SiteConfig(),
    "links+suggestions": SiteConfig(
        links=(SiteLink(label="ENHERTU label", url="https://example.org/enhertu-label"),), suggestions=True
    ),
}


def render(name: str, site: SiteConfig) -> list[Card]:
    c = CASES[name]
    return render_cards(c.assessment, site, patient_id="pat-1")


ALL = [pytest.param(name, site_name, id=f"{name}/{site_name}") for name in CASES for site_name in SITES]


def test_every_scenario_is_rendered_somewhere() -> None:
    rendered = {c.source.topic.code for name in CASES for c in render(name, SiteConfig()) if c.source.topic}
    assert rendered == {s.value for s in CardScenario}


# -- global and per-card "never claim" lists (clinical-logic.md §15), written independently of card texts

GLOBAL_NEVER = [
    # (1) SUVmax or a PET threshold distinguishes HER2-positive from HER2-low
    r"\b(?:suv\w*|uptake|pet|threshold)\b[^.]*\b(?:distinguishes|separates|discriminates|differentiates)\b",
    r"\bsuv\w*\s*(?:of\s+)?(?:[<>≥≤]=?|above|below|over|under|at least|greater than|less than)\s*\d",
    r"\bthreshold of\s*\d",
    # (2) PET establishes, confirms or excludes eligibility, or substitutes for IHC/ISH
    r"\bpet\b[^.]*\b(?:establishes|confirms|excludes|rules out|substitutes|replaces|overrides|updates)\b",
    r"\b(?:confirms?|confirmed)\b[^.]*\bher2-(?:low|0|ultralow|null|positive)\b",
    r"\bher2-(?:low|0|ultralow|null) confirmed\b",
    r"\b(?:in)?eligible\b",
    # (3) negative or non-avid PET rules out HER2-low or ultralow
    r"\brules? out\b",
    r"(?<!not )(?<!cannot )\bexcludes? her2-(?:low|ultralow)",
    # (4) SUV defines HER2-low; higher uptake predicts greater benefit
    r"\bsuv\w*\b[^.]*\bdefines?\b",
    r"\b(?:higher|greater|more)\s+(?:uptake|suv\w*)\b[^.]*\b(?:predicts?|means?|indicates?)\b",
    r"\b(?:likely|greater|more)\s+benefit\b",
    # (5) results transfer between tracers
    r"\b(?:transfer|interchangeable|apply equally)\b[^.]*\btracers?\b",
    # (6) tracers approved or standard of care
    r"\bstandard of care\b",
    r"\b(?:pet|tracers?|radiopharmaceuticals?)\b[^.]*\b(?:is|are)\s+(?:fda[- ])?approved\b",
    # (7) ultralow equivalent to HER2-low
    r"\bultralow\b[^.]*\b(?:equivalent|equals?|same as)\b",
    # statistical tests from Yeh 2025
    r"\b(?:mann-whitney|wilcoxon|t-test|kruskal|chi-squared?|fisher's)\b",
]

CARD_NEVER: dict[CardScenario, list[str]] = {
    S.HER2_LOW_PET_AVID: [r"confirms her2-low", r"uptake[^.]*\b(?:reflects|predicts|indicates)\b"],
    S.HER2_ZERO_PET_AVID: [r"\b(?:is|patient is) her2-low\b", r"\bpet overrides\b"],
    S.HER2_ULTRALOW: [r"avidity[^.]*\b(?:confirms|excludes)\b", r"benefit equals"],
    S.HER2_POSITIVE_PET_AVID: [r"\bis her2-low\b", r"confirms amplification"],
    S.HER2_ZERO_PET_NONAVID: [r"her2-0 confirmed", r"\bnot eligible\b"],
    S.PET_AVID_NO_PATHOLOGY: [r"\bher2-(?:low|positive|ultralow|null)\b(?! (?:from|lesions))", r"class:"],
    S.IHC2_ISH_PENDING: [r"\bsuv\w*\b[^.]*\bpredicts?\b", r"high suv\w* means"],
    S.PAIRING_OUT_OF_WINDOW: [r"older pathology reflects", r"\bpet updates?\b"],
    S.HER2_LOW_NO_PET: [r"\beligible\b"],
    S.HER2_UNSCORED_NEGATIVE: [r"\b(?:is|patient is) her2-low\b"],
    S.HER2_LOW_PET_NONAVID: [r"\bpet excludes\b"],
}


def _text(card: Card) -> str:
    return f"{card.summary}\n{card.detail or ''}".lower()


@pytest.mark.parametrize(("name", "site_name"), ALL)
def test_cards_never_claim(name: str, site_name: str) -> None:
    for card in render(name, SITES[site_name]):
        text = _text(card)
        for pattern in GLOBAL_NEVER:
            assert not re.search(pattern, text), (card.source.topic, pattern, re.search(pattern, text))
        topic = CardScenario(card.source.topic.code) if card.source.topic else None
        checked = text if topic is not S.PET_AVID_NO_PATHOLOGY else card.summary.lower()
        for pattern in CARD_NEVER.get(topic, []) if topic else []:
            assert not re.search(pattern, checked), (topic, pattern)


@pytest.mark.parametrize(("name", "site_name"), ALL)
def test_card_structure(name: str, site_name: str) -> None:
    site = SITES[site_name]
    cards = render(name, site)
    assert len({c.uuid for c in cards}) == len(cards)
    for card in cards:
        body = card.dump()
        assert schema_errors("card", body) == []
        assert card_problems(body) == []
        assert len(card.summary) < 140
        assert card.indicator.value in ("info", "warning")
        assert card.source.label == "HER2 PET Review (rules 1.0.0)"
        assert card.source.topic is not None
        assert card.source.topic.system == "urn:her2-pet-cds:card-scenario"
        assert [r.code for r in card.overrideReasons or []] == [
            "already-reviewed",
            "rereview-requested",
            "not-candidate",
            "not-relevant",
        ]
        assert "**References**" in (card.detail or "") or card.source.topic.code in (
            "data-unavailable",
            "pet-analysis-pending",
            "outside-uptake-window",
        )
        if "PET" in card.summary + (card.detail or "").split("**Basis**")[0]:
            assert "HER2 PET tracers are investigational radiopharmaceuticals." in (card.detail or "")
        if site.links:
            assert [link.type for link in card.links or []] == ["absolute"]
        else:
            assert card.links is None
        if card.suggestions:
            assert site.suggestions
            assert card.selectionBehavior == "at-most-one"
            for suggestion in card.suggestions:
                assert [a.type for a in suggestion.actions or []] == ["create"]
                resource = (suggestion.actions or [])[0].resource or {}
                assert resource["resourceType"] in ("Task", "ServiceRequest")
                assert resource["for"] == {"reference": "Patient/pat-1"}
        else:
            assert card.selectionBehavior is None


SPEC_SUMMARIES = {
    S.HER2_LOW_NO_PET: (
        "HER2-low on pathology (IHC 1+ or 2+/ISH-negative). Review T-DXd eligibility per label."
    ),
    S.HER2_UNSCORED_NEGATIVE: (
        "HER2 reported 'negative' without an IHC score. HER2-low or ultralow may qualify for T-DXd: "
        "obtain the score or re-review."
    ),
    S.IHC2_ISH_PENDING: (
        "HER2 IHC 2+ with ISH pending: HER2-low vs HER2-positive unresolved. PET uptake (SUVmax) cannot "
        "resolve it; await ISH."
    ),
    S.HER2_ULTRALOW: (
        "HER2-ultralow (IHC 0 with membrane staining). Labeled for HR+ disease after endocrine therapy; "
        "HER2 PET not validated for ultralow."
    ),
    S.PAIRING_OUT_OF_WINDOW: (
        "HER2 PET and HER2 pathology are >60 days apart, outside the window studied (≤2 months). "
        "Interpret the pairing with caution."
    ),
    S.PET_ANALYSIS_PENDING: (
        "A HER2 PET study from 2025-03-01 is being analysed; PET findings will appear on the next chart "
        "opening."
    ),
}


@pytest.mark.parametrize("name", ["k", "l", "g", "c", "h", "p"])
def test_summaries_follow_the_spec_wording(name: str) -> None:
    for card in render(name, SiteConfig()):
        topic = CardScenario(card.source.topic.code) if card.source.topic else None
        if topic in SPEC_SUMMARIES:
            assert card.summary == SPEC_SUMMARIES[topic]


EXPECTED_INDICATORS = {
    "a": ["info", "warning"],
    "b": ["warning"],
    "c": ["info"],
    "d": ["info"],
    "e-legacy": ["warning"],  # HR+ and the only IHC 0 is before 2022: escalated
    "e-recent": ["info"],
    "e-hr-neg-legacy": ["info"],
    "f": ["warning"],
    "g": ["warning"],
    "h": ["info", "warning"],
    "k": ["info"],
    "l": ["warning"],
    "m": ["info"],
    "p": ["info", "info"],
    "u-fhir": ["info"],
    "modifiers": ["info", "warning", "warning", "info"],
    "pet-details": ["warning", "warning", "warning", "info"],
}


@pytest.mark.parametrize(("name", "expected"), list(EXPECTED_INDICATORS.items()))
def test_indicators(name: str, expected: list[str]) -> None:
    assert [c.indicator.value for c in render(name, SiteConfig())] == expected


def test_variant_texts() -> None:
    plain, variant = render("f", SiteConfig())[0], render("f-variant", SiteConfig())[0]
    assert "no HER2 IHC/ISH on file" in plain.summary
    assert "could not be classified" in variant.summary
    assert "does not apply" in (render("c-hr-neg", SiteConfig())[0].detail or "")
    assert "does not apply" not in (render("c", SiteConfig())[0].detail or "")
    both = render("u-both", SiteConfig())[1]
    assert both.summary.startswith("FHIR server and PACS could not be reached")


def test_detail_shows_the_basis() -> None:
    card = render("h", SiteConfig())[0]
    detail = card.detail or ""
    for expected in (
        "collected 2025-01-10",
        "site metastasis",
        "HER2 IHC: 2+; assay 4B5",
        "ratio 1.4",
        "HER2 3.2",
        "CEP17 2.3",
        "DiagnosticReport/dr-7",
        "Discordance: primary 2023 IHC 0 vs metastasis 2025 IHC 1+",
        "HR status: positive",
        "tracer 89Zr-trastuzumab, 96 h after injection",
        "SUVmax 7.4",
        "PET–pathology interval: 120 days",
        "Yeh R et al., J Nucl Med 2025",
    ):
        assert expected in detail, expected
    assert "class:" not in (render("f-variant", SiteConfig())[0].detail or "")


def test_pet_details_name_every_value_and_who_called_it() -> None:
    detail = render("pet-details", SiteConfig())[0].detail or ""
    for expected in (
        "HER2 PET: 2025-02-07, tracer 89Zr-pertuzumab, 144 h after injection",
        "Lesion L1 (liver segment 7): SUVmax 7.4, SUVpeak 5.1 (SUVbw, g/ml); avid, called by the reader",
        "Lesion L2 (non-hepatic): SUVmax 2.1, SUVpeak 1.7 (SUVbw, g/ml); not avid, called by the reader",
        "source study/1.2.3/series/9/instances/1",
        "Lesion S1 (unknown): SUVmax 4.4, SUVpeak 3.9 (SUVbw, g/ml); no reader call (segmentation)",
        "Lesion auto-1 (unknown): SUVmax 12.5, SUVpeak 8 (SUVbw, g/ml); automated candidate, unconfirmed",
        "Reference regions: blood pool SUVmean 2.46 (reader SR); liver SUVmean 4.1 (SEG 'Liver')",
        "PET–pathology interval: 75 days",
        "PET source: DICOM study/1.2.3/series/1.2.3.4",
        "HER2 PET tracers are investigational radiopharmaceuticals.",
    ):
        assert expected in detail, expected


def test_modifiers_alone_render_nothing() -> None:
    c = case((S.HEPATIC_LESION, S.RECENT_ANTI_HER2), occasion(C.HER2_LOW))
    assert render_cards(c.assessment, SiteConfig()) == []


def test_suggestions_only_where_a_review_task_makes_sense() -> None:
    site = SITES["links+suggestions"]
    with_suggestions = {
        CardScenario(card.source.topic.code)
        for name in CASES
        for card in render(name, site)
        if card.suggestions and card.source.topic
    }
    assert S.HER2_ZERO_PET_AVID in with_suggestions
    assert S.HER2_UNSCORED_NEGATIVE in with_suggestions
    assert not with_suggestions & {
        S.HER2_LOW_NO_PET,
        S.DATA_UNAVAILABLE,
        S.HEPATIC_LESION,
        S.PET_ANALYSIS_PENDING,
    }


def test_render_card_rejects_nothing_for_any_scenario_alone() -> None:
    base = CASES["k"]
    for scenario in CardScenario:
        card = render_card(scenario, base.assessment, SiteConfig())
        assert card.source.topic is not None
        assert card.source.topic.code == scenario.value


def test_data_unavailable_makes_no_clinical_statement() -> None:
    card = render("u-both", SiteConfig())[1]
    detail = card.detail or ""
    assert "FHIR server, PACS" in detail
    assert "HER2-low" not in detail
    assert "HR status" not in detail
