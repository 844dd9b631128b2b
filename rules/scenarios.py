"""Card scenario selection (spec/clinical-logic.md §14) as decision tables held as data.

Three kinds of tables, all rendered to ``docs/card-scenarios.md`` by :func:`scenario_table_markdown`:

- ``card-scenario`` picks the **main card** from two derived facts, the PET state (:class:`PetState`) and the
  pathology class of the most recent specimen (:class:`PathologyClass`), first match wins. Step 1 (no usable
  HER2 PET read) gives the pathology-only cards (k), (l), (g), (c), which a site may switch off; steps 2–6 use
  the reader-called PET. "HER2-positive with no avid lesion" and every other unlisted combination give no
  card.
- ``extra-cards`` adds cards after the main one, **every** row that holds adds its card: (h) when the main
  card comes from steps 2–5 and PET and specimen are more than ``PAIRING_WINDOW_DAYS`` apart (both dates
  needed); (p) when a HER2 PET study awaits analysis (beside any pathology card, or alone); (u) when a source
  system could not be reached (no clinical statement of its own); and the modifiers (i) hepatic avid lesion,
  (j) anti-HER2 antibody within ``RECENT_ANTI_HER2_DAYS`` before the PET, (w) uptake outside the tracer
  window. Modifiers need a main card that rests on the PET read (steps 2–6): they never appear alone.
- ``scenario-e-indicator`` and ``scenario-f-variant`` choose the indicator of (e) and the wording of (f).
- ``order-card`` and ``order-card-basis`` add card (o) when an order hook (order-select, order-sign) carries a
  T-DXd draft order: it always appears, first, and states the HER2 basis for the labelled indications (this
  project's extension of spec/clinical-logic.md §14–15, topic ``tdxd-order-her2-basis``). Because it carries
  the pathology basis, it replaces a main card that rests on pathology alone ((k), (l), (g), (c)); a PET-based
  main card follows it.

Order of ``cards``: (o) on a T-DXd order, the main card, then (h), (p), (u), (i), (j), (w)
(``Assessment.cards``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rules import parameters
from rules.display import topic_code
from rules.domain import (
    AscoCapStatus,
    CardScenario,
    Evidence,
    HrStatus,
    OrderBasis,
    PatientHer2,
    PetStatus,
    StrEnum,
    TdxdCategory,
    UptakeAssessment,
)
from rules.tables import (
    Condition,
    Decision,
    DecisionTable,
    Fact,
    Row,
    decide,
    eq,
    ge,
    gt,
    le,
    one_of,
    render_table,
)

S = CardScenario

SCENARIO_LETTERS: Mapping[CardScenario, str] = {
    S.HER2_LOW_PET_AVID: "a",
    S.HER2_ZERO_PET_AVID: "b",
    S.HER2_ULTRALOW: "c",
    S.HER2_POSITIVE_PET_AVID: "d",
    S.HER2_ZERO_PET_NONAVID: "e",
    S.PET_AVID_NO_PATHOLOGY: "f",
    S.IHC2_ISH_PENDING: "g",
    S.PAIRING_OUT_OF_WINDOW: "h",
    S.HEPATIC_LESION: "i",
    S.RECENT_ANTI_HER2: "j",
    S.HER2_LOW_NO_PET: "k",
    S.HER2_UNSCORED_NEGATIVE: "l",
    S.HER2_LOW_PET_NONAVID: "m",
    S.PET_ANALYSIS_PENDING: "p",
    S.DATA_UNAVAILABLE: "u",
    S.OUTSIDE_UPTAKE_WINDOW: "w",
    S.TDXD_ORDER: "o",
}
"""The letter of each scenario in spec/clinical-logic.md §14–15."""


def scenario_label(scenario: CardScenario | None) -> str:
    """``"(a) her2-low-pet-avid"``, or ``"no card"``."""
    if scenario is None:
        return "no card"
    return f"({SCENARIO_LETTERS[scenario]}) {scenario.value}"


class PetState(StrEnum):
    """What the HER2 PET contributes to the main card (derived from ``PetStatus`` and the uptake call)."""

    NONE = "none"
    PENDING = "not analysed yet"
    UNAVAILABLE = "unreachable"
    UNREAD = "no reader call"
    AVID = "avid lesion(s)"
    NON_AVID = "read, none avid"


NO_PET_READ = (PetState.NONE, PetState.PENDING, PetState.UNAVAILABLE, PetState.UNREAD)
PET_READ = (PetState.AVID, PetState.NON_AVID)


class PathologyClass(StrEnum):
    """The pathology input P of §14: the T-DXd category of the most recent specimen, or why there is none."""

    ISH_PENDING = "IHC 2+, ISH pending"
    HER2_POSITIVE = "HER2-positive"
    HER2_LOW = "HER2-low"
    HER2_ULTRALOW = "HER2-ultralow"
    HER2_NULL = "HER2-null"
    HER2_ZERO_UNSPECIFIED = "IHC 0, staining not stated"
    NEGATIVE_UNSCORED = "'negative' without IHC score"
    UNKNOWN = "report not classifiable"
    NEEDS_REVIEW = "report needs review"
    NO_PATHOLOGY = "no HER2 result on file"
    SOURCE_UNREACHABLE = "no HER2 result; a source was unreachable"


P = PathologyClass
HER2_ZERO = (P.HER2_NULL, P.HER2_ZERO_UNSPECIFIED, P.NEGATIVE_UNSCORED)

_CATEGORY_CLASS: Mapping[TdxdCategory, PathologyClass] = {
    TdxdCategory.HER2_POSITIVE: P.HER2_POSITIVE,
    TdxdCategory.HER2_LOW: P.HER2_LOW,
    TdxdCategory.HER2_ULTRALOW: P.HER2_ULTRALOW,
    TdxdCategory.HER2_NULL: P.HER2_NULL,
    TdxdCategory.HER2_ZERO_UNSPECIFIED: P.HER2_ZERO_UNSPECIFIED,
    TdxdCategory.NEGATIVE_UNSCORED: P.NEGATIVE_UNSCORED,
    TdxdCategory.UNKNOWN: P.UNKNOWN,
    TdxdCategory.NEEDS_REVIEW: P.NEEDS_REVIEW,
}


def pathology_class(her2: PatientHer2, *, source_unreachable: bool = False) -> PathologyClass:
    """P for the most recent specimen: ISH pending first (§14 step 2), then its T-DXd category.

    With no result on file, an unreachable source gives ``SOURCE_UNREACHABLE``, so that card (f) ("no HER2
    IHC/ISH on file") is never claimed when the pathology may simply not have been fetched.
    """
    current = her2.current
    if current is None:
        return P.SOURCE_UNREACHABLE if source_unreachable else P.NO_PATHOLOGY
    if current.status is AscoCapStatus.EQUIVOCAL_PENDING:
        return P.ISH_PENDING
    return _CATEGORY_CLASS[current.category]


def pet_state(status: PetStatus, uptake: UptakeAssessment | None) -> PetState:
    """The PET column of the main table; an analysed study is read only when a lesion carries a call."""
    if status is PetStatus.PENDING:
        return PetState.PENDING
    if status is PetStatus.UNAVAILABLE:
        return PetState.UNAVAILABLE
    if uptake is None:
        return PetState.NONE
    if uptake.any_avid:
        return PetState.AVID
    if uptake.lesions_read:
        return PetState.NON_AVID
    return PetState.UNREAD


@dataclass(frozen=True, slots=True)
class MainCard:
    """Outcome of the ``card-scenario`` table: the main card (or none) and the §14 step that chose it."""

    scenario: CardScenario | None
    step: int

    @property
    def pathology_only(self) -> bool:
        """Step 1 cards rest on pathology alone (the site switch applies to them)."""
        return self.step == 1 and self.scenario is not None

    def __str__(self) -> str:
        return scenario_label(self.scenario)


_STEP = "spec/clinical-logic.md §14 step"
_PET, _PATH, _SWITCH = "pet", "pathology", "pathology_cards"


def _row(row_id: str, step: int, scenario: CardScenario | None, *when: Condition) -> Row[MainCard]:
    return Row(id=row_id, when=when, then=MainCard(scenario, step), ref=f"{_STEP} {step}")


MAIN_TABLE: DecisionTable[MainCard] = DecisionTable(
    id="card-scenario",
    title="Main card",
    purpose="the main card from the HER2 PET read and the most recent specimen's pathology (first match).",
    facts=(
        Fact(_PET, "HER2 PET"),
        Fact(_PATH, "pathology (most recent specimen)"),
        Fact(_SWITCH, "pathology-only cards enabled"),
    ),
    rows=(
        _row("1-off", 1, None, one_of(_PET, *NO_PET_READ), eq(_SWITCH, False)),
        _row("1k", 1, S.HER2_LOW_NO_PET, one_of(_PET, *NO_PET_READ), eq(_PATH, P.HER2_LOW)),
        _row("1l", 1, S.HER2_UNSCORED_NEGATIVE, one_of(_PET, *NO_PET_READ), eq(_PATH, P.NEGATIVE_UNSCORED)),
        _row("1g", 1, S.IHC2_ISH_PENDING, one_of(_PET, *NO_PET_READ), eq(_PATH, P.ISH_PENDING)),
        _row("1c", 1, S.HER2_ULTRALOW, one_of(_PET, *NO_PET_READ), eq(_PATH, P.HER2_ULTRALOW)),
        _row("1-none", 1, None, one_of(_PET, *NO_PET_READ)),
        _row("2g", 2, S.IHC2_ISH_PENDING, eq(_PATH, P.ISH_PENDING)),
        _row("3c", 3, S.HER2_ULTRALOW, eq(_PATH, P.HER2_ULTRALOW)),
        _row("4a", 4, S.HER2_LOW_PET_AVID, eq(_PET, PetState.AVID), eq(_PATH, P.HER2_LOW)),
        _row("4b", 4, S.HER2_ZERO_PET_AVID, eq(_PET, PetState.AVID), one_of(_PATH, *HER2_ZERO)),
        _row("4d", 4, S.HER2_POSITIVE_PET_AVID, eq(_PET, PetState.AVID), eq(_PATH, P.HER2_POSITIVE)),
        _row(
            "4f",
            4,
            S.PET_AVID_NO_PATHOLOGY,
            eq(_PET, PetState.AVID),
            one_of(_PATH, P.NO_PATHOLOGY, P.UNKNOWN, P.NEEDS_REVIEW),
        ),
        _row("5e", 5, S.HER2_ZERO_PET_NONAVID, eq(_PET, PetState.NON_AVID), one_of(_PATH, *HER2_ZERO)),
        _row("6m", 6, S.HER2_LOW_PET_NONAVID, eq(_PET, PetState.NON_AVID), eq(_PATH, P.HER2_LOW)),
        _row("6-none", 6, None),
    ),
    describe_outcome=str,
)
"""§14 steps 1–6 as one first-match table (see the module docstring)."""

F_MAIN_STEP, F_GAP, F_PET, F_UNAVAILABLE = "main_step", "gap_days", "pet", "unavailable"
F_HEPATIC, F_ANTI_HER2, F_WINDOW = "hepatic_avid", "anti_her2_days", "in_uptake_window"

EXTRA_TABLE: DecisionTable[CardScenario] = DecisionTable(
    id="extra-cards",
    title="Extra cards and modifiers",
    purpose=(
        "cards added after the main card: every row that holds adds its card, in this order (no first match)."
        " A modifier needs a main card from steps 2–6, so it never appears alone."
    ),
    facts=(
        Fact(F_MAIN_STEP, "main card from §14 step"),
        Fact(F_GAP, "PET–specimen interval", " d"),
        Fact(F_PET, "HER2 PET"),
        Fact(F_UNAVAILABLE, "a source unreachable"),
        Fact(F_HEPATIC, "avid hepatic lesion"),
        Fact(F_ANTI_HER2, "anti-HER2 antibody before PET", " d"),
        Fact(F_WINDOW, "within tracer uptake window"),
    ),
    rows=(
        Row(
            id="h",
            when=(ge(F_MAIN_STEP, 2), le(F_MAIN_STEP, 5), gt(F_GAP, parameters.PAIRING_WINDOW_DAYS)),
            then=S.PAIRING_OUT_OF_WINDOW,
            ref=f"{_STEP} 7; PAIRING_WINDOW_DAYS (Yeh 2025)",
        ),
        Row(id="p", when=(eq(F_PET, PetState.PENDING),), then=S.PET_ANALYSIS_PENDING, ref=f"{_STEP} 1"),
        Row(id="u", when=(eq(F_UNAVAILABLE, True),), then=S.DATA_UNAVAILABLE, ref=f"{_STEP} 1"),
        Row(
            id="i",
            when=(ge(F_MAIN_STEP, 2), eq(F_HEPATIC, True)),
            then=S.HEPATIC_LESION,
            ref=f"{_STEP} 8; HEPATIC_LESION_POLICY (Dehdashti 2018)",
        ),
        Row(
            id="j",
            when=(ge(F_MAIN_STEP, 2), le(F_ANTI_HER2, parameters.RECENT_ANTI_HER2_DAYS)),
            then=S.RECENT_ANTI_HER2,
            ref=f"{_STEP} 8; RECENT_ANTI_HER2_DAYS (Dijkers)",
        ),
        Row(
            id="w",
            when=(ge(F_MAIN_STEP, 2), eq(F_WINDOW, False)),
            then=S.OUTSIDE_UPTAKE_WINDOW,
            ref=f"{_STEP} 8; UPTAKE_WINDOWS_H",
        ),
    ),
    exhaustive=False,
    describe_outcome=scenario_label,
)
"""Cards added after the main one (§14 steps 1, 7 and 8); every matching row adds its card."""


# ------------------------------------------------------------------------------------------------------------
# Variants of (e), (f) and (c)

F_HR, F_RECENT_IHC0 = "hr_status", "recent_scored_ihc0"

E_INDICATOR_TABLE: DecisionTable[str] = DecisionTable(
    id="scenario-e-indicator",
    title="Indicator of card (e)",
    purpose=(
        "card (e) is raised from info to warning when the disease is HR-positive and every IHC 0 result is"
        f" dated before LEGACY_IHC0_BEFORE ({parameters.LEGACY_IHC0_BEFORE}) or has no numeric score."
    ),
    facts=(
        Fact(F_HR, "HR status"),
        Fact(F_RECENT_IHC0, "scored IHC 0 not dated before LEGACY_IHC0_BEFORE"),
    ),
    rows=(
        Row(
            id="e-warning",
            when=(eq(F_HR, HrStatus.POSITIVE), eq(F_RECENT_IHC0, False)),
            then="warning",
            ref="spec/clinical-logic.md §15 (e); LEGACY_IHC0_BEFORE (DESTINY-Breast04, 2022)",
            caveat="consider ultralow re-review: the IHC 0 result predates 2022 or has no numeric score",
        ),
        Row(id="e-info", when=(), then="info", ref="spec/clinical-logic.md §15 (e)"),
    ),
)

F_REPORT = "report_on_file"

F_VARIANT_TABLE: DecisionTable[str] = DecisionTable(
    id="scenario-f-variant",
    title="Wording of card (f)",
    purpose="card (f) says 'no pathology on file' unless a HER2 report exists that could not be classified.",
    facts=(Fact(F_REPORT, "HER2 report on file"),),
    rows=(
        Row(id="f-unclassifiable", when=(eq(F_REPORT, True),), then="report not classifiable", ref="§15 (f)"),
        Row(id="f-no-pathology", when=(), then="no HER2 IHC/ISH on file", ref="§15 (f)"),
    ),
)

_ZERO_CATEGORIES = frozenset(
    {TdxdCategory.HER2_NULL, TdxdCategory.HER2_ZERO_UNSPECIFIED, TdxdCategory.NEGATIVE_UNSCORED}
)


def has_recent_scored_ihc0(her2: PatientHer2) -> bool:
    """Whether some IHC 0 result (null, unspecified) has a numeric score and is not dated before
    ``LEGACY_IHC0_BEFORE`` (collection date, else report date). §15 (e) escalates only results "dated before"
    the cut-off or without a numeric score, so a scored result with no date at all does not escalate. A bare
    "negative" has no score."""
    for occasion in her2.occasions:
        if occasion.category not in _ZERO_CATEGORIES:
            continue
        result = occasion.result
        scored = result.ihc is not None and result.ihc.score is not None and not result.ihc.is_range
        day = result.specimen.collected or result.reported
        if scored and (day is None or day >= parameters.LEGACY_IHC0_BEFORE):
            return True
    return False


def e_indicator(her2: PatientHer2) -> Decision[str]:
    """The ``scenario-e-indicator`` decision for ``her2`` (outcome ``"warning"`` or ``"info"``)."""
    return decide(E_INDICATOR_TABLE, {F_HR: her2.hr_status, F_RECENT_IHC0: has_recent_scored_ihc0(her2)})


def scenario_e_escalated(her2: PatientHer2) -> bool:
    """Whether card (e) is raised to ``warning`` (table ``scenario-e-indicator``)."""
    return e_indicator(her2).outcome == "warning"


def f_variant_unclassifiable(her2: PatientHer2) -> bool:
    """Whether card (f) uses its variant text: a HER2 report is on file but could not be classified (UNKNOWN
    or NEEDS_REVIEW, and not IHC 2+ awaiting ISH)."""
    current = her2.current
    report = (
        current is not None
        and current.category in (TdxdCategory.UNKNOWN, TdxdCategory.NEEDS_REVIEW)
        and current.status is not AscoCapStatus.EQUIVOCAL_PENDING
    )
    return decide(F_VARIANT_TABLE, {F_REPORT: report}).row.id == "f-unclassifiable"


def c_hr_negative_note(her2: PatientHer2) -> bool:
    """Whether card (c) notes that the ultralow indication (DB06) does not apply: HR-negative disease."""
    return her2.hr_status is HrStatus.NEGATIVE


# ------------------------------------------------------------------------------------------------------------
# Card (o): a T-DXd order


class OrderPlacement(StrEnum):
    """Where card (o) goes relative to the main card."""

    NONE = "no order card"
    REPLACES = "(o) replaces the main card"
    FIRST = "(o) before the main card"


PATHOLOGY_MAIN_CARDS = (S.HER2_LOW_NO_PET, S.HER2_UNSCORED_NEGATIVE, S.IHC2_ISH_PENDING, S.HER2_ULTRALOW)
"""Main cards that rest on pathology alone; card (o) carries the same basis and takes their place."""

F_ORDER, F_MAIN = "tdxd_order", "main_card"

ORDER_TABLE: DecisionTable[OrderPlacement] = DecisionTable(
    id="order-card",
    title="Card (o) on a T-DXd order",
    purpose=(
        "an order hook whose draft orders contain T-DXd always gets card (o), first; it replaces a main card"
        " that rests on pathology alone and precedes any other (first match)."
    ),
    facts=(Fact(F_ORDER, "T-DXd draft order (order-select, order-sign)"), Fact(F_MAIN, "main card")),
    rows=(
        Row(id="o-none", when=(eq(F_ORDER, False),), then=OrderPlacement.NONE, ref="patient-view"),
        Row(
            id="o-replaces",
            when=(eq(F_ORDER, True), one_of(F_MAIN, *(s.value for s in PATHOLOGY_MAIN_CARDS))),
            then=OrderPlacement.REPLACES,
            ref="docs/clinical-basis.md (every T-DXd order gets the HER2 basis); spec/clinical-logic.md §11",
        ),
        Row(
            id="o-first",
            when=(eq(F_ORDER, True),),
            then=OrderPlacement.FIRST,
            ref="docs/clinical-basis.md (every T-DXd order gets the HER2 basis); spec/clinical-logic.md §11",
        ),
        Row(id="o-otherwise", when=(), then=OrderPlacement.NONE, ref="patient-view"),
    ),
)
"""Whether and where card (o) is added."""

F_EARLIER = "earlier_higher"
_ZERO_CLASSES = (P.HER2_NULL, P.HER2_ZERO_UNSPECIFIED, P.NEGATIVE_UNSCORED)
_OB = OrderBasis
_LABEL = "ENHERTU USPI (BLA 761139), spec/clinical-logic.md §11"

ORDER_BASIS_TABLE: DecisionTable[OrderBasis] = DecisionTable(
    id="order-card-basis",
    title="Wording of card (o)",
    purpose=(
        "what the HER2 basis on file says about the labelled indications when T-DXd is ordered: the"
        " HER2-positive or HER2-low/ultralow rows, or no labelled breast indication on file (with the"
        " re-review option), or a basis that is not established (first match)."
    ),
    facts=(
        Fact(_PATH, "pathology (most recent specimen)"),
        Fact(F_EARLIER, "an earlier specimen had a higher HER2 class"),
    ),
    rows=(
        Row(
            id="o-zero-earlier-higher",
            when=(one_of(_PATH, *_ZERO_CLASSES), eq(F_EARLIER, True)),
            then=_OB.ZERO_EARLIER_HIGHER,
            ref="spec/clinical-logic.md §6 (ASCO/CAP 2023: consider prior samples before concluding IHC 0)",
        ),
        Row(
            id="o-positive", when=(eq(_PATH, P.HER2_POSITIVE),), then=_OB.HER2_POSITIVE, ref=f"{_LABEL} A, B"
        ),
        Row(id="o-low", when=(eq(_PATH, P.HER2_LOW),), then=_OB.HER2_LOW, ref=f"{_LABEL} C, D"),
        Row(id="o-ultralow", when=(eq(_PATH, P.HER2_ULTRALOW),), then=_OB.HER2_ULTRALOW, ref=f"{_LABEL} D"),
        Row(id="o-null", when=(eq(_PATH, P.HER2_NULL),), then=_OB.HER2_NULL, ref=f"{_LABEL}; §8"),
        Row(
            id="o-zero",
            when=(eq(_PATH, P.HER2_ZERO_UNSPECIFIED),),
            then=_OB.HER2_ZERO_UNSPECIFIED,
            ref=f"{_LABEL}; §8",
        ),
        Row(
            id="o-unscored",
            when=(eq(_PATH, P.NEGATIVE_UNSCORED),),
            then=_OB.NEGATIVE_UNSCORED,
            ref="spec/clinical-logic.md §15 (l)",
        ),
        Row(
            id="o-ish",
            when=(eq(_PATH, P.ISH_PENDING),),
            then=_OB.ISH_PENDING,
            ref="spec/clinical-logic.md §15 (g)",
        ),
        Row(
            id="o-unclassifiable",
            when=(one_of(_PATH, P.UNKNOWN, P.NEEDS_REVIEW),),
            then=_OB.UNCLASSIFIABLE,
            ref="spec/clinical-logic.md §15 (f)",
        ),
        Row(
            id="o-unreachable",
            when=(eq(_PATH, P.SOURCE_UNREACHABLE),),
            then=_OB.SOURCE_UNREACHABLE,
            ref="spec/clinical-logic.md §15 (u)",
        ),
        Row(id="o-none", when=(), then=_OB.NO_PATHOLOGY, ref="spec/clinical-logic.md §15 (f)"),
    ),
)
"""The variant of card (o)."""

_HIGHER_THAN_ZERO = frozenset({TdxdCategory.HER2_ULTRALOW, TdxdCategory.HER2_LOW, TdxdCategory.HER2_POSITIVE})


def earlier_higher(her2: PatientHer2) -> bool:
    """Whether an earlier specimen than the current one has a HER2 class above IHC 0 (ultralow, low,
    positive)."""
    highest = her2.highest
    return highest is not None and highest is not her2.current and highest.category in _HIGHER_THAN_ZERO


def order_basis(her2: PatientHer2, *, source_unreachable: bool = False) -> Decision[OrderBasis]:
    """The ``order-card-basis`` decision for ``her2``."""
    facts = {
        _PATH: pathology_class(her2, source_unreachable=source_unreachable),
        F_EARLIER: earlier_higher(her2),
    }
    return decide(ORDER_BASIS_TABLE, facts)


# ------------------------------------------------------------------------------------------------------------
# Selection


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioInputs:
    """What the selection reads, already derived by ``rules.assess``.

    ``anti_her2_days_before_pet`` is the number of days from the most recent anti-HER2 exposure to the PET
    (``rules.pairing.recent_anti_her2``), None when there is none in the window or the PET date is unknown.
    """

    her2: PatientHer2
    pet_status: PetStatus = PetStatus.NONE
    uptake: UptakeAssessment | None = None
    pairing_gap_days: int | None = None
    anti_her2_days_before_pet: int | None = None
    sources_unavailable: bool = False
    pathology_cards_enabled: bool = True
    tdxd_order: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioSelection:
    """The main scenario, the ordered card list, the evidence lines naming the rows that fired, the caveats
    of the main card's variants ((e) escalation, (c) in HR-negative disease) and the variant of card (o)."""

    scenario: CardScenario | None
    cards: tuple[CardScenario, ...]
    main_row: str
    evidence: tuple[Evidence, ...] = ()
    caveats: tuple[str, ...] = ()
    order_basis: OrderBasis | None = None


def main_facts(inputs: ScenarioInputs) -> dict[str, object]:
    """The facts of the ``card-scenario`` table."""
    return {
        _PET: pet_state(inputs.pet_status, inputs.uptake),
        _PATH: pathology_class(inputs.her2, source_unreachable=inputs.sources_unavailable),
        _SWITCH: inputs.pathology_cards_enabled,
    }


def extra_facts(inputs: ScenarioInputs, main: MainCard) -> dict[str, object]:
    """The facts of the ``extra-cards`` table, given the main card."""
    uptake = inputs.uptake
    return {
        F_MAIN_STEP: main.step if main.scenario is not None else None,
        F_GAP: inputs.pairing_gap_days,
        F_PET: pet_state(inputs.pet_status, uptake),
        F_UNAVAILABLE: inputs.sources_unavailable,
        F_HEPATIC: uptake.hepatic_avid if uptake is not None else None,
        F_ANTI_HER2: inputs.anti_her2_days_before_pet,
        F_WINDOW: uptake.within_uptake_window if uptake is not None else None,
    }


def select_scenario(inputs: ScenarioInputs) -> ScenarioSelection:
    """Run §14: the main card from ``card-scenario``, then every matching row of ``extra-cards``."""
    decision = decide(MAIN_TABLE, main_facts(inputs))
    main = decision.outcome
    evidence = [Evidence(statement=decision.explain(), rule=decision.tag)]
    facts = extra_facts(inputs, main)
    extras: list[CardScenario] = []
    for row in EXTRA_TABLE.rows:
        if row.matches(facts):
            extras.append(row.then)
            evidence.append(Evidence(statement=f"adds {scenario_label(row.then)}", rule=EXTRA_TABLE.tag(row)))
    main_cards: tuple[CardScenario, ...] = (main.scenario,) if main.scenario is not None else ()
    placement = decide(
        ORDER_TABLE,
        {F_ORDER: inputs.tdxd_order, F_MAIN: main.scenario.value if main.scenario is not None else None},
    )
    basis: OrderBasis | None = None
    if placement.outcome is not OrderPlacement.NONE:
        evidence.append(Evidence(statement=placement.explain(), rule=placement.tag))
        variant = order_basis(inputs.her2, source_unreachable=inputs.sources_unavailable)
        evidence.append(Evidence(statement=variant.explain(), rule=variant.tag))
        basis = variant.outcome
        kept = () if placement.outcome is OrderPlacement.REPLACES else main_cards
        main_cards = (S.TDXD_ORDER, *kept)
    cards = main_cards + tuple(extras)
    caveats: list[str] = []
    if main.scenario is S.HER2_ZERO_PET_NONAVID:
        indicator = e_indicator(inputs.her2)
        evidence.append(Evidence(statement=indicator.explain(), rule=indicator.tag))
        if indicator.row.caveat:
            caveats.append(indicator.row.caveat)
    if main.scenario is S.HER2_ULTRALOW and c_hr_negative_note(inputs.her2):
        caveats.append(
            "HR-negative: the HER2-ultralow labelled setting (HR-positive disease, DB06) does not apply"
        )
    return ScenarioSelection(
        scenario=main.scenario,
        cards=cards,
        main_row=decision.tag,
        evidence=tuple(evidence),
        caveats=tuple(caveats),
        order_basis=basis,
    )


# ------------------------------------------------------------------------------------------------------------
# Documentation page

SCENARIO_TITLES: Mapping[CardScenario, str] = {
    S.HER2_LOW_PET_AVID: "HER2-low + avid lesion(s)",
    S.HER2_ZERO_PET_AVID: "HER2-0 or legacy 'negative' + avid lesion(s)",
    S.HER2_ULTRALOW: "HER2-ultralow",
    S.HER2_POSITIVE_PET_AVID: "HER2-positive + avid",
    S.HER2_ZERO_PET_NONAVID: "HER2-0 + no avid lesions",
    S.PET_AVID_NO_PATHOLOGY: "Avid lesion(s), no usable pathology",
    S.IHC2_ISH_PENDING: "IHC 2+, ISH pending",
    S.PAIRING_OUT_OF_WINDOW: f"PET and specimen more than {parameters.PAIRING_WINDOW_DAYS} days apart",
    S.HEPATIC_LESION: "modifier: avid lesion in the liver",
    S.RECENT_ANTI_HER2: f"modifier: anti-HER2 antibody ≤{parameters.RECENT_ANTI_HER2_DAYS} days before PET",
    S.HER2_LOW_NO_PET: "HER2-low on pathology, no HER2 PET",
    S.HER2_UNSCORED_NEGATIVE: "Legacy 'HER2-negative' without an IHC score",
    S.HER2_LOW_PET_NONAVID: "HER2-low on pathology, HER2 PET read with no avid lesion",
    S.PET_ANALYSIS_PENDING: "HER2 PET not analysed yet",
    S.DATA_UNAVAILABLE: "Source unavailable (no clinical statement)",
    S.OUTSIDE_UPTAKE_WINDOW: "modifier: uptake time outside the tracer window",
    S.TDXD_ORDER: "T-DXd order: the HER2 basis for the labelled indications",
}
"""Short titles of the 17 scenarios (spec/clinical-logic.md §15), for the documentation page."""


def scenario_table_markdown() -> str:
    """The documentation page ``docs/card-scenarios.md``, rendered from the tables above (pure)."""
    codes = ["| letter | scenario | `source.topic.code` | title |", "|---|---|---|---|"]
    for scenario, letter in sorted(SCENARIO_LETTERS.items(), key=lambda item: item[1]):
        codes.append(
            f"| ({letter}) | `{scenario.value}` | `{topic_code(scenario)}` | {SCENARIO_TITLES[scenario]} |"
        )
    parts = [
        "# Card scenarios\n",
        "Generated from `rules/scenarios.py` by `rules.scenarios.scenario_table_markdown()`; do not edit by"
        " hand (a unit test compares this file with the render). Clinical basis: spec/clinical-logic.md"
        f" §14–15. Rules version {parameters.RULES_VERSION}.\n",
        "Each card carries its scenario in `card.source.topic` (system `urn:her2-pet-cds:card-scenario`) as"
        " an alphanumeric code: the scenario name of spec/clinical-logic.md §15 in camel case, because Epic"
        " accepts only alphanumeric topic codes of at most 100 characters and keys feedback and a user's"
        " overrides on them (`rules.display.TOPIC_CODES`). Scenario (o) is this project's addition: every"
        " order-select or order-sign with a T-DXd draft order gets it, first, with the HER2 basis for the"
        " labelled indications; it takes the place of a main card that rests on pathology alone.\n",
        "\n".join(codes) + "\n",
        "How to read the tables: “—” means any value; a value that is not stated never meets a condition."
        " HER2 PET states: *none* (no HER2 PET study), *not analysed yet*, *unreachable* (PET source down),"
        " *no reader call* (analysed, but no lesion carries a reader call or a labelled threshold call:"
        " automated candidates never count as avid), *avid lesion(s)*, *read, none avid*. Pathology is the"
        " T-DXd category of the most recent specimen, with IHC 2+ awaiting ISH shown as “ISH pending”.\n",
    ]
    parts += [render_table(MAIN_TABLE), render_table(EXTRA_TABLE)]
    parts += [render_table(E_INDICATOR_TABLE), render_table(F_VARIANT_TABLE)]
    parts += [render_table(ORDER_TABLE), render_table(ORDER_BASIS_TABLE)]
    return "\n".join(parts)
