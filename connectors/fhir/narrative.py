"""Narrative pathology reports → HER2 and ER/PR domain objects (pure: text in, frozen domain objects out).

Reads what a report *states* about HER2 (ASCO/CAP 2018, reaffirmed 2023; ``spec/clinical-logic.md``
§3–§8, cues in §10) and ER/PR (ASCO/CAP 2020); :mod:`rules.her2` classifies. The phrase grammar is
:mod:`connectors.fhir.narrative_grammar`, the statement reader :mod:`connectors.fhir.narrative_extract`.

How a report is read:

1. The text is cut into lines, sentences (not at decimals or "e.g.") and clauses (``;`` outside brackets).
2. Each clause is cut into *statements*, one per marker (HER2, ER, PR, or another marker such as Ki-67 that
   ends a HER2 statement). A statement without a marker continues the previous one ("HER2 IHC 2+ (equivocal).
   Reflex FISH to follow."); ISH wording alone makes a HER2 statement. Blank lines and section headers end it.
3. Text that is never a result is skipped: the 2023 reporting comment on eligibility for therapy targeting low
   HER2 expression, therapy/trial wording, clinical history, control statements, and DCIS/LCIS staining (only
   the invasive component is scored, §2).
4. Statements are attributed to a specimen: the one passed in, or a prior specimen the text names ("Previous
   core biopsy (S24-1234): HER2 3+", "performed on prior core biopsy S25-00123"), so that the rules can keep
   provenance and flag discordance (§6).
5. Facts are merged per specimen. "FINAL HER2 STATUS" lines beat summary lines, which beat a single test's
   wording; addenda beat the original text; an ISH recount's new group stands (§4). Two different answers
   at the same level are a conflict.

What the grammar cannot read is never guessed: a HER2 statement with result wording that yields no fact (or
conflicting facts) gives a :class:`~rules.domain.Her2Result` with ``unparsed=True``, no score and the text as
``excerpt`` (the rules make it indeterminate), and the excerpt is listed in :attr:`NarrativeReading.unparsed`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Final

from connectors.fhir import narrative_grammar as g
from connectors.fhir.narrative_extract import (
    PRIORITY_ADDENDUM,
    Her2Facts,
    Mode,
    SentenceKind,
    StatementContext,
    read_her2_statement,
    read_receptor_statement,
)
from connectors.fhir.narrative_html import html_to_text
from connectors.fhir.narrative_results import build_her2_result
from rules.domain import Her2Result, Receptor, ReceptorResult, SourceRef, SpecimenRef

__all__ = ["NarrativeReading", "html_to_text", "parse_report_text"]

#: Note attached to a result measured on a specimen other than the report's own.
PRIOR_SPECIMEN_NOTE: Final = "measured on a prior specimen named in the report text"
ELIGIBILITY_NOTE: Final = (
    "a reporting comment on therapy eligibility was not read as a result (ASCO/CAP 2023)"
)
IN_SITU_NOTE: Final = (
    "a statement about carcinoma in situ was ignored (only the invasive component is scored)"
)
_ELIGIBILITY_RE: Final = re.compile(
    r"eligib|deruxtecan|T-?DXd|enhertu|low\s+(?:levels?\s+of\s+)?HER-?2", re.I
)
_TEXT_LIMIT: Final = 200_000


@dataclass(frozen=True, slots=True, kw_only=True)
class NarrativeReading:
    """What one report text states: HER2 results per specimen, ER/PR results, and HER2 text not understood."""

    her2: tuple[Her2Result, ...]
    receptors: tuple[ReceptorResult, ...]
    unparsed: tuple[str, ...]


class Topic(Enum):
    HER2 = "HER2"
    ER = "ER"
    PR = "PR"
    OTHER = "other"


#: Specimen key: ``None`` for the report's own specimen, else the prior specimen's accession ("": unnamed).
_Key = str | None


@dataclass
class _Specimen:
    key: _Key
    ref: SpecimenRef
    facts: Her2Facts = field(default_factory=Her2Facts)


@dataclass
class _State:
    """Reading state carried from clause to clause and line to line."""

    current: SpecimenRef
    specimens: dict[_Key, _Specimen] = field(default_factory=dict)
    receptors: list[ReceptorResult] = field(default_factory=list)
    topic: Topic | None = None
    mode: Mode = Mode.OVERALL
    section_key: _Key = None
    last_prior: str = ""
    bonus: int = 0
    notes: list[str] = field(default_factory=list)

    def specimen(self, key: _Key, collected: dt.date | None = None) -> _Specimen:
        if key not in self.specimens:
            ref = self.current
            if key is not None:
                ref = SpecimenRef(id=key or None, collected=collected, description=PRIOR_SPECIMEN_NOTE)
            self.specimens[key] = _Specimen(key=key, ref=ref)
        return self.specimens[key]


def parse_report_text(
    text: str,
    *,
    source: SourceRef | None = None,
    specimen: SpecimenRef | None = None,
    reported: dt.date | None = None,
) -> NarrativeReading:
    """Read a narrative pathology report (plain text; see :func:`html_to_text` for HTML).

    ``specimen`` is the report's own specimen; results the text attributes to a prior specimen get a
    :class:`SpecimenRef` with that accession and a note. ``source`` and ``reported`` (the report's issue
    date) are copied onto every result. Never raises on any text; text beyond 200,000 characters is not
    read (a pathology report is a few kilobytes).
    """
    state = _State(current=specimen or SpecimenRef())
    for line in _normalise(text[:_TEXT_LIMIT]).split("\n"):
        _read_line(line, state)
    her2: list[Her2Result] = []
    unparsed: list[str] = []
    for item in state.specimens.values():
        built = build_her2_result(
            item.facts,
            specimen=item.ref,
            prior=item.key is not None,
            source=source,
            reported=reported,
            report_notes=tuple(dict.fromkeys(state.notes)),
        )
        if built is not None:
            her2.append(built.result)
            unparsed.extend(built.unparsed)
    receptors = tuple(dict.fromkeys(replace(r, source=source, reported=reported) for r in state.receptors))
    return NarrativeReading(her2=tuple(her2), receptors=receptors, unparsed=tuple(dict.fromkeys(unparsed)))


def _normalise(text: str) -> str:
    """Unify dashes, spaces and line ends so that the grammar needs one spelling of each."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = text.replace("\u00a0", " ").replace("\t", " ").replace("\u2265", "≥").replace("\u2264", "≤")
    return text.replace("&gt;", ">").replace("&lt;", "<")


# ----------------------------------------------------------------------------------------------------------
# Lines, sentences, clauses


def _read_line(line: str, state: _State) -> None:
    stripped = line.strip()
    if not stripped:
        state.topic, state.mode = None, Mode.OVERALL
        return
    if g.ADDENDUM_RE.match(stripped):
        state.bonus = PRIORITY_ADDENDUM
    if g.HEADER_LINE_RE.search(stripped):
        key = _specimen_cue(stripped, state)
        state.section_key = key[0] if key is not None else None
        if not _has_marker(stripped) and not re.search(
            r"result|score|interpret|status|ratio|signal|group|intensity|percent|staining|antibody|clone|ISH|IHC",
            stripped,
            re.I,
        ):
            state.topic, state.mode = None, Mode.OVERALL
            return
    for sentence in _sentences(stripped):
        _read_sentence(sentence, state)


def _sentences(line: str) -> list[str]:
    """Split at ". ", "! ", "? " except after abbreviations ("e.g.", "approx.") and inside decimals."""
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"(?<=[.!?])\s+", line):
        before = line[start : match.start() - 1]
        last_word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if last_word.strip("(") in g.ABBREVIATIONS:
            continue
        sentences.append(line[start : match.start()].strip())
        start = match.end()
    sentences.append(line[start:].strip())
    return [s for s in sentences if s]


def _clauses(sentence: str) -> list[str]:
    """Split at semicolons outside brackets."""
    clauses: list[str] = []
    depth, start = 0, 0
    for index, char in enumerate(sentence):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif char == ";" and depth == 0:
            clauses.append(sentence[start:index])
            start = index + 1
    clauses.append(sentence[start:])
    return [c.strip() for c in clauses if c.strip()]


def _sentence_kind(sentence: str) -> SentenceKind:
    if g.FINAL_RE.match(sentence):
        return SentenceKind.FINAL
    if g.SUMMARY_RE.match(sentence):
        return SentenceKind.SUMMARY
    return SentenceKind.NORMAL


def _read_sentence(sentence: str, state: _State) -> None:
    sentence_kind = _sentence_kind(sentence)
    sentence_key: tuple[_Key, dt.date | None] | None = None
    for clause in _clauses(sentence):
        kind = sentence_kind if sentence_kind is not SentenceKind.NORMAL else _sentence_kind(clause)
        cue = _specimen_cue(clause, state)
        if cue is not None:
            sentence_key = cue
        key, collected = sentence_key if sentence_key is not None else (state.section_key, None)
        comment = g.NOT_A_RESULT_RE.search(clause)
        if comment is not None:
            if _ELIGIBILITY_RE.search(clause):
                state.notes.append(ELIGIBILITY_NOTE)
            kept = _result_before_comment(clause, comment.start())
            state.topic, state.mode = None, Mode.OVERALL  # what follows continues the comment
            if not kept:
                continue
            clause = kept
        invasive = _without_in_situ(clause)
        if invasive != clause and _is_her2_in_situ_statement(clause):
            state.notes.append(IN_SITU_NOTE)
        if invasive.strip():
            _read_clause(invasive, sentence, kind, state.specimen(key, collected), state)


def _result_before_comment(clause: str, start: int) -> str:
    """A single-score result written before an inline comment ("HER2: 1+ (HER2-low), may qualify for T-DXd").

    Only a clause that opens with a HER2 marker, names one IHC score in all, and has a separator (``,``,
    ``(``, ``:``, `` - ``) before the comment keeps its opening part; the reporting comment "IHC 1+ and
    2+/ISH-negative results may indicate eligibility ..." names two scores and is dropped whole.
    """
    marker = g.HER2_RE.match(clause.lstrip())
    if marker is None or len(g.SCORE_PLUS_RE.findall(clause)) + len(g.RANGE_RE.findall(clause)) != 1:
        return ""
    cut = max(clause.rfind(sep, 0, start) for sep in (",", "(", ":", " - "))
    prefix = clause[:cut] if cut > 0 else ""
    return prefix if g.SCORE_PLUS_RE.search(prefix) else ""


def _without_in_situ(clause: str) -> str:
    """Drop the parts of a clause about DCIS/LCIS ("DCIS shows 3+ staining", "1+ in invasive, 3+ in DCIS")."""
    if not g.IN_SITU_RE.search(clause):
        return clause
    parts = re.split(r"(,|\(|\bwhile\b|\bwhereas\b|\bbut\b|\band\b)", clause)
    kept = [part for part in parts if not g.IN_SITU_RE.search(part)]
    return "".join(kept)


def _is_her2_in_situ_statement(text: str) -> bool:
    """Whether dropped in-situ text spoke about HER2 staining (worth a note), not merely the diagnosis."""
    return bool(g.HER2_RE.search(text) or g.SCORE_PLUS_RE.search(text) or re.search(r"stain", text, re.I))


# ----------------------------------------------------------------------------------------------------------
# Specimens


def _specimen_cue(text: str, state: _State) -> tuple[_Key, dt.date | None] | None:
    """The specimen a clause names: a prior specimen (with its accession if given) or the report's own."""
    prior = g.PRIOR_RE.search(text)
    current = g.CURRENT_RE.search(text)
    if prior is None and current is None:
        return None
    if prior is None or (current is not None and current.start() < prior.start()):
        return None, None
    accession = min(g.ACCESSION_RE.finditer(text), key=lambda m: abs(m.start() - prior.end()), default=None)
    name = accession.group(1) if accession is not None else state.last_prior
    if name and name == state.current.id:
        return None, None
    if accession is not None:
        state.last_prior = name
    collected = None
    date = g.ISO_DATE_RE.search(text)
    if date is not None:
        try:
            collected = dt.date(int(date.group(1)), int(date.group(2)), int(date.group(3)))
        except ValueError:
            collected = None
    return name, collected


# ----------------------------------------------------------------------------------------------------------
# Statements


_MARKERS: Final = (
    (g.HER2_RE, Topic.HER2),
    (g.ER_RE, Topic.ER),
    (g.PR_RE, Topic.PR),
    (g.OTHER_MARKER_RE, Topic.OTHER),
)


def _has_marker(text: str) -> bool:
    return any(pattern.search(text) for pattern, _ in _MARKERS)


def _statements(clause: str, inherited: Topic | None) -> list[tuple[Topic | None, str, bool]]:
    """Cut a clause into (topic, text, names a marker) statements, one per marker."""
    found = sorted(
        ((m.start(), m.end(), topic) for pattern, topic in _MARKERS for m in pattern.finditer(clause))
    )
    markers: list[tuple[int, int, Topic]] = []
    for start, end, topic in found:
        if markers and start < markers[-1][1]:
            continue
        if markers and markers[-1][2] is topic:
            markers[-1] = (markers[-1][0], end, topic)
            continue
        markers.append((start, end, topic))
    if not markers:
        own: Topic | None = Topic.HER2 if g.ISH_WORD_RE.search(clause) else inherited
        return [(own, clause, False)]
    statements: list[tuple[Topic | None, str, bool]] = []
    cuts = [0]
    for index in range(1, len(markers)):
        previous_end, start = markers[index - 1][1], markers[index][0]
        separator = max(clause.rfind(sep, previous_end, start) for sep in ",;(")
        cuts.append(separator if separator >= 0 else start)
    prefix = clause[: markers[0][0]]
    separator = max(prefix.rfind(","), prefix.rfind(";"))
    if inherited is not None and inherited is not markers[0][2] and separator >= 0:
        statements.append((inherited, prefix[:separator], False))
        cuts[0] = separator
    cuts.append(len(clause))
    for index, (_, _, topic) in enumerate(markers):
        statements.append((topic, clause[cuts[index] : cuts[index + 1]], True))
    return statements


def _read_clause(clause: str, sentence: str, kind: SentenceKind, target: _Specimen, state: _State) -> None:
    pending_receptors: list[Receptor] = []
    for topic, text, named in _statements(clause, state.topic):
        if topic is None or not text.strip(" ,;"):
            continue
        if named:
            state.mode = Mode.OVERALL
        state.topic = topic
        if topic is Topic.HER2:
            _read_her2(text, sentence, kind, target, state, named=named)
        elif topic in (Topic.ER, Topic.PR):
            _read_receptor(Receptor(topic.value), text, target, state, pending_receptors, named=named)
        else:
            state.mode = Mode.OVERALL


def _read_her2(
    text: str, sentence: str, kind: SentenceKind, target: _Specimen, state: _State, *, named: bool
) -> None:
    ctx = StatementContext(start_mode=state.mode, kind=kind, bonus=state.bonus)
    found, state.mode = read_her2_statement(text, target.facts, ctx)
    explicit = named or bool(g.ISH_WORD_RE.search(text))
    if found:
        if sentence not in target.facts.excerpts:
            target.facts.excerpts.append(sentence)
    elif explicit and g.RESULT_VOCAB_RE.search(text) and sentence not in target.facts.not_understood:
        target.facts.not_understood.append(sentence)


def _read_receptor(
    receptor: Receptor, text: str, target: _Specimen, state: _State, pending: list[Receptor], *, named: bool
) -> None:
    """Read an ER/PR statement; "ER/PR positive (90%/40%)" shares the call and splits the percentages."""
    reading = read_receptor_statement(text)
    if reading.is_empty():
        pending.append(receptor)
        return
    last = state.receptors[-1] if state.receptors else None
    if not named and last is not None and last.receptor is receptor and last.specimen == target.ref:
        # A continuation line ("Percent of cells with nuclear positivity: 95%") completes the statement above.
        state.receptors[-1] = replace(
            last,
            percent=last.percent if last.percent is not None else reading.percent,
            reported_positive=last.reported_positive
            if last.reported_positive is not None
            else reading.positive,
        )
        return
    names = [*pending, receptor]
    pending.clear()
    percents: list[float | None] = [reading.percent]
    if len(names) > 1:
        values = [float(v) for v in re.findall(r"(\d{1,3}(?:\.\d+)?)\s*%", text)]
        percents = (
            [v if v <= 100.0 else None for v in values] if len(values) == len(names) else [None] * len(names)
        )
    for name, percent in zip(names, percents, strict=False):
        state.receptors.append(
            ReceptorResult(
                receptor=name, percent=percent, reported_positive=reading.positive, specimen=target.ref
            )
        )
