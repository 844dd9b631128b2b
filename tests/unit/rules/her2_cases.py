"""Named HER2 cases, one or more per decision-table row (ASCO/CAP 2018, affirmed 2023; clinical-logic §3–§8).

Each case is ``(result, expected status, expected T-DXd category)``; the expectations are read from the
guideline text, not from the engine. Shared by the table-driven test and the row-coverage test.
"""

from __future__ import annotations

from typing import Any

import pytest

from rules.domain import (
    AscoCapStatus,
    Her2Result,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    IshResult,
    ReportedStatus,
    SourceRef,
    TdxdCategory,
)

Z, ONE, TWO, THREE = IhcScore.ZERO, IhcScore.ONE_PLUS, IhcScore.TWO_PLUS, IhcScore.THREE_PLUS
POS, NEG, EQ, IND, UNK = (
    AscoCapStatus.POSITIVE,
    AscoCapStatus.NEGATIVE,
    AscoCapStatus.EQUIVOCAL_PENDING,
    AscoCapStatus.INDETERMINATE,
    AscoCapStatus.UNKNOWN,
)
C = TdxdCategory
SOURCE = SourceRef(system="fhir", reference="DiagnosticReport/case")


def ihc(
    score: IhcScore | None = None,
    zero: IhcZeroSubtype = IhcZeroSubtype.UNSPECIFIED,
    *,
    assay: str | None = None,
    pct: IhcPercentages | None = None,
    range_to: IhcScore | None = None,
) -> IhcResult:
    return IhcResult(
        score=score,
        zero_subtype=zero,
        assay=assay,
        percentages=pct,
        is_range=range_to is not None,
        range_to=range_to,
    )


def dual(
    ratio: float | None = None,
    copies: float | None = None,
    *,
    group: int | None = None,
    recount: bool | None = None,
    final: ReportedStatus | None = None,
    pending: bool = False,
) -> IshResult:
    return IshResult(
        ratio=ratio,
        her2_per_cell=copies,
        reported_group=group,
        recount_confirmed=recount,
        reported_final=final,
        pending=pending,
    )


def single(copies: float | None = None, *, final: ReportedStatus | None = None) -> IshResult:
    return IshResult(probe=IshProbe.SINGLE, her2_per_cell=copies, reported_final=final)


def result(
    i: IhcResult | None = None,
    s: IshResult | None = None,
    *,
    reported: ReportedStatus | None = None,
    failure: bool = False,
    unparsed: bool = False,
) -> Her2Result:
    return Her2Result(
        ihc=i, ish=s, reported_status=reported, technical_failure=failure, unparsed=unparsed, source=SOURCE
    )


def case(r: Her2Result, status: AscoCapStatus, category: TdxdCategory, case_id: str) -> Any:
    return pytest.param(r, status, category, id=case_id)


P = IhcPercentages
UL, NL = IhcZeroSubtype.ULTRALOW, IhcZeroSubtype.NULL

CASES = [
    # --- IHC by stated score (spec §3, §6, §8)
    case(result(ihc(THREE)), POS, C.HER2_POSITIVE, "IHC3+→POSITIVE"),
    case(result(ihc(TWO)), EQ, C.UNKNOWN, "IHC2+_no-ISH→EQUIVOCAL"),
    case(result(ihc(ONE)), NEG, C.HER2_LOW, "IHC1+→LOW"),
    case(result(ihc(Z, UL)), NEG, C.HER2_ULTRALOW, "IHC0_ultralow→ULTRALOW"),
    case(result(ihc(Z, NL)), NEG, C.HER2_NULL, "IHC0_null→NULL"),
    case(result(ihc(Z)), NEG, C.HER2_ZERO_UNSPECIFIED, "IHC0_unspecified→ZERO_UNSPECIFIED"),
    # --- IHC from percentages (spec §3 order; strict thresholds, exactly 10 % is ≤10 %)
    case(result(ihc(pct=P(complete_intense=11))), POS, C.HER2_POSITIVE, "pct_intense11→3+"),
    case(result(ihc(pct=P(complete_intense=10))), EQ, C.UNKNOWN, "pct_intense10→2+_unusual"),
    case(result(ihc(pct=P(complete_intense=8))), EQ, C.UNKNOWN, "pct_intense8→2+_unusual"),
    case(result(ihc(pct=P(complete_any=11))), EQ, C.UNKNOWN, "pct_complete11→2+"),
    case(result(ihc(pct=P(complete_any=10))), NEG, C.HER2_ZERO_UNSPECIFIED, "pct_complete10→0"),
    case(result(ihc(pct=P(incomplete_moderate_intense=True))), EQ, C.UNKNOWN, "pct_incomplete-moderate→2+"),
    case(result(ihc(pct=P(incomplete_faint=11))), NEG, C.HER2_LOW, "pct_faint11→1+"),
    case(result(ihc(pct=P(incomplete_faint=10))), NEG, C.HER2_ULTRALOW, "pct_faint10→0_ultralow"),
    case(result(ihc(pct=P(incomplete_faint=5))), NEG, C.HER2_ULTRALOW, "pct_faint5→0_ultralow"),
    case(result(ihc(pct=P(incomplete_faint=0))), NEG, C.HER2_NULL, "pct_faint0→0_null"),
    # --- stated score versus percentages
    case(result(ihc(THREE, pct=P(complete_intense=8))), EQ, C.UNKNOWN, "IHC3+_intense8%→2+(2018 note)"),
    case(result(ihc(ONE, pct=P(incomplete_faint=50))), NEG, C.HER2_LOW, "IHC1+_agrees_with_pct"),
    case(result(ihc(Z, pct=P(incomplete_faint=5))), NEG, C.HER2_ULTRALOW, "IHC0_unspecified_pct5→ULTRALOW"),
    case(result(ihc(Z, pct=P(incomplete_faint=0))), NEG, C.HER2_NULL, "IHC0_unspecified_pct0→NULL"),
    case(result(ihc(ONE, pct=P(complete_intense=50))), NEG, C.HER2_LOW, "IHC1+_vs_pct3+→stated_wins"),
    case(result(ihc(Z, NL, pct=P(incomplete_faint=5))), NEG, C.HER2_NULL, "IHC0_null_vs_pct_ultralow→stated"),
    # --- ranges
    case(result(ihc(Z, range_to=ONE)), NEG, C.NEEDS_REVIEW, "IHC0-1+→NEEDS_REVIEW"),
    case(
        result(ihc(ONE, range_to=TWO), dual(pending=True)), EQ, C.NEEDS_REVIEW, "IHC1-2+_ISH-pending→REVIEW"
    ),
    case(result(ihc(TWO, range_to=THREE)), EQ, C.NEEDS_REVIEW, "IHC2-3+→REVIEW"),
    case(result(ihc(ONE, range_to=TWO), dual(2.5, 6.0)), POS, C.HER2_POSITIVE, "IHC1-2+_ISH-group1→POSITIVE"),
    case(result(ihc(ONE, range_to=TWO), dual(1.3, 2.6)), NEG, C.NEEDS_REVIEW, "IHC1-2+_ISH-group5→REVIEW"),
    # --- dual-probe groups from counts (boundaries: ratio exactly 2.0, copies exactly 4.0 / 6.0)
    case(result(ihc(TWO), dual(2.0, 4.0)), POS, C.HER2_POSITIVE, "IHC2+_ratio2.0_copies4.0→group1"),
    case(result(ihc(ONE), dual(4.8, 9.6)), POS, C.HER2_POSITIVE, "IHC1+_group1→POSITIVE"),
    case(result(ihc(THREE), dual(2.0, 3.9)), POS, C.HER2_POSITIVE, "IHC3+_group2→POSITIVE"),
    case(result(ihc(TWO), dual(2.0, 3.9, recount=True)), NEG, C.HER2_LOW, "IHC2+_group2_recount→NEG"),
    case(result(ihc(ONE), dual(2.1, 3.6)), NEG, C.HER2_LOW, "IHC1+_group2→NEG"),
    case(result(ihc(Z, NL), dual(2.1, 3.6)), NEG, C.HER2_NULL, "IHC0_group2→NEG"),
    case(result(ihc(THREE), dual(1.99, 6.0)), POS, C.HER2_POSITIVE, "IHC3+_group3→POSITIVE"),
    case(result(ihc(TWO), dual(1.99, 6.0, recount=True)), POS, C.HER2_POSITIVE, "IHC2+_group3_recount→POS"),
    case(result(ihc(ONE), dual(1.5, 6.4)), NEG, C.HER2_LOW, "IHC1+_group3→NEG"),
    case(result(ihc(THREE), dual(1.5, 4.0)), POS, C.HER2_POSITIVE, "IHC3+_group4_copies4.0→POSITIVE"),
    case(result(ihc(TWO), dual(1.5, 5.99, recount=True)), NEG, C.HER2_LOW, "IHC2+_group4_recount→NEG"),
    case(result(ihc(Z, UL), dual(1.7, 4.9)), NEG, C.HER2_ULTRALOW, "IHC0_group4→NEG"),
    case(result(ihc(TWO), dual(1.99, 3.99)), NEG, C.HER2_LOW, "IHC2+_ISH-neg→LOW"),
    case(result(ihc(THREE), dual(1.3, 2.6)), POS, C.HER2_POSITIVE, "IHC3+_group5→POSITIVE_discordant"),
    # --- groups 2–4 without recount / without IHC
    case(
        result(ihc(TWO), dual(1.5, 6.4, final=ReportedStatus.POSITIVE)), POS, C.HER2_POSITIVE, "g3_2+_lab-pos"
    ),
    case(result(ihc(TWO), dual(1.7, 4.9, final=ReportedStatus.NEGATIVE)), NEG, C.HER2_LOW, "g4_2+_lab-neg"),
    case(result(ihc(TWO), dual(2.1, 3.6)), UNK, C.NEEDS_REVIEW, "g2_2+_no-recount_no-final→REVIEW"),
    # A final the guideline does not give for the group (positive for 2 or 4, negative for 3) is no basis.
    case(
        result(ihc(TWO), dual(1.7, 4.9, final=ReportedStatus.POSITIVE)),
        UNK,
        C.NEEDS_REVIEW,
        "g4_2+_lab-pos→REVIEW",
    ),
    case(
        result(ihc(TWO), dual(2.3, 3.2, final=ReportedStatus.POSITIVE)),
        UNK,
        C.NEEDS_REVIEW,
        "g2_2+_lab-pos→REVIEW",
    ),
    case(
        result(ihc(TWO), dual(1.5, 6.4, final=ReportedStatus.NEGATIVE)),
        UNK,
        C.NEEDS_REVIEW,
        "g3_2+_lab-neg→REVIEW",
    ),
    case(result(ihc(TWO), dual(2.3, 3.2, final=ReportedStatus.NEGATIVE)), NEG, C.HER2_LOW, "g2_2+_lab-neg"),
    case(result(None, dual(1.5, 6.4)), UNK, C.NEEDS_REVIEW, "g3_no-IHC→REVIEW"),
    case(
        result(None, dual(2.1, 3.6, final=ReportedStatus.NEGATIVE)), UNK, C.NEEDS_REVIEW, "g2_no-IHC→REVIEW"
    ),
    case(result(None, dual(1.2, 2.4)), NEG, C.UNKNOWN, "ISH-group5_no-IHC→UNKNOWN"),
    case(result(None, dual(4.8, 9.6)), POS, C.HER2_POSITIVE, "ISH-group1_no-IHC→POSITIVE"),
    # --- which group is used
    case(result(ihc(THREE), dual(group=4)), POS, C.HER2_POSITIVE, "stated-group4_IHC3+→POSITIVE"),
    case(
        result(ihc(TWO), dual(1.4, 4.2, group=5, recount=False)),
        NEG,
        C.HER2_LOW,
        "recount-changed→lab-group5",
    ),
    case(result(ihc(TWO), dual(1.3, 2.6, group=5)), NEG, C.HER2_LOW, "stated-group_agrees"),
    case(result(ihc(TWO), dual(1.3, 2.6, group=1)), NEG, C.HER2_LOW, "stated-group_disagrees→counts"),
    # --- plausibility (ratio 0.5–30, copies 1–50)
    case(result(ihc(TWO), dual(0.4, 2.0)), UNK, C.NEEDS_REVIEW, "ratio0.4→REVIEW"),
    case(result(ihc(TWO), dual(31.0, 60.0)), UNK, C.NEEDS_REVIEW, "ratio31→REVIEW"),
    case(result(ihc(TWO), dual(1.0, 0.9)), UNK, C.NEEDS_REVIEW, "copies0.9→REVIEW"),
    case(result(ihc(TWO), dual(10.0, 51.0)), UNK, C.NEEDS_REVIEW, "copies51→REVIEW"),
    case(result(ihc(TWO), dual(0.5, 1.0)), NEG, C.HER2_LOW, "ratio0.5_copies1.0_plausible"),
    case(result(ihc(TWO), dual(30.0, 50.0)), POS, C.HER2_POSITIVE, "ratio30_copies50_plausible"),
    case(result(ihc(THREE), dual(0.4, 2.0)), POS, C.HER2_POSITIVE, "IHC3+_implausible-ISH→POSITIVE"),
    # --- single probe (spec §5)
    case(result(None, single(6.0)), POS, C.HER2_POSITIVE, "single6.0→POSITIVE"),
    case(result(ihc(THREE), single(4.0)), POS, C.HER2_POSITIVE, "single4.0_IHC3+→POSITIVE"),
    case(result(ihc(ONE), single(5.9)), NEG, C.HER2_LOW, "single5.9_IHC1+→LOW"),
    case(result(ihc(Z, UL), single(4.6)), NEG, C.HER2_ULTRALOW, "single4.6_IHC0→ULTRALOW"),
    case(result(ihc(TWO), single(4.5)), EQ, C.UNKNOWN, "single4.5_IHC2+→dual-probe-needed"),
    case(result(None, single(4.5)), UNK, C.NEEDS_REVIEW, "single4.5_no-IHC→REVIEW"),
    case(result(ihc(ONE), single(3.99)), NEG, C.HER2_LOW, "single3.99_IHC1+→LOW"),
    case(result(None, single(3.1)), NEG, C.UNKNOWN, "single3.1_no-IHC→UNKNOWN"),
    case(result(ihc(TWO), single(55.0)), UNK, C.NEEDS_REVIEW, "single55→REVIEW"),
    case(result(ihc(ONE), single(final=ReportedStatus.NEGATIVE)), NEG, C.HER2_LOW, "single_statement-only"),
    # --- ISH stated without numbers
    case(result(ihc(TWO), dual(pending=True)), EQ, C.UNKNOWN, "IHC2+_ISH-pending→EQUIVOCAL"),
    case(result(ihc(TWO), dual(final=ReportedStatus.POSITIVE)), POS, C.HER2_POSITIVE, "IHC2+_amplified→POS"),
    case(result(ihc(TWO), dual(final=ReportedStatus.NEGATIVE)), NEG, C.HER2_LOW, "IHC2+_not-amplified→LOW"),
    case(result(ihc(TWO), dual(final=ReportedStatus.EQUIVOCAL)), UNK, C.NEEDS_REVIEW, "ISH-equivocal→REVIEW"),
    case(result(ihc(TWO), dual(final=ReportedStatus.PENDING)), EQ, C.UNKNOWN, "ISH-status-pending→EQUIVOCAL"),
    case(result(ihc(TWO), dual(final=ReportedStatus.INDETERMINATE)), EQ, C.UNKNOWN, "ISH-failed→EQUIVOCAL"),
    case(result(ihc(ONE), dual()), NEG, C.HER2_LOW, "ISH-empty_IHC1+→LOW"),
    # --- laboratory statements and conflicts
    case(
        result(ihc(THREE), reported=ReportedStatus.NEGATIVE), UNK, C.NEEDS_REVIEW, "IHC3+_reported-neg→REVIEW"
    ),
    case(
        result(ihc(ONE), reported=ReportedStatus.POSITIVE), UNK, C.NEEDS_REVIEW, "IHC1+_reported-pos→REVIEW"
    ),
    case(result(ihc(ONE), reported=ReportedStatus.NEGATIVE), NEG, C.HER2_LOW, "IHC1+_reported-neg→LOW"),
    case(
        result(ihc(ONE), dual(2.1, 3.6, final=ReportedStatus.POSITIVE)), UNK, C.NEEDS_REVIEW, "g2_1+_lab-amp"
    ),
    case(
        result(ihc(THREE), dual(1.2, 2.4, final=ReportedStatus.POSITIVE)),
        POS,
        C.HER2_POSITIVE,
        "g5_3+_lab-amp",
    ),
    case(result(reported=ReportedStatus.NEGATIVE), NEG, C.NEGATIVE_UNSCORED, "bare-negative→UNSCORED"),
    case(result(reported=ReportedStatus.POSITIVE), UNK, C.UNKNOWN, "bare-positive→UNKNOWN (safety rule)"),
    case(result(reported=ReportedStatus.EQUIVOCAL), EQ, C.UNKNOWN, "bare-equivocal→EQUIVOCAL"),
    case(result(reported=ReportedStatus.INDETERMINATE), IND, C.UNKNOWN, "bare-indeterminate→INDETERMINATE"),
    case(result(reported=ReportedStatus.PENDING), UNK, C.UNKNOWN, "bare-pending→UNKNOWN"),
    case(result(), UNK, C.UNKNOWN, "nothing→UNKNOWN"),
    case(result(failure=True), IND, C.UNKNOWN, "technical-failure→INDETERMINATE"),
    case(result(ihc(ONE), failure=True), NEG, C.HER2_LOW, "technical-failure_with-score→LOW"),
    case(result(ihc(ONE), unparsed=True), NEG, C.NEEDS_REVIEW, "unparsed-text→REVIEW"),
    # --- companion-diagnostic check (caution only)
    case(result(ihc(ONE, assay="VENTANA 4B5")), NEG, C.HER2_LOW, "IHC1+_4B5"),
    case(result(ihc(ONE, assay="PATHWAY anti-HER-2/neu")), NEG, C.HER2_LOW, "IHC1+_PATHWAY"),
    case(result(ihc(Z, assay="CB11")), NEG, C.HER2_ZERO_UNSPECIFIED, "IHC0_CB11→caution"),
    case(result(ihc(THREE, assay="HercepTest")), POS, C.HER2_POSITIVE, "IHC3+_HercepTest"),
]
