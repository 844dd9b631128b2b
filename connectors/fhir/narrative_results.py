"""Merge the facts read for one specimen into a :class:`rules.domain.Her2Result` (no classification).

Precedence (``spec/clinical-logic.md`` §4, §6, §10): the highest-priority statement wins ("FINAL HER2
STATUS" over a summary line over a single test's wording; an addendum over the original text). Two different
answers at the same priority are a conflict: the result is marked ``unparsed`` with no score, so the rules
make it indeterminate rather than pick one. For ISH, an overall status stated in a report that carries ISH
data is the laboratory's final ISH interpretation after concurrent IHC review (groups 2–4, §4); a recount's
group stands.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Final, TypeVar

from connectors.fhir.narrative_extract import (
    COMPONENT_PATTERN,
    PRIORITY_ADDENDUM,
    PRIORITY_FINAL,
    PRIORITY_OVERALL,
    Her2Facts,
    Pattern,
    Share,
)
from rules.domain import (
    Her2Result,
    IhcPercentages,
    IhcResult,
    IhcScore,
    IhcZeroSubtype,
    IshProbe,
    IshResult,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
    SpecimenSite,
)

#: ASCO/CAP 2018 IHC percentage cut-off (§3): faint incomplete staining in >0 % and ≤10 % of cells with
#: score 0 is the "IHC 0 with membrane staining" (ultralow) description of §8.
_ULTRALOW_MAX_PERCENT: Final = 10.0
#: ASCO/CAP 2018 ISH heterogeneity: a population in more than 10 % of the tumour is counted and reported.
_REGION_MIN_SHARE: Final = 10.0
_DEFINITIVE: Final = frozenset(
    {ReportedStatus.POSITIVE, ReportedStatus.NEGATIVE, ReportedStatus.INDETERMINATE}
)
_T = TypeVar("_T")
IN_SITU_ONLY_NOTE: Final = (
    "the report describes carcinoma in situ and no invasive carcinoma: HER2 on carcinoma in situ is not "
    "scored (ASCO/CAP scores the invasive carcinoma); not classified"
)
PLUS_SIGN_NOTE: Final = (
    "HER2 given as a lone \u201c+\u201d sign was not read as a result: laboratories use it for "
    "\u201cpositive\u201d and for 1+; the IHC score or ISH result is needed"
)


class _ConflictError(Exception):
    """Two different values at the same priority (internal; becomes an unparsed result)."""

    def __init__(self, what: str, values: list[str]) -> None:
        super().__init__(f"conflicting {what} in the report text: {', '.join(values)}")


@dataclass(frozen=True, slots=True)
class BuiltResult:
    """A merged result and the excerpts (if any) that could not be read."""

    result: Her2Result
    unparsed: tuple[str, ...]


def _pick(what: str, values: list[tuple[int, _T]]) -> _T | None:
    """The value of the highest priority; a conflict when it is not unique."""
    if not values:
        return None
    top = max(priority for priority, _ in values)
    distinct = list(dict.fromkeys(value for priority, value in values if priority == top))
    if len(distinct) > 1:
        raise _ConflictError(what, [str(v) for v in distinct])
    return distinct[0]


def _pick_status(what: str, values: list[tuple[int, ReportedStatus]]) -> ReportedStatus | None:
    """Like :func:`_pick`, but a definitive status beats "equivocal" or "pending" at the same priority."""
    if not values:
        return None
    top = max(priority for priority, _ in values)
    distinct = list(dict.fromkeys(value for priority, value in values if priority == top))
    definitive = [value for value in distinct if value in _DEFINITIVE]
    if definitive:
        distinct = definitive
    elif ReportedStatus.EQUIVOCAL in distinct:
        distinct = [ReportedStatus.EQUIVOCAL]
    if len(distinct) > 1:
        raise _ConflictError(what, [str(v) for v in distinct])
    return distinct[0]


def _percentages(facts: Her2Facts) -> IhcPercentages | None:
    """Shares per staining pattern at the highest priority (restated shares counted once; "the remaining
    cells" take what the stated shares leave)."""
    if not facts.shares:
        return None
    top = max(priority for priority, _ in facts.shares)
    shares: list[Share] = list(dict.fromkeys(share for priority, share in facts.shares if priority == top))
    known: dict[Pattern, float] = {}
    rest = [share.pattern for share in shares if share.percent is None]
    for share in shares:
        if share.percent is not None:
            known[share.pattern] = known.get(share.pattern, 0.0) + share.percent
    if rest:
        stated = sum(value for pattern, value in known.items() if pattern is not Pattern.ANY)
        for pattern in rest:
            known[pattern] = known.get(pattern, 0.0) + max(0.0, 100.0 - stated) / len(rest)
    intense = known.get(Pattern.COMPLETE_INTENSE)
    other = known.get(Pattern.COMPLETE_OTHER)
    complete_any = None if intense is None and other is None else (intense or 0.0) + (other or 0.0)
    faint = known.get(Pattern.INCOMPLETE_FAINT)
    if known.get(Pattern.ANY) == 0.0:
        # "0 % of cells with any membrane staining": no complete and no incomplete staining at all.
        intense, complete_any, faint = intense or 0.0, complete_any or 0.0, faint or 0.0
    values = [min(100.0, v) if v is not None else None for v in (intense, complete_any, faint)]
    moderate_incomplete = known.get(Pattern.INCOMPLETE_MODERATE_INTENSE, 0.0) > 0.0
    if all(v is None for v in values) and not moderate_incomplete:
        return None
    return IhcPercentages(
        complete_intense=values[0],
        complete_any=values[1],
        incomplete_faint=values[2],
        incomplete_moderate_intense=moderate_incomplete,
    )


def _zero_subtype(facts: Her2Facts, percentages: IhcPercentages | None, notes: list[str]) -> IhcZeroSubtype:
    """Ultralow or null (§8) from the highest-priority cue or stated faint share (mixed: unspecified)."""
    evidence = list(facts.zero_cues)
    if percentages is not None and facts.shares:
        share_priority = max(priority for priority, _ in facts.shares)
        faint = percentages.incomplete_faint
        if faint is not None and 0.0 < faint <= _ULTRALOW_MAX_PERCENT:
            evidence.append((share_priority, IhcZeroSubtype.ULTRALOW))
        elif faint == 0.0 and percentages.complete_any == 0.0:
            evidence.append((share_priority, IhcZeroSubtype.NULL))
    if not evidence:
        return IhcZeroSubtype.UNSPECIFIED
    top = max(priority for priority, _ in evidence)
    found = {subtype for priority, subtype in evidence if priority == top}
    if len(found) == 1:
        return found.pop()
    notes.append("IHC 0 described both with and without membrane staining")
    return IhcZeroSubtype.UNSPECIFIED


_SCORE_ORDER = (IhcScore.THREE_PLUS, IhcScore.TWO_PLUS, IhcScore.ONE_PLUS, IhcScore.ZERO)


def _pick_score(facts: Her2Facts, notes: list[str]) -> IhcScore | None:
    """The stated IHC score; two scores of one text are a heterogeneity description, not a conflict, when
    the highest of them has the share of its staining pattern stated ("3+ (POSITIVE). Heterogeneous: strong
    complete staining in ~20 %; the remaining tumour 1+"): the highest stands, and the stated shares then
    check it as for any stated score (ASCO/CAP scores a tumour by its highest pattern above 10 %; intense
    complete staining in 10 % or less is 2+)."""
    try:
        return _pick("IHC scores", facts.scores)
    except _ConflictError:
        top = max(priority for priority, _ in facts.scores)
        distinct = {value for priority, value in facts.scores if priority == top}
        highest = next(score for score in _SCORE_ORDER if score in distinct)
        population = any(
            share.pattern is COMPONENT_PATTERN[highest] and share.percent is not None and share.percent > 0.0
            for _, share in facts.shares
        )
        if not population:
            raise
        others = ", ".join(str(v) for v in _SCORE_ORDER if v in distinct and v is not highest)
        notes.append(f"heterogeneous staining: IHC {highest} in a stated share of cells; {others} elsewhere")
        return highest


def _ihc(facts: Her2Facts, notes: list[str]) -> IhcResult | None:
    score = _pick_score(facts, notes)
    if score is not None:
        # A summary line outranks a single test's wording, but not a different score of the same text: "HER2
        # IHC … (1+)" in the description and "HER2 POSITIVE (3+)" in the diagnosis contradict each other (an
        # addendum, or a revision "from 1+ to 2+", is what changes a score).
        level = max(p for p, _ in facts.scores) // PRIORITY_ADDENDUM
        same_level = {value for p, value in facts.scores if p // PRIORITY_ADDENDUM == level}
        # A heterogeneous read names a score per population ("20 % strong complete (3+), the remainder 1+"):
        # not a conflict when the description shows a population with the score that stands.
        supported = any(
            share.pattern is COMPONENT_PATTERN[score] and share.percent != 0.0 for _, share in facts.shares
        )
        if len(same_level) > 1 and not supported:
            raise _ConflictError("IHC scores", [str(v) for v in same_level])
    span = _pick("IHC score ranges", [(p, (low, high)) for p, low, high in facts.ranges])
    if score is not None and span is not None:
        score_top = max(p for p, _ in facts.scores)
        range_top = max(p for p, _, _ in facts.ranges)
        if score_top == range_top:
            raise _ConflictError("IHC scores", [str(score), f"{span[0]}-{span[1]}"])
        if range_top < score_top:
            span = None
        else:
            score = None
    if score is None and span is None and facts.stain_failed:
        # "HER2: not evaluable (crush artefact, no staining of the external control)": the staining words
        # describe a failed run, not a null or a score (§3: technical failure → indeterminate).
        notes.append("the stain is stated as failed or not evaluable: its staining description is no score")
        return None
    percentages = _percentages(facts)
    if span is not None:
        return IhcResult(
            score=span[0], is_range=True, range_to=span[1], percentages=percentages, assay=facts.assay
        )
    if score is None and percentages is None:
        return None
    subtype = (
        _zero_subtype(facts, percentages, notes) if score is IhcScore.ZERO else IhcZeroSubtype.UNSPECIFIED
    )
    return IhcResult(score=score, zero_subtype=subtype, percentages=percentages, assay=facts.assay)


def _ihc_beside_ish(facts: Her2Facts, ish: IshResult | None, notes: list[str]) -> IhcResult | None:
    """The IHC result; conflicting IHC scores beside an ISH count give none (the conflict is noted)."""
    try:
        ihc = _ihc(facts, notes)
        _check_stated_low(facts, ihc)
    except _ConflictError as conflict:
        if ish is None or ish.pending or not (ish.ratio is not None or ish.reported_group is not None):
            raise
        # Different IHC scores on blocks or areas of the tumour beside an ISH count of the same tumour: the
        # ISH is read without an IHC score, so that only a result that does not depend on the IHC
        # (dual-probe group 1, §4) classifies; any other group stays unclassified.
        notes.insert(0, f"{conflict}; the ISH result is read without an IHC score")
        return None
    return ihc


def _check_stated_low(facts: Her2Facts, ihc: IhcResult | None) -> None:
    """A stated "HER2-low: yes" beside IHC 0 or 3+, or "HER2-low: no" beside IHC 1+, contradicts the score
    across a treatment line: a conflict (both statements go to the evidence), never a silent choice."""
    if not facts.stated_low or ihc is None or ihc.score is None or ihc.is_range:
        return
    stated = _pick("HER2-low statements", facts.stated_low)
    low_scores = {IhcScore.ONE_PLUS}
    not_low_scores = {IhcScore.ZERO, IhcScore.THREE_PLUS}
    if (stated and ihc.score in not_low_scores) or (stated is False and ihc.score in low_scores):
        answer = "HER2-low: yes" if stated else "HER2-low: no"
        raise _ConflictError("HER2-low statement and IHC score", [answer, f"IHC {ihc.score}"])


def _ish(facts: Her2Facts, notes: list[str]) -> IshResult | None:
    if not (facts.has_ish() or facts.ish_pending or facts.recount_group is not None):
        return None
    finals = list(facts.ish_statuses)
    if facts.has_ish():
        finals += [
            (p, s)
            for p, s in facts.statuses
            if p >= PRIORITY_OVERALL and s in (ReportedStatus.POSITIVE, ReportedStatus.NEGATIVE)
        ]
    final = _pick_status("ISH interpretations", finals)
    ratio = _pick("HER2/CEP17 ratios", facts.ratio)
    if ratio is None and facts.totals.get("cep17") and "her2" in facts.totals:
        # Signal totals over the same nuclei: the ratio of the means is the ratio of the totals.
        ratio = round(facts.totals["her2"] / facts.totals["cep17"], 4)
    cep17 = _pick("CEP17 signals per cell", facts.cep17_per_cell)
    # A single-probe count and a dual-probe count in one report: the dual-probe ISH is the reflex test that
    # settles the single-probe result (ASCO/CAP 2018: single-probe 4–<6 signals/cell → dual-probe ISH).
    reflexed = bool(facts.single_counts) and (ratio is not None or cep17 is not None)
    if reflexed:
        notes.append("single-probe count superseded by the dual-probe ISH of the same report")
    counts = facts.her2_per_cell if reflexed else facts.her2_per_cell + facts.single_counts
    her2 = _pick("HER2 signals per cell", counts)
    single = not reflexed and (facts.single_probe or bool(facts.single_counts))
    region = next(
        (r for r in reversed(facts.region_counts) if r[0] is not None and r[0] > _REGION_MIN_SHARE), None
    )
    if region is not None:
        # ASCO/CAP 2018 heterogeneity: a contiguous population in more than 10 % of the tumour counted
        # separately is reported on its own; its counts are the ones the result rests on.
        notes.append(
            f"heterogeneous ISH: a separately counted population ({region[0]:g} % of the tumour) is read "
            f"(overall count: ratio {ratio if ratio is not None else 'not stated'}, HER2 "
            f"{her2 if her2 is not None else 'not stated'}/cell)"
        )
        ratio, her2, cep17 = region[1], region[2], None
    elif facts.region_counts:
        notes.append(
            "a separately counted tumour population whose share is not stated above 10 % was not read as the "
            "result"
        )
    group = facts.recount_group if facts.recount_group is not None else _pick("ISH groups", facts.groups)
    resulted = any(v is not None for v in (final, ratio, her2, group))
    # Counts written with "recount pending", "preliminary", "final to follow" and no final result, at the
    # same report level or below it (not an addendum's counts after the original's "FISH pending"): the ISH
    # is not final yet (§4: a recount stands; §6 rule 3: IHC 2+ without a final ISH is pending).
    counted = [p for p, _ in [*facts.ratio, *facts.her2_per_cell, *facts.groups]]
    not_final = (
        final is None
        and bool(counted)
        and facts.ish_not_final_level >= max(p - p % PRIORITY_ADDENDUM for p in counted)
    )
    return IshResult(
        probe=IshProbe.SINGLE if single else IshProbe.DUAL,
        ratio=ratio,
        her2_per_cell=her2,
        cep17_per_cell=cep17,
        reported_group=group,
        recount_confirmed=facts.recount_confirmed,
        reported_final=final if final is not ReportedStatus.PENDING else None,
        pending=facts.ish_pending and (not resulted or not_final),
    )


UNRELIABLE_NOTE = (
    "the report states that its HER2 result is not reliable (not to be used for treatment decisions): "
    "not classified; retest on other tissue"
)


def build_her2_result(
    facts: Her2Facts,
    *,
    specimen: SpecimenRef,
    prior: bool,
    source: SourceRef | None,
    reported: dt.date | None,
    report_notes: tuple[str, ...] = (),
) -> BuiltResult | None:
    """One :class:`Her2Result` for one specimen, or None when the text said nothing about HER2 on it."""
    if not facts.has_result() and not facts.not_understood and not facts.not_tested and not facts.unreliable:
        return None
    if facts.metastasis and specimen.site is SpecimenSite.UNKNOWN:
        specimen = replace(specimen, site=SpecimenSite.METASTASIS)
    notes = list(facts.notes)
    if prior:
        name = f" ({specimen.id})" if specimen.id else ""
        notes.append(f"result stated for a prior specimen{name}, not the report's own specimen")
    if facts.plus_sign:
        notes.append(PLUS_SIGN_NOTE)
    notes += [f"text not understood: {excerpt}" for excerpt in facts.not_understood]
    notes += report_notes
    excerpt = " ".join(dict.fromkeys([*facts.excerpts, *facts.not_understood]))
    unread = tuple(facts.not_understood)
    ihc: IhcResult | None = None
    ish: IshResult | None = None
    status: ReportedStatus | None = None
    # A hedge ("3+ cannot be excluded") leaves the occasion unclassified unless a later addendum settles it.
    hedged = facts.hedged is not None and facts.top_priority() <= facts.hedged + PRIORITY_FINAL
    unparsed = not facts.has_result() or hedged or facts.in_situ_only or facts.not_tested or facts.unreliable
    if facts.unreliable:
        notes.insert(0, UNRELIABLE_NOTE)
    if facts.in_situ_only:
        notes.insert(0, IN_SITU_ONLY_NOTE)
    if hedged:
        notes.insert(
            0, "hedged wording about HER2 (for example \u201ccannot be excluded\u201d): not classified"
        )
    if not unparsed:
        try:
            status = _pick_status("HER2 statuses", facts.statuses)
            ish = _ish(facts, notes)
            ihc = _ihc_beside_ish(facts, ish, notes)
        except _ConflictError as conflict:
            notes.insert(0, str(conflict))
            ihc, ish, status, unparsed = None, None, None, True
            unread = (excerpt, *unread)
    result = Her2Result(
        specimen=specimen,
        ihc=ihc,
        ish=ish,
        reported_status=status,
        technical_failure=facts.technical_failure,
        source=source,
        reported=reported,
        excerpt=excerpt,
        notes=tuple(dict.fromkeys(notes)),
        unparsed=unparsed,
    )
    return BuiltResult(result=result, unparsed=tuple(dict.fromkeys(unread)))
