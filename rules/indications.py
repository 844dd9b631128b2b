"""FDA-labelled T-DXd indications, checked row by row: met, not met or unknown, criterion by criterion.

Rows follow the ENHERTU (fam-trastuzumab deruxtecan-nxki) US Prescribing Information, BLA 761139, as revised
in December 2025 (spec/clinical-logic.md §11): B (HER2-positive after a prior anti-HER2 regimen,
DESTINY-Breast03, May 2022), C (HER2-low after chemotherapy, DESTINY-Breast04, 5 Aug 2022), D (HR-positive
HER2-low or HER2-ultralow after endocrine therapy, DESTINY-Breast06, 27 Jan 2025), A (in combination with
pertuzumab, first line, HER2-positive IHC 3+ or ISH-positive "as determined by an FDA-approved test",
DESTINY-Breast09, 15 Dec 2025) and TA (HER2-positive IHC 3+ unresectable or metastatic solid tumours after
prior systemic treatment "and have no satisfactory alternative treatment options", accelerated approval, 5 Apr
2024). The engine never says "eligible": a row that is met prompts a review against the label.

Each row holds the label's full list of criteria, each three-valued. A row is NOT_MET when any criterion is
positively not met (a category the row excludes, non-metastatic disease, HR-negative disease for row D,
therapy for metastatic disease already given for the first-line row A); UNKNOWN ("not determinable") when no
criterion fails but one cannot be established from the chart; MET ("criteria on file met") otherwise. The
absence of a therapy from the chart is never read as proof that it was not given, and two criteria are never
met from the chart alone: "as determined by an FDA-approved test" needs the assay to be stated (the companion
diagnostic VENTANA PATHWAY anti-HER-2/neu (4B5) meets it; another stated clone is a caution, not a block, and
stays undetermined), and the tumour-agnostic row's "no satisfactory alternative treatment options" is a
clinical judgement no chart field records, so row TA is never reported as met (for breast cancer the breast
rows A and B name the labelled HER2-positive settings).

Therapy settings are judged against ``ClinicalContext.metastatic_since``: a therapy started on or after it was
given in the metastatic setting; one started before it and ongoing, or ended at most ``EARLY_RELAPSE_MONTHS``
months before it, counts as "recurrence during or within 6 months after" (neo)adjuvant therapy (rows B and C).
A course recorded as over without an end date cannot be placed against that edge and stays undetermined.
Therapies that start after ``as_of`` are planned, not prior, and are ignored.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from rules import parameters
from rules.domain import (
    ClinicalContext,
    CriterionCheck,
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
    """One condition of a label row: a name for the docs and cards, a three-valued check with its reason, and
    whether it is the row's HER2 category condition."""

    name: str
    check: Callable[[IndicationFacts], Verdict]
    category: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRow:
    """One FDA label row of spec/clinical-logic.md §11 as data: identifier, the label's wording, the short
    name cards use, the basis (trial and approval date) and every criterion of the row."""

    row: str
    description: str
    short: str
    basis: str
    criteria: tuple[Criterion, ...]


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

    return Criterion(name=f"HER2 {label}", check=check, category=True)


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
    """Started before metastatic diagnosis and ongoing then, or ended at most 6 months before it (a course
    recorded as over without an end date cannot be placed and does not count)."""
    if therapy.start is None or therapy.start >= since:
        return False
    if therapy.end is None:
        return not therapy.ended
    return therapy.end >= months_before(since, EARLY_RELAPSE_MONTHS)


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


def _fda_test(facts: IndicationFacts) -> Verdict:
    """ "As determined by an FDA-approved test": met when the IHC assay is the companion diagnostic (4B5) and
    the IHC score carries the category; a stated other clone is a caution (undetermined, never a block); an
    assay that is not stated, or a positive result resting on ISH (whose assay the record does not carry),
    cannot be confirmed."""
    ihc = facts.ihc
    assay = ihc.assay if ihc is not None else None
    if not assay:
        return UNKNOWN, "assay not stated: an FDA-approved test cannot be confirmed"
    if "4b5" not in assay.lower():
        return (
            UNKNOWN,
            f"caution: assay {assay} is not the companion diagnostic {parameters.COMPANION_DIAGNOSTIC_ASSAY}",
        )
    if facts.category is TdxdCategory.HER2_POSITIVE and (ihc is None or ihc.score is not IhcScore.THREE_PLUS):
        return UNKNOWN, "HER2-positive by ISH: the ISH assay is not stated"
    return MET, f"assay {assay} ({parameters.COMPANION_DIAGNOSTIC_ASSAY}, companion diagnostic)"


def _no_satisfactory_alternative(facts: IndicationFacts) -> Verdict:
    return UNKNOWN, "no satisfactory alternative treatment: a clinical judgement the chart does not record"


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
FDA_TEST = Criterion(name="FDA-approved test", check=_fda_test)
NO_ALTERNATIVE = Criterion(name="no satisfactory alternative treatment", check=_no_satisfactory_alternative)
HR_POSITIVE = Criterion(name="hormone-receptor positive", check=_hr_positive)
FIRST_LINE = Criterion(name="first line for metastatic disease", check=_first_line)
PERTUZUMAB = Criterion(name="with pertuzumab", check=_pertuzumab)
IHC_3PLUS = Criterion(name="HER2 IHC 3+", check=_ihc_3plus, category=True)
PRIOR_SYSTEMIC = Criterion(name="prior systemic therapy", check=_prior_systemic)

_C = TdxdCategory
_UNDETERMINED = frozenset({_C.UNKNOWN, _C.NEEDS_REVIEW})

LABEL_ROWS: tuple[LabelRow, ...] = (
    LabelRow(
        row="B",
        description="HER2-positive (IHC 3+ or ISH-positive) unresectable or metastatic breast cancer after a "
        "prior anti-HER2-based regimen in the metastatic setting, or in the neoadjuvant or adjuvant setting "
        "with recurrence during or within 6 months of completing therapy",
        short="HER2-positive after anti-HER2 therapy",
        basis="DESTINY-Breast03; FDA May 2022",
        criteria=(
            category_criterion(frozenset({_C.HER2_POSITIVE}), _UNDETERMINED, "HER2-positive"),
            METASTATIC,
            prior_therapy_criterion(DrugClass.ANTI_HER2, "anti-HER2 therapy", early_relapse=True),
        ),
    ),
    LabelRow(
        row="C",
        description="HER2-low (IHC 1+ or IHC 2+/ISH-negative) unresectable or metastatic breast cancer, as "
        "determined by an FDA-approved test, after a prior chemotherapy in the metastatic setting or "
        "recurrence during or within 6 months of completing adjuvant chemotherapy; any HR status",
        short="HER2-low after chemotherapy",
        basis="DESTINY-Breast04; FDA 5 Aug 2022",
        criteria=(
            category_criterion(frozenset({_C.HER2_LOW}), _UNDETERMINED | {_C.NEGATIVE_UNSCORED}, "HER2-low"),
            FDA_TEST,
            METASTATIC,
            prior_therapy_criterion(DrugClass.CHEMO, "chemotherapy", early_relapse=True),
        ),
    ),
    LabelRow(
        row="D",
        description="Hormone receptor-positive, HER2-low (IHC 1+ or IHC 2+/ISH-negative) or HER2-ultralow "
        "(IHC 0 with membrane staining) unresectable or metastatic breast cancer, as determined by an "
        "FDA-approved test, that has progressed on one or more endocrine therapies in the metastatic setting",
        short="HR-positive HER2-low or ultralow after endocrine therapy",
        basis="DESTINY-Breast06; FDA 27 Jan 2025",
        criteria=(
            category_criterion(
                frozenset({_C.HER2_LOW, _C.HER2_ULTRALOW}),
                _UNDETERMINED | {_C.NEGATIVE_UNSCORED, _C.HER2_ZERO_UNSPECIFIED},
                "HER2-low or ultralow",
            ),
            FDA_TEST,
            METASTATIC,
            HR_POSITIVE,
            prior_therapy_criterion(DrugClass.ENDOCRINE, "endocrine therapy", early_relapse=False),
        ),
    ),
    LabelRow(
        row="A",
        description="In combination with pertuzumab, first-line treatment of HER2-positive (IHC 3+ or "
        "ISH-positive) unresectable or metastatic breast cancer, as determined by an FDA-approved test",
        short="first line with pertuzumab, HER2-positive",
        basis="DESTINY-Breast09; FDA 15 Dec 2025",
        criteria=(
            category_criterion(frozenset({_C.HER2_POSITIVE}), _UNDETERMINED, "HER2-positive"),
            FDA_TEST,
            METASTATIC,
            FIRST_LINE,
            PERTUZUMAB,
        ),
    ),
    LabelRow(
        row="TA",
        description="HER2-positive (IHC 3+) unresectable or metastatic solid tumours after prior systemic "
        "treatment, with no satisfactory alternative treatment options (accelerated approval)",
        short="tumour-agnostic, HER2 IHC 3+",
        basis="DESTINY-PanTumor02, -Lung01, -CRC02; FDA 5 Apr 2024",
        criteria=(IHC_3PLUS, METASTATIC, PRIOR_SYSTEMIC, NO_ALTERNATIVE),
    ),
)
"""The label rows checked, in display order (spec/clinical-logic.md §11), each with every criterion of the
label's indication statement; rows E and F (early breast cancer, dates unverified) are not checked in this
version."""

BREAST_HER2_POSITIVE_ROWS = ("A", "B")
"""Breast rows for HER2-positive disease: when one of them is not excluded, row TA's note says so."""


def _combine(verdicts: list[Verdict]) -> IndicationStatus:
    statuses = {status for status, _ in verdicts}
    if NOT_MET in statuses:
        return NOT_MET
    if UNKNOWN in statuses:
        return UNKNOWN
    return MET


def check_row(row: LabelRow, facts: IndicationFacts) -> IndicationCheck:
    """Check one label row: every criterion's verdict is kept with its reason; the row status combines
    them."""
    verdicts = [criterion.check(facts) for criterion in row.criteria]
    criteria = tuple(
        CriterionCheck(name=criterion.name, status=status, reason=reason)
        for criterion, (status, reason) in zip(row.criteria, verdicts, strict=True)
    )
    excluded = any(
        status is NOT_MET
        for criterion, (status, _) in zip(row.criteria, verdicts, strict=True)
        if criterion.category
    )
    return IndicationCheck(
        row=row.row,
        description=f"{row.description} ({row.basis})",
        status=_combine(verdicts),
        reasons=tuple(reason for _, reason in verdicts),
        short=row.short,
        criteria=criteria,
        category_open=not excluded,
        basis=row.basis,
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
    category, used for the tumour-agnostic IHC 3+ criterion and the FDA-approved test criterion.
    """
    facts = IndicationFacts(category=category, context=context, as_of=as_of, ihc=ihc)
    checks = [check_row(row, facts) for row in LABEL_ROWS]
    open_breast = [c.row for c in checks if c.row in BREAST_HER2_POSITIVE_ROWS and c.status is not NOT_MET]
    for i, check in enumerate(checks):
        if check.row == "TA" and check.status is not NOT_MET and open_breast:
            rows = (
                f"row {open_breast[0]} names"
                if len(open_breast) == 1
                else f"rows {' and '.join(open_breast)} name"
            )
            note = f"breast cancer: {rows} the labelled HER2-positive settings"
            checks[i] = dataclasses.replace(check, reasons=(*check.reasons, note))
    return tuple(checks)
