"""Every card the service can emit, rendered from hand-built assessments: indicators (with the (e)
escalation), the basis in the detail, the site comparison behind "consistent"/"concordant", the label rows,
card (o) for every HER2 basis, short extra cards that point to the main card, no DICOM UID, and the structure
every card must have (the response linter, ``tests/cds_lint.py``). The closed set of wording and the "never
claim" rules are checked in ``test_card_wording.py``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import pytest

from cds_service.hooks import card_texts as texts
from cds_service.hooks.cards import render_card, render_cards
from cds_service.hooks.models import Card
from cds_service.settings import SiteConfig, SiteLink
from rules.display import scenario_for_topic, topic_code
from rules.domain import (
    AscoCapStatus,
    AssessInputs,
    Assessment,
    CardScenario,
    ClinicalContext,
    DrugClass,
    Evidence,
    Her2Assessment,
    Her2Result,
    HrStatus,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IndicationCheck,
    IshResult,
    LesionOrigin,
    LesionSite,
    OrderBasis,
    PatientHer2,
    PetLesion,
    PetStatus,
    PetStudyFacts,
    ReaderCall,
    ReferenceUptake,
    ReportedStatus,
    SiteComparison,
    SiteConcordance,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
    TdxdCategory,
    TherapyExposure,
    Tracer,
    UptakeAssessment,
)
from rules.indications import check_indications
from tests.cds_lint import lint_card

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
    order_basis: OrderBasis | None = None,
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
        order_basis=order_basis,
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
    "o": case(
        (S.TDXD_ORDER, S.HER2_LOW_PET_AVID),
        occasion(C.HER2_LOW),
        uptake=AVID_UPTAKE,
        gap=12,
        pet=PET,
        order_basis=OrderBasis.HER2_LOW,
    ),
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
SOURCE_URL = "https://cds.test/clinical-basis"


def render(name: str, site: SiteConfig = SITES["default"]) -> list[Card]:
    return render_cards(CASES[name].assessment, site, patient_id="pat-1", source_url=SOURCE_URL)


def scenario(card: Card) -> CardScenario | None:
    return scenario_for_topic(card.source.topic.code) if card.source.topic else None


ALL = [pytest.param(name, site_name, id=f"{name}/{site_name}") for name in CASES for site_name in SITES]


def test_every_scenario_is_rendered_somewhere() -> None:
    rendered = {scenario(c) for name in CASES for c in render(name)}
    assert rendered == set(CardScenario)


@pytest.mark.parametrize(("name", "site_name"), ALL)
def test_card_structure(name: str, site_name: str) -> None:
    site = SITES[site_name]
    cards = render(name, site)
    assert len({c.uuid for c in cards}) == len(cards)
    for card in cards:
        assert lint_card(card.dump()) == []
        assert card.source.url == SOURCE_URL
        assert [r.code for r in card.overrideReasons or []] == [
            "already-reviewed",
            "rereview-requested",
            "not-candidate",
            "not-relevant",
        ]
        references = card.detail is not None and "**References**" in card.detail
        assert references or scenario(card) in (
            S.DATA_UNAVAILABLE,
            S.PET_ANALYSIS_PENDING,
            S.OUTSIDE_UPTAKE_WINDOW,
        )
        if "PET" in card.summary + (card.detail or "").split("**Basis**")[0]:
            assert "HER2 PET tracers are investigational radiopharmaceuticals." in (card.detail or "")
        if site.links:
            assert [link.type for link in card.links or []] == ["absolute"]
        else:
            assert card.links is None
        if card.suggestions:
            assert site.suggestions
            assert card.selectionBehavior == "any"
            for suggestion in card.suggestions:
                assert [a.type for a in suggestion.actions or []] == ["create"]
                resource = (suggestion.actions or [])[0].resource or {}
                assert resource["resourceType"] in ("Task", "ServiceRequest")
                assert resource["for"] == {"reference": "Patient/pat-1"}
        else:
            assert card.selectionBehavior is None


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
    "o": ["info", "info"],
    "p": ["info", "info"],
    "u-fhir": ["info"],
    "modifiers": ["info", "warning", "warning", "info"],
    "pet-details": ["warning", "warning", "warning", "info"],
}


@pytest.mark.parametrize(("name", "expected"), list(EXPECTED_INDICATORS.items()))
def test_indicators(name: str, expected: list[str]) -> None:
    assert [c.indicator.value for c in render(name)] == expected


def test_variant_texts() -> None:
    plain, variant = render("f")[0], render("f-variant")[0]
    assert "no HER2 IHC/ISH on file" in plain.summary
    assert "could not be classified" in variant.summary
    assert "does not apply" in (render("c-hr-neg")[0].detail or "")
    assert "does not apply" not in (render("c")[0].detail or "")
    both = render("u-both")[1]
    assert both.summary.startswith("FHIR server and PACS could not be reached")


def test_detail_shows_the_basis() -> None:
    detail = render("h")[0].detail or ""
    for expected in (
        "- Specimen: collected 2025-01-10, metastasis.",
        "- HER2 IHC 2+; assay 4B5.",
        "- HER2 ISH (dual-probe): HER2/CEP17 ratio 1.4, HER2 3.2 and CEP17 2.3 signals/cell.",
        "- Source: DiagnosticReport/dr-7, reported 2025-01-13.",
        "- HR status: positive.",
        "- HER2 PET: 2025-02-05, 89Zr-trastuzumab, 96 h after injection.",
        "- Avid lesions (reader call): liver segment 7 (SUVmax 7.4).",
        "- PET–pathology interval: 120 days.",
        "- Caveats recorded: 1; see the evidence page.",
        "- Shown as separate cards: HER2 PET and pathology far apart.",
        "Yeh R et al. J Nucl Med 2025;66(6):873–9.",
    ):
        assert expected in detail, expected
    assert "class:" not in (render("f-variant")[0].detail or "")


def test_no_dicom_uid_reaches_a_card_and_lesions_are_named_by_site() -> None:
    detail = render("pet-details")[0].detail or ""
    assert "1.2.3.4" not in detail
    assert "study/" not in detail
    assert "- Avid lesions (reader call): liver segment 7 (SUVmax 7.4)." in detail
    assert "- Automated candidates without a reader call: 1 (never counted as avid)." in detail
    assert "- PET–pathology interval: 75 days." in detail


def test_modifiers_alone_render_nothing() -> None:
    c = case((S.HEPATIC_LESION, S.RECENT_ANTI_HER2), occasion(C.HER2_LOW))
    assert render_cards(c.assessment, SiteConfig()) == []


def test_extra_cards_state_their_finding_and_point_to_the_main_card() -> None:
    main, hepatic, recent, window = render("modifiers")
    assert "- Shown as separate cards: Avid lesion in the liver; Recent anti-HER2 antibody before PET; " in (
        main.detail or ""
    )
    for extra in (hepatic, recent, window):
        detail = extra.detail or ""
        assert "**Basis**" not in detail
        assert "- Specimen:" not in detail
        assert "- Basis: see the card “HER2-low with HER2-avid lesion(s)”." in detail
    assert "- Avid liver lesion(s): liver segment 7 (SUVmax 7.4)." in (hepatic.detail or "")
    assert "- Uptake time: 96 h after injection (89Zr-trastuzumab); usual window on the evidence page." in (
        window.detail or ""
    )
    assert "Mortimer" not in (recent.detail or "")


def test_suggestions_only_where_a_review_task_makes_sense() -> None:
    site = SITES["links+suggestions"]
    with_suggestions = {scenario(card) for name in CASES for card in render(name, site) if card.suggestions}
    assert S.HER2_ZERO_PET_AVID in with_suggestions
    assert S.HER2_UNSCORED_NEGATIVE in with_suggestions
    assert not with_suggestions & {
        S.HER2_LOW_NO_PET,
        S.DATA_UNAVAILABLE,
        S.HEPATIC_LESION,
        S.PET_ANALYSIS_PENDING,
    }


def test_render_card_renders_any_scenario_alone() -> None:
    base = CASES["k"]
    for each in CardScenario:
        card = render_card(each, base.assessment, SiteConfig())
        assert card.source.topic is not None
        assert card.source.topic.code == topic_code(each)
        assert card.source.topic.code.isalnum()


def test_data_unavailable_makes_no_clinical_statement() -> None:
    detail = render("u-both")[1].detail or ""
    assert "- Unreachable: FHIR server, PACS." in detail
    assert "HER2-low" not in detail
    assert "HR status" not in detail


# -- the biopsied site decides "consistent" / "concordant" --------------------------------------------------


def sited(name: str, outcome: SiteConcordance, *, biopsied: str | None = "breast") -> Assessment:
    site = SiteComparison(outcome=outcome, biopsied=biopsied, avid_sites=("liver",), explanation="x")
    return dataclasses.replace(CASES[name].assessment, site=site)


@pytest.mark.parametrize(
    ("name", "outcome", "claims", "site_line"),
    [
        pytest.param(
            "a",
            SiteConcordance.BIOPSIED_AVID,
            True,
            "- Biopsied site (breast) is an avid lesion on HER2 PET.",
            id="a-biopsied-avid→consistent",
        ),
        pytest.param(
            "a",
            SiteConcordance.BIOPSIED_NON_AVID,
            False,
            "- Biopsied site (breast) was read not avid; the avid lesion(s) (liver) were not biopsied.",
            id="a-biopsied-non-avid→not-biopsied",
        ),
        pytest.param(
            "a",
            SiteConcordance.NOT_AMONG_READ,
            False,
            "- Biopsied site (breast) is not among the lesions read; the avid lesion(s) (liver) were not "
            "biopsied.",
            id="a-not-among-read→not-biopsied",
        ),
        pytest.param(
            "a",
            SiteConcordance.UNKNOWN,
            False,
            "- Whether the biopsied site is an avid lesion cannot be told: sites not coded.",
            id="a-unknown→no-claim",
        ),
        pytest.param(
            "d",
            SiteConcordance.BIOPSIED_AVID,
            True,
            "- Biopsied site (breast) is an avid lesion on HER2 PET.",
            id="d-biopsied-avid→concordant",
        ),
        pytest.param(
            "d",
            SiteConcordance.NOT_AMONG_READ,
            False,
            "- Biopsied site (breast) is not among the lesions read; the avid lesion(s) (liver) were not "
            "biopsied.",
            id="d-not-biopsied→no-concordant",
        ),
        pytest.param(
            "e-recent",
            SiteConcordance.BIOPSIED_NON_AVID,
            True,
            "- Biopsied site (breast) was read not avid on HER2 PET.",
            id="e-biopsied-non-avid→concordant",
        ),
        pytest.param(
            "e-recent",
            SiteConcordance.NOT_AMONG_READ,
            False,
            "- Biopsied site (breast) is not among the lesions read on HER2 PET.",
            id="e-not-read→no-concordant",
        ),
    ],
)
def test_consistent_or_concordant_only_when_the_biopsied_site_supports_it(
    name: str, outcome: SiteConcordance, claims: bool, site_line: str
) -> None:
    card = render_cards(sited(name, outcome), SiteConfig(), source_url=SOURCE_URL)[0]
    said = "consistent with" in card.summary or "concordant" in card.summary
    assert said is claims, card.summary
    assert site_line in (card.detail or "")
    if not claims and outcome is not SiteConcordance.UNKNOWN and name != "e-recent":
        assert "were not biopsied" in card.summary


# -- assay, staining percentages, specimen site --------------------------------------------------------------


def test_assay_percentages_and_specimen_site_from_the_result_reach_the_card() -> None:
    result = Her2Result(
        specimen=SpecimenRef(
            id="S-9",
            collected=dt.date(2025, 3, 3),
            site=SpecimenSite.METASTASIS,
            description="liver, core biopsy",
        ),
        ihc=IhcResult(
            score=IhcScore.ONE_PLUS,
            assay="VENTANA 4B5",
            percentages=IhcPercentages(incomplete_faint=40.0, complete_any=0.0),
        ),
        source=SourceRef(system="fhir", reference="DiagnosticReport/dr-9"),
    )
    current = Her2Assessment(result=result, status=AscoCapStatus.NEGATIVE, category=C.HER2_LOW)
    detail = render_cards(case((S.HER2_LOW_NO_PET,), current).assessment, SiteConfig())[0].detail or ""
    assert "- Specimen: collected 2025-03-03, metastasis (liver, core biopsy)." in detail
    assert "- HER2 IHC 1+; assay VENTANA 4B5." in detail
    assert "- Membrane staining (invasive cells): complete 0 %, incomplete faint 40 %." in detail
    assert "- Source: DiagnosticReport/dr-9." in detail


# -- label rows on the card --------------------------------------------------------------------------------


def with_rows(name: str, checks: tuple[IndicationCheck, ...]) -> list[Card]:
    return render_cards(dataclasses.replace(CASES[name].assessment, indications=checks), SiteConfig())


def test_label_rows_state_the_criteria_that_are_not_on_file() -> None:
    chart = ClinicalContext(
        metastatic=True, metastatic_since=dt.date(2025, 1, 1), hr_status=HrStatus.POSITIVE
    )
    no_assay = check_indications(
        C.HER2_LOW, chart, as_of=dt.date(2026, 1, 1), ihc=IhcResult(score=IhcScore.ONE_PLUS)
    )
    detail = with_rows("k", no_assay)[0].detail or ""
    assert (
        "- Row C, HER2-low after chemotherapy (DESTINY-Breast04; FDA 5 Aug 2022): not determinable from the "
        "chart: FDA-approved test, prior chemotherapy." in detail
    )
    assert "Row B" not in detail
    assert "Row A" not in detail
    assert "Row TA" not in detail
    assert "criteria on file met" not in detail


def test_tumour_agnostic_row_is_never_met_for_breast_cancer() -> None:
    anti_her2 = TherapyExposure(
        drug_class=DrugClass.ANTI_HER2, display="trastuzumab", start=dt.date(2025, 2, 1)
    )
    chart = ClinicalContext(
        metastatic=True,
        metastatic_since=dt.date(2025, 1, 1),
        therapies=(anti_her2,),
        pertuzumab_co_order=True,
    )
    ihc = IhcResult(score=IhcScore.THREE_PLUS, assay="4B5")
    checks = check_indications(C.HER2_POSITIVE, chart, as_of=dt.date(2026, 1, 1), ihc=ihc)
    detail = with_rows("d", checks)[0].detail or ""
    assert (
        "- Row B, HER2-positive after anti-HER2 therapy (DESTINY-Breast03; FDA May 2022): criteria on file "
        "met." in detail
    )
    assert (
        "- Row TA, tumour-agnostic, HER2 IHC 3+ (DESTINY-PanTumor02, -Lung01, -CRC02; FDA 5 Apr 2024): not "
        "determinable from the chart: no satisfactory alternative treatment." in detail
    )


# -- card (o): every T-DXd order gets the HER2 basis ---------------------------------------------------------


ORDER_CASES = {
    OrderBasis.HER2_POSITIVE: ("T-DXd order: HER2-positive on pathology.", "info"),
    OrderBasis.HER2_LOW: ("T-DXd order: HER2-low on pathology", "info"),
    OrderBasis.HER2_ULTRALOW: ("T-DXd order: HER2-ultralow on pathology.", "info"),
    OrderBasis.HER2_NULL: ("no labelled breast indication on file. Consider IHC re-review", "warning"),
    OrderBasis.HER2_ZERO_UNSPECIFIED: ("no labelled breast indication on file", "warning"),
    OrderBasis.ZERO_EARLIER_HIGHER: (
        "latest HER2 result HER2-null; an earlier specimen was HER2-low.",
        "warning",
    ),
    OrderBasis.NEGATIVE_UNSCORED: ("without an IHC score; no labelled indication can be placed", "warning"),
    OrderBasis.ISH_PENDING: ("ISH pending; HER2-low vs HER2-positive unresolved", "warning"),
    OrderBasis.UNCLASSIFIABLE: ("could not be classified", "warning"),
    OrderBasis.NO_PATHOLOGY: ("no HER2 IHC/ISH result on file", "warning"),
    OrderBasis.SOURCE_UNREACHABLE: ("no HER2 result could be read", "warning"),
}


@pytest.mark.parametrize(("basis", "expected"), list(ORDER_CASES.items()), ids=lambda v: str(v))
def test_order_card_states_the_her2_basis(basis: OrderBasis, expected: tuple[str, str]) -> None:
    current = occasion(C.HER2_NULL, IhcScore.ZERO, subtype=IhcZeroSubtype.NULL)
    earlier = occasion(C.HER2_LOW, collected=dt.date(2022, 5, 1))
    her2 = PatientHer2(
        current=current, occasions=(current, earlier), highest=earlier, hr_status=HrStatus.POSITIVE
    )
    assessment = dataclasses.replace(case((S.TDXD_ORDER,), current).assessment, her2=her2, order_basis=basis)
    card = render_cards(assessment, SITES["links+suggestions"], patient_id="pat-1", source_url=SOURCE_URL)[0]
    text, indicator = expected
    assert text in card.summary
    assert card.indicator.value == indicator
    assert "- Earlier specimen (collected 2022-05-01): HER2-low." in (card.detail or "")
    rereview = {s.label for s in card.suggestions or []} == {"Request HER2 IHC re-review (0 vs 1+/ultralow)"}
    assert rereview is (basis in texts.RE_REVIEW_ORDER_BASES)


def test_a_pet_card_after_the_order_card_does_not_repeat_the_pathology() -> None:
    base = CASES["a"].assessment
    assessment = dataclasses.replace(base, cards=(S.TDXD_ORDER, *base.cards), order_basis=OrderBasis.HER2_LOW)
    order, pet, hepatic = render_cards(assessment, SiteConfig(), source_url=SOURCE_URL)
    assert "- Specimen: collected 2025-01-10" in (order.detail or "")
    assert "- Specimen:" not in (pet.detail or "")
    assert "- Pathology, HR status and label rows: see the card “T-DXd order: HER2 basis" in (
        pet.detail or ""
    )
    assert "- Basis: see the card “HER2-low with HER2-avid lesion(s)”." in (hepatic.detail or "")
