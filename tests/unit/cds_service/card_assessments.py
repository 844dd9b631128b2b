"""Hypothesis strategies for whole ``Assessment`` objects, built from domain objects only, so that card tests
can render every scenario over many charts: every HER2 category with and without assay, staining percentages
and ISH numbers, specimen sites, earlier specimens, HR status, PET studies with lesions in coded and uncoded
sites (and DICOM UIDs that must never reach a card), site comparisons, real label-row checks, card (o) bases,
anti-HER2 exposures, unreachable sources and caveats."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from rules.domain import (
    AscoCapStatus,
    Assessment,
    CardScenario,
    ClinicalContext,
    DrugClass,
    Her2Assessment,
    Her2Result,
    HrStatus,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    IshResult,
    LesionOrigin,
    LesionSite,
    OrderBasis,
    PatientHer2,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    RecentAntiHer2,
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
from rules.parameters import RULES_VERSION

UID = "1.2.826.0.1.3680043.8.498.10436395419396742744058188645815775080"
"""A DICOM UID; it may sit in any source reference and must never appear on a card."""

DAYS = st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2026, 6, 30))
ASSAYS = st.one_of(
    st.none(), st.sampled_from(["4B5", "VENTANA PATHWAY anti-HER-2/neu (4B5)", "HercepTest", "CB11", "SP3"])
)
ORGAN_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(
        ["Lymph node", "Liver", "liver segment 7", "Breast", "left axilla", "T8 vertebra", "lung", "brain"]
    ),
)
PERCENT = st.one_of(st.none(), st.floats(min_value=0, max_value=100).map(lambda v: round(v, 1)))


@st.composite
def percentages(draw: st.DrawFn) -> IhcPercentages | None:
    if not draw(st.booleans()):
        return None
    return IhcPercentages(
        complete_intense=draw(PERCENT),
        complete_any=draw(PERCENT),
        incomplete_faint=draw(PERCENT),
        incomplete_moderate_intense=draw(st.booleans()),
    )


@st.composite
def ihc_results(draw: st.DrawFn) -> IhcResult | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    score = draw(st.sampled_from(list(IhcScore)))
    ranged = draw(st.integers(0, 6)) == 0
    return IhcResult(
        score=score,
        zero_subtype=draw(st.sampled_from(list(IhcZeroSubtype)))
        if score is IhcScore.ZERO
        else IhcZeroSubtype.UNSPECIFIED,
        is_range=ranged,
        range_to=IhcScore.ONE_PLUS if ranged else None,
        percentages=draw(percentages()),
        assay=draw(ASSAYS),
    )


@st.composite
def ish_results(draw: st.DrawFn) -> IshResult | None:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return None
    if kind == 1:
        return IshResult(pending=True)
    number = st.one_of(st.none(), st.floats(min_value=0.5, max_value=20).map(lambda v: round(v, 2)))
    return IshResult(
        probe=draw(st.sampled_from(list(IshProbe))),
        ratio=draw(number),
        her2_per_cell=draw(number),
        cep17_per_cell=draw(number),
    )


@st.composite
def occasions(draw: st.DrawFn, collected: dt.date | None = None) -> Her2Assessment:
    reference = draw(
        st.sampled_from(["DiagnosticReport/dr-7", "Observation/her2-ihc", f"DiagnosticReport/{UID}"])
    )
    result = Her2Result(
        specimen=SpecimenRef(
            id=draw(st.one_of(st.none(), st.just("S-1"))),
            collected=collected if collected is not None else draw(st.one_of(st.none(), DAYS)),
            site=draw(st.sampled_from(list(SpecimenSite))),
            description=draw(ORGAN_TEXTS),
        ),
        ihc=draw(ihc_results()),
        ish=draw(ish_results()),
        reported_status=draw(st.one_of(st.none(), st.sampled_from(list(ReportedStatus)))),
        source=draw(st.one_of(st.none(), st.just(SourceRef(system="fhir", reference=reference)))),
        reported=draw(st.one_of(st.none(), DAYS)),
    )
    return Her2Assessment(
        result=result,
        status=draw(st.sampled_from(list(AscoCapStatus))),
        category=draw(st.sampled_from(list(TdxdCategory))),
        ish_group=draw(st.one_of(st.none(), st.integers(1, 5))),
    )


@st.composite
def lesions(draw: st.DrawFn, index: int) -> PetLesion:
    site_text = draw(ORGAN_TEXTS)
    return PetLesion(
        lesion_id=draw(st.sampled_from([f"lesion-{index}", UID + f".{index}"])),
        site=LesionSite.HEPATIC
        if site_text and "liver" in site_text.lower()
        else draw(st.sampled_from(list(LesionSite))),
        site_text=site_text,
        reader_call=draw(st.sampled_from(list(ReaderCall))),
        origin=draw(st.sampled_from(list(LesionOrigin))),
        suv_max=draw(st.one_of(st.none(), st.floats(min_value=0.5, max_value=40).map(lambda v: round(v, 3)))),
        source=SourceRef(system="dicom", reference=f"study/{UID}/series/{UID}.1/instances/{UID}.2"),
    )


@st.composite
def pet_studies(draw: st.DrawFn) -> PetStudyFacts | None:
    if draw(st.integers(0, 3)) == 0:
        return None
    found = tuple(draw(lesions(i)) for i in range(draw(st.integers(0, 8))))
    acquired = draw(st.one_of(st.none(), DAYS))
    return PetStudyFacts(
        study=UID,
        series=UID + ".1",
        tracer=draw(st.sampled_from(list(Tracer))),
        acquired_at=dt.datetime.combine(acquired, dt.time(9)) if acquired else None,
        uptake_h=draw(st.one_of(st.none(), st.floats(min_value=1, max_value=200))),
        lesions=found,
        references=ReferenceUptake(blood_pool_suvmean=2.5, liver_suvmean=4.1),
        suv_available=draw(st.booleans()),
        source=SourceRef(system="dicom", reference=f"study/{UID}/series/{UID}.1"),
    )


@st.composite
def site_comparisons(draw: st.DrawFn, avid: tuple[PetLesion, ...]) -> SiteComparison | None:
    if draw(st.integers(0, 4)) == 0:
        return None
    outcome = draw(st.sampled_from(list(SiteConcordance)))
    biopsied = (
        None
        if outcome is SiteConcordance.UNKNOWN and draw(st.booleans())
        else draw(
            st.sampled_from(
                ["breast", "lymph node", "liver", "bone", "skin or chest wall", "breast, lymph node"]
            )
        )
    )
    return SiteComparison(
        outcome=outcome,
        biopsied=biopsied,
        avid_sites=tuple(lesion.site_text or "site not coded" for lesion in avid),
        explanation="generated",
    )


@st.composite
def contexts(draw: st.DrawFn) -> ClinicalContext:
    therapies = tuple(
        TherapyExposure(
            drug_class=draw(st.sampled_from(list(DrugClass))),
            display=draw(st.sampled_from(["trastuzumab", "capecitabine", "letrozole", "paclitaxel"])),
            start=start,
            end=None,
            ended=draw(st.booleans()),
        )
        for start in draw(st.lists(st.one_of(st.none(), DAYS), max_size=3))
    )
    return ClinicalContext(
        metastatic=draw(st.one_of(st.none(), st.booleans())),
        metastatic_since=draw(st.one_of(st.none(), DAYS)),
        hr_status=draw(st.sampled_from(list(HrStatus))),
        therapies=therapies,
        pertuzumab_co_order=draw(st.booleans()),
    )


EXTRAS = (
    CardScenario.PAIRING_OUT_OF_WINDOW,
    CardScenario.PET_ANALYSIS_PENDING,
    CardScenario.DATA_UNAVAILABLE,
    CardScenario.HEPATIC_LESION,
    CardScenario.RECENT_ANTI_HER2,
    CardScenario.OUTSIDE_UPTAKE_WINDOW,
)
MAINS = tuple(s for s in CardScenario if s not in EXTRAS and s is not CardScenario.TDXD_ORDER)


@st.composite
def card_lists(draw: st.DrawFn) -> tuple[CardScenario, ...]:
    """A card list as ``rules.scenarios`` orders one: card (o) on an order, one main card, extra cards."""
    order = (CardScenario.TDXD_ORDER,) if draw(st.booleans()) else ()
    main = tuple(draw(st.lists(st.sampled_from(MAINS), max_size=1)))
    extras = tuple(s for s in EXTRAS if draw(st.booleans()))
    return order + main + extras or (CardScenario.TDXD_ORDER,)


@st.composite
def assessments(draw: st.DrawFn, cards: tuple[CardScenario, ...] | None = None) -> Assessment:
    """One generated assessment; ``cards`` defaults to a random card list."""
    current = draw(st.one_of(st.none(), occasions()))
    earlier = draw(st.one_of(st.none(), occasions())) if current is not None else None
    hr = draw(st.sampled_from(list(HrStatus)))
    her2 = PatientHer2(
        current=current,
        occasions=tuple(o for o in (current, earlier) if o is not None),
        highest=earlier,
        hr_status=hr,
        caveats=tuple(draw(st.lists(st.sampled_from(["c1", "c2", "c3"]), max_size=3))),
        rules_version=RULES_VERSION,
    )
    pet = draw(pet_studies())
    uptake = None
    if pet is not None or draw(st.booleans()):
        pet_lesions = pet.lesions if pet is not None else ()
        avid = tuple(lesion for lesion in pet_lesions if lesion.reader_call is ReaderCall.AVID)
        uptake = UptakeAssessment(
            lesions_read=bool(avid)
            or any(lesion.reader_call is ReaderCall.NON_AVID for lesion in pet_lesions),
            any_avid=bool(avid),
            avid_lesions=avid,
            hepatic_avid=any(lesion.site is LesionSite.HEPATIC for lesion in avid),
            unconfirmed_candidates=draw(st.integers(0, 3)),
        )
    context = draw(contexts())
    category = current.category if current is not None else TdxdCategory.UNKNOWN
    indications = check_indications(
        category,
        context,
        as_of=dt.date(2026, 7, 1),
        ihc=current.result.ihc if current is not None else None,
    )
    if cards is None:
        cards = draw(card_lists())
    therapy = TherapyExposure(
        drug_class=DrugClass.ANTI_HER2, display="trastuzumab", start=dt.date(2026, 1, 2)
    )
    return Assessment(
        her2=her2,
        uptake=uptake,
        pairing_gap_days=draw(st.one_of(st.none(), st.integers(0, 900))),
        scenario=cards[0] if cards else None,
        cards=cards,
        indications=indications,
        caveats=tuple(draw(st.lists(st.sampled_from(["c4", "c5"]), max_size=2))),
        rules_version=RULES_VERSION,
        pet=pet,
        pending_pet_date=draw(st.one_of(st.none(), DAYS)),
        unavailable_sources=tuple(draw(st.lists(st.sampled_from(["FHIR server", "PACS"]), unique=True))),
        site=draw(site_comparisons(uptake.avid_lesions if uptake is not None else ())),
        order_basis=draw(st.sampled_from(list(OrderBasis))),
        anti_her2=draw(
            st.one_of(
                st.none(),
                st.integers(0, 21).map(lambda d: RecentAntiHer2(therapy=therapy, days_before_pet=d)),
            )
        ),
    )
