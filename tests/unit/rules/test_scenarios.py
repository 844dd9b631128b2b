"""Card scenario selection (spec/clinical-logic.md §14) as named decision-table cases.

PatientHer2 and Her2Assessment objects are built directly here, so these tests do not depend on the HER2
classifier; ``test_assess.py`` runs the whole chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from rules import parameters
from rules.display import MODIFIERS
from rules.domain import (
    AscoCapStatus,
    CardScenario,
    Her2Assessment,
    Her2Result,
    HrStatus,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    LesionSite,
    OrderBasis,
    PatientHer2,
    PetLesion,
    PetStatus,
    ReaderCall,
    ReportedStatus,
    SpecimenRef,
    TdxdCategory,
    UptakeAssessment,
)
from rules.scenarios import (
    EXTRA_TABLE,
    MAIN_TABLE,
    PATHOLOGY_MAIN_CARDS,
    SCENARIO_LETTERS,
    PathologyClass,
    PetState,
    ScenarioInputs,
    c_hr_negative_note,
    f_variant_unclassifiable,
    order_basis,
    pathology_class,
    pet_state,
    scenario_e_escalated,
    scenario_table_markdown,
    select_scenario,
)

S = CardScenario
T = TdxdCategory
DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "card-scenarios.md"
COLLECTED = dt.date(2024, 5, 1)

_STATUS = {
    T.HER2_POSITIVE: AscoCapStatus.POSITIVE,
    T.UNKNOWN: AscoCapStatus.UNKNOWN,
    T.NEEDS_REVIEW: AscoCapStatus.UNKNOWN,
}
_IHC = {
    T.HER2_POSITIVE: IhcResult(score=IhcScore.THREE_PLUS),
    T.HER2_LOW: IhcResult(score=IhcScore.ONE_PLUS),
    T.HER2_ULTRALOW: IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.ULTRALOW),
    T.HER2_NULL: IhcResult(score=IhcScore.ZERO, zero_subtype=IhcZeroSubtype.NULL),
    T.HER2_ZERO_UNSPECIFIED: IhcResult(score=IhcScore.ZERO),
    T.NEEDS_REVIEW: IhcResult(score=IhcScore.ZERO, is_range=True, range_to=IhcScore.ONE_PLUS),
}


def occasion(
    category: TdxdCategory, collected: dt.date | None = COLLECTED, *, ish_pending: bool = False
) -> Her2Assessment:
    """A classified test occasion as the HER2 classifier would return it."""
    if ish_pending:
        result = Her2Result(specimen=SpecimenRef(collected=collected), ihc=IhcResult(score=IhcScore.TWO_PLUS))
        return Her2Assessment(result=result, status=AscoCapStatus.EQUIVOCAL_PENDING, category=T.UNKNOWN)
    reported = ReportedStatus.NEGATIVE if category is T.NEGATIVE_UNSCORED else None
    result = Her2Result(
        specimen=SpecimenRef(collected=collected), ihc=_IHC.get(category), reported_status=reported
    )
    return Her2Assessment(
        result=result, status=_STATUS.get(category, AscoCapStatus.NEGATIVE), category=category
    )


def patient(*occasions: Her2Assessment, hr: HrStatus = HrStatus.UNKNOWN) -> PatientHer2:
    return PatientHer2(current=occasions[0] if occasions else None, occasions=occasions, hr_status=hr)


def uptake(
    *, avid: bool = False, read: bool = True, hepatic: bool = False, window: bool | None = True
) -> UptakeAssessment:
    """An uptake call; ``avid`` implies ``read``."""
    lesion = PetLesion(
        lesion_id="L1",
        site=LesionSite.HEPATIC if hepatic else LesionSite.NON_HEPATIC,
        reader_call=ReaderCall.AVID,
    )
    return UptakeAssessment(
        lesions_read=read or avid,
        any_avid=avid,
        avid_lesions=(lesion,) if avid else (),
        hepatic_avid=hepatic and avid,
        within_uptake_window=window,
    )


AVID = uptake(avid=True)
NON_AVID = uptake(avid=False)
UNREAD = uptake(avid=False, read=False)
ISH_PENDING = occasion(T.UNKNOWN, ish_pending=True)


def inputs(
    her2: PatientHer2,
    up: UptakeAssessment | None = None,
    *,
    status: PetStatus | None = None,
    gap: int | None = 10,
    anti_her2: int | None = None,
    unavailable: bool = False,
    pathology_cards: bool = True,
    order: bool = False,
) -> ScenarioInputs:
    return ScenarioInputs(
        tdxd_order=order,
        her2=her2,
        pet_status=status or (PetStatus.ANALYSED if up is not None else PetStatus.NONE),
        uptake=up,
        pairing_gap_days=gap,
        anti_her2_days_before_pet=anti_her2,
        sources_unavailable=unavailable,
        pathology_cards_enabled=pathology_cards,
    )


CASES = [
    # card (o): every T-DXd order gets the HER2 basis, first; it replaces a pathology-only main card
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), order=True), "1-none", (S.TDXD_ORDER,), id="order-null→o"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE)), order=True),
        "1-none",
        (S.TDXD_ORDER,),
        id="order-positive→o",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), order=True), "1k", (S.TDXD_ORDER,), id="order-low-replaces-k→o"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), order=True, pathology_cards=False),
        "1-off",
        (S.TDXD_ORDER,),
        id="order-shown-with-pathology-cards-off→o",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, order=True),
        "4a",
        (S.TDXD_ORDER, S.HER2_LOW_PET_AVID),
        id="order-low-avid→o+a",
    ),
    pytest.param(
        inputs(patient(ISH_PENDING), AVID, order=True),
        "2g",
        (S.TDXD_ORDER,),
        id="order-ISH-pending-with-PET→o",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), status=PetStatus.PENDING, order=True),
        "1-none",
        (S.TDXD_ORDER, S.PET_ANALYSIS_PENDING),
        id="order-pending→o+p",
    ),
    # §14 step 1: no HER2 PET study → pathology-only cards
    pytest.param(inputs(patient(occasion(T.HER2_LOW))), "1k", (S.HER2_LOW_NO_PET,), id="step1-low-no-PET→k"),
    pytest.param(
        inputs(patient(occasion(T.NEGATIVE_UNSCORED))),
        "1l",
        (S.HER2_UNSCORED_NEGATIVE,),
        id="step1-unscored-negative→l",
    ),
    pytest.param(inputs(patient(ISH_PENDING)), "1g", (S.IHC2_ISH_PENDING,), id="step1-ISH-pending→g"),
    pytest.param(inputs(patient(occasion(T.HER2_ULTRALOW))), "1c", (S.HER2_ULTRALOW,), id="step1-ultralow→c"),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE))), "1-none", (), id="step1-positive-no-PET→no-card"
    ),
    pytest.param(inputs(patient(occasion(T.HER2_NULL))), "1-none", (), id="step1-null-no-PET→no-card"),
    pytest.param(inputs(patient()), "1-none", (), id="step1-nothing→no-card"),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), pathology_cards=False),
        "1-off",
        (),
        id="step1-site-switch-off→no-card",
    ),
    pytest.param(
        inputs(patient(ISH_PENDING), pathology_cards=False),
        "1-off",
        (),
        id="step1-site-switch-off-ISH-pending→no-card",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), UNREAD),
        "1k",
        (S.HER2_LOW_NO_PET,),
        id="step1-PET-without-reader-call-counts-as-no-PET→k",
    ),
    # (p) pending analysis: beside any pathology card, or alone
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), status=PetStatus.PENDING),
        "1k",
        (S.HER2_LOW_NO_PET, S.PET_ANALYSIS_PENDING),
        id="pending-beside-k→k+p",
    ),
    pytest.param(
        inputs(patient(occasion(T.NEGATIVE_UNSCORED)), status=PetStatus.PENDING),
        "1l",
        (S.HER2_UNSCORED_NEGATIVE, S.PET_ANALYSIS_PENDING),
        id="pending-beside-l→l+p",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), status=PetStatus.PENDING),
        "1-none",
        (S.PET_ANALYSIS_PENDING,),
        id="pending-without-pathology-card→p",
    ),
    # (u) a source unreachable: no clinical statement of its own
    pytest.param(
        inputs(patient(), unavailable=True), "1-none", (S.DATA_UNAVAILABLE,), id="unreachable-alone→u"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), status=PetStatus.UNAVAILABLE, unavailable=True),
        "1k",
        (S.HER2_LOW_NO_PET, S.DATA_UNAVAILABLE),
        id="PACS-down-low-pathology→k+u",
    ),
    pytest.param(
        inputs(patient(), AVID, unavailable=True),
        "6-none",
        (S.DATA_UNAVAILABLE,),
        id="avid-but-pathology-source-down→u-not-f",
    ),
    # §14 step 2 and 3: ISH pending and ultralow win over the PET
    pytest.param(
        inputs(patient(ISH_PENDING), AVID), "2g", (S.IHC2_ISH_PENDING,), id="step2-ISH-pending-avid→g"
    ),
    pytest.param(
        inputs(patient(ISH_PENDING), NON_AVID), "2g", (S.IHC2_ISH_PENDING,), id="step2-ISH-pending-non-avid→g"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_ULTRALOW)), AVID), "3c", (S.HER2_ULTRALOW,), id="step3-ultralow-avid→c"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_ULTRALOW)), NON_AVID),
        "3c",
        (S.HER2_ULTRALOW,),
        id="step3-ultralow-non-avid→c",
    ),
    # §14 step 4: any avid lesion
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID), "4a", (S.HER2_LOW_PET_AVID,), id="step4-low-avid→a"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), AVID), "4b", (S.HER2_ZERO_PET_AVID,), id="step4-null-avid→b"
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_ZERO_UNSPECIFIED)), AVID),
        "4b",
        (S.HER2_ZERO_PET_AVID,),
        id="step4-zero-unspecified-avid→b",
    ),
    pytest.param(
        inputs(patient(occasion(T.NEGATIVE_UNSCORED)), AVID),
        "4b",
        (S.HER2_ZERO_PET_AVID,),
        id="step4-unscored-negative-avid→b",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE)), AVID),
        "4d",
        (S.HER2_POSITIVE_PET_AVID,),
        id="step4-positive-avid→d",
    ),
    pytest.param(inputs(patient(), AVID), "4f", (S.PET_AVID_NO_PATHOLOGY,), id="step4-no-pathology-avid→f"),
    pytest.param(
        inputs(patient(occasion(T.UNKNOWN)), AVID),
        "4f",
        (S.PET_AVID_NO_PATHOLOGY,),
        id="step4-unknown-avid→f",
    ),
    pytest.param(
        inputs(patient(occasion(T.NEEDS_REVIEW)), AVID),
        "4f",
        (S.PET_AVID_NO_PATHOLOGY,),
        id="step4-needs-review-avid→f",
    ),
    # §14 step 5 and 6: read, none avid
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), NON_AVID),
        "5e",
        (S.HER2_ZERO_PET_NONAVID,),
        id="step5-null-non-avid→e",
    ),
    pytest.param(
        inputs(patient(occasion(T.NEGATIVE_UNSCORED)), NON_AVID),
        "5e",
        (S.HER2_ZERO_PET_NONAVID,),
        id="step5-unscored-non-avid→e",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), NON_AVID),
        "6m",
        (S.HER2_LOW_PET_NONAVID,),
        id="step6-low-non-avid→m",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE)), NON_AVID),
        "6-none",
        (),
        id="step6-HER2-positive-no-avid-lesion→no-card",
    ),
    pytest.param(inputs(patient(), NON_AVID), "6-none", (), id="step6-no-pathology-non-avid→no-card"),
    # (h) pairing out of window: steps 2–5 only, both dates needed, strictly more than 60 days
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, gap=61),
        "4a",
        (S.HER2_LOW_PET_AVID, S.PAIRING_OUT_OF_WINDOW),
        id="h-61-days→a+h",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, gap=60),
        "4a",
        (S.HER2_LOW_PET_AVID,),
        id="h-exactly-60-days→no-h",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, gap=None),
        "4a",
        (S.HER2_LOW_PET_AVID,),
        id="h-a-date-missing→no-h",
    ),
    pytest.param(
        inputs(patient(ISH_PENDING), NON_AVID, gap=200),
        "2g",
        (S.IHC2_ISH_PENDING, S.PAIRING_OUT_OF_WINDOW),
        id="h-with-step2-g",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), NON_AVID, gap=90),
        "5e",
        (S.HER2_ZERO_PET_NONAVID, S.PAIRING_OUT_OF_WINDOW),
        id="h-with-step5-e",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), gap=400),
        "1k",
        (S.HER2_LOW_NO_PET,),
        id="h-not-on-step1-pathology-card",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), NON_AVID, gap=400),
        "6m",
        (S.HER2_LOW_PET_NONAVID,),
        id="h-not-on-step6-m",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE)), NON_AVID, gap=400), "6-none", (), id="h-never-alone"
    ),
    # modifiers (i), (j), (w): after a PET-based main card, never alone
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), uptake(avid=True, hepatic=True)),
        "4a",
        (S.HER2_LOW_PET_AVID, S.HEPATIC_LESION),
        id="i-hepatic-avid→a+i",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, anti_her2=21),
        "4a",
        (S.HER2_LOW_PET_AVID, S.RECENT_ANTI_HER2),
        id="j-exactly-21-days→a+j",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), AVID, anti_her2=22),
        "4a",
        (S.HER2_LOW_PET_AVID,),
        id="j-22-days→no-j",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), uptake(avid=False, window=False)),
        "5e",
        (S.HER2_ZERO_PET_NONAVID, S.OUTSIDE_UPTAKE_WINDOW),
        id="w-outside-window→e+w",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_NULL)), uptake(avid=False, window=None)),
        "5e",
        (S.HER2_ZERO_PET_NONAVID,),
        id="w-no-window-defined→no-w",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_POSITIVE)), uptake(avid=False, window=False), anti_her2=3),
        "6-none",
        (),
        id="modifiers-never-alone-no-main-card",
    ),
    pytest.param(
        inputs(patient(occasion(T.HER2_LOW)), UNREAD, anti_her2=3),
        "1k",
        (S.HER2_LOW_NO_PET,),
        id="modifiers-not-on-pathology-only-card",
    ),
    pytest.param(
        inputs(
            patient(occasion(T.HER2_LOW)),
            uptake(avid=True, hepatic=True, window=False),
            gap=70,
            anti_her2=0,
            status=PetStatus.ANALYSED,
            unavailable=True,
        ),
        "4a",
        (
            S.HER2_LOW_PET_AVID,
            S.PAIRING_OUT_OF_WINDOW,
            S.DATA_UNAVAILABLE,
            S.HEPATIC_LESION,
            S.RECENT_ANTI_HER2,
            S.OUTSIDE_UPTAKE_WINDOW,
        ),
        id="all-extras-in-order",
    ),
]


@pytest.mark.parametrize(("given", "row", "cards"), CASES)
def test_scenario_selection(given: ScenarioInputs, row: str, cards: tuple[CardScenario, ...]) -> None:
    selection = select_scenario(given)
    assert selection.main_row == f"card-scenario#{row}"
    assert selection.cards == cards
    main = MAIN_TABLE.row(row).then.scenario
    assert selection.scenario is main
    shown = selection.cards[1:] if given.tdxd_order else selection.cards
    assert main is None or (main in PATHOLOGY_MAIN_CARDS and given.tdxd_order) or shown[0] is main


def _fired_rows() -> Iterator[str]:
    for case in CASES:
        given, _, _ = case.values
        assert isinstance(given, ScenarioInputs)
        selection = select_scenario(given)
        yield selection.main_row
        for line in selection.evidence:
            if line.rule and line.rule.startswith("extra-cards#"):
                yield line.rule


def test_every_table_row_fires_at_least_once() -> None:
    fired = set(_fired_rows())
    expected = {MAIN_TABLE.tag(r) for r in MAIN_TABLE.rows} | {EXTRA_TABLE.tag(r) for r in EXTRA_TABLE.rows}
    assert expected - fired == set()


@pytest.mark.parametrize(
    ("her2", "unreachable", "expected"),
    [
        pytest.param(patient(occasion(T.HER2_POSITIVE)), False, OrderBasis.HER2_POSITIVE, id="positive"),
        pytest.param(patient(occasion(T.HER2_LOW)), False, OrderBasis.HER2_LOW, id="low"),
        pytest.param(patient(occasion(T.HER2_ULTRALOW)), False, OrderBasis.HER2_ULTRALOW, id="ultralow"),
        pytest.param(patient(occasion(T.HER2_NULL)), False, OrderBasis.HER2_NULL, id="null"),
        pytest.param(
            patient(occasion(T.HER2_ZERO_UNSPECIFIED)), False, OrderBasis.HER2_ZERO_UNSPECIFIED, id="0"
        ),
        pytest.param(
            patient(occasion(T.NEGATIVE_UNSCORED)), False, OrderBasis.NEGATIVE_UNSCORED, id="unscored"
        ),
        pytest.param(patient(ISH_PENDING), False, OrderBasis.ISH_PENDING, id="ISH-pending"),
        pytest.param(patient(occasion(T.NEEDS_REVIEW)), False, OrderBasis.UNCLASSIFIABLE, id="needs-review"),
        pytest.param(patient(occasion(T.UNKNOWN)), False, OrderBasis.UNCLASSIFIABLE, id="unknown"),
        pytest.param(patient(), False, OrderBasis.NO_PATHOLOGY, id="no-pathology"),
        pytest.param(patient(), True, OrderBasis.SOURCE_UNREACHABLE, id="source-unreachable"),
    ],
)
def test_order_card_basis(her2: PatientHer2, unreachable: bool, expected: OrderBasis) -> None:
    selection = select_scenario(inputs(her2, order=True, unavailable=unreachable))
    assert selection.cards[0] is S.TDXD_ORDER
    assert selection.order_basis is expected
    assert order_basis(her2, source_unreachable=unreachable).outcome is expected


def test_order_card_on_a_zero_after_an_earlier_higher_class() -> None:
    null, low = occasion(T.HER2_NULL), occasion(T.HER2_LOW, dt.date(2022, 3, 1))
    her2 = PatientHer2(current=null, occasions=(null, low), highest=low)
    assert select_scenario(inputs(her2, order=True)).order_basis is OrderBasis.ZERO_EARLIER_HIGHER
    positive_first = PatientHer2(
        current=occasion(T.HER2_POSITIVE), occasions=(occasion(T.HER2_POSITIVE), low)
    )
    assert select_scenario(inputs(positive_first, order=True)).order_basis is OrderBasis.HER2_POSITIVE


def test_no_order_card_without_a_tdxd_order() -> None:
    for her2 in (patient(occasion(T.HER2_NULL)), patient(occasion(T.HER2_LOW)), patient()):
        selection = select_scenario(inputs(her2))
        assert S.TDXD_ORDER not in selection.cards
        assert selection.order_basis is None


def test_every_scenario_code_is_reachable() -> None:
    reached = {card for case in CASES for card in case.values[2]}  # type: ignore[union-attr]
    assert reached == set(CardScenario)
    assert set(SCENARIO_LETTERS) == set(CardScenario)


PATHOLOGY_VARIANTS = [patient(), patient(ISH_PENDING)] + [
    patient(occasion(category)) for category in TdxdCategory
]
PET_VARIANTS: list[tuple[PetStatus, UptakeAssessment | None]] = [
    (PetStatus.NONE, None),
    (PetStatus.PENDING, None),
    (PetStatus.UNAVAILABLE, None),
    (PetStatus.ANALYSED, UNREAD),
    (PetStatus.ANALYSED, AVID),
    (PetStatus.ANALYSED, uptake(avid=True, hepatic=True, window=False)),
    (PetStatus.ANALYSED, NON_AVID),
    (PetStatus.ANALYSED, uptake(avid=False, window=False)),
]


def _grid() -> Iterator[ScenarioInputs]:
    for her2 in PATHOLOGY_VARIANTS:
        for status, up in PET_VARIANTS:
            for gap in (None, 10, 61):
                for anti_her2 in (None, 0):
                    for unavailable in (False, True):
                        for enabled in (False, True):
                            for order in (False, True):
                                yield inputs(
                                    her2,
                                    up,
                                    status=status,
                                    gap=gap,
                                    anti_her2=anti_her2,
                                    unavailable=unavailable,
                                    pathology_cards=enabled,
                                    order=order,
                                )


def test_invariants_over_all_input_combinations() -> None:
    """Modifiers never alone and only on a PET-based card; (h) needs both dates; (u) only when a source is
    down; (p) only when pending; the main card comes first; no card twice; switched-off pathology cards."""
    extras = {S.PAIRING_OUT_OF_WINDOW, S.PET_ANALYSIS_PENDING, S.DATA_UNAVAILABLE} | MODIFIERS
    for given in _grid():
        selection = select_scenario(given)
        cards = selection.cards
        assert len(set(cards)) == len(cards)
        assert (S.TDXD_ORDER in cards) is given.tdxd_order
        assert (selection.order_basis is not None) is given.tdxd_order
        if given.tdxd_order:
            assert cards[0] is S.TDXD_ORDER
            assert not set(cards) & set(PATHOLOGY_MAIN_CARDS)
            cards = cards[1:]
        assert (selection.scenario is None) is (not cards or cards[0] in extras) or given.tdxd_order
        step = MAIN_TABLE.row(selection.main_row.split("#")[1]).then.step
        if any(card in MODIFIERS for card in cards):
            assert selection.scenario is not None
            assert step >= 2
        if S.PAIRING_OUT_OF_WINDOW in cards:
            assert given.pairing_gap_days is not None
            assert given.pairing_gap_days > parameters.PAIRING_WINDOW_DAYS
            assert 2 <= step <= 5
        assert (S.DATA_UNAVAILABLE in cards) is given.sources_unavailable
        assert (S.PET_ANALYSIS_PENDING in cards) is (given.pet_status is PetStatus.PENDING)
        if not given.pathology_cards_enabled and step == 1 and not given.tdxd_order:
            assert selection.scenario is None
        if given.sources_unavailable and given.her2.current is None:
            assert S.PET_AVID_NO_PATHOLOGY not in cards


@pytest.mark.parametrize(
    ("status", "up", "state"),
    [
        pytest.param(PetStatus.NONE, None, PetState.NONE, id="none"),
        pytest.param(PetStatus.PENDING, AVID, PetState.PENDING, id="pending-wins-over-facts"),
        pytest.param(PetStatus.UNAVAILABLE, None, PetState.UNAVAILABLE, id="unavailable"),
        pytest.param(PetStatus.ANALYSED, UNREAD, PetState.UNREAD, id="analysed-no-calls"),
        pytest.param(PetStatus.ANALYSED, AVID, PetState.AVID, id="avid"),
        pytest.param(PetStatus.ANALYSED, NON_AVID, PetState.NON_AVID, id="read-none-avid"),
    ],
)
def test_pet_state(status: PetStatus, up: UptakeAssessment | None, state: PetState) -> None:
    assert pet_state(status, up) is state


def test_pathology_class_uses_the_most_recent_specimen_and_ish_pending_first() -> None:
    newer = occasion(T.HER2_NULL, dt.date(2025, 1, 1))
    older = occasion(T.HER2_LOW, dt.date(2023, 1, 1))
    assert pathology_class(patient(newer, older)) is PathologyClass.HER2_NULL
    assert pathology_class(patient(ISH_PENDING)) is PathologyClass.ISH_PENDING
    assert pathology_class(patient()) is PathologyClass.NO_PATHOLOGY
    assert pathology_class(patient(), source_unreachable=True) is PathologyClass.SOURCE_UNREACHABLE


@pytest.mark.parametrize(
    ("occasions", "hr", "escalated"),
    [
        pytest.param(
            [occasion(T.HER2_NULL, dt.date(2021, 12, 31))],
            HrStatus.POSITIVE,
            True,
            id="HR+-IHC0-2021-12-31→warning",
        ),
        pytest.param(
            [occasion(T.HER2_NULL, parameters.LEGACY_IHC0_BEFORE)],
            HrStatus.POSITIVE,
            False,
            id="HR+-IHC0-on-2022-01-01→info",
        ),
        pytest.param(
            [occasion(T.NEGATIVE_UNSCORED, dt.date(2024, 1, 1))],
            HrStatus.POSITIVE,
            True,
            id="HR+-no-numeric-score→warning",
        ),
        pytest.param(
            [occasion(T.HER2_ZERO_UNSPECIFIED, None)],
            HrStatus.POSITIVE,
            False,
            id="HR+-undated-scored-IHC0→info",
        ),
        pytest.param(
            [occasion(T.HER2_NULL, dt.date(2019, 1, 1))],
            HrStatus.NEGATIVE,
            False,
            id="HR-negative-legacy→info",
        ),
        pytest.param(
            [occasion(T.HER2_NULL, dt.date(2019, 1, 1))], HrStatus.UNKNOWN, False, id="HR-unknown→info"
        ),
        pytest.param(
            [occasion(T.NEGATIVE_UNSCORED, dt.date(2024, 1, 1)), occasion(T.HER2_NULL, dt.date(2023, 1, 1))],
            HrStatus.POSITIVE,
            False,
            id="HR+-a-recent-scored-IHC0-exists→info",
        ),
    ],
)
def test_scenario_e_escalation(occasions: list[Her2Assessment], hr: HrStatus, escalated: bool) -> None:
    assert scenario_e_escalated(patient(*occasions, hr=hr)) is escalated


@pytest.mark.parametrize(
    ("her2", "variant"),
    [
        pytest.param(patient(), False, id="no-report→no-pathology-text"),
        pytest.param(patient(occasion(T.UNKNOWN)), True, id="unknown-report→variant"),
        pytest.param(patient(occasion(T.NEEDS_REVIEW)), True, id="needs-review→variant"),
        pytest.param(patient(ISH_PENDING), False, id="ISH-pending-is-not-unclassifiable"),
    ],
)
def test_f_variant(her2: PatientHer2, variant: bool) -> None:
    assert f_variant_unclassifiable(her2) is variant


def test_c_hr_negative_note() -> None:
    assert c_hr_negative_note(patient(occasion(T.HER2_ULTRALOW), hr=HrStatus.NEGATIVE))
    assert not c_hr_negative_note(patient(occasion(T.HER2_ULTRALOW), hr=HrStatus.POSITIVE))
    assert not c_hr_negative_note(patient(occasion(T.HER2_ULTRALOW), hr=HrStatus.UNKNOWN))


def test_docs_page_is_the_render_of_the_tables() -> None:
    page = scenario_table_markdown()
    for scenario in CardScenario:
        assert f"`{scenario.value}`" in page
    for table in (MAIN_TABLE, EXTRA_TABLE):
        for row in table.rows:
            assert f"| `{row.id}` |" in page
    assert DOCS_PAGE.read_text(encoding="utf-8") == page, "regenerate docs/card-scenarios.md from the tables"


def test_variant_caveats_follow_the_main_card() -> None:
    legacy_zero = patient(occasion(T.HER2_NULL, dt.date(2020, 3, 1)), hr=HrStatus.POSITIVE)
    escalated = select_scenario(inputs(legacy_zero, NON_AVID))
    assert escalated.scenario is S.HER2_ZERO_PET_NONAVID
    assert any("ultralow re-review" in caveat for caveat in escalated.caveats)
    assert any(line.rule == "scenario-e-indicator#e-warning" for line in escalated.evidence)
    assert not select_scenario(inputs(legacy_zero, AVID)).caveats
    ultralow_hr_negative = patient(occasion(T.HER2_ULTRALOW), hr=HrStatus.NEGATIVE)
    assert any("does not apply" in c for c in select_scenario(inputs(ultralow_hr_negative)).caveats)
    ultralow_hr_positive = patient(occasion(T.HER2_ULTRALOW), hr=HrStatus.POSITIVE)
    assert not select_scenario(inputs(ultralow_hr_positive)).caveats
