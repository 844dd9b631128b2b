"""The ASCO/CAP HER2 guideline as decision tables (data only; evaluation lives in :mod:`rules.her2.classify`).

Source: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med 2018;142:1364–82 (focused
update), affirmed unchanged by Wolff AC et al., J Clin Oncol 2023;41:3867–72. The T-DXd categories (HER2-low,
HER2-ultralow, HER2-null) are therapy-eligibility labels from the ENHERTU prescribing information
(DESTINY-Breast04 and -06), not ASCO/CAP result categories. Table by table, the encoding follows
spec/clinical-logic.md §3–§8.

Rows marked "engine rule" are this service's handling of data the guideline does not cover (missing,
out-of-range or contradictory data); they never produce a positive or HER2-low call on their own.

Decision on the 2018 note about intense complete staining in ≤10 % of cells: a stated score normally wins over
the staining percentages of the same report (most reports give only the score, and percentages are often
approximate), and a disagreement becomes a caveat. The one exception is a stated 3+ whose report also says the
intense complete staining covers >0 % and ≤10 % of the cells: the report then contradicts the guideline's own
definition of 3+ (">10 %"), and ASCO/CAP 2018 says such a pattern is treated as 2+ (equivocal) and sent to
ISH. The percentages win there (row ``ihc-score#S3``), which can only move the result towards ISH, never
towards a positive call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules.domain import (
    AscoCapStatus,
    IhcScore,
    IhcZeroSubtype,
    ReportedStatus,
    StrEnum,
    TdxdCategory,
)
from rules.parameters import (
    IHC_PERCENT_THRESHOLD as PCT,
)
from rules.parameters import (
    ISH_COPIES_HIGH,
    ISH_COPIES_LOW,
    ISH_COPIES_PLAUSIBLE,
    ISH_RATIO_PLAUSIBLE,
    ISH_RATIO_THRESHOLD,
)
from rules.tables import DecisionTable, Fact, Row, absent, eq, ge, gt, le, lt, mentions, one_of, present

ASCO_CAP_2018 = "ASCO/CAP 2018 (affirmed 2023)"
ENGINE = "engine rule (spec §4/§6)"

ZERO, ONE, TWO, THREE = IhcScore.ZERO, IhcScore.ONE_PLUS, IhcScore.TWO_PLUS, IhcScore.THREE_PLUS


@dataclass(frozen=True, slots=True)
class IhcReading:
    """An IHC score with, for score 0, the membrane-staining detail (ultralow, null, or not stated)."""

    score: IhcScore
    zero: IhcZeroSubtype | None = None

    def __str__(self) -> str:
        if self.score is not IhcScore.ZERO or self.zero is None:
            return str(self.score)
        detail = {
            IhcZeroSubtype.ULTRALOW: "ultralow: faint incomplete staining in ≤10 %",
            IhcZeroSubtype.NULL: "null: no staining",
            IhcZeroSubtype.UNSPECIFIED: "staining not stated",
        }[self.zero]
        return f"0 ({detail})"


class ScoreSource(StrEnum):
    """Which IHC reading a report's classification uses."""

    STATED = "stated score"
    PERCENTAGES = "score from the staining percentages"


class Counts(StrEnum):
    """Plausibility of ISH counts (engine range check)."""

    PLAUSIBLE = "within plausible range (or not stated)"
    OUT_OF_RANGE = "out of plausible range"


class GroupSource(StrEnum):
    """Where the dual-probe ISH group comes from."""

    COUNTS = "group from the counts"
    REPORTED = "laboratory's stated group"
    NONE = "no group"


class IshFinal(StrEnum):
    """The ISH result after the concurrent IHC work-up (ASCO/CAP 2018 has no 'ISH equivocal')."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEEDS_REVIEW = "needs review"
    PENDING = "pending"
    NONE = "none"


class LabCheck(StrEnum):
    """Whether the laboratory's own stated result agrees with the result the engine derived."""

    CONSISTENT = "consistent"
    CONFLICT = "conflict: review"


class AssayCheck(StrEnum):
    """Whether the IHC assay is the FDA companion diagnostic for the HER2-low/ultralow indications."""

    COMPANION = "companion diagnostic"
    OTHER = "other assay (caution)"
    NOT_CHECKED = "no check"


CATEGORY_LABELS: dict[TdxdCategory, str] = {
    TdxdCategory.HER2_POSITIVE: "HER2-positive",
    TdxdCategory.HER2_LOW: "HER2-low",
    TdxdCategory.HER2_ULTRALOW: "HER2-ultralow",
    TdxdCategory.HER2_NULL: "HER2-null",
    TdxdCategory.HER2_ZERO_UNSPECIFIED: "HER2-0 (staining not stated)",
    TdxdCategory.NEGATIVE_UNSCORED: "HER2-negative-unscored",
    TdxdCategory.UNKNOWN: "unknown",
    TdxdCategory.NEEDS_REVIEW: "needs review",
}
"""How the category table shows its outcomes to people."""


# ------------------------------------------------------------------------------------------------------------
# IHC (spec §3)

IHC_PERCENTAGES: DecisionTable[IhcReading] = DecisionTable(
    id="ihc-percentages",
    title="IHC score from staining percentages",
    purpose=(
        "When a report gives the share of invasive tumour cells per membrane-staining pattern, derive the "
        "IHC score in the guideline's order. Thresholds are strict: exactly 10 % falls in the ≤10 % branch."
    ),
    facts=(
        Fact("complete_intense", "complete intense staining", "%"),
        Fact("complete_any", "complete staining, any intensity", "%"),
        Fact("incomplete_moderate_intense", "moderate–intense incomplete staining"),
        Fact("incomplete_faint", "faint incomplete staining", "%"),
    ),
    rows=(
        Row(
            id="P1",
            when=(gt("complete_intense", PCT),),
            then=IhcReading(THREE),
            ref=f"{ASCO_CAP_2018}: IHC 3+ = complete, intense circumferential staining in >10 % of cells",
        ),
        Row(
            id="P2",
            when=(gt("complete_any", PCT),),
            then=IhcReading(TWO),
            ref=f"{ASCO_CAP_2018}: IHC 2+ = weak-to-moderate complete staining in >10 % of cells",
        ),
        Row(
            id="P3",
            when=(gt("complete_intense", 0.0), le("complete_intense", PCT)),
            then=IhcReading(TWO),
            ref=f"{ASCO_CAP_2018}: unusual pattern, intense complete staining in ≤10 % of cells → treat as "
            "2+",
            caveat="Unusual pattern (intense complete staining in ≤10 % of cells) is treated as IHC 2+: "
            "ISH is needed (ASCO/CAP 2018).",
        ),
        Row(
            id="P4",
            when=(eq("incomplete_moderate_intense", True),),
            then=IhcReading(TWO),
            ref=f"{ASCO_CAP_2018}: unusual pattern, moderate–intense incomplete (basolateral/lateral) "
            "staining → 2+",
            caveat="Unusual pattern (moderate–intense incomplete staining) is treated as IHC 2+: ISH is "
            "needed (ASCO/CAP 2018).",
        ),
        Row(
            id="P5",
            when=(gt("incomplete_faint", PCT),),
            then=IhcReading(ONE),
            ref=f"{ASCO_CAP_2018}: IHC 1+ = faint/barely perceptible incomplete staining in >10 % of cells",
        ),
        Row(
            id="P6",
            when=(gt("incomplete_faint", 0.0), le("incomplete_faint", PCT)),
            then=IhcReading(ZERO, IhcZeroSubtype.ULTRALOW),
            ref=f"{ASCO_CAP_2018}: IHC 0 with faint incomplete staining in ≤10 % (HER2-ultralow, "
            "DESTINY-Breast06)",
        ),
        Row(
            id="P7",
            when=(eq("incomplete_faint", 0.0),),
            then=IhcReading(ZERO, IhcZeroSubtype.NULL),
            ref=f"{ASCO_CAP_2018}: IHC 0 with no membrane staining (HER2-null)",
        ),
        Row(
            id="P8",
            when=(),
            then=IhcReading(ZERO, IhcZeroSubtype.UNSPECIFIED),
            ref=f"{ENGINE}: IHC 0, faint incomplete staining not stated, so ultralow vs null is unknown",
        ),
    ),
)

IHC_SCORE: DecisionTable[ScoreSource] = DecisionTable(
    id="ihc-score",
    title="Stated IHC score versus staining percentages",
    purpose=(
        "Which reading is used when a report gives staining percentages (with or without a score). The "
        "stated score wins and a disagreement is shown, except a stated 3+ with intense complete staining "
        "in ≤10 % of cells (ASCO/CAP 2018 treats that pattern as 2+)."
    ),
    facts=(
        Fact("stated_score", "stated score"),
        Fact("stated_zero", "stated IHC 0 detail"),
        Fact("percentages_score", "score from percentages"),
        Fact("complete_intense", "complete intense staining", "%"),
        Fact("agree", "stated and percentage readings agree"),
    ),
    rows=(
        Row(
            id="S2",
            when=(absent("stated_score"),),
            then=ScoreSource.PERCENTAGES,
            ref=f"{ASCO_CAP_2018}: score derived from the stated staining percentages",
        ),
        Row(
            id="S3",
            when=(eq("stated_score", THREE), gt("complete_intense", 0.0), le("complete_intense", PCT)),
            then=ScoreSource.PERCENTAGES,
            ref=f"{ASCO_CAP_2018}: intense complete staining in ≤10 % of cells is treated as 2+, not 3+",
            caveat="Reported 3+, but intense complete staining is in only ≤10 % of cells: ASCO/CAP 2018 "
            "treats this as 2+ (equivocal) and asks for ISH.",
        ),
        Row(
            id="S4",
            when=(eq("agree", True),),
            then=ScoreSource.STATED,
            ref=f"{ASCO_CAP_2018}: stated score, consistent with the percentages",
        ),
        Row(
            id="S5",
            when=(
                eq("stated_score", ZERO),
                eq("stated_zero", IhcZeroSubtype.UNSPECIFIED),
                eq("percentages_score", ZERO),
            ),
            then=ScoreSource.PERCENTAGES,
            ref=f"{ASCO_CAP_2018}: IHC 0; the percentages give the membrane-staining detail (ultralow vs "
            "null)",
        ),
        Row(
            id="S6",
            when=(),
            then=ScoreSource.STATED,
            ref=f"{ENGINE}: the stated score wins over percentages",
            caveat="The stated IHC score differs from the score implied by the staining percentages; the "
            "stated score is used. Review the report.",
        ),
    ),
)

IHC_RANGE: DecisionTable[IhcScore] = DecisionTable(
    id="ihc-range",
    title="IHC score reported as a range",
    purpose=(
        "A range such as “0–1+” or “1–2+” cannot give a T-DXd category (it always needs review), but the "
        "guideline status can still be read: a range that reaches 2+ needs ISH, a range within 0–1+ is "
        "negative either way."
    ),
    facts=(Fact("range_to", "upper bound of the range"),),
    rows=(
        Row(
            id="R1",
            when=(one_of("range_to", ZERO, ONE),),
            then=ONE,
            ref=f"{ASCO_CAP_2018}: IHC 0 and 1+ are both negative",
            caveat="IHC reported as a range within 0–1+: HER2-0 vs HER2-low cannot be told apart; ask for "
            "re-review of the slide (ASCO/CAP 2023 practice for 0 vs 1+).",
        ),
        Row(
            id="R2",
            when=(),
            then=TWO,
            ref=f"{ASCO_CAP_2018}: IHC 2+ is equivocal and goes to ISH",
            caveat="IHC reported as a range reaching 2+ or above: treated as 2+ for the guideline status "
            "(ISH decides); the T-DXd category needs a single score.",
        ),
    ),
)

# ------------------------------------------------------------------------------------------------------------
# ISH (spec §4–§5)

RATIO_MIN, RATIO_MAX = ISH_RATIO_PLAUSIBLE
COPIES_MIN, COPIES_MAX = ISH_COPIES_PLAUSIBLE
_RANGE_CAVEAT = "check the report for a transcription or unit error; the result needs review."

ISH_COUNTS: DecisionTable[Counts] = DecisionTable(
    id="ish-counts",
    title="ISH counts: plausibility check",
    purpose="Numbers outside a plausible range are not classified; they are sent for review.",
    facts=(Fact("ratio", "HER2/CEP17 ratio"), Fact("her2_per_cell", "mean HER2 signals", "/cell")),
    rows=(
        Row(
            id="N1",
            when=(lt("ratio", RATIO_MIN),),
            then=Counts.OUT_OF_RANGE,
            ref=ENGINE,
            caveat=f"HER2/CEP17 ratio below {RATIO_MIN}: {_RANGE_CAVEAT}",
        ),
        Row(
            id="N2",
            when=(gt("ratio", RATIO_MAX),),
            then=Counts.OUT_OF_RANGE,
            ref=ENGINE,
            caveat=f"HER2/CEP17 ratio above {RATIO_MAX:g}: {_RANGE_CAVEAT}",
        ),
        Row(
            id="N3",
            when=(lt("her2_per_cell", COPIES_MIN),),
            then=Counts.OUT_OF_RANGE,
            ref=ENGINE,
            caveat=f"HER2 signals per cell below {COPIES_MIN}: {_RANGE_CAVEAT}",
        ),
        Row(
            id="N4",
            when=(gt("her2_per_cell", COPIES_MAX),),
            then=Counts.OUT_OF_RANGE,
            ref=ENGINE,
            caveat=f"HER2 signals per cell above {COPIES_MAX:g}: {_RANGE_CAVEAT}",
        ),
        Row(id="N5", when=(), then=Counts.PLAUSIBLE, ref=ENGINE),
    ),
)

ISH_GROUP: DecisionTable[int] = DecisionTable(
    id="ish-group",
    title="Dual-probe ISH group from the counts",
    purpose="ASCO/CAP 2018 groups 1–5 from the HER2/CEP17 ratio and the mean HER2 signals per cell (≥20 "
    "cells).",
    facts=(Fact("ratio", "HER2/CEP17 ratio"), Fact("her2_per_cell", "mean HER2 signals", "/cell")),
    rows=(
        Row(
            id="G1",
            when=(ge("ratio", ISH_RATIO_THRESHOLD), ge("her2_per_cell", ISH_COPIES_LOW)),
            then=1,
            ref=f"{ASCO_CAP_2018}: ISH group 1",
        ),
        Row(
            id="G2",
            when=(ge("ratio", ISH_RATIO_THRESHOLD), lt("her2_per_cell", ISH_COPIES_LOW)),
            then=2,
            ref=f"{ASCO_CAP_2018}: ISH group 2",
        ),
        Row(
            id="G3",
            when=(lt("ratio", ISH_RATIO_THRESHOLD), ge("her2_per_cell", ISH_COPIES_HIGH)),
            then=3,
            ref=f"{ASCO_CAP_2018}: ISH group 3",
        ),
        Row(
            id="G4",
            when=(
                lt("ratio", ISH_RATIO_THRESHOLD),
                ge("her2_per_cell", ISH_COPIES_LOW),
                lt("her2_per_cell", ISH_COPIES_HIGH),
            ),
            then=4,
            ref=f"{ASCO_CAP_2018}: ISH group 4",
        ),
        Row(
            id="G5",
            when=(lt("ratio", ISH_RATIO_THRESHOLD), lt("her2_per_cell", ISH_COPIES_LOW)),
            then=5,
            ref=f"{ASCO_CAP_2018}: ISH group 5",
        ),
    ),
    describe_outcome=lambda group: f"group {group}",
)

ISH_GROUP_SOURCE: DecisionTable[GroupSource] = DecisionTable(
    id="ish-group-source",
    title="Which dual-probe group is used",
    purpose=(
        "The group is recomputed from the counts; after a blinded recount that changed the group, the "
        "laboratory's adjudicated group stands (ASCO/CAP 2018)."
    ),
    facts=(
        Fact("counts_group", "group from the counts"),
        Fact("reported_group", "stated group"),
        Fact("recount_confirmed", "recount confirmed the group"),
        Fact("agree", "stated group equals counts group"),
    ),
    rows=(
        Row(
            id="Q2",
            when=(absent("counts_group"),),
            then=GroupSource.REPORTED,
            ref=f"{ASCO_CAP_2018}: the laboratory's stated group (no counts given)",
        ),
        Row(
            id="Q3",
            when=(present("reported_group"), eq("recount_confirmed", False)),
            then=GroupSource.REPORTED,
            ref=f"{ASCO_CAP_2018}: after a recount that changes the group, the lab adjudicates and the new "
            "group stands",
            caveat="A blinded recount changed the ISH group; the laboratory's adjudicated group is used.",
        ),
        Row(
            id="Q4",
            when=(absent("reported_group"),),
            then=GroupSource.COUNTS,
            ref=f"{ASCO_CAP_2018}: group computed from ratio and HER2 signals per cell",
        ),
        Row(
            id="Q5",
            when=(eq("agree", True),),
            then=GroupSource.COUNTS,
            ref=f"{ASCO_CAP_2018}: stated group confirmed by the counts",
        ),
        Row(
            id="Q6",
            when=(),
            then=GroupSource.COUNTS,
            ref=f"{ENGINE}: counts win over a stated group",
            caveat="The stated ISH group differs from the group the counts give; the counts are used. "
            "Review the report.",
        ),
    ),
)

_COMMENT_2 = (
    "ISH group 2 comment: limited evidence of benefit from HER2-targeted therapy without protein "
    "overexpression (ASCO/CAP 2018)."
)
_COMMENT_3 = "ISH group 3 comment: too little data on HER2-targeted therapy without IHC 3+ (ASCO/CAP 2018)."
_COMMENT_4 = (
    "ISH group 4 comment: uncertain benefit without IHC 3+; counts near the threshold may change on repeat "
    "testing (ASCO/CAP 2018)."
)
_LOW = (ZERO, ONE)


def _group_rows(group: int, ihc2_recount: IshFinal, comment: str) -> tuple[Row[IshFinal], ...]:
    """The three concurrent-IHC rows of one of groups 2–4 (ASCO/CAP 2018 ISH work-up)."""
    ref = f"{ASCO_CAP_2018}: ISH group {group} with concurrent IHC"
    return (
        Row(
            id=f"D{group}a",
            when=(eq("group", group), eq("ihc", THREE)),
            then=IshFinal.POSITIVE,
            ref=f"{ref} 3+",
        ),
        Row(
            id=f"D{group}b",
            when=(eq("group", group), eq("ihc", TWO), eq("recount_confirmed", True)),
            then=ihc2_recount,
            ref=f"{ref} 2+ and a blinded recount still group {group}",
            caveat=comment if ihc2_recount is IshFinal.NEGATIVE else None,
        ),
        Row(
            id=f"D{group}c",
            when=(eq("group", group), one_of("ihc", *_LOW)),
            then=IshFinal.NEGATIVE,
            ref=f"{ref} 0 or 1+",
            caveat=comment,
        ),
    )


ISH_DUAL: DecisionTable[IshFinal] = DecisionTable(
    id="ish-dual",
    title="Dual-probe ISH: group and concurrent IHC",
    purpose=(
        "The final ISH result of a dual-probe (HER2/CEP17) test. Groups 2–4 need concurrent IHC on the "
        "same tissue, reviewed together; for IHC 2+ a blinded recount decides. Without a recount statement "
        "the laboratory's stated final result is used; without concurrent IHC the result needs review."
    ),
    facts=(
        Fact("counts", "counts"),
        Fact("group", "ISH group"),
        Fact("ihc", "concurrent IHC"),
        Fact("recount_confirmed", "recount confirmed"),
        Fact("lab_final", "laboratory's final"),
    ),
    rows=(
        Row(
            id="D0",
            when=(eq("counts", Counts.OUT_OF_RANGE),),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ENGINE}: implausible counts",
        ),
        Row(id="D1", when=(eq("group", 1),), then=IshFinal.POSITIVE, ref=f"{ASCO_CAP_2018}: ISH group 1"),
        Row(id="D5", when=(eq("group", 5),), then=IshFinal.NEGATIVE, ref=f"{ASCO_CAP_2018}: ISH group 5"),
        Row(
            id="DX",
            when=(one_of("group", 2, 3, 4), absent("ihc")),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ASCO_CAP_2018}: groups 2–4 require concurrent IHC on the same tissue",
            caveat="ISH group 2–4 without concurrent IHC: the result cannot be finalised; ask for IHC on "
            "the same tissue.",
        ),
        *_group_rows(2, IshFinal.NEGATIVE, _COMMENT_2),
        *_group_rows(3, IshFinal.POSITIVE, _COMMENT_3),
        *_group_rows(4, IshFinal.NEGATIVE, _COMMENT_4),
        Row(
            id="DL1",
            when=(one_of("group", 2, 3, 4), eq("ihc", TWO), eq("lab_final", ReportedStatus.POSITIVE)),
            then=IshFinal.POSITIVE,
            ref=f"{ENGINE}: group 2–4, IHC 2+, no recount statement: laboratory's final",
            caveat="No recount statement for ISH group 2–4 with IHC 2+: the laboratory's stated final "
            "result is used.",
        ),
        Row(
            id="DL2",
            when=(one_of("group", 2, 3, 4), eq("ihc", TWO), eq("lab_final", ReportedStatus.NEGATIVE)),
            then=IshFinal.NEGATIVE,
            ref=f"{ENGINE}: group 2–4, IHC 2+, no recount statement: laboratory's final",
            caveat="No recount statement for ISH group 2–4 with IHC 2+: the laboratory's stated final "
            "result is used.",
        ),
        Row(
            id="DR",
            when=(one_of("group", 2, 3, 4), eq("ihc", TWO)),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ENGINE}: group 2–4, IHC 2+, neither a recount nor a final result stated",
            caveat="ISH group 2–4 with IHC 2+ but no recount and no final result stated: needs review by "
            "the laboratory.",
        ),
    ),
)

ISH_SINGLE: DecisionTable[IshFinal] = DecisionTable(
    id="ish-single",
    title="Single-probe ISH (HER2 only)",
    purpose=(
        "Single-probe results are always read with concurrent IHC on the same tissue (dual-probe assays "
        "are preferred). A concurrent dual-probe result is classified by its own table."
    ),
    facts=(
        Fact("counts", "counts"),
        Fact("her2_per_cell", "mean HER2 signals", "/cell"),
        Fact("ihc", "concurrent IHC"),
    ),
    rows=(
        Row(
            id="SP0",
            when=(eq("counts", Counts.OUT_OF_RANGE),),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ENGINE}: implausible counts",
        ),
        Row(
            id="SP1",
            when=(ge("her2_per_cell", ISH_COPIES_HIGH),),
            then=IshFinal.POSITIVE,
            ref=f"{ASCO_CAP_2018}: single probe ≥6.0 signals/cell",
        ),
        Row(
            id="SP2",
            when=(ge("her2_per_cell", ISH_COPIES_LOW), eq("ihc", THREE)),
            then=IshFinal.POSITIVE,
            ref=f"{ASCO_CAP_2018}: single probe 4.0–<6.0 with IHC 3+",
        ),
        Row(
            id="SP3",
            when=(ge("her2_per_cell", ISH_COPIES_LOW), one_of("ihc", *_LOW)),
            then=IshFinal.NEGATIVE,
            ref=f"{ASCO_CAP_2018}: single probe 4.0–<6.0 with IHC 0 or 1+",
        ),
        Row(
            id="SP4",
            when=(ge("her2_per_cell", ISH_COPIES_LOW), eq("ihc", TWO)),
            then=IshFinal.PENDING,
            ref=f"{ASCO_CAP_2018}: single probe 4.0–<6.0 with IHC 2+ → perform dual-probe ISH",
            caveat="Single-probe ISH 4.0–<6.0 signals/cell with IHC 2+: a dual-probe ISH is needed.",
        ),
        Row(
            id="SP5",
            when=(ge("her2_per_cell", ISH_COPIES_LOW),),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ASCO_CAP_2018}: single-probe results need concurrent IHC",
            caveat="Single-probe ISH 4.0–<6.0 signals/cell without concurrent IHC: ask for IHC on the same "
            "tissue.",
        ),
        Row(
            id="SP6",
            when=(lt("her2_per_cell", ISH_COPIES_LOW),),
            then=IshFinal.NEGATIVE,
            ref=f"{ASCO_CAP_2018}: single probe <4.0 signals/cell",
        ),
    ),
)

ISH_STATEMENT: DecisionTable[IshFinal] = DecisionTable(
    id="ish-statement",
    title="ISH reported without counts or group",
    purpose="When a report states only the ISH interpretation (e.g. “FISH not amplified”) or that ISH is "
    "pending.",
    facts=(Fact("pending", "ISH ordered, not resulted"), Fact("lab_final", "laboratory's ISH result")),
    rows=(
        Row(
            id="L1",
            when=(eq("pending", True),),
            then=IshFinal.PENDING,
            ref=f"{ASCO_CAP_2018}: reflex ISH pending",
        ),
        Row(
            id="L2",
            when=(eq("lab_final", ReportedStatus.POSITIVE),),
            then=IshFinal.POSITIVE,
            ref=f"{ASCO_CAP_2018}: laboratory's ISH interpretation (amplified)",
        ),
        Row(
            id="L3",
            when=(eq("lab_final", ReportedStatus.NEGATIVE),),
            then=IshFinal.NEGATIVE,
            ref=f"{ASCO_CAP_2018}: laboratory's ISH interpretation (not amplified)",
        ),
        Row(
            id="L4",
            when=(eq("lab_final", ReportedStatus.EQUIVOCAL),),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ASCO_CAP_2018}: there is no “ISH equivocal” result since 2018",
            caveat="ISH reported as “equivocal”, a category retired in 2018: needs review under the 2018 "
            "groups.",
        ),
        Row(
            id="L5",
            when=(eq("lab_final", ReportedStatus.PENDING),),
            then=IshFinal.PENDING,
            ref=f"{ASCO_CAP_2018}: ISH pending",
        ),
        Row(
            id="L6",
            when=(eq("lab_final", ReportedStatus.INDETERMINATE),),
            then=IshFinal.NONE,
            ref=f"{ASCO_CAP_2018}: ISH failed; test again",
            caveat="ISH reported as indeterminate (technical failure): no usable ISH result.",
        ),
        Row(id="L7", when=(), then=IshFinal.NONE, ref=f"{ENGINE}: no usable ISH statement"),
    ),
)

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

# ------------------------------------------------------------------------------------------------------------
# Per-specimen status and T-DXd category (spec §6, §8)

STATUS: DecisionTable[AscoCapStatus] = DecisionTable(
    id="status",
    title="Per-specimen ASCO/CAP status",
    purpose=(
        "The guideline result of one specimen from the IHC score and the final ISH result (which already "
        "folds in the concurrent IHC for groups 2–4). A bare laboratory statement is used only when there "
        "is no score and no ISH result."
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
            when=(one_of("ihc", *_LOW),),
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
            then=AscoCapStatus.POSITIVE,
            ref=f"{ENGINE}: the laboratory's bare “positive” (no score or ISH given)",
            caveat="HER2 reported positive without an IHC score or ISH result: confirm the underlying "
            "result.",
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
    describe_outcome=CATEGORY_LABELS.__getitem__,
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

HER2_TABLES: tuple[DecisionTable[Any], ...] = (
    IHC_PERCENTAGES,
    IHC_SCORE,
    IHC_RANGE,
    ISH_COUNTS,
    ISH_GROUP,
    ISH_GROUP_SOURCE,
    ISH_DUAL,
    ISH_SINGLE,
    ISH_STATEMENT,
    LAB_CHECK,
    STATUS,
    CATEGORY,
    ASSAY,
)
"""All HER2 tables in evaluation order, for the documentation page and the row-coverage test."""
