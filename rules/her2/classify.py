"""Classify one HER2 test occasion by evaluating the guideline tables (``rules.her2.*_tables``).

The flow mirrors spec/clinical-logic.md §3–§6: the IHC reading (stated score versus staining percentages, or a
range), the ISH result (dual-probe group and concurrent IHC, single-probe bands, or a bare statement), the
per-specimen ASCO/CAP status, the laboratory cross-check, the T-DXd category and the companion-diagnostic
check. Every table that decides adds one evidence line naming its row as ``table#row`` (the same tag as on the
documentation page), so a clinician can follow the classification without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from rules.display import category_name
from rules.domain import (
    AscoCapStatus,
    Evidence,
    Her2Assessment,
    Her2Result,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IshProbe,
    IshResult,
    ReportedStatus,
    TdxdCategory,
)
from rules.her2.ihc_tables import IHC_PERCENTAGES, IHC_RANGE, IHC_SCORE, IhcReading, ScoreSource
from rules.her2.ish_tables import (
    ISH_COUNTS,
    ISH_DUAL,
    ISH_GROUP,
    ISH_GROUP_SOURCE,
    ISH_SINGLE,
    ISH_STATEMENT,
    Counts,
    GroupSource,
)
from rules.her2.status_tables import ASSAY, CATEGORY, LAB_CHECK, STATUS, AssayCheck, LabCheck
from rules.her2.vocabulary import IshFinal
from rules.tables import Decision, DecisionTable, decide

OutcomeT = TypeVar("OutcomeT")

EQUIVOCAL = "HER2-equivocal"
INDETERMINATE = "indeterminate"


def display_category(assessment: Her2Assessment | None) -> str:
    """The display category of one assessment.

    One of ``HER2-positive``, ``HER2-low``, ``HER2-ultralow``, ``HER2-null``, ``HER2-0`` (IHC 0 not stated as
    ultralow or null), ``HER2-negative-unscored``, ``HER2-equivocal`` (IHC 2+ awaiting ISH) or
    ``indeterminate`` (no result, unknown, needs review, technical failure). A result that needs review, such
    as an IHC range "1–2+" with ISH pending, is ``indeterminate`` even when its status is equivocal: the range
    is the more urgent problem.
    """
    if assessment is None or assessment.category is TdxdCategory.NEEDS_REVIEW:
        return INDETERMINATE
    if assessment.status is AscoCapStatus.EQUIVOCAL_PENDING:
        return EQUIVOCAL
    return category_name(assessment.category)


@dataclass
class _Trace:
    """The decisions taken for one result, in order, and the caveats their rows raised."""

    decisions: list[Decision[Any]] = field(default_factory=list)
    evidence: list[Decision[Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def run(
        self, table: DecisionTable[OutcomeT], facts: dict[str, object], *, quiet: bool = False
    ) -> Decision[OutcomeT]:
        """Evaluate ``table``; record the decision (as evidence unless ``quiet``) and its row's caveat."""
        decision = decide(table, facts)
        self.decisions.append(decision)
        if not quiet:
            self.evidence.append(decision)
        if decision.row.caveat:
            self.caveat(decision.row.caveat)
        return decision

    def caveat(self, text: str) -> None:
        if text not in self.caveats:
            self.caveats.append(text)


@dataclass(frozen=True)
class _Ihc:
    """The IHC reading used: ``reading`` for the category, ``score`` for the status (a range's stand-in)."""

    reading: IhcReading | None = None
    score: IhcScore | None = None
    is_range: bool = False
    from_percentages: bool = False


def _any_percentage(p: IhcPercentages) -> bool:
    values = (p.complete_intense, p.complete_any, p.incomplete_faint)
    return any(v is not None for v in values) or p.incomplete_moderate_intense


def _ihc(ihc: IhcResult | None, trace: _Trace) -> _Ihc:
    """IHC score and zero detail from the stated score, the percentages or a range (spec §3)."""
    if ihc is None:
        return _Ihc()
    if ihc.is_range:
        score = trace.run(IHC_RANGE, {"range_to": ihc.range_to}).outcome
        return _Ihc(score=score, is_range=True)
    derived: IhcReading | None = None
    pct = ihc.percentages
    if pct is not None and _any_percentage(pct):
        facts: dict[str, object] = {
            "complete_intense": pct.complete_intense,
            "complete_any": pct.complete_any,
            "incomplete_moderate_intense": pct.incomplete_moderate_intense,
            "incomplete_faint": pct.incomplete_faint,
        }
        derived = trace.run(IHC_PERCENTAGES, facts).outcome
    stated = None
    if ihc.score is not None:
        stated = IhcReading(ihc.score, ihc.zero_subtype if ihc.score is IhcScore.ZERO else None)
    if derived is None:
        return _Ihc(reading=stated, score=stated.score if stated else None)
    choice = trace.run(
        IHC_SCORE,
        {
            "stated_score": stated.score if stated else None,
            "stated_zero": stated.zero if stated else None,
            "percentages_score": derived.score,
            "complete_intense": pct.complete_intense if pct else None,
            "agree": stated == derived if stated else None,
        },
    ).outcome
    reading = derived if choice is ScoreSource.PERCENTAGES else stated
    return _Ihc(
        reading=reading,
        score=reading.score if reading else None,
        from_percentages=choice is ScoreSource.PERCENTAGES,
    )


def _counts(ish: IshResult, trace: _Trace) -> Counts:
    if ish.ratio is None and ish.her2_per_cell is None:
        return Counts.PLAUSIBLE
    return trace.run(ISH_COUNTS, {"ratio": ish.ratio, "her2_per_cell": ish.her2_per_cell}).outcome


def _dual_group(ish: IshResult, counts: Counts, trace: _Trace) -> tuple[int | None, bool]:
    """The dual-probe group used and whether a blinded recount settled it (spec §4)."""
    counts_group = None
    if counts is Counts.PLAUSIBLE and ish.ratio is not None and ish.her2_per_cell is not None:
        counts_group = trace.run(ISH_GROUP, {"ratio": ish.ratio, "her2_per_cell": ish.her2_per_cell}).outcome
    if counts_group is None and ish.reported_group is None:
        return None, False
    source = trace.run(
        ISH_GROUP_SOURCE,
        {
            "counts_group": counts_group,
            "reported_group": ish.reported_group,
            "recount_confirmed": ish.recount_confirmed,
            "agree": counts_group == ish.reported_group if counts_group and ish.reported_group else None,
        },
    ).outcome
    if source is GroupSource.REPORTED:
        return ish.reported_group, ish.recount_confirmed is not None
    return counts_group, ish.recount_confirmed is True


def _ish(ish: IshResult | None, ihc: IhcScore | None, trace: _Trace) -> tuple[IshFinal, int | None]:
    """The final ISH result after the concurrent IHC work-up, and the dual-probe group used (spec §4–§5)."""
    if ish is None:
        return IshFinal.NONE, None
    counts = _counts(ish, trace)
    final: IshFinal | None = None
    group: int | None = None
    if not ish.pending and ish.probe is IshProbe.SINGLE:
        if counts is Counts.OUT_OF_RANGE or ish.her2_per_cell is not None:
            facts: dict[str, object] = {"counts": counts, "her2_per_cell": ish.her2_per_cell, "ihc": ihc}
            final = trace.run(ISH_SINGLE, facts).outcome
    elif not ish.pending:
        group, recounted = _dual_group(ish, counts, trace)
        if counts is Counts.OUT_OF_RANGE or group is not None:
            facts = {
                "counts": counts,
                "group": group,
                "ihc": ihc,
                "recount_confirmed": recounted,
                "lab_final": ish.reported_final,
            }
            final = trace.run(ISH_DUAL, facts).outcome
    if final is None:
        final = trace.run(ISH_STATEMENT, {"pending": ish.pending, "lab_final": ish.reported_final}).outcome
    elif ish.reported_final is not None and _lab_conflict(_as_reported(final), ish.reported_final, trace):
        final = IshFinal.NEEDS_REVIEW
    return final, group if counts is Counts.PLAUSIBLE else None


def _as_reported(value: IshFinal | AscoCapStatus) -> ReportedStatus | None:
    if value in (IshFinal.POSITIVE, AscoCapStatus.POSITIVE):
        return ReportedStatus.POSITIVE
    if value in (IshFinal.NEGATIVE, AscoCapStatus.NEGATIVE):
        return ReportedStatus.NEGATIVE
    return None


def _lab_conflict(derived: ReportedStatus | None, stated: ReportedStatus, trace: _Trace) -> bool:
    decision = trace.run(LAB_CHECK, {"derived": derived, "stated": stated}, quiet=True)
    if decision.outcome is LabCheck.CONFLICT:
        trace.evidence.append(decision)
    return decision.outcome is LabCheck.CONFLICT


def classify(result: Her2Result) -> Her2Assessment:
    """Classify one HER2 test occasion (see :func:`classify_with_trace`)."""
    return classify_with_trace(result)[0]


def classify_with_trace(result: Her2Result) -> tuple[Her2Assessment, tuple[Decision[Any], ...]]:
    """Classify one HER2 test occasion: ASCO/CAP status, T-DXd category, ISH group, evidence and caveats.

    Never raises for clinical data: missing, implausible or contradictory data give
    ``UNKNOWN``/``NEEDS_REVIEW`` with the reason in the caveats. Every table that decided adds one evidence
    line whose ``rule`` ends with the ``[table#row]`` tag of the row that fired (checks that found nothing
    to report are left out of the evidence). Also returns every decision taken, in order, for tests and
    audits.
    """
    trace = _Trace()
    ihc = _ihc(result.ihc, trace)
    ish_final, group = _ish(result.ish, ihc.score, trace)
    usable = ihc.score is not None or ish_final in (IshFinal.POSITIVE, IshFinal.NEGATIVE)
    status_decision = trace.run(
        STATUS,
        {
            "technical_failure": result.technical_failure,
            "usable": usable,
            "ihc": ihc.score,
            "ish": ish_final,
            "reported": result.reported_status,
        },
    )
    status = status_decision.outcome
    if result.technical_failure and usable:
        trace.caveat("A technical failure is stated, but a usable result is reported; that result is used.")
    conflict = False
    if result.reported_status is not None:
        conflict = _lab_conflict(_as_reported(status), result.reported_status, trace)
        if conflict:
            status = AscoCapStatus.UNKNOWN
    if result.unparsed:
        trace.caveat("Part of the report text could not be read: review the report.")
    category = trace.run(
        CATEGORY,
        {
            "status": status,
            "needs_review": conflict or result.unparsed or ish_final is IshFinal.NEEDS_REVIEW,
            "ihc_range": ihc.is_range,
            "ihc": ihc.score,
            "zero": ihc.reading.zero if ihc.reading else None,
            "ish": ish_final,
            "reported": result.reported_status,
        },
    ).outcome
    if result.ihc is not None:
        assay = trace.run(ASSAY, {"category": category, "assay": result.ihc.assay}, quiet=True)
        if assay.outcome is not AssayCheck.NOT_CHECKED:
            trace.evidence.append(assay)
    for note in result.notes:
        trace.caveat(note)
    assessment = Her2Assessment(result=result, status=status, category=category, ish_group=group)
    summary = _summary(assessment, ihc, ish_final, status_decision, trace)
    evidence = (summary, *(_evidence(d, result) for d in trace.evidence))
    if result.excerpt:
        evidence += (
            Evidence(
                statement=f"Report text: “{result.excerpt}”", value=result.excerpt, source=result.source
            ),
        )
    final = Her2Assessment(
        result=result,
        status=status,
        category=category,
        ish_group=group,
        evidence=evidence,
        caveats=tuple(trace.caveats),
    )
    return final, tuple(trace.decisions)


def _evidence(decision: Decision[Any], result: Her2Result) -> Evidence:
    return Evidence(
        statement=decision.explain(),
        value=decision.table.describe_outcome(decision.outcome),
        source=result.source,
        rule=f"{decision.row.ref} [{decision.tag}]",
    )


_ISH_DRIVEN_STATUS = frozenset({"T2", "T4", "T5", "T8"})
"""Status rows whose decisive guideline statement is the ISH row (cited in the summary line)."""


def _ihc_text(result: Her2Result, ihc: _Ihc) -> str | None:
    source = result.ihc
    if source is None:
        return None
    if ihc.is_range:
        text = f"IHC {source.score or '?'}–{source.range_to}"
    elif ihc.reading is None:
        return None
    else:
        text = f"IHC {ihc.reading}"
        if ihc.from_percentages:
            text += " from the staining percentages"
    return f"{text} ({source.assay})" if source.assay else text


def _ish_text(ish: IshResult | None, group: int | None, final: IshFinal) -> str | None:
    if ish is None:
        return None
    numbers = []
    if ish.ratio is not None:
        numbers.append(f"ratio {ish.ratio:.2f}")
    if ish.her2_per_cell is not None:
        numbers.append(f"HER2 {ish.her2_per_cell:.1f}/cell")
    detail = f" ({', '.join(numbers)})" if numbers else ""
    if ish.probe is IshProbe.SINGLE:
        return f"single-probe ISH{detail}: {final}"
    if group is not None:
        return f"dual-probe ISH group {group}{detail}"
    return f"dual-probe ISH{detail}: {final}"


def _summary(
    assessment: Her2Assessment, ihc: _Ihc, final: IshFinal, status: Decision[AscoCapStatus], trace: _Trace
) -> Evidence:
    """The first evidence line: inputs → status and category; the decisive guideline reference."""
    result = assessment.result
    parts = [p for p in (_ihc_text(result, ihc), _ish_text(result.ish, assessment.ish_group, final)) if p]
    if not parts and result.reported_status is not None:
        parts.append(f"reported “{result.reported_status}”")
    if result.technical_failure:
        parts.append("technical failure stated")
    inputs = " with ".join(parts) if parts else "no HER2 result"
    decisive: Decision[Any] = status
    if status.row.id in _ISH_DRIVEN_STATUS:
        ish_rows = [d for d in trace.decisions if d.table in (ISH_DUAL, ISH_SINGLE, ISH_STATEMENT)]
        if ish_rows:
            decisive = ish_rows[-1]
    ref = decisive.row.ref
    label = display_category(assessment)
    statement = f"{inputs} → {assessment.status} ({label}); {ref}"
    return Evidence(statement=statement, value=label, source=result.source, rule=f"{ref} [{decisive.tag}]")
