"""FDA-labelled T-DXd breast indications, checked row by row: met, not met or unknown, with reasons.

Rows follow spec/clinical-logic.md §11 (ENHERTU US Prescribing Information, BLA 761139): B (HER2-positive
after anti-HER2 therapy, DESTINY-Breast03), C (HER2-low after chemotherapy, DESTINY-Breast04), D (HR-positive
HER2-low or ultralow after endocrine therapy, DESTINY-Breast06), A (HER2-positive first line with pertuzumab,
DESTINY-Breast09; date unverified) and TA (tumour-agnostic HER2-positive IHC 3+ solid tumours after prior
systemic therapy). The engine never says "eligible": a row that is met prompts a review against the label.

Each row is a conjunction of criteria, each three-valued. A row is NOT_MET when any criterion is positively
not met (a category the row excludes, non-metastatic disease, HR-negative disease for row D, therapy for
metastatic disease already given for the first-line row A); UNKNOWN when no criterion fails but one cannot be
established; MET otherwise. The absence of a therapy from the chart is never read as proof that it was not
given: such criteria stay UNKNOWN.

Therapy settings are judged against ``ClinicalContext.metastatic_since``: a therapy started on or after it was
given in the metastatic setting; one started before it and ongoing, or ended at most
``EARLY_RELAPSE_MONTHS`` months before it, counts as "recurrence during or within 6 months after"
(neo)adjuvant therapy (rows B and C). Therapies that start after ``as_of`` are planned, not prior, and are
ignored.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rules import parameters
from rules.domain import (
    ClinicalContext,
    DrugClass,
    HrStatus,
    IhcResult,
    IhcScore,
    IndicationCheck,
    IndicationStatus,
    TdxdCategory,
    TherapyExposure,
)

EARLY_RELAPSE_MONTHS = 6
"""Recurrence during or within this many months after (neo)adjuvant therapy counts as prior therapy for rows B
and C (ENHERTU USPI; DESTINY-Breast03 and -04 eligibility)."""

MET, NOT_MET, UNKNOWN = IndicationStatus.MET, IndicationStatus.NOT_MET, IndicationStatus.UNKNOWN
Verdict = tuple[IndicationStatus, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicationFacts:
    """What the criteria look at: the current T-DXd category, the IHC read behind it, the chart, the day."""

    category: TdxdCategory
    context: ClinicalContext
    as_of: dt.date
    ihc: IhcResult | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Criterion:
    """One condition of a label row: a name for the docs and a three-valued check with its reason."""

    name: str
    check: Callable[[IndicationFacts], Verdict]


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRow:
    """One FDA label row of spec/clinical-logic.md §11 as data: identifier, wording, basis and criteria."""

    row: str
    description: str
    basis: str
    criteria: tuple[Criterion, ...]
    companion_diagnostic: bool = False


# ------------------------------------------------------------------------------------------------------------
# Criteria


def category_criterion(
    allowed: frozenset[TdxdCategory], undetermined: frozenset[TdxdCategory], label: str
) -> Criterion:
    """HER2 category in ``allowed`` → met; in ``undetermined`` (could still turn out allowed) → unknown."""

    def check(facts: IndicationFacts) -> Verdict:
        if facts.category in allowed:
            return MET, f"HER2 category {facts.category} ({label})"
        if facts.category in undetermined:
            return UNKNOWN, f"HER2 category {facts.category}: cannot tell whether {label}"
        return NOT_MET, f"HER2 category {facts.category} is not {label}"

    return Criterion(name=f"HER2 {label}", check=check)


def _metastatic(facts: IndicationFacts) -> Verdict:
    metastatic = facts.context.metastatic
    if metastatic is None:
        return UNKNOWN, "metastatic or unresectable disease not documented"
    if metastatic:
        since = facts.context.metastatic_since
        return MET, "metastatic disease" + (f" since {since.isoformat()}" if since else "")
    return NOT_MET, "no metastatic disease on record"


def _hr_positive(facts: IndicationFacts) -> Verdict:
    status = facts.context.hr_status
    if status is HrStatus.POSITIVE:
        return MET, "hormone-receptor positive"
    if status is HrStatus.NEGATIVE:
        return NOT_MET, "hormone-receptor negative"
    return UNKNOWN, "hormone-receptor status unknown"


def months_before(day: dt.date, months: int) -> dt.date:
    """The calendar date ``months`` months before ``day`` (day of month clamped to the month's length)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def _prior(
    therapies: tuple[TherapyExposure, ...], classes: frozenset[DrugClass], as_of: dt.date
) -> list[TherapyExposure]:
    """Therapies of ``classes`` not planned for the future (undated ones included)."""
    return [t for t in therapies if t.drug_class in classes and (t.start is None or t.start <= as_of)]


def _name(therapy: TherapyExposure) -> str:
    what = therapy.display or therapy.code or str(therapy.drug_class).replace("_", "-")
    return f"{what} from {therapy.start.isoformat()}" if therapy.start else what


def _in_metastatic_setting(therapy: TherapyExposure, since: dt.date) -> bool:
    return therapy.start is not None and therapy.start >= since


def _early_relapse(therapy: TherapyExposure, since: dt.date) -> bool:
    """Started before metastatic diagnosis and ongoing then, or ended at most 6 months before it."""
    if therapy.start is None or therapy.start >= since:
        return False
    return therapy.end is None or therapy.end >= months_before(since, EARLY_RELAPSE_MONTHS)


def prior_therapy_criterion(drug_class: DrugClass, label: str, *, early_relapse: bool) -> Criterion:
    """≥1 prior therapy of ``drug_class`` for metastatic disease (or, with ``early_relapse``, recurrence
    during or ≤6 months after it in the (neo)adjuvant setting)."""
    classes = frozenset({drug_class})

    def check(facts: IndicationFacts) -> Verdict:
        given = _prior(facts.context.therapies, classes, facts.as_of)
        since = facts.context.metastatic_since
        if not given:
            return UNKNOWN, f"no {label} on record"
        if since is None:
            return UNKNOWN, f"{label} on record, but no date of metastatic diagnosis to place it"
        for therapy in given:
            if _in_metastatic_setting(therapy, since):
                return MET, f"{label} in the metastatic setting: {_name(therapy)}"
        for therapy in given:
            if early_relapse and _early_relapse(therapy, since):
                return (
                    MET,
                    f"recurrence during or ≤{EARLY_RELAPSE_MONTHS} months after {label}: {_name(therapy)}",
                )
        return UNKNOWN, f"{label} on record only before the metastatic setting"

    return Criterion(name=f"prior {label}", check=check)


def _first_line(facts: IndicationFacts) -> Verdict:
    """No anti-HER2 therapy or chemotherapy for metastatic disease on record.

    Endocrine therapy alone does not end first line (HR-positive HER2-positive disease may start with it).
    """
    since = facts.context.metastatic_since
    given = _prior(facts.context.therapies, frozenset({DrugClass.ANTI_HER2, DrugClass.CHEMO}), facts.as_of)
    if since is None:
        return UNKNOWN, "no date of metastatic diagnosis: first line cannot be established"
    for therapy in given:
        if _in_metastatic_setting(therapy, since):
            return NOT_MET, f"therapy for metastatic disease already given: {_name(therapy)}"
    if any(t.start is None for t in given):
        return UNKNOWN, "undated anti-HER2 therapy or chemotherapy on record"
    return MET, "no anti-HER2 therapy or chemotherapy for metastatic disease on record (first line)"


def _pertuzumab(facts: IndicationFacts) -> Verdict:
    if facts.context.pertuzumab_co_order:
        return MET, "pertuzumab co-ordered"
    return UNKNOWN, "no pertuzumab among the draft orders"


def _ihc_3plus(facts: IndicationFacts) -> Verdict:
    score = facts.ihc.score if facts.ihc is not None else None
    if score is IhcScore.THREE_PLUS:
        return MET, "HER2 IHC 3+"
    if score is None:
        return UNKNOWN, "no HER2 IHC score on record"
    return NOT_MET, f"HER2 IHC {score}, not 3+"


def _prior_systemic(facts: IndicationFacts) -> Verdict:
    given = _prior(facts.context.therapies, frozenset(DrugClass), facts.as_of)
    if given:
        return MET, f"prior systemic therapy: {_name(given[0])}"
    return UNKNOWN, "no prior systemic therapy on record"


METASTATIC = Criterion(name="unresectable or metastatic", check=_metastatic)
HR_POSITIVE = Criterion(name="hormone-receptor positive", check=_hr_positive)
FIRST_LINE = Criterion(name="first line for metastatic disease", check=_first_line)
PERTUZUMAB = Criterion(name="with pertuzumab", check=_pertuzumab)
IHC_3PLUS = Criterion(name="IHC 3+", check=_ihc_3plus)
PRIOR_SYSTEMIC = Criterion(name="prior systemic therapy", check=_prior_systemic)

_C = TdxdCategory
_UNDETERMINED = frozenset({_C.UNKNOWN, _C.NEEDS_REVIEW})

LABEL_ROWS: tuple[LabelRow, ...] = (
    LabelRow(
        row="B",
        description="HER2-positive unresectable/metastatic, after ≥1 prior anti-HER2 regimen",
        basis="DESTINY-Breast03; FDA May 2022",
        criteria=(
            category_criterion(frozenset({_C.HER2_POSITIVE}), _UNDETERMINED, "HER2-positive"),
            METASTATIC,
            prior_therapy_criterion(DrugClass.ANTI_HER2, "anti-HER2 therapy", early_relapse=True),
        ),
    ),
    LabelRow(
        row="C",
        description="HER2-low unresectable/metastatic, after prior chemotherapy; any HR status",
        basis="DESTINY-Breast04; FDA 5 Aug 2022",
        criteria=(
            category_criterion(frozenset({_C.HER2_LOW}), _UNDETERMINED | {_C.NEGATIVE_UNSCORED}, "HER2-low"),
            METASTATIC,
            prior_therapy_criterion(DrugClass.CHEMO, "chemotherapy", early_relapse=True),
        ),
        companion_diagnostic=True,
    ),
    LabelRow(
        row="D",
        description="HR-positive HER2-low or ultralow unresectable/metastatic, after ≥1 endocrine therapy",
        basis="DESTINY-Breast06; FDA 27 Jan 2025",
        criteria=(
            category_criterion(
                frozenset({_C.HER2_LOW, _C.HER2_ULTRALOW}),
                _UNDETERMINED | {_C.NEGATIVE_UNSCORED, _C.HER2_ZERO_UNSPECIFIED},
                "HER2-low or ultralow",
            ),
            METASTATIC,
            HR_POSITIVE,
            prior_therapy_criterion(DrugClass.ENDOCRINE, "endocrine therapy", early_relapse=False),
        ),
        companion_diagnostic=True,
    ),
    LabelRow(
        row="A",
        description="HER2-positive unresectable/metastatic, first line, with pertuzumab",
        basis="DESTINY-Breast09",
        criteria=(
            category_criterion(frozenset({_C.HER2_POSITIVE}), _UNDETERMINED, "HER2-positive"),
            METASTATIC,
            FIRST_LINE,
            PERTUZUMAB,
        ),
    ),
    LabelRow(
        row="TA",
        description=(
            "HER2-positive (IHC 3+) unresectable/metastatic solid tumour, after prior systemic therapy"
        ),
        basis="tumour-agnostic accelerated approval",
        criteria=(IHC_3PLUS, METASTATIC, PRIOR_SYSTEMIC),
    ),
)
"""The label rows checked, in display order (spec/clinical-logic.md §11); rows E and F (early breast cancer,
dates unverified) are not checked in this version."""


def _combine(verdicts: list[Verdict]) -> IndicationStatus:
    statuses = {status for status, _ in verdicts}
    if NOT_MET in statuses:
        return NOT_MET
    if UNKNOWN in statuses:
        return UNKNOWN
    return MET


def _assay_note(ihc: IhcResult | None) -> str | None:
    """A caution (never a block) when the stated IHC assay is not the FDA companion diagnostic (4B5)."""
    if ihc is None or not ihc.assay or "4b5" in ihc.assay.lower():
        return None
    return (
        f"caution: assay {ihc.assay} is not the companion diagnostic {parameters.COMPANION_DIAGNOSTIC_ASSAY}"
    )


def check_row(row: LabelRow, facts: IndicationFacts) -> IndicationCheck:
    """Check one label row: every criterion's verdict becomes a reason, the row status combines them."""
    verdicts = [criterion.check(facts) for criterion in row.criteria]
    reasons = [reason for _, reason in verdicts]
    note = _assay_note(facts.ihc) if row.companion_diagnostic else None
    if note:
        reasons.append(note)
    return IndicationCheck(
        row=row.row,
        description=f"{row.description} ({row.basis})",
        status=_combine(verdicts),
        reasons=tuple(reasons),
    )


def check_indications(
    category: TdxdCategory,
    context: ClinicalContext,
    *,
    as_of: dt.date,
    ihc: IhcResult | None = None,
) -> tuple[IndicationCheck, ...]:
    """Check every row of ``LABEL_ROWS`` for the patient's current HER2 category and chart.

    ``context.hr_status`` should already hold the synthesised HR status (``rules.hormone``). ``as_of`` is
    today's date (therapies starting later are planned, not prior). ``ihc`` is the IHC read behind the
    category, used for the tumour-agnostic IHC 3+ criterion and the companion-diagnostic caution.
    """
    facts = IndicationFacts(category=category, context=context, as_of=as_of, ihc=ihc)
    return tuple(check_row(row, facts) for row in LABEL_ROWS)
