"""Read the facts one HER2 (or ER/PR) statement states, using the phrase grammar of :mod:`narrative_grammar`.

A *statement* is the part of a clause that belongs to one marker (``"HER2 (4B5): Negative (Score 1+)"``). The
reader records what the statement says into a per-specimen :class:`Her2Facts` accumulator; it never
classifies. Each fact carries a priority so that the report's own summary wins over a single test's wording
(ASCO/CAP reports end with a "FINAL HER2 STATUS" line; addenda replace earlier text;
``spec/clinical-logic.md`` §6 and §10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from connectors.fhir import narrative_grammar as g
from rules.domain import IhcScore, ReportedStatus

#: Priority of a status stated by a single IHC or ISH test ("HER2 (4B5): Negative").
PRIORITY_TEST = 1
#: Priority of an overall statement ("HER2 NEGATIVE with comment", "Interpretation: NEGATIVE").
PRIORITY_OVERALL = 2
#: Priority of a "FINAL HER2 STATUS" / "Final:" statement.
PRIORITY_FINAL = 3
#: Added to every priority inside an addendum or amendment.
PRIORITY_ADDENDUM = 10

_MASK = ";"


class Mode(Enum):
    """Which test the words at a position talk about: the overall HER2 result, IHC, or ISH."""

    OVERALL = "overall"
    IHC = "ihc"
    ISH = "ish"


class SentenceKind(Enum):
    NORMAL = "normal"
    SUMMARY = "summary"
    FINAL = "final"


@dataclass
class Her2Facts:
    """What the text says about HER2 on one specimen, gathered statement by statement (mutable, internal).

    Lists hold ``(priority, value)`` pairs; percentages are of invasive tumour cells (0–100).
    """

    scores: list[tuple[int, IhcScore]] = field(default_factory=list)
    ranges: list[tuple[int, IhcScore, IhcScore]] = field(default_factory=list)
    ultralow_cue: bool = False
    null_cue: bool = False
    complete_intense: float | None = None
    complete_any: float | None = None
    incomplete_faint: float | None = None
    incomplete_moderate_intense: bool = False
    assay: str | None = None
    statuses: list[tuple[int, ReportedStatus]] = field(default_factory=list)
    ish_statuses: list[tuple[int, ReportedStatus]] = field(default_factory=list)
    ish_pending: bool = False
    ratio: list[tuple[int, float]] = field(default_factory=list)
    her2_per_cell: list[tuple[int, float]] = field(default_factory=list)
    cep17_per_cell: list[tuple[int, float]] = field(default_factory=list)
    single_probe: bool = False
    groups: list[tuple[int, int]] = field(default_factory=list)
    recount_group: int | None = None
    recount_confirmed: bool | None = None
    technical_failure: bool = False
    metastasis: bool = False
    excerpts: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def has_result(self) -> bool:
        """True when at least one result fact (not merely an assay name) was read."""
        return bool(
            self.scores
            or self.ranges
            or self.statuses
            or self.ish_statuses
            or self.ish_pending
            or self.ratio
            or self.her2_per_cell
            or self.cep17_per_cell
            or self.groups
            or self.recount_group is not None
            or self.technical_failure
            or self.ultralow_cue
            or self.complete_intense is not None
            or self.complete_any is not None
            or self.incomplete_faint is not None
        )

    def has_ish(self) -> bool:
        """True when an ISH number, group or ISH status was read."""
        return bool(
            self.ratio or self.her2_per_cell or self.cep17_per_cell or self.groups or self.ish_statuses
        )


@dataclass(frozen=True, slots=True)
class StatementContext:
    """Where a statement sits: the test context it starts in, the sentence kind, and the priority bonus."""

    start_mode: Mode
    kind: SentenceKind
    bonus: int


class _Masked:
    """The statement text with already-read phrases blanked out (same length, so positions stay valid)."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text

    def take(self, pattern: re.Pattern[str], *, first_only: bool = False) -> list[re.Match[str]]:
        found: list[re.Match[str]] = []
        for match in pattern.finditer(self.text):
            found.append(match)
            if first_only:
                break
        for match in found:
            start, end = match.span()
            self.text = self.text[:start] + _MASK * (end - start) + self.text[end:]
        return found


def _mode_events(text: str) -> list[tuple[int, Mode]]:
    """Positions where the wording switches to IHC or ISH ("concurrent IHC 2+" does not switch)."""
    events = [(m.start(), Mode.ISH) for m in g.ISH_WORD_RE.finditer(text)]
    for match in g.IHC_WORD_RE.finditer(text):
        if not g.SUBORDINATE_RE.search(text[max(0, match.start() - 30) : match.start()]):
            events.append((match.start(), Mode.IHC))
    return sorted(events, key=lambda event: event[0])


def _mode_at(events: list[tuple[int, Mode]], position: int, start: Mode) -> Mode:
    mode = start
    for event_position, event_mode in events:
        if event_position > position:
            break
        mode = event_mode
    return mode


def _number(text: str) -> float:
    return float(text)


def read_her2_statement(text: str, facts: Her2Facts, ctx: StatementContext) -> tuple[bool, Mode]:
    """Record what one HER2 statement says into ``facts``.

    Returns whether a result fact was read and the test context at the end of the statement (carried over to
    the next statement that names no marker, as in "HER2 single-probe ISH: 4.6 copies/cell; concurrent IHC
    1+ -> NEGATIVE").
    """
    events = _mode_events(text)
    end_mode = _mode_at(events, len(text), ctx.start_mode)
    before = _fact_count(facts)
    if g.CONTROL_RE.search(text):
        if g.TECHNICAL_RE.search(text):
            facts.technical_failure = True
        return _fact_count(facts) > before, end_mode
    masked = _Masked(text)
    _read_technical_and_pending(masked, facts, ctx)
    if g.ISH_WORD_RE.search(text):
        _read_ish_numbers(masked, facts, ctx)
    if g.ISH_WORD_RE.search(text) or g.RECOUNT_RE.search(text):
        _read_groups(masked, facts, _score_priority(ctx))
    _read_phrases(masked, facts, ctx, events)
    _read_scores(masked, facts, ctx)
    _read_percentages(text, facts)
    _read_statuses(masked, facts, ctx, events)
    for name, pattern in g.ASSAYS:
        if facts.assay is None and pattern.search(text):
            facts.assay = name
    if g.METASTASIS_RE.search(text) and not g.NO_METASTASIS_RE.search(text):
        facts.metastasis = True
    return _fact_count(facts) > before, end_mode


def _fact_count(facts: Her2Facts) -> int:
    return (
        len(facts.scores)
        + len(facts.ranges)
        + len(facts.statuses)
        + len(facts.ish_statuses)
        + len(facts.ratio)
        + len(facts.her2_per_cell)
        + len(facts.cep17_per_cell)
        + len(facts.groups)
        + int(facts.ish_pending)
        + int(facts.technical_failure)
        + int(facts.ultralow_cue)
        + int(facts.null_cue)
        + int(facts.recount_group is not None)
        + int(facts.recount_confirmed is not None)
        + sum(v is not None for v in (facts.complete_intense, facts.complete_any, facts.incomplete_faint))
        + int(facts.incomplete_moderate_intense)
    )


def _status_priority(ctx: StatementContext, mode: Mode) -> int:
    if ctx.kind is SentenceKind.FINAL:
        return PRIORITY_FINAL + ctx.bonus
    if ctx.kind is SentenceKind.SUMMARY or mode is Mode.OVERALL:
        return PRIORITY_OVERALL + ctx.bonus
    return PRIORITY_TEST + ctx.bonus


def _score_priority(ctx: StatementContext) -> int:
    return (PRIORITY_FINAL if ctx.kind is SentenceKind.FINAL else PRIORITY_TEST) + ctx.bonus


def _read_technical_and_pending(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    if g.TECHNICAL_RE.search(masked.original):
        facts.technical_failure = True
    if masked.take(g.PENDING_RE):
        if g.ISH_WORD_RE.search(masked.original):
            facts.ish_pending = True
        else:
            facts.statuses.append((_status_priority(ctx, Mode.OVERALL), ReportedStatus.PENDING))


def _read_ish_numbers(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Ratio, HER2 and CEP17 signals per cell, stated group and recount (§4, §5)."""
    priority = _score_priority(ctx)
    for match in masked.take(g.RATIO_RE, first_only=True):
        facts.ratio.append((priority, _number(match.group(1))))
    for match in masked.take(g.CEP17_RE, first_only=True):
        facts.cep17_per_cell.append((priority, _number(match.group(1))))
    for match in g.HER2_COPIES_RE.finditer(masked.text):
        if g.COPY_WORD_RE.search(match.group("gap") or "") or match.group("unit"):
            facts.her2_per_cell.append((priority, _number(match.group(2))))  # group 1 is the gap
            start, end = match.span()
            masked.text = masked.text[:start] + _MASK * (end - start) + masked.text[end:]
            break
    else:
        for match in masked.take(g.PER_CELL_RE, first_only=True):
            facts.her2_per_cell.append((priority, _number(match.group(1))))
    if g.SINGLE_PROBE_RE.search(masked.original):
        facts.single_probe = True


def _group_number(token: str) -> int:
    return int(token) if token.isdigit() else g.ROMAN[token.upper()]


def _read_groups(masked: _Masked, facts: Her2Facts, priority: int) -> None:
    """Stated ISH group; after a recount cue the group named is the recount's; the new group stands (§4)."""
    recount = g.RECOUNT_RE.search(masked.original)
    change = g.GROUP_CHANGE_RE.search(masked.original)
    groups = masked.take(g.GROUP_RE)
    if recount is None:
        facts.groups.extend((priority, _group_number(m.group(1))) for m in groups)
        return
    for match in groups:
        number = _group_number(match.group(1))
        if match.start() < recount.start():
            facts.groups.append((priority, number))
        else:
            facts.recount_group = number
    if change is not None:
        facts.groups.append((priority, int(change.group(1))))
        facts.recount_group = int(change.group(2))
    earlier = [number for _, number in facts.groups]
    if facts.recount_group is not None and earlier and facts.recount_group != earlier[-1]:
        facts.recount_confirmed = False
        facts.notes.append(f"ISH recount changed the group from {earlier[-1]} to {facts.recount_group}")
    elif g.CONFIRM_RE.search(masked.original[recount.start() :]) or facts.recount_group is not None:
        facts.recount_confirmed = True


def _read_phrases(
    masked: _Masked, facts: Her2Facts, ctx: StatementContext, events: list[tuple[int, Mode]]
) -> None:
    """Amplification and overexpression phrases, ultralow and null cues."""
    ish_priority = _status_priority(ctx, Mode.ISH)
    for _ in masked.take(g.AMP_NEG_RE):
        facts.ish_statuses.append((ish_priority, ReportedStatus.NEGATIVE))
    for _ in masked.take(g.AMP_POS_RE):
        facts.ish_statuses.append((ish_priority, ReportedStatus.POSITIVE))
    ihc_priority = _status_priority(ctx, Mode.IHC)
    for _ in masked.take(g.OVEREXP_NEG_RE):
        facts.statuses.append((ihc_priority, ReportedStatus.NEGATIVE))
    for _ in masked.take(g.OVEREXP_POS_RE):
        facts.statuses.append((ihc_priority, ReportedStatus.POSITIVE))
    if masked.take(g.ULTRALOW_RE):
        facts.ultralow_cue = True
        facts.scores.append((_score_priority(ctx), IhcScore.ZERO))
    if g.NULL_RE.search(masked.text):
        facts.null_cue = True
    if masked.take(g.NULL_TERM_RE):
        facts.scores.append((_score_priority(ctx), IhcScore.ZERO))


def _read_scores(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """IHC scores: ranges first, then "n+", labelled scores and bare zeros."""
    priority = _score_priority(ctx)
    for match in masked.take(g.RANGE_RE):
        low, high = g.WORD_SCORES[match.group(1)], g.WORD_SCORES[match.group(2)]
        if int(match.group(1)) < int(match.group(2)):
            facts.ranges.append((priority, low, high))
    for match in masked.take(g.SCORE_PLUS_RE):
        token = (match.group(1) or match.group(2)).lower()
        facts.scores.append((priority, g.WORD_SCORES[token]))
    for match in masked.take(g.SCORE_LABELLED_RE):
        facts.scores.append((priority, g.WORD_SCORES[match.group(1)]))
    for _ in masked.take(g.ZERO_BARE_RE):
        facts.scores.append((priority, IhcScore.ZERO))


def _percent(match: re.Match[str], first: int) -> float | None:
    """The stated percentage; for a range "5-10 %" the upper bound. None when above 100 %."""
    value = _number(match.group(first + 1) or match.group(first))
    return value if 0.0 <= value <= 100.0 else None


def _read_percentages(text: str, facts: Her2Facts) -> None:
    """Staining pattern percentages (§3): complete/incomplete × intense/moderate/faint."""
    found: list[tuple[str, float | None]] = [
        (m.group(1), _percent(m, 2)) for m in g.STAINING_PCT_RE.finditer(text)
    ]
    found += [(m.group(3), _percent(m, 1)) for m in g.PCT_STAINING_RE.finditer(text)]
    for descriptors, value in found:
        if value is None:
            continue
        complete = bool(g.COMPLETE_RE.search(descriptors)) and not g.INCOMPLETE_RE.search(descriptors)
        incomplete = bool(g.INCOMPLETE_RE.search(descriptors))
        intense = bool(g.INTENSE_RE.search(descriptors))
        moderate = bool(g.MODERATE_RE.search(descriptors))
        faint = bool(g.FAINT_RE.search(descriptors))
        if complete:
            facts.complete_any = value
            if intense and not (faint or moderate):
                facts.complete_intense = value
        elif incomplete and (intense or moderate):
            facts.incomplete_moderate_intense = value > 0
        elif incomplete and faint:
            facts.incomplete_faint = value


def _read_statuses(
    masked: _Masked, facts: Her2Facts, ctx: StatementContext, events: list[tuple[int, Mode]]
) -> None:
    """Status words, attributed to IHC, ISH or the overall result by the wording before them."""
    for match in masked.take(g.STATUS_RE):
        token = (match.group(1) or match.group(2) or match.group(3) or "").lower()
        status = g.STATUS_WORDS[token]
        mode = _mode_at(events, match.start(), ctx.start_mode)
        if ctx.kind is SentenceKind.NORMAL and mode is Mode.ISH:
            facts.ish_statuses.append((_status_priority(ctx, mode), status))
        else:
            facts.statuses.append((_status_priority(ctx, mode), status))


# ----------------------------------------------------------------------------------------------------------
# ER / PR

_RECEPTOR_STATUS_RE = re.compile(
    r"\b(low\s+positive|weak(?:ly)?\s+positive|positive|pos|negative|neg)\b|(?<=[A-Za-z])\(?([+-])\)?(?=[\s,;.)/]|$)",
    re.IGNORECASE,
)
_RECEPTOR_PERCENT_RE = re.compile(
    r"(<|less\s+than|>|greater\s+than|approximately|approx\.?|~|about)?\s*(\d{1,3}(?:\.\d+)?)\s*"
    r"(?:(?:-|to)\s*\d{1,3}(?:\.\d+)?\s*)?%",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ReceptorReading:
    """What one ER or PR statement says: the stated call and the percentage of stained nuclei (0–100)."""

    positive: bool | None
    percent: float | None

    def is_empty(self) -> bool:
        return self.positive is None and self.percent is None


def read_receptor_statement(text: str) -> ReceptorReading:
    """Read "ER: POSITIVE (95%, strong)", "PR 0%", "PR: NEGATIVE (<1%)" (ASCO/CAP 2020 ER/PR reporting).

    "<1 %" is recorded as 0 % (the negative band; the exact value below 1 % is not stated); another "<n %"
    leaves the percentage unknown. A range "1-10 %" gives its lower bound.
    """
    positive: bool | None = None
    status = _RECEPTOR_STATUS_RE.search(text)
    if status is not None:
        token = (status.group(1) or status.group(2)).lower()
        positive = not token.startswith(("neg", "-"))
    percent: float | None = None
    found = _RECEPTOR_PERCENT_RE.search(text)
    if found is not None:
        value = float(found.group(2))
        qualifier = (found.group(1) or "").lower()
        if qualifier.startswith(("<", "less")):
            percent = 0.0 if value <= 1.0 else None
        elif value <= 100.0:
            percent = value
    return ReceptorReading(positive=positive, percent=percent)
