"""ASCO/CAP HER2 IHC decision tables: score from staining percentages, stated score versus them, ranges.

Source: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med 2018;142:1364–82 (focused
update), affirmed by Wolff AC et al., J Clin Oncol 2023;41:3867–72; HER2-ultralow (IHC 0 with faint
incomplete staining in ≤10 % of cells) from DESTINY-Breast06. Encoding per spec/clinical-logic.md §3.

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

from rules.domain import IhcScore, IhcZeroSubtype, StrEnum
from rules.her2.vocabulary import ASCO_CAP_2018, ENGINE, ONE, THREE, TWO, ZERO
from rules.parameters import IHC_PERCENT_THRESHOLD as PCT
from rules.tables import DecisionTable, Fact, Row, absent, eq, gt, le, one_of


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
