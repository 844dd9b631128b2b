"""ASCO/CAP HER2 ISH decision tables: count plausibility, dual-probe groups, single probe, bare statement.

Tables: plausibility of the counts, dual-probe group from the counts, which group is used, group × concurrent
IHC, single-probe bands, ISH stated without counts or group.

Source: Wolff AC et al., J Clin Oncol 2018;36:2105–22 and Arch Pathol Lab Med 2018;142:1364–82 (focused
update: dual-probe groups 1–5, concurrent IHC work-up of groups 2–4, blinded recount, no "ISH equivocal"),
affirmed by Wolff AC et al., J Clin Oncol 2023;41:3867–72. Encoding per spec/clinical-logic.md §4–§5; the
plausibility ranges are an engine rule (:data:`rules.parameters.ISH_RATIO_PLAUSIBLE`,
:data:`rules.parameters.ISH_COPIES_PLAUSIBLE`).
"""

from __future__ import annotations

from rules.domain import ReportedStatus, StrEnum
from rules.her2.vocabulary import ASCO_CAP_2018, ENGINE, THREE, TWO, ZERO_OR_ONE, IshFinal
from rules.parameters import (
    ISH_COPIES_HIGH,
    ISH_COPIES_LOW,
    ISH_COPIES_PLAUSIBLE,
    ISH_RATIO_PLAUSIBLE,
    ISH_RATIO_THRESHOLD,
)
from rules.tables import DecisionTable, Fact, Row, absent, eq, ge, gt, lt, one_of, present


class Counts(StrEnum):
    """Plausibility of ISH counts (engine range check)."""

    PLAUSIBLE = "within plausible range (or not stated)"
    OUT_OF_RANGE = "out of plausible range"


class GroupSource(StrEnum):
    """Where the dual-probe ISH group comes from."""

    COUNTS = "group from the counts"
    REPORTED = "laboratory's stated group"
    NONE = "no group"


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
            when=(eq("group", group), one_of("ihc", *ZERO_OR_ONE)),
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
            when=(eq("group", 3), eq("ihc", TWO), eq("lab_final", ReportedStatus.POSITIVE)),
            then=IshFinal.POSITIVE,
            ref=f"{ENGINE}: group 3, IHC 2+, no recount statement: laboratory's final (the guideline's "
            "result)",
            caveat="No recount statement for ISH group 3 with IHC 2+: the laboratory's stated final "
            "result is used.",
        ),
        Row(
            id="DL2",
            when=(one_of("group", 2, 4), eq("ihc", TWO), eq("lab_final", ReportedStatus.NEGATIVE)),
            then=IshFinal.NEGATIVE,
            ref=f"{ENGINE}: group 2 or 4, IHC 2+, no recount statement: laboratory's final (the guideline's "
            "result)",
            caveat="No recount statement for ISH group 2–4 with IHC 2+: the laboratory's stated final "
            "result is used.",
        ),
        Row(
            id="DR",
            when=(one_of("group", 2, 3, 4), eq("ihc", TWO)),
            then=IshFinal.NEEDS_REVIEW,
            ref=f"{ENGINE}: group 2–4, IHC 2+, neither a recount nor the guideline's final result stated",
            caveat="ISH group 2–4 with IHC 2+ but no recount, and no final result or one the guideline does "
            "not give for the group (positive for group 2 or 4, negative for group 3): needs review by the "
            "laboratory.",
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
            when=(ge("her2_per_cell", ISH_COPIES_LOW), one_of("ihc", *ZERO_OR_ONE)),
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
    title="ISH reported without counts or group, or not final",
    purpose="When a report states only the ISH interpretation (e.g. “FISH not amplified”), that ISH is "
    "pending, or that its counts are not final yet (“preliminary”, “final interpretation to follow”).",
    facts=(
        Fact("pending", "ISH ordered, not resulted or not final"),
        Fact("lab_final", "laboratory's ISH result"),
    ),
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
