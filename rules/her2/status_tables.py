"""ASCO/CAP HER2 per-specimen status, laboratory cross-check, T-DXd category and companion-diagnostic note.

Status: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med 2018;142:1364–82, affirmed by
Wolff AC et al., J Clin Oncol 2023;41:3867–72 (spec/clinical-logic.md §6). The T-DXd categories (HER2-low,
HER2-ultralow, HER2-null) are therapy-eligibility labels from the ENHERTU prescribing information
(DESTINY-Breast04 and -06), not ASCO/CAP result categories; the companion diagnostic is VENTANA PATHWAY
anti-HER-2/neu (4B5) (spec/clinical-logic.md §8). The cross-check of the laboratory's stated result against
the derived result is an engine rule (spec §4/§6).
"""

from __future__ import annotations

from rules.display import category_description
from rules.domain import AscoCapStatus, IhcZeroSubtype, ReportedStatus, StrEnum, TdxdCategory
from rules.her2.vocabulary import ASCO_CAP_2018, ENGINE, ONE, THREE, TWO, ZERO, ZERO_OR_ONE, IshFinal
from rules.tables import DecisionTable, Fact, Row, absent, eq, mentions, one_of


class LabCheck(StrEnum):
    """Whether the laboratory's own stated result agrees with the result the engine derived."""

    CONSISTENT = "consistent"
    CONFLICT = "conflict: review"


class AssayCheck(StrEnum):
    """Whether the IHC assay is the FDA companion diagnostic for the HER2-low/ultralow indications."""

    COMPANION = "companion diagnostic"
    OTHER = "other assay (caution)"
    NOT_CHECKED = "no check"


LAB_CHECK: DecisionTable[LabCheck] = DecisionTable(
    id="lab-check",
    title="Laboratory's stated result versus the derived result",
    purpose=(
        "A report whose own positive/negative statement contradicts the result derived from its scores or "
        "counts (e.g. a pre-2018 “amplified” call for ISH group 2 with IHC 1+) is not classified; it needs "
        "review."
    ),
    facts=(Fact("derived", "derived result"), Fact("stated", "laboratory's statement")),
    rows=(
        Row(
            id="K1",
            when=(eq("derived", ReportedStatus.POSITIVE), eq("stated", ReportedStatus.NEGATIVE)),
            then=LabCheck.CONFLICT,
            ref=ENGINE,
            caveat="The laboratory's stated result (negative) contradicts the result its numbers give "
            "(positive): review the report.",
        ),
        Row(
            id="K2",
            when=(eq("derived", ReportedStatus.NEGATIVE), eq("stated", ReportedStatus.POSITIVE)),
            then=LabCheck.CONFLICT,
            ref=ENGINE,
            caveat="The laboratory's stated result (positive) contradicts the result its numbers give "
            "(negative): review the report.",
        ),
        Row(id="K3", when=(), then=LabCheck.CONSISTENT, ref=f"{ENGINE}: no contradiction"),
    ),
)

STATUS: DecisionTable[AscoCapStatus] = DecisionTable(
    id="status",
    title="Per-specimen ASCO/CAP status",
    purpose=(
        "The guideline result of one specimen from the IHC score and the final ISH result (which already "
        "folds in the concurrent IHC for groups 2–4). A bare laboratory statement is used only when there "
        "is no score and no ISH result, and a bare “positive” never makes a positive result: HER2-positive "
        "needs an explicit basis (IHC 3+, ISH group 1 or a stated amplified result)."
    ),
    facts=(
        Fact("technical_failure", "technical failure stated"),
        Fact("usable", "usable score or ISH result"),
        Fact("ihc", "IHC score"),
        Fact("ish", "ISH result"),
        Fact("reported", "laboratory's overall statement"),
    ),
    rows=(
        Row(
            id="T1",
            when=(eq("technical_failure", True), eq("usable", False)),
            then=AscoCapStatus.INDETERMINATE,
            ref=f"{ASCO_CAP_2018}: pre-analytic or technical failure → test a new specimen",
            caveat="HER2 testing failed (pre-analytic or technical failure): a new specimen is needed.",
        ),
        Row(
            id="T2",
            when=(eq("ihc", THREE), eq("ish", IshFinal.NEGATIVE)),
            then=AscoCapStatus.POSITIVE,
            ref=f"{ASCO_CAP_2018}: IHC 3+ is positive",
            caveat="IHC 3+ with a negative ISH on the same specimen: discordant; IHC 3+ is positive on its "
            "own. Review.",
        ),
        Row(
            id="T3",
            when=(eq("ihc", THREE),),
            then=AscoCapStatus.POSITIVE,
            ref=f"{ASCO_CAP_2018}: IHC 3+ is positive",
        ),
        Row(
            id="T4",
            when=(eq("ish", IshFinal.POSITIVE),),
            then=AscoCapStatus.POSITIVE,
            ref=f"{ASCO_CAP_2018}: ISH positive",
        ),
        Row(
            id="T5",
            when=(eq("ish", IshFinal.NEEDS_REVIEW),),
            then=AscoCapStatus.UNKNOWN,
            ref=f"{ENGINE}: ISH result needs review",
        ),
        Row(
            id="T6",
            when=(eq("ihc", TWO), one_of("ish", IshFinal.NONE, IshFinal.PENDING)),
            then=AscoCapStatus.EQUIVOCAL_PENDING,
            ref=f"{ASCO_CAP_2018}: IHC 2+ is equivocal → reflex ISH",
            caveat="IHC 2+ (equivocal) without a final ISH result: HER2-low vs HER2-positive is unresolved "
            "until ISH.",
        ),
        Row(
            id="T7",
            when=(one_of("ihc", *ZERO_OR_ONE),),
            then=AscoCapStatus.NEGATIVE,
            ref=f"{ASCO_CAP_2018}: IHC 0 or 1+ is negative",
        ),
        Row(
            id="T8",
            when=(eq("ish", IshFinal.NEGATIVE),),
            then=AscoCapStatus.NEGATIVE,
            ref=f"{ASCO_CAP_2018}: ISH negative",
        ),
        Row(
            id="T9",
            when=(absent("ihc"), eq("ish", IshFinal.NONE), eq("reported", ReportedStatus.NEGATIVE)),
            then=AscoCapStatus.NEGATIVE,
            ref=f"{ENGINE}: the laboratory's bare “negative” (legacy report, no score)",
        ),
        Row(
            id="T10",
            when=(absent("ihc"), eq("ish", IshFinal.NONE), eq("reported", ReportedStatus.POSITIVE)),
            then=AscoCapStatus.UNKNOWN,
            ref=f"{ENGINE}: a bare “positive” is no basis for HER2-positive (safety rule: IHC 3+, ISH "
            "group 1 or a stated amplified result)",
            caveat="HER2 reported positive without an IHC score or ISH result: the basis of a positive call "
            "is not on file; obtain the IHC score or ISH result.",
        ),
        Row(
            id="T11",
            when=(absent("ihc"), eq("ish", IshFinal.NONE), eq("reported", ReportedStatus.EQUIVOCAL)),
            then=AscoCapStatus.EQUIVOCAL_PENDING,
            ref=f"{ASCO_CAP_2018}: equivocal → reflex ISH",
        ),
        Row(
            id="T12",
            when=(eq("reported", ReportedStatus.INDETERMINATE),),
            then=AscoCapStatus.INDETERMINATE,
            ref=f"{ASCO_CAP_2018}: indeterminate → test a new specimen",
        ),
        Row(id="T13", when=(), then=AscoCapStatus.UNKNOWN, ref=f"{ENGINE}: no usable HER2 result"),
    ),
)

_NEG = eq("status", AscoCapStatus.NEGATIVE)

CATEGORY: DecisionTable[TdxdCategory] = DecisionTable(
    id="category",
    title="T-DXd-facing HER2 category",
    purpose=(
        "The label-facing expression class of one specimen. HER2-low and HER2-ultralow are "
        "therapy-eligibility labels (ENHERTU USPI; DESTINY-Breast04/06), not ASCO/CAP result categories "
        "(2023 update)."
    ),
    facts=(
        Fact("status", "ASCO/CAP status"),
        Fact("needs_review", "needs review"),
        Fact("ihc_range", "IHC reported as a range"),
        Fact("ihc", "IHC score"),
        Fact("zero", "IHC 0 detail"),
        Fact("ish", "ISH result"),
        Fact("reported", "laboratory's overall statement"),
    ),
    rows=(
        Row(
            id="C1",
            when=(eq("status", AscoCapStatus.POSITIVE),),
            then=TdxdCategory.HER2_POSITIVE,
            ref=f"{ASCO_CAP_2018}: HER2-positive",
        ),
        Row(
            id="C2",
            when=(eq("ihc_range", True),),
            then=TdxdCategory.NEEDS_REVIEW,
            ref=f"{ENGINE}: a score range such as 0–1+ or 1–2+ cannot be placed",
        ),
        Row(
            id="C3",
            when=(eq("needs_review", True),),
            then=TdxdCategory.NEEDS_REVIEW,
            ref=f"{ENGINE}: missing, implausible or contradictory data",
        ),
        Row(
            id="C4",
            when=(
                one_of(
                    "status",
                    AscoCapStatus.EQUIVOCAL_PENDING,
                    AscoCapStatus.INDETERMINATE,
                    AscoCapStatus.UNKNOWN,
                ),
            ),
            then=TdxdCategory.UNKNOWN,
            ref=f"{ENGINE}: no final result yet",
        ),
        Row(
            id="C5",
            when=(_NEG, eq("ihc", ONE)),
            then=TdxdCategory.HER2_LOW,
            ref="ENHERTU USPI (DESTINY-Breast04): HER2-low = IHC 1+",
        ),
        Row(
            id="C6",
            when=(_NEG, eq("ihc", TWO), eq("ish", IshFinal.NEGATIVE)),
            then=TdxdCategory.HER2_LOW,
            ref="ENHERTU USPI (DESTINY-Breast04): HER2-low = IHC 2+ with negative ISH",
        ),
        Row(
            id="C7",
            when=(_NEG, eq("ihc", ZERO), eq("zero", IhcZeroSubtype.ULTRALOW)),
            then=TdxdCategory.HER2_ULTRALOW,
            ref="ENHERTU USPI (DESTINY-Breast06): HER2-ultralow = IHC 0 with membrane staining",
        ),
        Row(
            id="C8",
            when=(_NEG, eq("ihc", ZERO), eq("zero", IhcZeroSubtype.NULL)),
            then=TdxdCategory.HER2_NULL,
            ref=f"{ASCO_CAP_2018}: IHC 0 with no membrane staining (HER2-null)",
        ),
        Row(
            id="C9",
            when=(_NEG, eq("ihc", ZERO), eq("zero", IhcZeroSubtype.UNSPECIFIED)),
            then=TdxdCategory.HER2_ZERO_UNSPECIFIED,
            ref=f"{ASCO_CAP_2018}: IHC 0; ASCO/CAP 2023 practice for separating 0 from 1+",
            caveat="IHC 0 without a statement on membrane staining: ask the pathologist to review 0 vs 1+ "
            "and ultralow (ASCO/CAP 2023 practice; the ultralow indication needs it when HR-positive).",
        ),
        Row(
            id="C10",
            when=(_NEG, absent("ihc"), eq("ish", IshFinal.NEGATIVE)),
            then=TdxdCategory.UNKNOWN,
            ref=f"{ENGINE}: a negative ISH does not give the expression level",
            caveat="ISH negative but no IHC score: HER2-low vs HER2-0 is unknown; obtain the IHC score.",
        ),
        Row(
            id="C11",
            when=(_NEG, absent("ihc"), eq("reported", ReportedStatus.NEGATIVE)),
            then=TdxdCategory.NEGATIVE_UNSCORED,
            ref=f"{ENGINE}: legacy “HER2 negative” without an IHC score",
            caveat="HER2 reported “negative” without an IHC score: HER2-low or ultralow cannot be "
            "excluded; obtain the score or ask for re-review.",
        ),
    ),
    describe_outcome=category_description,
)

ASSAY: DecisionTable[AssayCheck] = DecisionTable(
    id="assay",
    title="IHC assay and the companion diagnostic",
    purpose=(
        "The HER2-low (2022) and HER2-ultralow (2025) indications name “an FDA-approved test”: the "
        "companion diagnostic is VENTANA PATHWAY anti-HER-2/neu (4B5). Another clone is a caution, not a "
        "block."
    ),
    facts=(Fact("category", "T-DXd category"), Fact("assay", "IHC assay")),
    rows=(
        Row(
            id="A1",
            when=(
                one_of(
                    "category",
                    TdxdCategory.HER2_POSITIVE,
                    TdxdCategory.UNKNOWN,
                    TdxdCategory.NEEDS_REVIEW,
                    TdxdCategory.NEGATIVE_UNSCORED,
                ),
            ),
            then=AssayCheck.NOT_CHECKED,
            ref="ENHERTU USPI: the check concerns the HER2-low/ultralow/0 distinction",
        ),
        Row(id="A2", when=(absent("assay"),), then=AssayCheck.NOT_CHECKED, ref=f"{ENGINE}: assay not stated"),
        Row(
            id="A3",
            when=(mentions("assay", "4B5", "PATHWAY"),),
            then=AssayCheck.COMPANION,
            ref="ENHERTU USPI: VENTANA PATHWAY anti-HER-2/neu (4B5) companion diagnostic",
        ),
        Row(
            id="A4",
            when=(),
            then=AssayCheck.OTHER,
            ref="ENHERTU USPI: “as determined by an FDA-approved test”",
            caveat="IHC assay is not the companion diagnostic (VENTANA PATHWAY anti-HER-2/neu (4B5)) for "
            "the HER2-low/ultralow indications: interpret with caution.",
        ),
    ),
)
