"""Read the facts one HER2 (or ER/PR) statement states, using the phrase grammar of :mod:`narrative_grammar`.

A *statement* is the part of a clause that belongs to one marker (``"HER2 (4B5): Negative (Score 1+)"``). The
reader records what the statement says into a per-specimen :class:`Her2Facts` accumulator; it never
classifies. Each fact carries a priority so that the report's own summary wins over a single test's wording
(ASCO/CAP reports end with a "FINAL HER2 STATUS" line; addenda replace earlier text;
``spec/clinical-logic.md`` §6 and §10).

Scores are read in this order, each reading masking the text it used so that nothing is read twice:
revisions ("revised from 1+ to 2+": the old score is masked), staining descriptions with their shares and
*components* (a score tied to a share of cells, "3+ in 15 %", "1+ elsewhere": part of a heterogeneous read,
turned into staining shares, never the overall score), ultralow/null terms, ranges, then the stated score.
Staining descriptions give shares per membrane pattern (§3), from which the rules derive the score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from connectors.fhir import narrative_grammar as g
from rules.domain import IhcScore, IhcZeroSubtype, ReportedStatus

#: Priority of a status stated by a single IHC or ISH test ("HER2 (4B5): Negative").
PRIORITY_TEST = 1
#: Priority of an overall statement ("HER2 NEGATIVE with comment", "Interpretation: NEGATIVE").
PRIORITY_OVERALL = 2
#: Priority of a "FINAL HER2 STATUS" / "Final:" statement.
PRIORITY_FINAL = 3
#: Added to every priority inside an addendum or amendment (once per addendum).
PRIORITY_ADDENDUM = 10

_MASK = ";"
_ONLY_COMPLETE_RE = re.compile(r"^(?!.*\b(?:incomplete|partial|any)\b).*\bcomplete\b", re.IGNORECASE)
#: A pattern or intensity right before a null cue ("complete membrane staining: absent"): not all staining.
_QUALIFIED_BEFORE_RE = re.compile(
    r"\b(?:complete|circumferential|strong|strongly|intense|moderate|moderately)\s+"
    r"(?:(?:membrane|membranous)\s+)?(?:(?:(?:immuno-?)?staining|reactivity)\s*(?:[:=-]|\bis\b|\bwas\b)?\s*)?$",
    re.IGNORECASE,
)
_STAINING_FIRST_RE = re.compile(r"(?:membrane|membranous|immuno|staining|reactiv|absent|none)", re.IGNORECASE)
_STAINING_WORD_RE = re.compile(r"stain|reactiv|labell?ing|\bpattern\b", re.IGNORECASE)


class Mode(Enum):
    """Which test the words at a position talk about: the overall HER2 result, IHC, or ISH."""

    OVERALL = "overall"
    IHC = "ihc"
    ISH = "ish"


class SentenceKind(Enum):
    NORMAL = "normal"
    SUMMARY = "summary"
    FINAL = "final"


class Pattern(Enum):
    """A membrane-staining pattern whose share of invasive cells a report states (ASCO/CAP 2018, §3)."""

    COMPLETE_INTENSE = "complete intense"
    COMPLETE_OTHER = "complete, weak to moderate or mixed intensity"
    INCOMPLETE_MODERATE_INTENSE = "incomplete moderate to intense"
    INCOMPLETE_FAINT = "incomplete faint"
    ANY = "any membrane staining"
    NONE = "no staining (IHC 0 share)"


#: The pattern a heterogeneous component's score stands for.
COMPONENT_PATTERN = {
    IhcScore.THREE_PLUS: Pattern.COMPLETE_INTENSE,
    IhcScore.TWO_PLUS: Pattern.COMPLETE_OTHER,
    IhcScore.ONE_PLUS: Pattern.INCOMPLETE_FAINT,
    IhcScore.ZERO: Pattern.NONE,
}


@dataclass(frozen=True, slots=True)
class Share:
    """One staining pattern and its share of cells; ``percent`` None means "the remaining cells"."""

    pattern: Pattern
    percent: float | None


@dataclass
class Her2Facts:
    """What the text says about HER2 on one specimen, gathered statement by statement (mutable, internal).

    Lists hold ``(priority, value)`` pairs; percentages are of invasive tumour cells (0–100).
    """

    scores: list[tuple[int, IhcScore]] = field(default_factory=list)
    ranges: list[tuple[int, IhcScore, IhcScore]] = field(default_factory=list)
    zero_cues: list[tuple[int, IhcZeroSubtype]] = field(default_factory=list)
    shares: list[tuple[int, Share]] = field(default_factory=list)
    assay: str | None = None
    statuses: list[tuple[int, ReportedStatus]] = field(default_factory=list)
    ish_statuses: list[tuple[int, ReportedStatus]] = field(default_factory=list)
    ish_pending: bool = False
    #: The addendum level (``StatementContext.bonus``) of the latest statement that the ISH counts are not
    #: final ("preliminary", "recount pending", "final interpretation to follow"); -1 when none.
    ish_not_final_level: int = -1
    ratio: list[tuple[int, float]] = field(default_factory=list)
    her2_per_cell: list[tuple[int, float]] = field(default_factory=list)
    cep17_per_cell: list[tuple[int, float]] = field(default_factory=list)
    single_probe: bool = False
    #: HER2 signals per cell of a single-probe count, kept apart from a dual-probe count of the same report.
    single_counts: list[tuple[int, float]] = field(default_factory=list)
    groups: list[tuple[int, int]] = field(default_factory=list)
    recount_group: int | None = None
    recount_confirmed: bool | None = None
    technical_failure: bool = False
    #: The stain itself stated as failed or not evaluable (``g.FAILURE_RE``), not about ISH: staining words
    #: without a stated score describe the failed run.
    stain_failed: bool = False
    metastasis: bool = False
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)
    hedged: int | None = None
    plus_sign: bool = False
    in_situ_only: bool = False
    not_tested: bool = False
    #: The laboratory's own answer to "HER2-low?" (True: yes / "Category: HER2-low"), with its priority.
    stated_low: list[tuple[int, bool]] = field(default_factory=list)
    #: HER2 stated as not repeated on this specimen (the earlier result stands).
    not_repeated: bool = False
    #: ISH counts of a separately counted tumour population (heterogeneity): (share of the tumour in %,
    #: HER2/CEP17 ratio, HER2 signals per cell); share None when not stated.
    region_counts: list[tuple[float | None, float | None, float | None]] = field(default_factory=list)
    #: The laboratory declares its own result unreliable ("NOT RELIABLE; should not be used for treatment").
    unreliable: bool = False
    nuclei: int | None = None
    totals: dict[str, float] = field(default_factory=dict)
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
            or self.single_counts
            or self.cep17_per_cell
            or self.groups
            or self.recount_group is not None
            or self.technical_failure
            or self.zero_cues
            or self.shares
        )

    def top_priority(self) -> int:
        """The highest priority of any fact read (0 when none)."""
        priorities = (
            [p for p, *_ in self.scores] + [p for p, _ in self.zero_cues] + [p for p, _ in self.shares]
        )
        priorities += [p for p, _ in self.statuses] + [p for p, _ in self.ish_statuses]
        priorities += (
            [p for p, _ in self.ratio] + [p for p, _ in self.her2_per_cell] + [p for p, _ in self.groups]
        )
        priorities += [p for p, _ in self.single_counts]
        return max(priorities, default=0)

    def has_ish(self) -> bool:
        """True when an ISH number, group or ISH status was read."""
        return bool(
            self.ratio
            or self.her2_per_cell
            or self.single_counts
            or self.cep17_per_cell
            or self.groups
            or self.ish_statuses
            or self.region_counts
        )

    def count(self) -> int:
        return (
            len(self.scores)
            + len(self.ranges)
            + len(self.zero_cues)
            + len(self.shares)
            + len(self.statuses)
            + len(self.ish_statuses)
            + len(self.ratio)
            + len(self.her2_per_cell)
            + len(self.single_counts)
            + len(self.cep17_per_cell)
            + len(self.groups)
            + len(self.totals)
            + int(self.nuclei is not None)
            + int(self.ish_pending)
            + int(self.technical_failure)
            + int(self.recount_group is not None)
            + int(self.recount_confirmed is not None)
        )


@dataclass(frozen=True, slots=True)
class StatementContext:
    """Where a statement sits: the test context it starts in, the sentence kind, and the priority bonus."""

    start_mode: Mode
    kind: SentenceKind
    bonus: int
    recount: bool = False
    #: The sentence after the statement: a table row cut into fields ("Membrane pattern: No staining" then
    #: "; % invasive cells: 98%") holds the statement's share there.
    following: str = ""
    #: The statement gives the two observers' counts taken together ("Combined (40 nuclei): …").
    pooled: bool = False


class _Masked:
    """The statement text with already-read phrases blanked out (same length, so positions stay valid)."""

    def __init__(self, text: str) -> None:
        self.original = text
        self.text = text

    def blank(self, start: int, end: int) -> None:
        self.text = self.text[:start] + _MASK * (end - start) + self.text[end:]

    def take(self, pattern: re.Pattern[str], *, first_only: bool = False) -> list[re.Match[str]]:
        found: list[re.Match[str]] = []
        for match in pattern.finditer(self.text):
            found.append(match)
            if first_only:
                break
        for match in found:
            self.blank(*match.span())
        return found


def _mode_events(text: str) -> list[tuple[int, Mode]]:
    """Positions where the wording switches to IHC or ISH ("concurrent IHC 2+" does not switch)."""
    events = [(m.start(), Mode.ISH) for m in g.ISH_WORD_RE.finditer(text)]
    # "… a recount by a second reader, the result is HER2 POSITIVE": the result of a signal recount is ISH's.
    events += [
        (m.start(), Mode.ISH) for m in g.RECOUNT_RE.finditer(text) if g.SIGNAL_COUNT_RE.search(m.group())
    ]
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


def read_her2_statement(text: str, facts: Her2Facts, ctx: StatementContext) -> tuple[bool, Mode]:
    """Record what one HER2 statement says into ``facts``.

    Returns whether a result fact was read and the test context at the end of the statement (carried over to
    the next statement that names no marker, as in "HER2 single-probe ISH: 4.6 copies/cell; concurrent IHC
    1+ -> NEGATIVE").
    """
    events = _mode_events(text)
    end_mode = _mode_at(events, len(text), ctx.start_mode)
    before = facts.count()
    masked = _Masked(text)
    _mask_revisions(masked, facts, ctx)
    masked.take(g.CUT_OFF_RE)
    category_field = _read_category_fields(masked, facts, ctx)
    _read_answers(masked, facts, ctx)
    masked.take(g.NEGATED_SCORE_RE)
    if masked.take(g.WEAK_THREE_RE):
        # "3+ (weak)": not a reading; the specimen's result stays unread (a later addendum may settle it).
        facts.hedged = ctx.bonus
        facts.not_understood.append(text.strip())
    _read_technical_and_pending(masked, facts, ctx)
    ish_words = bool(g.ISH_WORD_RE.search(text))
    if ish_words:
        _read_ish_numbers(masked, facts, ctx)
    if ish_words or g.RECOUNT_RE.search(text):
        _read_groups(masked, facts, _score_priority(ctx), ctx.following)
    _read_staining(masked, facts, ctx)
    _read_fields(masked, facts, ctx)
    _read_phrases(masked, facts, ctx)
    _read_zero_cues(masked, facts, ctx)
    _read_scores(masked, facts, ctx)
    _read_statuses(masked, facts, ctx, events)
    for name, pattern in g.ASSAYS:
        if facts.assay is None and pattern.search(text):
            facts.assay = name
    if g.SINGLE_PROBE_RE.search(text):
        facts.single_probe = True
    # A category field answered "not evaluated" or "HER2-low: yes" is read (and says nothing new).
    return facts.count() > before or category_field, end_mode


#: A field answering whether the result is ultralow ("HER2 ultralow: absent", "Ultralow? No", "ultralow:
#: not evaluated").
_ULTRALOW_FIELD_RE = re.compile(
    r"ultra[-\s]?low(?:\s+(?:status|category|staining))?(?:\s*(?:[:=?]|\s-\s)\s*(?:(?P<yes>yes|present|positive)|"
    r"(?P<no>no|absent|negative|none)|not\s+\w+|n/?a|unknown|-)|"
    # a fixed-column listing without a colon ("HER2 ultralow    Not evaluated"): worded answers only
    r"\s+(?:(?P<yes2>present)|(?P<no2>absent)|not\s+(?:evaluated|assessed|reported|applicable|done|performed)|"
    r"n/a))(?![\w+])",
    re.IGNORECASE,
)
#: A field answering whether the result is HER2-low ("HER2-low status: yes"): a summary of the score, which is
#: read on its own; the answer is neither a score nor a status.
_LOW_FIELD_RE = re.compile(
    r"HER-?2(?:/neu)?[-\s]?low(?:\s+(?:status|category))?\s*(?:[:=?]|\s-\s)\s*"
    r"(?:(?P<yes>yes|present|positive)|(?P<no>no|absent|negative)|not\s+\w+|n/?a|unknown|-)(?![\w+])|"
    # "Category: HER2-low", "HER2 classification = HER2-low"
    r"(?:HER-?2\s+)?(?:category|classification)\s*(?:[:=]|\s-\s)\s*(?P<low>HER-?2(?:/neu)?[-\s]?low)\b(?![-\s]?(?:status|\?))",
    re.IGNORECASE,
)


def _read_category_fields(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> bool:
    """Yes/no fields on ultralow and HER2-low: "ultralow: yes" is the ultralow term, "ultralow: no" means
    no membrane staining at an IHC 0 (null), "not evaluated" says nothing; "HER2-low: yes/no" (or "Category:
    HER2-low") is kept to be checked against the IHC score, never read as a score."""
    priority = _score_priority(ctx)
    found = False
    for match in masked.take(_ULTRALOW_FIELD_RE):
        found = True
        if match.group("yes") or match.group("yes2"):
            facts.zero_cues.append((priority, IhcZeroSubtype.ULTRALOW))
            facts.scores.append((priority, IhcScore.ZERO))
        elif match.group("no") or match.group("no2"):
            facts.zero_cues.append((priority, IhcZeroSubtype.NULL))
    for match in masked.take(_LOW_FIELD_RE):
        found = True
        if match.group("yes") or match.group("low"):
            facts.stated_low.append((priority, True))
        elif match.group("no"):
            facts.stated_low.append((priority, False))
    return found


def _status_priority(ctx: StatementContext, mode: Mode) -> int:
    if ctx.kind is SentenceKind.FINAL:
        return PRIORITY_FINAL + ctx.bonus
    if ctx.kind is SentenceKind.SUMMARY or mode is Mode.OVERALL:
        return PRIORITY_OVERALL + ctx.bonus
    return PRIORITY_TEST + ctx.bonus


def _score_priority(ctx: StatementContext) -> int:
    return (PRIORITY_FINAL if ctx.kind is SentenceKind.FINAL else PRIORITY_TEST) + ctx.bonus


#: The new score right after a revision's "from … to" ("to 0", "to a score of 1+", "to IHC 2+").
_REVISED_TO_RE: Final = re.compile(
    r"\s*(?:an?\s+)?(?:(?:IHC\s+)?score\s+(?:of\s+)?)?(?:IHC\s+)?(?P<new>0|[1-3]\s?\+)(?![\w+.,]\d|[\w+%])",
    re.IGNORECASE,
)


_ZERO_SCORE_RE: Final = re.compile(r"(?:(?:IHC\s+)?score\s+(?:of\s+)?)?(?:IHC\s+)?0", re.IGNORECASE)


def _mask_revisions(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """ "Revised from 1+ to 2+", "previously reported as 1+": the superseded value is not read; the score a
    revision "from X to Y" names is the current one ("changed from 1+ to 0": IHC 0)."""
    for match in g.REVISION_RE.finditer(masked.text):
        group = "old" if match.group("old") is not None else "quoted"
        masked.blank(*match.span(group))
        old = match.group("old")
        if old is not None and (g.SCORE_PLUS_RE.search(old) or _ZERO_SCORE_RE.fullmatch(old.strip())):
            new = _REVISED_TO_RE.match(masked.text, match.end())
            if new is not None:
                facts.scores.append((_score_priority(ctx), _score_token(new.group("new"))))
                masked.blank(*new.span("new"))


def _read_answers(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Yes/no answers: "amplified: no" is ISH negative, "overexpression: yes" IHC positive; a yes/no to a
    bare status word ("positive: no") states no result and is only masked."""
    for match in masked.take(g.ANSWER_RE):
        label, answer = match.group("label").lower(), (match.group("answer") or match.group("bare")).lower()
        present = answer in ("yes", "present", "detected", "identified")
        if label.startswith("amplif"):
            status = ReportedStatus.POSITIVE if present else ReportedStatus.NEGATIVE
            facts.ish_statuses.append((_status_priority(ctx, Mode.ISH), status))
        elif label.startswith(("over", "overexp")):
            status = ReportedStatus.POSITIVE if present else ReportedStatus.NEGATIVE
            facts.statuses.append((_status_priority(ctx, Mode.IHC), status))


#: The laboratory says its ISH result is not final yet ("preliminary", "final interpretation to follow"); a
#: recount merely requested is not such a statement (§4: groups 2–4 with IHC 2+ and no recount → review).
_NOT_FINAL_RE: Final = re.compile(
    r"preliminar\w*|provisional\w*|\bfinal\b(?:\s+[\w/-]+){0,3}\s+(?:to\s+follow|pending|will\s+follow)|"
    r"before\s+(?:a|the)\s+final\s+(?:result|interpretation|report)",
    re.IGNORECASE,
)


def recount_not_done(sentence: str) -> bool:
    """A recount (second observer, second count) named as not done yet, in any wording: "blinded recount
    still pending", "a second count … is now being performed", "the recount is in progress; the final status
    will be issued in an addendum". A recount that "confirmed" or "changed" something is done."""
    recount = g.RECOUNT_RE.search(sentence)
    return (
        recount is not None
        and g.NOT_DONE_RE.search(sentence) is not None
        and not g.CONFIRM_RE.search(sentence[recount.start() :])
        and not g.GROUP_CHANGE_RE.search(sentence)
    )


def _read_technical_and_pending(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    if g.TECHNICAL_RE.search(masked.original):
        facts.technical_failure = True
    if g.FAILURE_RE.search(masked.original) and not g.ISH_WORD_RE.search(masked.original):
        facts.technical_failure = facts.stain_failed = True
    if recount_not_done(masked.original):
        # §4/§6 rule 3: the ISH counts are not final while their recount is outstanding.
        facts.ish_pending = True
        facts.ish_not_final_level = max(facts.ish_not_final_level, ctx.bonus)
    if masked.take(g.PENDING_RE):
        if (
            g.ISH_WORD_RE.search(masked.original)
            or g.RECOUNT_RE.search(masked.original)
            or (ctx.start_mode is Mode.ISH and _NOT_FINAL_RE.search(masked.original))
        ):
            facts.ish_pending = True
            if _NOT_FINAL_RE.search(masked.original):
                facts.ish_not_final_level = max(facts.ish_not_final_level, ctx.bonus)
        else:
            facts.statuses.append((_status_priority(ctx, Mode.OVERALL), ReportedStatus.PENDING))


def _number(text: str) -> float:
    return float(text)


def _paired(masked: _Masked) -> list[tuple[str, str]]:
    """ "ratio / HER2 copies: 1.6 / 5.7" → [("ratio", "1.6"), ("HER2 copies", "5.7")], masked once read."""
    pairs: list[tuple[str, str]] = []
    for match in g.PAIRED_RE.finditer(masked.text):
        first, second = match.group("first"), match.group("second")
        if not (g.ISH_WORD_RE.search(first) or g.HER2_RE.search(first)) or not g.ISH_WORD_RE.search(second):
            continue
        pairs += [(first, match.group("a")), (second, match.group("b"))]
        masked.blank(*match.span())
    return pairs


def _read_ish_numbers(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Ratio, HER2 and CEP17 signals per cell, stated group and recount (§4, §5)."""
    priority = _score_priority(ctx)
    if ctx.recount:
        # "Blinded recount (observer 2): ratio 2.05, mean HER2 3.6": the second count's numbers; the first
        # count's stand (the recount confirms or changes the group, read by :func:`_read_groups`).
        priority -= 2
    elif ctx.pooled:
        # "Combined (40 nuclei): ratio 2.15" after each observer's count: the group is called on it.
        priority += 1
    for label, value in _paired(masked):
        rewritten = _Masked(f"{label} {value}")
        _read_ish_numbers_in(rewritten, facts, priority)
    _read_ish_numbers_in(masked, facts, priority)


_PER_CELL_AFTER_RE = re.compile(r"\s*(?:signals?|cop(?:y|ies)|dots)?\s*(?:/|per)\s*(?:cell|nucle)", re.I)


def _read_totals(masked: _Masked, facts: Her2Facts, priority: int) -> None:
    """Signal totals over a stated number of nuclei ("signals counted in 40 nuclei: HER2 = 88, CEP17 = 52";
    "total HER2 signals: 284"): the mean per cell is the total over the nuclei, and the ratio is the ratio
    of the totals (exact counts, so it is computed only from them)."""
    counted = g.NUCLEI_COUNT_RE.search(masked.original)
    if counted is not None:
        facts.nuclei = int(
            counted.group("n") or counted.group("n2") or counted.group("n3") or counted.group("n4")
        )
        if counted.group("n4"):
            masked.blank(*counted.span())  # "NUCLEI SCORED: 20" is a count of nuclei, not of signals
    # "HER2 signals: 48" is a total when the nuclei counted are stated, in this statement or an earlier one.
    patterns = [g.TOTAL_SIGNALS_RE] + ([g.PLAIN_TOTAL_RE] if facts.nuclei is not None else [])
    nuclei = facts.nuclei
    if nuclei is None or nuclei < 2:
        # Without the nuclei counted, a whole number of 20 or more signals with no per-cell unit is a total
        # that cannot be turned into a mean: it is not read as one.
        for match in g.PLAIN_TOTAL_RE.finditer(masked.text):
            if float(match.group("total")) >= 20 and not _PER_CELL_AFTER_RE.match(masked.text, match.end()):
                probe = "cep17" if g.CEP17_WORD_RE.match(match.group("probe")) else "her2"
                facts.totals[probe] = float(match.group("total"))
                masked.blank(*match.span())
        return
    for pattern in patterns:
        for match in masked.take(pattern):
            total = float(match.group("total"))
            probe = "cep17" if g.CEP17_WORD_RE.match(match.group("probe")) else "her2"
            target = facts.cep17_per_cell if probe == "cep17" else facts.her2_per_cell
            target.append((priority - 1, round(total / nuclei, 2)))
            facts.totals[probe] = total


#: A threshold a count is compared with ("copy number exceeds 6.0 signals/nucleus", "≥ 6.0 per nucleus"):
#: the criterion, not a second count.
_THRESHOLD_RE = re.compile(r"(?:\bexceed(?:s|ed|ing)?\s+(?:the\s+)?|≥\s*|>=\s*)\d{1,2}(?:\.\d+)?", re.I)


def _read_ish_numbers_in(masked: _Masked, facts: Her2Facts, priority: int) -> None:
    masked.take(_THRESHOLD_RE)
    masked.take(g.OTHER_PROBE_RATIO_RE)
    masked.take(g.SPREAD_RE)
    _read_totals(masked, facts, priority)
    for match in masked.take(g.SIGNAL_TOTAL_RE):
        # "HER2 signals: 113 in 20 nuclei": a total over the nuclei counted; its mean per cell (5.65) gives
        # way to a mean the report states (5.7).
        nuclei = int(match.group("n"))
        total = float(match.group("total") or match.group("total2"))
        if nuclei >= 2 and total / nuclei <= 50:
            probe = match.group("probe") or match.group("probe2")
            target = facts.cep17_per_cell if g.CEP17_WORD_RE.match(probe) else facts.her2_per_cell
            target.append((priority - 1, round(total / nuclei, 2)))  # a stated mean is preferred
    for match in masked.take(g.RATIO_RE, first_only=True):
        facts.ratio.append((priority, _number(match.group(1))))
    for match in masked.take(g.CEP17_RE, first_only=True):
        facts.cep17_per_cell.append((priority, _number(match.group(1))))
    for match in g.HER2_COPIES_RE.finditer(masked.text):
        if g.COPY_WORD_RE.search(match.group("gap") or "") or match.group("unit"):
            facts.her2_per_cell.append((priority, _number(match.group(2))))  # group 1 is the gap
            masked.blank(*match.span())
            return
    for match in masked.take(g.PER_CELL_RE, first_only=True):
        facts.her2_per_cell.append((priority, _number(match.group(1))))
        return
    for match in masked.take(g.HER2_DECIMAL_RE, first_only=True):
        facts.her2_per_cell.append((priority, _number(match.group(1))))


def _group_number(token: str) -> int:
    return int(token) if token.isdigit() else g.ROMAN[token.upper()]


def _read_groups(masked: _Masked, facts: Her2Facts, priority: int, following: str = "") -> None:
    """Stated ISH group; after a recount cue the group named is the recount's; the new group stands (§4)."""
    # A recount still to be done names no group of its own ("a second count is required for group 4 … and is
    # now being performed").
    recount = None if recount_not_done(masked.original) else g.RECOUNT_RE.search(masked.original)
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
    elif (
        g.CONFIRM_RE.search(masked.original[recount.start() :])
        # "Observer B (blinded): HER2 5.3/cell, ratio 1.55; concordant.": the next clause of the sentence
        or g.CONFIRM_RE.search(following.lstrip(" ;").split(";")[0])
        or facts.recount_group is not None
    ):
        facts.recount_confirmed = True


def _read_phrases(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Amplification and overexpression phrases."""
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


#: A share of 1–99 % right after or before "no staining": a part of the cells, not the whole tumour.
_PART_SHARE_AFTER_RE: Final = re.compile(
    r"\s*(?:in|of|:|=|-|\()?\s*(?:<|>|≤|≥|about|approx\.?|~)?\s*[1-9]\d?(?:\.\d+)?\s*%", re.IGNORECASE
)
#: The same for a table row flattened to fields ("Membrane pattern: No staining; Intensity: -; % invasive
#: cells: 98%"): the row's share field, after at most three other fields of the row.
_ROW_SHARE_AFTER_RE: Final = re.compile(
    r"(?:\s*;\s*[^;:\n]{1,40}:[^;\n]{0,40}?){0,3}?\s*;\s*[^;:\n]{0,40}(?:%|percent|proportion|share)[^;:\n]{0,40}:"
    r"\s*(?:<|>|≤|≥|about|approx\.?|~)?\s*[1-9]\d?(?:\.\d+)?\s*%",
    re.IGNORECASE,
)
_PART_SHARE_BEFORE_RE: Final = re.compile(
    r"(?<![\d.])[1-9]\d?(?:\.\d+)?\s*%\s*(?:of\s+(?:the\s+)?(?:\w+\s+){0,3}cells)?\s*(?:with|show\w*|:|=|-)?\s*$",
    re.IGNORECASE,
)


def _read_zero_cues(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Ultralow and null terms and cues (§8); "HER2-null" and "0+" also state the score 0."""
    priority = _score_priority(ctx)
    masked.take(g.NOT_ULTRALOW_RE)  # "ultralow criteria not met": the term, denied
    if masked.take(g.ULTRALOW_RE):
        facts.zero_cues.append((priority, IhcZeroSubtype.ULTRALOW))
        facts.scores.append((priority, IhcScore.ZERO))
    if masked.take(g.WITH_STAINING_RE):
        facts.zero_cues.append((priority, IhcZeroSubtype.ULTRALOW))
    if masked.take(g.NULL_TERM_RE):
        facts.zero_cues.append((priority, IhcZeroSubtype.NULL))
        facts.scores.append((priority, IhcScore.ZERO))
    for match in g.NULL_RE.finditer(masked.text):
        if _ONLY_COMPLETE_RE.search(match.group(0)) or (
            _STAINING_FIRST_RE.match(match.group(0))
            and _QUALIFIED_BEFORE_RE.search(masked.text[max(0, match.start() - 40) : match.start()])
        ):
            # "no complete membrane staining", "complete membrane staining: absent" leave incomplete or
            # weaker staining possible: not null
            continue
        if (
            _PART_SHARE_AFTER_RE.match(masked.text, match.end())
            or _ROW_SHARE_AFTER_RE.match(masked.original + ctx.following, match.end())
        ) or _PART_SHARE_BEFORE_RE.search(masked.text[max(0, match.start() - 30) : match.start()]):
            continue  # "no staining 90%", "90% of cells: no staining": the other cells may stain, not null
        if not g.DEFINITION_ALTERNATIVE_RE.search(masked.text[max(0, match.start() - 8) : match.start()]):
            facts.zero_cues.append((priority, IhcZeroSubtype.NULL))
            if _STAINING_WORD_RE.search(match.group(0)):
                # "no membrane staining": a description of the staining, with a share of 0 % (§3).
                facts.shares.append((priority, Share(Pattern.ANY, 0.0)))
            break


# ----------------------------------------------------------------------------------------------------------
# Staining shares and scores


def _share(match: re.Match[str]) -> float | None:
    """The share a PCT or QUANTITY match states (0–100); comparisons become a value on the stated side."""
    quantity = match.groupdict().get("quantity")
    if quantity:
        return next((share for pattern, share in g.QUANTITY_SHARES if pattern.search(quantity)), None)
    value = match.group("value")
    if value is None:
        return None
    number = _number(match.group("upper") or value)
    comparison = (match.group("cmp") or "").lower()
    if comparison in ("<", "less than", "fewer than", "under", "below"):
        number = number - 1.0 if number > 1.0 else number / 2.0
    elif comparison in (">", "more than", "greater than", "over", "above"):
        number = min(100.0, number + 1.0)
    return number if 0.0 <= number <= 100.0 else None


def _pattern(descriptors: str) -> Pattern | None:
    """The membrane pattern a description names (None when it is not one of the §3 patterns)."""
    complete = bool(g.COMPLETE_RE.search(descriptors)) and not g.INCOMPLETE_RE.search(descriptors)
    incomplete = bool(g.INCOMPLETE_RE.search(descriptors))
    intense = bool(g.INTENSE_RE.search(descriptors))
    moderate = bool(g.MODERATE_RE.search(descriptors))
    faint = bool(g.FAINT_RE.search(descriptors))
    if complete:
        return Pattern.COMPLETE_INTENSE if intense and not (faint or moderate) else Pattern.COMPLETE_OTHER
    if incomplete and (intense or moderate):
        return Pattern.INCOMPLETE_MODERATE_INTENSE
    if faint and not (intense or moderate):
        return Pattern.INCOMPLETE_FAINT
    return None


def _score_token(token: str) -> IhcScore:
    digits = re.sub(r"[^0-3+]", "", token)
    if set(digits) == {"+"}:
        return g.WORD_SCORES[digits]
    return g.WORD_SCORES[digits.replace("+", "")]


def _read_staining(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Shares per staining pattern, from descriptions and from scores tied to shares (components)."""
    priority = _score_priority(ctx)
    labels = _read_descriptions(masked, facts, priority)
    masked.take(g.REGION_REFERENCE_RE)
    for pattern_re in g.COMPONENT_RES:
        for match in pattern_re.finditer(masked.text):
            share = _share(match)
            if share is None:
                continue
            score = _score_token(match.group("score"))
            facts.shares.append((priority, Share(COMPONENT_PATTERN[score], share)))
            masked.blank(*match.span())
    for pattern_re in g.COMPONENT_REST_RES:
        for match in pattern_re.finditer(masked.text):
            score = _score_token(match.group("score"))
            facts.shares.append((priority, Share(COMPONENT_PATTERN[score], None)))
            masked.blank(*match.span())
    if len(set(labels)) == 1:
        # "intense complete staining (3+) in 8 %": the report names the score of the pattern it describes.
        facts.scores.append((priority, labels[0]))


def _read_fields(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """Intensity, completeness and share written as separate fields (one per line, or in one line); once all
    three are known they make one staining description, like "weak incomplete staining in 40 %"."""
    for name, field_re in g.FIELD_RES:
        for match in masked.take(field_re, first_only=True):
            value = match.group("value") if name != "share" else str(_share(match))
            if name in facts.fields:
                # A field given again starts the next description (the next row of an intensity and
                # percentage grid): the fields of an unfinished one do not carry into it.
                facts.fields.clear()
            facts.fields[name] = (_score_priority(ctx), value)
    if len(facts.fields) < 3:
        return
    priority = max(p for p, _ in facts.fields.values())
    share = facts.fields["share"][1]
    described = _pattern(f"{facts.fields['intensity'][1]} {facts.fields['completeness'][1]}")
    facts.fields.clear()
    if described is not None and share != "None":
        facts.shares.append((priority, Share(described, float(share))))


def _read_descriptions(masked: _Masked, facts: Her2Facts, priority: int) -> list[IhcScore]:
    """Staining descriptions with a share of cells; returns the score labels written inside them."""
    labels: list[IhcScore] = []
    for pattern_re in (g.STAINING_PCT_RE, g.PCT_STAINING_RE, g.CELLS_PCT_STAINING_RE):
        for match in pattern_re.finditer(masked.text):
            before = masked.text[max(0, match.start() - 8) : match.start()]
            if g.DEFINITION_ALTERNATIVE_RE.search(before) or re.match(r"\s*or\s", match.group("desc")):
                continue  # "no staining or faint incomplete staining in ≤10 %": the definition of IHC 0
            share = _share(match)
            pattern = (
                Pattern.ANY if g.ANY_STAINING_RE.search(match.group(0)) else _pattern(match.group("desc"))
            )
            if share is None or pattern is None or (pattern is Pattern.ANY and share > 0):
                continue
            facts.shares.append((priority, Share(pattern, share)))
            found = g.SCORE_PLUS_RE.search(match.groupdict().get("label") or "")
            if found:
                labels.append(_score_token(found.group(0)))
            masked.blank(*match.span())
    return labels


def _read_scores(masked: _Masked, facts: Her2Facts, ctx: StatementContext) -> None:
    """IHC scores: ranges first, then "n+", labelled scores and bare zeros."""
    priority = _score_priority(ctx)
    masked.take(g.SCALE_RE)
    masked.take(g.SCORE_LIST_RE)
    for match in masked.take(g.RANGE_RE):
        low, high = g.WORD_SCORES[match.group(1)], g.WORD_SCORES[match.group(2)]
        if int(match.group(1)) < int(match.group(2)):
            facts.ranges.append((priority, low, high))
    for match in masked.take(g.SCORE_PLUS_RE):
        facts.scores.append((priority, _score_token(match.group(0)) if not match.group(2) else _word(match)))
    for match in masked.take(g.SCORE_LABELLED_RE):
        facts.scores.append((priority, g.WORD_SCORES[next(x for x in match.groups() if x).lower()]))
    for _ in masked.take(g.ZERO_BARE_RE):
        facts.scores.append((priority, IhcScore.ZERO))


def _word(match: re.Match[str]) -> IhcScore:
    return g.WORD_SCORES[match.group(2).lower()]


def _read_statuses(
    masked: _Masked, facts: Her2Facts, ctx: StatementContext, events: list[tuple[int, Mode]]
) -> None:
    """Status words, attributed to IHC, ISH or the overall result by the wording before them."""
    for match in masked.take(g.STATUS_RE):
        token = (match.group(1) or match.group(2) or match.group(3) or match.group(4) or "").lower()
        if "+" in (match.group(2), match.group(3), match.group(4)):
            # "HER2 (+)", "c-erbB-2 +": a plus sign alone stands for "positive" in some laboratories and for
            # 1+ in others (the "+/++/+++" convention); it is no basis for either (the safety rule).
            facts.plus_sign = True
            continue
        status = g.STATUS_WORDS[token]
        mode = _mode_at(events, match.start(), ctx.start_mode)
        if g.DISEASE_LABEL_RE.match(masked.original, match.end()):
            # "HER2-positive breast cancer", "HER2-negative disease": a label of the disease (often from the
            # history), weaker than any test; a positive label is never a basis and is not read at all.
            if status is not ReportedStatus.POSITIVE:
                facts.statuses.append((ctx.bonus, status))
            continue
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
