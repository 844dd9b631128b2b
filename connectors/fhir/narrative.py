"""Narrative pathology reports → HER2 and ER/PR domain objects (pure: text in, frozen domain objects out).

Reads what a report *states* about HER2 (ASCO/CAP 2018, reaffirmed 2023; ``spec/clinical-logic.md``
§3–§8, cues in §10) and ER/PR (ASCO/CAP 2020); :mod:`rules.her2` classifies.

How a report is read:

1. Text: :mod:`connectors.fhir.narrative_text` normalises signs and numbers (decimal commas, thousands
   separators, ``≥``/``≤``, dashes), flattens tables and joins wrapped lines.
2. Sections: :mod:`connectors.fhir.narrative_sections` follows headers. Clinical history and interpretive
   criteria are never this specimen's result; methods give only the assay; carcinoma in situ is not scored
   (§2); an addendum supersedes what came before it (§6, §10).
3. Sentences and clauses: lines are cut into sentences (not at decimals or "e.g.") and clauses (``;`` outside
   brackets). Each clause gets its assertion context (:mod:`connectors.fhir.narrative_context`): quoted
   history, hypothetical wording, guideline criteria, eligibility and therapy comments, control statements
   and "not performed" are not results. Segments about carcinoma in situ are dropped.
4. Statements: a clause is cut into one statement per marker (HER2, ER, PR, or another marker such as Ki-67,
   E-cadherin or the Nottingham grade, whose scores and intensities are its own). A statement without a
   marker continues the previous one ("HER2 IHC 2+ (equivocal). Reflex FISH to follow."); ISH or recount
   wording alone makes a HER2 statement. Blank lines, headers and footnotes end it.
5. Specimens: a statement naming a prior specimen ("Previous core biopsy (S24-1234): HER2 3+") is attributed
   to it, so that the rules keep provenance and flag discordance (§6); a prior specimen named only as what a
   result is compared with ("3+, concordant with the pre-treatment biopsy"), or in an aside with its own
   result after the report's ("HER2: 1+ (previous core biopsy: 3+)"), does not take the statement. A report
   with no HER2 result of its own gives none from the prior specimens it quotes (indeterminate), unless it
   reports its own tests done on the earlier block under a header naming it.
6. Facts (:mod:`connectors.fhir.narrative_extract`) are merged per specimen
   (:mod:`connectors.fhir.narrative_results`): "FINAL HER2 STATUS" lines beat summary lines, which beat a
   single test's wording; addenda beat the original text; an ISH recount's new group stands (§4). Two
   different answers at the same level are a conflict.

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
from connectors.fhir import narrative_sections as s
from connectors.fhir.narrative_context import (
    AMPLIFICATION_RE,
    CRITERION_RE,
    HISTORICAL_RE,
    ISH_METHOD_RE,
    NOT_PERFORMED_RE,
    SEQUENCING_RE,
    Assertion,
    AssertionReader,
    GrammarAssertions,
    criterion_sentence,
    legend_lines,
)
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
from connectors.fhir.narrative_lexicon import is_foreign
from connectors.fhir.narrative_results import build_her2_result
from connectors.fhir.narrative_sections import Section
from connectors.fhir.narrative_text import Line, report_lines, starts_new_item
from rules.domain import (
    Her2Result,
    IhcScore,
    Receptor,
    ReceptorResult,
    ReportedStatus,
    SourceRef,
    SpecimenRef,
)

__all__ = ["AssertionReader", "NarrativeReading", "html_to_text", "parse_report_text"]

#: Note attached to a result measured on a specimen other than the report's own.
PRIOR_SPECIMEN_NOTE: Final = "measured on a prior specimen named in the report text"
ELIGIBILITY_NOTE: Final = (
    "a reporting comment on therapy eligibility was not read as a result (ASCO/CAP 2023)"
)
IN_SITU_NOTE: Final = (
    "a statement about carcinoma in situ was ignored (only the invasive component is scored)"
)
HISTORY_NOTE: Final = (
    "an earlier result quoted in the report (history) was not read as this specimen's result"
)
NO_RESIDUAL_NOTE: Final = (
    "no residual invasive carcinoma in this specimen: a HER2 result quoted for an earlier specimen is not "
    "this specimen's result"
)
IN_ERROR_NOTE: Final = "a value the report states was issued in error was not read; the corrected value was"
CRITERIA_NOTE: Final = "guideline criteria quoted in the report were not read as a result"
NOT_TESTED_NOTE: Final = "the report states that HER2 was not tested on this specimen"
OTHER_METHOD_NOTE: Final = (
    "HER2 measured by another method (sequencing, RNA or blood test) was not read: ASCO/CAP results are "
    "tissue IHC and ISH"
)
FOREIGN_NOTE: Final = (
    "the report is written in another language: its result and staining words were read in English (the "
    "excerpt shows them so)"
)
_TEXT_LIMIT: Final = 200_000
#: Words that say a statement carries a result, used to tell an unreadable result from a passing mention.
_RESULT_VOCAB_RE: Final = re.compile(
    r"positiv|negativ|equivocal|borderline|amplif|express|\d\s*\+|\bscore|\bratio|\bgroup\b|ultra|\blow\b|"
    r"\bzero\b|\bnull\b|indetermin|stain|\bplus\b|(?<![\w./-])[0-3](?![\w./-])|\bneg\b|\bpos\b|"
    r"\bsignals?\b|\bcop(?:y|ies)\b|\d\.\d|\(\s*\+\s*\)|(?<![\w+])\+(?![\w+])|"
    r"(?<=[A-Za-z0-9])\+(?=[\s,;.)/|]|$)",
    re.IGNORECASE,
)
#: A header leading into staining rows ("INVASIVE TUMOR CELLS WITH:", "Percentage of tumour cells showing:").
_CELLS_LEAD_RE: Final = re.compile(
    r"\W*(?:(?:percent(?:age)?|proportion|share|%)\s+of\s+)?(?:(?:invasive|infiltrating)\s+)?"
    r"(?:(?:tumou?r|carcinoma|neoplastic|cancer)\s+)?cells?\s+(?:with|showing|demonstrating|exhibiting)\s*:\s*$",
    re.IGNORECASE,
)
_MEMBRANE_RE: Final = re.compile(r"\bmembran", re.IGNORECASE)
#: Words of a nuclear stain or its read-out, in any language: such a line is not HER2's by default.
_OTHER_STAIN_RE: Final = re.compile(
    r"recept|rezept|r[ée]cept|estr|oestr|[öo]str|progest|androg|ki-?\s?67|mib-?1|nucle|nukle|allred|h-?score|"
    r"intensi|e-?cad",
    re.IGNORECASE,
)
_ANSWER_START_RE: Final = re.compile(r"(?:yes|no|none|absent|present|not\s+\w+)\b", re.IGNORECASE)
_ASIDE_RE: Final = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
#: A bracketed cut-off with its figure ("(below the 10% threshold for 1+)", "(cut-off > 10 %)").
_CUT_OFF_ASIDE_RE: Final = re.compile(
    r"\b(?:threshold|cut-?\s?off|cutoff)\b.*\d|\d.*\b(?:threshold|cut-?\s?off)\b", re.I
)
_CONTROL_WORD_RE: Final = re.compile(r"\bcontrols?\b", re.IGNORECASE)
_EARLIER_RE: Final = re.compile(
    r"\b(?:previous(?:ly)?|prior|earlier|original(?:ly)?|outside|primary|reported|referring)\b", re.IGNORECASE
)
_CLOSED_RE: Final = re.compile(r"[.!?]\s*$")
#: A result placed on a specimen ("… on the excision (S26-…)", "in the metastasis (S24-…)", "see S24-…").
_ON_SPECIMEN_RE: Final = re.compile(r"\b(?:on|in|from|of|see|for)\b[^.;]*$", re.IGNORECASE)
_HER2_LABEL_RE: Final = re.compile(
    r"^\W*(?:HER-?2|ERBB2|c-?erb\S*)(?:/neu)?(?:\s+(?:IHC|immunohistochemistry|\(\w+\)))*\s*:", re.IGNORECASE
)
#: HER2 testing as a whole (not one method, not a reflex) stated as not done on this specimen.
_NOT_TESTED_RE: Final = re.compile(
    r"\b(?:HER-?2|testing|biomarkers?|receptors?)\b[^;]{0,40}\b(?:was|were|is|are|has\s+not\s+been|have\s+not\s+been)"
    r"\s*(?:not\s+)?(?:been\s+)?(?:not\s+)?(?:requested|repeated|performed|done|tested|ordered)\b|"
    r"\bnot\s+(?:requested|repeated|tested)\b|"
    # "Biomarkers: not performed on this specimen (no residual invasive tumour)"
    r"\b(?:HER-?2|testing|biomarkers?|receptors?|markers?)\b(?:(?!\b(?:IHC|[A-Z]{0,2}ISH)\b)[^;]){0,40}"
    r"\bnot\s+(?:performed|done|carried\s+out)\s+(?:on|for)\s+(?:this|the\s+(?:current|present|residual|"
    r"resection|surgical|excision))\b|"
    # "No HER2 testing has been performed on this specimen" ("not repeated" / "no repeat testing": see
    # _NOT_REPEATED_RE)
    r"\bno\s+(?:(?:HER-?2(?:/neu)?|ERBB2|c-?erbB-?2)\s+)?(?:testing|tests?|studies|biomarkers?)\s+"
    r"(?:(?:was|were|has|have)\s+)?"
    r"(?:been\s+)?(?:performed|done|repeated|requested|ordered)\b",
    re.IGNORECASE,
)
#: HER2 not tested again on this specimen: the earlier result stands ("no repeat HER2 testing", "HER2 was not
#: repeated on the resection", "biomarkers: not repeated").
_NOT_REPEATED_RE: Final = re.compile(
    r"\bnot\s+(?:been\s+)?repeated\b|\bno\s+(?:repeat(?:ed)?|further|additional)\s+"
    r"(?:(?:HER-?2(?:/neu)?|ERBB2|c-?erbB-?2)\s+)?"
    r"(?:testing|tests?|studies|biomarkers?|staining)\b|\bwithout\s+repeat",
    re.IGNORECASE,
)
#: A clause about the breast biomarker panel as a whole ("Biomarkers: not repeated"), which includes HER2.
_PANEL_RE: Final = re.compile(
    r"^\W*(?:(?:breast|tumou?r|prognostic|predictive)\s+)?(?:bio-?markers?|markers?\s+studies|receptor\s+studies|"
    r"(?:prognostic|predictive)\s+markers?|ER\s*/\s*PR\s*/\s*HER-?2)\b",
    re.IGNORECASE,
)
_CONCURRENT_IHC_RE: Final = re.compile(
    r"^\W*(?:concurrent|concomitant|corresponding|accompanying)\s+(?:HER-?2\s+)?(?:IHC|immunohisto\w*)\b",
    re.IGNORECASE,
)
_PERFORMED_ON_RE: Final = re.compile(
    r"\b(?:performed|tested|done|carried\s+out|assessed|run)\s+on\s+(?:the\s+)?(?:prior|previous|earlier|"
    r"pre-?treatment|diagnostic|original|initial)\b",
    re.IGNORECASE,
)
#: The same told of the earlier specimen in a sentence or a comment ("Comment: ER, PR and HER2 were
#: performed on the prior core biopsy (S26-…): … HER2 1+."): a quotation of its results, not a heading.
_PERFORMED_TOLD_RE: Final = re.compile(
    r"^\W*(?:comments?|notes?)\s*:|\b(?:was|were|had\s+been|has\s+been|have\s+been)\s+(?:\w+ly\s+)?"
    r"(?:performed|tested|done|carried\s+out|assessed|run)\s+on\b",
    re.IGNORECASE,
)
#: A separately counted tumour population (ISH heterogeneity).
_REGION_COUNT_RE: Final = re.compile(
    r"\bseparate(?:ly)?\s+(?:count\w*|enumerat\w*|scor\w*)|\bsub-?population\b|\b(?:amplified|distinct)\s+"
    r"(?:clone|population|area|region)|\bin\s+(?:that|this|the\s+(?:amplified|distinct))\s+(?:area|region|population|clone)",
    re.IGNORECASE,
)
#: The share of the tumour a population makes up ("~15 % of the invasive tumour", "20% of tumour cells").
_REGION_SHARE_RE: Final = re.compile(
    r"(\d{1,3}(?:\.\d+)?)\s*%\s*of\s+(?:the\s+)?(?:invasive\s+)?(?:tumou?r|carcinoma|cells|tumou?r\s+cells)\b",
    re.IGNORECASE,
)
#: The earlier version of this report quoted by label ("ORIGINAL REPORT: …", "Original diagnosis -").
_ORIGINAL_VERSION_RE: Final = re.compile(
    r"^\W*(?:the\s+)?original(?:ly)?\s+(?:report(?:ed)?|diagnosis|result|interpretation)s?\s*(?:\([^)]*\))?\s*"
    r"(?::|=|\s-\s)\s*",
    re.IGNORECASE,
)
_PROBE_RE: Final = re.compile(r"\b(single|dual)[-\s]?(?:probe|colou?r)\b", re.IGNORECASE)
#: A laboratory declaring its result unusable (not a general caution about decalcification or fixation).
_UNRELIABLE_RE: Final = re.compile(
    r"\b(?:this|the\s+(?:above|present|current))\s+(?:HER-?2\s+)?(?:(?:IHC|ISH|FISH)\s+)?"
    r"(?:result|finding|staining|score|test)?\s*(?:is|was)\s+(?:considered\s+)?"
    r"(?:not\s+reliable|unreliable|invalid|not\s+valid)\b|"
    r"\b(?:this|the\s+(?:above|present|current))\s+(?:HER-?2\s+)?(?:result|finding|score)\s+(?:\w+\s+){0,3}?"
    r"should\s+not\s+be\s+used\s+(?:for|in|to\s+guide)\s+(?:treatment|therap\w*|clinical|management)",
    re.IGNORECASE,
)
_SEGMENT_SPLIT_RE: Final = re.compile(r",|;|/(?=\s)|\bwhile\b|\bwhereas\b|\bbut\b|\band\b", re.IGNORECASE)


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
#: Key prefix of a part of a multi-part report that is kept as its own specimen.
_PART_KEY: Final = "\x00part:"


@dataclass
class _Specimen:
    key: _Key
    ref: SpecimenRef
    facts: Her2Facts = field(default_factory=Her2Facts)
    #: A prior specimen whose results the report gives under a header naming it (not quoted in a sentence).
    reported_here: bool = False


@dataclass
class _State:
    """Reading state carried from clause to clause and line to line."""

    current: SpecimenRef
    assertions: AssertionReader
    specimens: dict[_Key, _Specimen] = field(default_factory=dict)
    receptors: list[ReceptorResult] = field(default_factory=list)
    topic: Topic | None = None
    mode: Mode = Mode.OVERALL
    section_key: _Key = None
    #: The last sentence named an earlier specimen telling its results ("Comment: ER, PR and HER2 were
    #: performed on the prior core biopsy (…):"): the cue and whether it was told, for a line ending in ":".
    told_cue: tuple[_Key, dt.date | None] | None = None
    #: ``carried_cue`` comes from such a told sentence: what follows is its quotation, not a heading's.
    carried_told: bool = False
    last_prior: str = ""
    bonus: int = 0
    in_addendum: bool = False
    carried_cue: tuple[_Key, dt.date | None] | None = None
    last_dropped: bool = False
    open_drop: bool = False
    method_assay: str | None = None
    notes: list[str] = field(default_factory=list)
    part: str | None = None
    parts: dict[str, _Specimen] = field(default_factory=dict)
    multipart: bool = False
    part_openings: dict[str, str] = field(default_factory=dict)
    sequencing: bool = False
    #: The ISH probe the line last named ("single" or "dual"): the probe of the counts that follow it.
    probe: str | None = None
    #: A clause of the sentence was a therapy-eligibility comment: its later clauses continue the comment.
    in_comment: bool = False
    #: The line before was a label naming a second count ("Observer 2 (20 cells, blinded recount):"): the
    #: numbers of this line are that count's.
    recount_label: bool = False
    #: HER2 is the one marker the report names.
    her2_only: bool = False

    def specimen(self, key: _Key, collected: dt.date | None = None) -> _Specimen:
        if key is None and self.part is not None:
            # A multi-part report: each part's statements are kept apart until the parts are compared.
            if self.part not in self.parts:
                self.parts[self.part] = _Specimen(key=None, ref=self.current)
            return self.parts[self.part]
        if key not in self.specimens:
            ref = self.current
            if key is not None:
                ref = SpecimenRef(id=key or None, collected=collected, description=PRIOR_SPECIMEN_NOTE)
            self.specimens[key] = _Specimen(key=key, ref=ref)
        return self.specimens[key]

    default_topic: Topic | None = None
    region_share: float | None = None

    def reset_topic(self) -> None:
        self.topic, self.mode = self.default_topic, Mode.OVERALL


def parse_report_text(
    text: str,
    *,
    source: SourceRef | None = None,
    specimen: SpecimenRef | None = None,
    reported: dt.date | None = None,
    assertions: AssertionReader | None = None,
) -> NarrativeReading:
    """Read a narrative pathology report (plain text; see :func:`html_to_text` for HTML).

    ``specimen`` is the report's own specimen; results the text attributes to a prior specimen get a
    :class:`SpecimenRef` with that accession and a note. ``source`` and ``reported`` (the report's issue
    date) are copied onto every result. ``assertions`` supplies section kinds and the historical/hypothetical
    context (default: this package's grammar). Never raises on any text; text beyond 200,000 characters is
    not read (a pathology report is a few kilobytes).
    """
    lines = report_lines(text[:_TEXT_LIMIT])
    reader = assertions or GrammarAssertions()
    state = _State(current=specimen or SpecimenRef(), assertions=reader)
    if is_foreign(text[:_TEXT_LIMIT]):
        state.notes.append(FOREIGN_NOTE)
    texts = [line.text for line in lines]
    legend = legend_lines(texts)
    # Parts are told apart only in a report that names two or more ("A. Left breast …", "B. …").
    state.multipart = len({label for text in texts for label in _part_labels(text)}) >= 2
    # A report that names a sequencing method: its amplification calls are read only where ISH is named.
    state.sequencing = any(SEQUENCING_RE.search(text) for text in texts)
    state.her2_only = _her2_only(texts)
    if _implicit_her2(texts):
        # A report about one marker that it never names ("membrane staining … scored 2+ (equivocal). ISH
        # recommended."): membrane scores 0–3+ and ISH are HER2's, so its statements are HER2 statements.
        state.default_topic = state.topic = Topic.HER2
    for index, (line, section) in enumerate(zip(lines, reader.sections(texts), strict=True)):
        if index in legend:
            state.notes.append(CRITERIA_NOTE)
            state.reset_topic()
            continue
        _read_line(line, section, state)
    _merge_parts(state)
    own = state.specimens.get(None)
    adopted = False
    if own is not None and own.facts.not_repeated and not own.facts.has_result():
        # "No repeat HER2 testing on this excision" and "HER2 was not repeated on the resection" say the same:
        # the earlier result stands only where the report reports it as its own biomarker results, under a
        # header naming the earlier specimen ("BIOMARKER RESULTS (performed on prior core biopsy S25-…)"),
        # with that specimen's provenance. An earlier result quoted in a sentence ("the pre-treatment biopsy
        # (S25-…) was HER2 3+") is history: the report's own specimen is left unread, as when HER2 was not
        # tested (only a prior result: indeterminate).
        named = any(
            key and not key.startswith(_PART_KEY) and item.reported_here and item.facts.has_result()
            for key, item in state.specimens.items()
        )
        if named:
            del state.specimens[None]
            own = None
            adopted = True
        else:
            own.facts.not_tested = True
    if (
        not adopted
        and (own is None or not own.facts.has_result())
        and any(key is not None and item.facts.has_result() for key, item in state.specimens.items())
        and any(s.NO_RESIDUAL_RE.search(text) for text in texts)
    ):
        # "No residual invasive carcinoma (ypT0) … Pre-treatment core: HER2 3+": the specimen in hand has no
        # invasive tumour to test; the earlier result is a quotation and does not stand in for it.
        own = state.specimens.setdefault(None, _Specimen(key=None, ref=state.current))
        own.facts.not_tested = True
        own.facts.notes.append(NO_RESIDUAL_NOTE)
    if own is not None and own.facts.not_tested:
        # The report says HER2 was not tested on its specimen: any result read for it is a quotation, and no
        # other specimen's result stands in for it.
        own.facts.notes.append(NOT_TESTED_NOTE)
    if own is not None and own.facts.has_result() and s.in_situ_only("\n".join(texts)):
        # A report of carcinoma in situ only: its HER2 result is the DCIS's, which is not scored (§2).
        own.facts.in_situ_only = True
    return _reading(state, source=source, reported=reported)


def _her2_only(texts: list[str]) -> bool:
    """Whether HER2 is the one marker a report names (a HER2 worksheet): its rows of membrane staining that
    name no marker ("COMPLETE INTENSE MEMBRANE STAINING ...... 0 %" between rule lines) are HER2's."""
    named = {topic for text in texts for pattern, topic in _MARKERS if pattern.search(text)}
    return named == {Topic.HER2}


def _implicit_her2(texts: list[str]) -> bool:
    """Whether a report names no marker at all yet scores membrane staining 0–3+ or reports ISH."""
    if any(_has_marker(text) for text in texts):
        return False
    joined = "\n".join(texts)
    membrane_score = bool(re.search(r"membran", joined, re.IGNORECASE) and g.SCORE_PLUS_RE.search(joined))
    return membrane_score or bool(ISH_METHOD_RE.search(joined) and AMPLIFICATION_RE.search(joined))


_PART_CURRENT_RE: Final = re.compile(
    r"\bcurrent\b|\bthis\s+(?:specimen|accession|case)|\bpresent\s+specimen", re.IGNORECASE
)
_PART_EARLIER_RE: Final = re.compile(
    r"\b(?:earlier|previous|prior|outside|original|initial|pre-?treatment|former)\b", re.IGNORECASE
)


def _part_labels(line: str) -> set[str]:
    """The parts a report line opens (at its start or at the start of one of its sentences)."""
    labels = {
        s.part_label(line.strip()),
        *(s.part_label(clause) for sentence in _sentences(line.strip()) for clause in _clauses(sentence)),
    }
    return {label for label in labels if label is not None}


def _signature(facts: Her2Facts, ref: SpecimenRef) -> tuple[object, ...] | None:
    """What one part's HER2 facts amount to (None when they state nothing)."""
    built = build_her2_result(facts, specimen=ref, prior=False, source=None, reported=None)
    if built is None:
        return None
    result = built.result
    return (result.ihc, result.ish, result.reported_status, result.technical_failure, result.unparsed)


def _merge_parts(state: _State) -> None:
    """One result for the report's own specimen from a multi-part report ("A. Left breast core …", "B. …").

    Parts that state the same HER2 result give it once. Parts of one tumour that state different results
    (two foci, a breast tumour and its node, blocks) are kept as specimens of the report's date (the rules
    take the highest, §6); tumours of both breasts, or an overall statement that contradicts the parts,
    leave the current specimen unclear: the occasion is not classified, with the excerpts.
    """
    if not state.parts:
        return
    candidates = [(label, part) for label, part in state.parts.items()]
    own = state.specimens.get(None)
    if own is not None:
        candidates.insert(0, ("(report)", own))
    stated = [
        (label, part, signature)
        for label, part in candidates
        if (part.facts.has_result() or part.facts.not_understood)
        and (signature := _signature(part.facts, part.ref)) is not None
    ]
    if not stated:
        return
    stated = _current_parts(state, stated)
    if len({signature for _, _, signature in stated}) == 1:
        state.specimens[None] = stated[0][1]
        return
    if _kept_apart(state, stated) or _one_part_summarised(state, stated):
        return
    merged = _Specimen(key=None, ref=state.current)
    for _, part, _ in stated:
        for excerpt in [*part.facts.excerpts, *part.facts.not_understood]:
            if excerpt not in merged.facts.not_understood:
                merged.facts.not_understood.append(excerpt)
    labels = ", ".join(label for label, _, _ in stated)
    merged.facts.notes.append(
        f"different HER2 results for parts {labels} of the report: which is the current specimen is not "
        "stated; not classified"
    )
    state.specimens[None] = merged


def _current_parts(
    state: _State, stated: list[tuple[str, _Specimen, tuple[object, ...]]]
) -> list[tuple[str, _Specimen, tuple[object, ...]]]:
    """A part named the current one ("B. Lumpectomy (current, 03/2026)") is the report's specimen; parts
    named earlier ("A. Core (earlier accession)") are not."""
    current = [item for item in stated if _PART_CURRENT_RE.search(state.part_openings.get(item[0], ""))]
    later = [item for item in stated if not _PART_EARLIER_RE.search(state.part_openings.get(item[0], ""))]
    if len(current) == 1:
        return current
    if later and len(later) < len(stated):
        return later
    return stated


def _kept_apart(state: _State, stated: list[tuple[str, _Specimen, tuple[object, ...]]]) -> bool:
    """Keep the parts of one tumour with different results as specimens of their own (True when done)."""
    parts = [item for item in stated if item[0] != "(report)"]
    overall = next((item for item in stated if item[0] == "(report)"), None)
    sides = {
        side.lower()
        for label, _, _ in parts
        for side in re.findall(r"\b(left|right)\b", state.part_openings.get(label, ""), re.IGNORECASE)
    }
    if (
        len(parts) < 2
        # Tumours of both breasts are two cancers, not parts of one: which one is current is not stated.
        or len(sides) >= 2
        or (overall is not None and not _overall_agrees(overall[1], [part for _, part, _ in parts]))
    ):
        return False
    # Parts of one report (two foci, a breast tumour and its node, blocks of one tumour): each is its own
    # specimen of the report's date, kept with its label; the rules take the highest of them (§6).
    state.specimens.pop(None, None)
    for label, part, _ in parts:
        ref = replace(
            state.current,
            id=f"{state.current.id} part {label}" if state.current.id else f"part {label}",
            description=f"part {label} of the report",
        )
        state.specimens[f"{_PART_KEY}{label}"] = _Specimen(
            key=f"{_PART_KEY}{label}", ref=ref, facts=part.facts
        )
    return True


#: A hedge about a positive ("suggesting a HER2-positive subclone", "likely reflecting overexpression").
_POSITIVE_WORD_RE: Final = re.compile(r"\bpositiv\w*|\boverexpress\w*|(?<![\w-])amplif\w*", re.IGNORECASE)
#: Anything in the hedged clause that would lower the result: a lower score, a negative, a denial.
_LOWER_WORD_RE: Final = re.compile(
    r"negativ|equivocal|\blow\b|(?:not|non|un|no)[-\s]?amplif|\b[0-2]\s?\+|\bartefact|\bartifact|\bedge\b|"
    r"cannot|can't|exclud|ruled?\s+out|\bquery\b|\?",
    re.IGNORECASE,
)


#: A hedge on an explanation ("most likely reflecting intratumoural heterogeneity", "possibly due to
#: sampling"): the cause is hedged, not a result.
_EXPLANATION_HEDGE_RE: Final = re.compile(
    r"\b(?:likely|possibly|probably|suggesting|suggests|may|might|could)\s+(?:be\s+)?(?:reflect\w*|represent\w*|"
    r"due\s+to|explain\w*|attribut\w*|related\s+to|secondary\s+to|caused\s+by|result\w*\s+from)\b",
    re.IGNORECASE,
)
#: A result word in a clause (a score, a status, an amplification call, an ISH group).
_RESULT_WORD_RE: Final = re.compile(
    r"\d\s*\+|positiv|negativ|equivocal|amplif|\bgroup\s*[1-5]|\bratio\b|\b(?:low|ultralow|null)\b|"
    r"overexpress",
    re.IGNORECASE,
)


#: "Amplification cannot be excluded (by IHC)": what an equivocal IHC 2+ means, not a hedged result.
_AMPLIFICATION_OPEN_RE: Final = re.compile(
    r"^\W*(?:HER-?2\s+)?(?:gene\s+)?amplification\s+(?:status\s+)?(?:cannot|can't|could\s+not)\s+be\s+"
    r"(?:excluded|ruled\s+out|determined|assessed)(?:\s+(?:by|on)\s+(?:IHC|immunohistochemistry))?\W*$",
    re.IGNORECASE,
)


def _restates_equivocal(clause: str, target: _Specimen) -> bool:
    """Whether a hedged clause only says what the specimen's IHC 2+ already says ("Amplification cannot be
    excluded by IHC"): the 2+ stands, equivocal until ISH."""
    return bool(_AMPLIFICATION_OPEN_RE.match(clause)) and any(
        score is IhcScore.TWO_PLUS for _, score in target.facts.scores
    )


def _hedged_explanation(clause: str) -> bool:
    """Whether a hedged clause hedges only an explanation and states no result ("Discordant HER2 expression
    between primary and nodal metastasis, most likely reflecting intratumoural heterogeneity")."""
    return bool(_EXPLANATION_HEDGE_RE.search(clause)) and not _RESULT_WORD_RE.search(clause)


def _hedge_agrees_positive(clause: str, target: _Specimen) -> bool:
    """Whether a hedged clause only qualifies, in the positive direction, an explicit positive result the
    specimen already has (unhedged): the result stands (a hedge towards a lower result still hedges)."""
    return (
        target.facts.hedged is None
        and bool(_POSITIVE_WORD_RE.search(clause))
        and not _LOWER_WORD_RE.search(clause)
        and _states_positive(target.facts, target.ref)
    )


def _states_positive(facts: Her2Facts, ref: SpecimenRef) -> bool:
    """Whether a part's facts give an explicit positive basis (IHC 3+, ISH group 1 or amplified, or a
    stated positive)."""
    built = build_her2_result(facts, specimen=ref, prior=False, source=None, reported=None)
    if built is None:
        return False
    result = built.result
    ish = result.ish
    return bool(
        (result.ihc is not None and result.ihc.score is IhcScore.THREE_PLUS)
        or result.reported_status is ReportedStatus.POSITIVE
        or (
            ish is not None
            and (
                ish.reported_final is ReportedStatus.POSITIVE
                or ish.reported_group == 1
                or (ish.ratio is not None and ish.ratio >= 2.0 and (ish.her2_per_cell or 0.0) >= 4.0)
            )
        )
    )


def _one_part_summarised(state: _State, stated: list[tuple[str, _Specimen, tuple[object, ...]]]) -> bool:
    """One part with HER2 results and the report's overall status that agrees with it ("FINAL HER2 (residual
    disease): POSITIVE" after part A's IHC and ISH): the part is the report's specimen, its overall status
    read with it (True when done)."""
    parts = [item for item in stated if item[0] != "(report)"]
    overall = next((item[1] for item in stated if item[0] == "(report)"), None)
    if len(parts) != 1 or overall is None or not _overall_agrees(overall, [parts[0][1]]):
        return False
    part = parts[0][1]
    part.facts.statuses.extend(overall.facts.statuses)
    part.facts.excerpts.extend(e for e in overall.facts.excerpts if e not in part.facts.excerpts)
    state.specimens[None] = part
    return True


def _overall_agrees(overall: _Specimen, parts: list[_Specimen]) -> bool:
    """Whether the report's own overall statement beside its parts agrees with them: an overall positive needs
    a positive part, an overall negative allows none, and an overall statement with a score is not a summary
    of the parts (then they are not told apart)."""
    facts = overall.facts
    if facts.scores or facts.ratio or facts.her2_per_cell or facts.not_understood:
        return False
    statuses = {status for _, status in facts.statuses}
    any_positive = any(_states_positive(part.facts, part.ref) for part in parts)
    if ReportedStatus.POSITIVE in statuses and not any_positive:
        return False
    return not (statuses - {ReportedStatus.POSITIVE} and any_positive)


def _reading(state: _State, *, source: SourceRef | None, reported: dt.date | None) -> NarrativeReading:
    own = state.specimens.get(None)
    her2: list[Her2Result] = []
    unparsed: list[str] = []
    own_result = own is not None and own.facts.has_result()
    for item in state.specimens.values():
        if (
            not own_result
            and item.key is not None
            and not item.key.startswith(_PART_KEY)
            and not item.reported_here
        ):
            # A report giving no HER2 result of its own only restates an earlier specimen's (quoted in a
            # sentence or under the earlier specimen's name): the earlier report decides, not this one. It
            # stays indeterminate rather than take the quoted category as the current one.
            state.notes.append(HISTORY_NOTE)
            continue
        if item.key == "" and own_result:
            # A result reported for an unnamed earlier specimen is used only when the report states no result
            # of its own (it cannot be told apart from the report's own otherwise).
            state.notes.append(HISTORY_NOTE)
            continue
        if state.method_assay and item.facts.assay is None:
            item.facts.assay = state.method_assay
        built = build_her2_result(
            item.facts,
            specimen=item.ref,
            prior=item.key is not None and not item.key.startswith(_PART_KEY),
            source=source,
            reported=reported,
            report_notes=tuple(dict.fromkeys(state.notes)),
        )
        if built is not None:
            her2.append(built.result)
            unparsed.extend(built.unparsed)
    her2.sort(key=lambda result: result.specimen.description == PRIOR_SPECIMEN_NOTE)
    receptors = tuple(dict.fromkeys(replace(r, source=source, reported=reported) for r in state.receptors))
    return NarrativeReading(her2=tuple(her2), receptors=receptors, unparsed=tuple(dict.fromkeys(unparsed)))


# ----------------------------------------------------------------------------------------------------------
# Lines, sentences, clauses


#: The heading of a numbered later addendum ("ADDENDUM 2 (08/09/2024) - HER2 ISH recount", "Addendum #3:").
_NEXT_ADDENDUM_RE: Final = re.compile(r"\W*addendum\s*(?:#|no\.?)?\s*(?:[2-9]|II|III|IV)\b", re.IGNORECASE)


def _read_line(line: Line, section: Section, state: _State) -> None:
    stripped = line.text.strip()
    if not stripped:
        # A blank (or rule) line ends the text before it: no sentence left open by a dropped line (a quoted
        # legend, history) runs on past it.
        state.reset_topic()
        state.open_drop = False
        return
    if section is Section.ADDENDUM and (not state.in_addendum or _NEXT_ADDENDUM_RE.match(stripped)):
        # Each addendum supersedes the text before it, a later addendum the earlier ones ("ADDENDUM 2 …").
        state.bonus += PRIORITY_ADDENDUM
    state.in_addendum = section is Section.ADDENDUM
    if line.footnote:
        state.reset_topic()
    if _skipped_line(stripped, section, state):
        return
    state.probe = None
    _membrane_row(stripped, state)
    sentences = _sentences(stripped)
    if state.open_drop and sentences and not starts_new_item(stripped):
        # The line before ended inside a sentence that is not a result (criteria, a comment, history…).
        sentences = sentences[1:]
    state.open_drop = False
    state.last_dropped = False
    for number, sentence in enumerate(sentences):
        part = _part_of(stripped if number == 0 else sentence, state)
        if part is None and state.part is not None and _sentence_kind(sentence) is not SentenceKind.NORMAL:
            # "Overall HER2 status: positive (focus A)" after the parts speaks for the report as a whole.
            state.part = None
            state.reset_topic()
        if part is not None and part != state.part:
            state.part = part
            state.part_openings.setdefault(part, stripped if number == 0 else sentence)
            state.reset_topic()
        _read_sentence(sentence, state, carried=state.carried_cue if number == 0 else None)
    _carry_to_next_line(stripped, state)
    state.recount_label = (
        stripped.endswith(":") and _names_recount(stripped) and not _BOTH_COUNTS_RE.search(stripped)
    )
    state.open_drop = state.last_dropped and not _CLOSED_RE.search(stripped)


def _carry_to_next_line(stripped: str, state: _State) -> None:
    """What a line leaves open for the next: a specimen named by a sentence that does not end with it."""
    if stripped.endswith(":") and state.told_cue is not None:
        # "Comment: …were performed on the prior core biopsy (…):" / "ER 95%, PR 40%, HER2 1+.": the values
        # on the next line finish the told sentence.
        state.carried_cue, state.carried_told = state.told_cue, True
    elif re.search(r"[.;:!?]\s*$", stripped):
        state.carried_cue = None


#: A score or status stated in a line (not only named: "change in HER2 score" states none).
_STATED_RE: Final = re.compile(
    r"\d\s*\+|positiv|negativ|equivocal|amplif|\bratio\b|\bgroup\s*[1-5]|(?<![\w./#-])[0-3](?![\w./%-])",
    re.IGNORECASE,
)
#: A labelled earlier value in a HER2 block ("Previously reported: 0 (negative)"): the block goes on after it.
_HISTORY_LABEL_RE: Final = re.compile(
    r"\W*(?:(?:previously|originally|initially)\s+reported|(?:original|previous|prior|initial)\s+"
    r"(?:result|score|report))\s*[:=]",
    re.IGNORECASE,
)
#: A letter label opening a line ("A) Carcinoma infiltrante …", "B. Metastatic carcinoma …").
_LETTER_LABEL_RE: Final = re.compile(r"[\s*#>-]*\(?([A-H])[.)]\s+\S")


def _membrane_row(stripped: str, state: _State) -> None:
    """A row of membrane staining or a membrane score (0–3+) naming no marker in a report naming HER2
    alone is HER2's (ER and PR stain nuclei and are not scored 0–3+): "COMPLETE INTENSE MEMBRANE STAINING
    ...... 0 %" after a rule line, "RESULT: 1+" after a quoted scoring legend. A line naming a receptor
    in words the reader does not know as a marker ("Receptor de estrógeno") or an intensity stays unread."""
    if (
        state.topic is None
        and state.her2_only
        and (_MEMBRANE_RE.search(stripped) or g.SCORE_PLUS_RE.search(stripped))
        and not _OTHER_STAIN_RE.search(stripped)
    ):
        state.topic = Topic.HER2


def _part_of(text: str, state: _State) -> str | None:
    """The part a line or sentence opens; a letter label of a part already named ("A) Mama izquierda …" in
    the list of specimens, then "A) Carcinoma infiltrante …" in the diagnosis) opens that part again."""
    if not state.multipart:
        return None
    part = s.part_label(text)
    if part is None and (again := _LETTER_LABEL_RE.match(text)) and again.group(1) in state.part_openings:
        part = again.group(1)
    return part


#: A header naming one of the report's parts by its block or part label ("(block A4)", "part B").
_HEADER_PART_RE: Final = re.compile(
    r"\b(?:block|part|specimen|container)\s*([A-H])(?:\d{1,2})?\b", re.IGNORECASE
)


def _skipped_line(stripped: str, section: Section, state: _State) -> bool:
    """Whether a line carries no result: history, criteria, carcinoma in situ, methods (assay only), or a
    header without a marker or result wording."""
    if section in (Section.HISTORY, Section.CRITERIA, Section.IN_SITU):
        if g.HER2_RE.search(stripped) or g.SCORE_PLUS_RE.search(stripped):
            state.notes.append(
                {Section.HISTORY: HISTORY_NOTE, Section.CRITERIA: CRITERIA_NOTE}.get(section, IN_SITU_NOTE)
            )
        state.reset_topic()
        state.open_drop = not _CLOSED_RE.search(stripped)
        return True
    if section is Section.METHOD:
        state.method_assay = state.method_assay or next((n for n, p in g.ASSAYS if p.search(stripped)), None)
        return True
    name = s.header_line(stripped)
    if name is not None and s.section_of_name(name) is Section.ADDENDUM and not _STATED_RE.search(stripped):
        # "*** AMENDED REPORT *** (Amendment #1, 09/20/2024 - change in HER2 score)": why the report changed.
        state.reset_topic()
        return True
    if name is not None:
        key = _specimen_cue(stripped, state)
        state.section_key = key[0] if key is not None else None
        named = _HEADER_PART_RE.search(stripped) if state.multipart else None
        if named is not None and named.group(1).upper() in state.part_openings:
            # "BIOMARKERS ON RESIDUAL INVASIVE CARCINOMA (block A4):" after parts A and B: what follows is
            # part A's, not the last part's read before the header.
            state.part = named.group(1).upper()
            state.reset_topic()
        if (
            not _has_marker(stripped)
            and not _RESULT_VOCAB_RE.search(stripped)
            and not g.CEP17_WORD_RE.search(stripped)
        ):
            if not _CELLS_LEAD_RE.match(stripped):
                # "INVASIVE TUMOR CELLS WITH:" leads into the staining rows of the marker read above: the
                # topic goes on; any other header ends it.
                state.reset_topic()
            return True
    return False


def _sentences(line: str) -> list[str]:
    """Split at ". ", "! ", "? " except after abbreviations ("e.g.", "approx.") and inside decimals."""
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"(?<=[.!?])\s+", line):
        before = line[start : match.start() - 1]
        last_word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
        if last_word.strip("(") in s.ABBREVIATIONS:
            continue
        if line[match.start() - 1] == "?" and _ANSWER_START_RE.match(line, match.end()):
            continue  # "Amplified? No.": a form's question and its answer
        if line[match.start() - 1] == "?" and re.search(r"(?:^|[:=(-])\s*\?$", line[start : match.start()]):
            continue  # "Clinical question: ? HER2 amplified": a query mark opens the question
        sentences.append(line[start : match.start()].strip())
        start = match.end()
    sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if sentence]


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
    if s.FINAL_RE.match(sentence):
        return SentenceKind.FINAL
    if s.SUMMARY_RE.match(sentence):
        return SentenceKind.SUMMARY
    return SentenceKind.NORMAL


def _read_sentence(
    sentence: str, state: _State, *, carried: tuple[_Key, dt.date | None] | None = None
) -> None:
    """Read one sentence; ``carried`` is the specimen named by a sentence the previous line left open."""
    carried_told = state.carried_told and carried is not None
    state.carried_cue, state.carried_told, state.told_cue = None, False, None
    state.in_comment = False
    if _original_version(sentence, state, carried) or _region_count(sentence, state):
        return
    if _REASON_RE.match(sentence) and not g.SCORE_PLUS_RE.search(sentence):
        # "Reason for correction: HER2 IHC score revised after review": why the report changed, no result.
        state.reset_topic()
        return
    if _compares_parts(sentence, state):
        state.notes.append("a sentence comparing the report's parts is no result of its own")
        state.last_dropped = True
        return
    if criterion_sentence(sentence):
        state.notes.append(CRITERIA_NOTE)
        state.reset_topic()
        state.last_dropped = True
        return
    sentence_kind = _sentence_kind(sentence)
    sentence_key: tuple[_Key, dt.date | None] | None = carried
    # A specimen named by a heading (a header, or a line ending in ":" whose cue carries to this line) gives
    # the results below it; a specimen named in the sentence itself quotes its result.
    heading = not carried_told
    for number, clause in enumerate(_clauses(sentence)):
        if number > 0:
            _clause_part(clause, state)
        kind = sentence_kind if sentence_kind is not SentenceKind.NORMAL else _sentence_kind(clause)
        cue = _specimen_cue(clause, state)
        if cue is not None:
            sentence_key = cue
            state.carried_cue = cue
            # "Biomarker results (performed on prior core biopsy S25-…): HER2 IHC 1+": the report's own tests,
            # done on the earlier block, not a quotation of an earlier result.
            told = bool(_PERFORMED_TOLD_RE.search(clause))
            heading = bool(_PERFORMED_ON_RE.search(clause)) and not told
            state.told_cue = cue if told else None
        key, collected = sentence_key if sentence_key is not None else (state.section_key, None)
        kept = _result_clause(_without_asides(clause), state, prior=key is not None)
        state.last_dropped = kept is None
        if kept is None:
            continue
        if heading and key is not None:
            state.specimen(key, collected).reported_here = True
        _read_invasive(kept, sentence, kind, state.specimen(key, collected), state)


def _read_invasive(kept: str, sentence: str, kind: SentenceKind, target: _Specimen, state: _State) -> None:
    """Read a result clause without its carcinoma in situ segments."""
    invasive = _without_in_situ(kept)
    if invasive != kept and _is_her2_in_situ_statement(kept):
        state.notes.append(IN_SITU_NOTE)
    if invasive.strip():
        _read_clause(invasive, sentence, kind, target, state)
    elif g.HER2_RE.search(kept):
        # "HER2: 3+ in the in situ component only; invasive carcinoma 1+": the next clause is HER2's.
        state.topic = Topic.HER2


#: A sentence comparing results: "Discordant HER2 between primary tumour (1+) and nodal metastasis (3+)".
_COMPARISON_RE: Final = re.compile(
    r"\b(?:discordan\w*|concordan\w*|differ\w*|compar\w*|heterogene\w*\s+between)\b", re.IGNORECASE
)


_BRACKETED_ZERO_RE: Final = re.compile(r"\(\s*(?:score\s+)?0\s*\)", re.IGNORECASE)


def _compares_parts(sentence: str, state: _State) -> bool:
    """After two or more parts, a sentence that names two different IHC scores and compares them ("discordant
    … between the primary (1+) and the node (3+)") restates the parts' results: no result of its own."""
    if len(state.part_openings) < 2 or not _COMPARISON_RE.search(sentence):
        return False
    scores = {m.group(0).replace(" ", "") for m in g.SCORE_PLUS_RE.finditer(sentence)}
    if _BRACKETED_ZERO_RE.search(sentence):
        scores.add("0")
    return len(scores) >= 2


def _clause_part(clause: str, state: _State) -> None:
    """A part opened after a semicolon ("Focus A: HER2 3+; focus B: HER2 1+")."""
    part = s.part_label(clause) if state.multipart else None
    if part is not None and part != state.part:
        state.part = part
        state.part_openings.setdefault(part, clause)
        state.reset_topic()


def _original_version(sentence: str, state: _State, carried: tuple[_Key, dt.date | None] | None) -> bool:
    """An addendum or amended report quoting "ORIGINAL REPORT: HER2 IHC 2+ (equivocal); ISH pending": the
    earlier version of this specimen's report, read one level below the text around it, which outranks it
    (§6, §10), so that the addendum's ISH keeps the IHC it resolves (True when read)."""
    original = _ORIGINAL_VERSION_RE.match(sentence)
    if original is None or s.PRIOR_RE.search(sentence[original.end() :]):
        return False
    bonus, state.bonus = state.bonus, state.bonus - PRIORITY_ADDENDUM
    try:
        _read_sentence(sentence[original.end() :], state, carried=carried)
    finally:
        state.bonus = bonus
    return True


def _region_count(sentence: str, state: _State) -> bool:
    """A separate ISH count of a distinct tumour population ("separate count of 20 nuclei in that area: ratio
    3.4, mean HER2 7.8/cell"; ASCO/CAP 2018 heterogeneity): kept apart from the overall count, with the
    population's share of the tumour when the sentence states it."""
    if not _REGION_COUNT_RE.search(sentence) or not (
        g.ISH_WORD_RE.search(sentence) or state.topic is Topic.HER2
    ):
        return False
    counts = Her2Facts()
    ctx = StatementContext(start_mode=Mode.ISH, kind=SentenceKind.NORMAL, bonus=state.bonus)
    read_her2_statement(sentence, counts, ctx)
    ratio = counts.ratio[-1][1] if counts.ratio else None
    her2 = counts.her2_per_cell[-1][1] if counts.her2_per_cell else None
    share_match = _REGION_SHARE_RE.search(sentence)
    share = float(share_match.group(1)) if share_match else None
    if ratio is None and her2 is None:
        # The population described before its count ("a distinct subpopulation (~15 % of the tumour) …;"
        # then "separate count in that area: …"): its share is kept for the count.
        state.region_share = share if share is not None else state.region_share
        return False
    target = state.specimen(state.section_key)
    target.facts.region_counts.append((share if share is not None else state.region_share, ratio, her2))
    if sentence not in target.facts.excerpts:
        target.facts.excerpts.append(sentence)
    state.topic = Topic.HER2
    return True


#: The reason a report was corrected, amended or added to ("Reason for correction: …").
_REASON_RE: Final = re.compile(
    r"\W*reason\s+for\s+(?:the\s+)?(?:correction|amendment|revision|addendum|change|re-?issue|"
    r"supplement\w*)\b",
    re.IGNORECASE,
)


def _result_clause(clause: str, state: _State, *, prior: bool) -> str | None:
    """The part of a clause that states a result, or None when its context says it is not one."""
    her2 = bool(g.HER2_RE.search(clause)) or state.topic is Topic.HER2
    if _UNRELIABLE_RE.search(clause) and not prior and her2:
        # "This result is NOT RELIABLE and should not be used for treatment decisions": the laboratory
        # withdraws its own result (whatever it read); the occasion stays on file, unclassified.
        state.specimen(state.section_key).facts.unreliable = True
        state.reset_topic()
        return None
    kept = _without_comment(clause, state)
    if kept is None:
        return None
    clause, context = kept, state.assertions.clause(kept)
    if _not_a_tissue_result(clause, context, state):
        return None
    if (
        Assertion.UNCERTAIN in context
        and not prior
        and (g.HER2_RE.search(clause) or state.topic is Topic.HER2)
    ):
        # A hedged result ("3+ cannot be excluded") is not read, but it is this specimen's HER2 statement:
        # the occasion stays on file, unread, so that no other specimen stands in for it.
        target = state.specimen(state.section_key)
        if (
            _hedge_agrees_positive(clause, target)
            or _hedged_explanation(clause)
            or _restates_equivocal(clause, target)
        ):
            # "… suggesting a HER2-positive subclone" after the part's own explicit 3+: a comment on the
            # positive result, which it does not put in doubt.
            return None
        target.facts.hedged = state.bonus
        if clause not in target.facts.not_understood:
            target.facts.not_understood.append(clause)
        state.reset_topic()
        return None
    if _not_this_result(clause, context, state, prior=prior):
        return None
    if Assertion.NOT_PERFORMED in context and Assertion.CONTROL not in context:
        return _not_performed(clause, state, prior=prior)
    if Assertion.CONTROL in context:
        _control_or_failure(clause, state)
        return None
    return clause


def _without_comment(clause: str, state: _State) -> str | None:
    """The clause without a therapy-eligibility comment, or None when all of it is comment."""
    if state.in_comment and not g.HER2_RE.match(clause):
        # "HER2 IHC 0 results are not eligible for HER2-low directed therapy; 1+ or 2+/ISH-negative results
        # may be.": the comment goes on after the semicolon.
        return None
    if Assertion.ELIGIBILITY not in state.assertions.clause(clause):
        return clause
    state.notes.append(ELIGIBILITY_NOTE)
    state.reset_topic()  # what follows continues the comment
    kept = _result_before_comment(clause)
    if not kept:
        state.in_comment = True
        return None
    return kept


def _not_this_result(clause: str, context: frozenset[Assertion], state: _State, *, prior: bool) -> bool:
    """A value stated as issued in error, a hypothetical, or quoted history (noted, not read)."""
    her2 = bool(g.HER2_RE.search(clause)) or state.topic is Topic.HER2
    if Assertion.IN_ERROR in context:
        if her2 or g.SCORE_PLUS_RE.search(clause):
            state.notes.append(IN_ERROR_NOTE)
        state.reset_topic()
        return True
    if Assertion.HYPOTHETICAL in context or (Assertion.HISTORICAL in context and not prior):
        if Assertion.HISTORICAL in context and her2:
            state.notes.append(HISTORY_NOTE)
        if not (state.topic is Topic.HER2 and _HISTORY_LABEL_RE.match(clause)):
            state.reset_topic()
        return True
    return False


def _not_a_tissue_result(clause: str, context: frozenset[Assertion], state: _State) -> bool:
    """Guideline criteria, and HER2 by a method other than tissue IHC or ISH (noted, not read)."""
    if Assertion.CRITERION in context:
        state.notes.append(CRITERIA_NOTE)
        state.reset_topic()
        return True
    if Assertion.OTHER_METHOD in context:
        if g.HER2_RE.search(clause) or state.topic is Topic.HER2:
            state.notes.append(OTHER_METHOD_NOTE)
        state.reset_topic()
        return True
    return False


def _not_performed(clause: str, state: _State, *, prior: bool) -> str | None:
    """A clause stating a test not done: the result written before it stands ("HER2: NEGATIVE (IHC score 1+)
    - ISH not indicated"); HER2 testing as a whole not done on this specimen ("HER2 was not requested on this
    specimen", "HER2 testing was not repeated on the residual tumour") is noted on the specimen."""
    kept = _result_before(clause, NOT_PERFORMED_RE)
    if kept:
        return _result_clause(kept, state, prior=prior)
    if (
        not prior
        and (g.HER2_RE.search(clause) or state.topic is Topic.HER2 or _PANEL_RE.search(clause))
        and not (g.ISH_WORD_RE.search(clause) and not g.IHC_WORD_RE.search(clause))
    ):
        # Not a prior specimen's clause: the report's own specimen, even under a header naming a prior one
        # ("COMMENT: 0 in the prior biopsy; no repeat HER2 testing performed on this excision").
        if _NOT_REPEATED_RE.search(clause):
            state.specimen(None).facts.not_repeated = True
        elif _NOT_TESTED_RE.search(clause):
            state.specimen(None).facts.not_tested = True
    _control_or_failure(clause, state)
    return None


def _control_or_failure(clause: str, state: _State) -> None:
    """A control statement or a test not done is no result; a technical failure it states is recorded."""
    failure = g.TECHNICAL_RE.search(clause) or g.FAILURE_RE.search(clause)
    if failure and (g.HER2_RE.search(clause) or state.topic is Topic.HER2):
        target = state.specimen(state.section_key)
        target.facts.technical_failure = True
        if g.FAILURE_RE.search(clause) and not g.ISH_WORD_RE.search(clause):
            target.facts.stain_failed = True
        target.facts.excerpts.append(clause)


def _result_before_comment(clause: str) -> str:
    """A single-score result written before an inline comment ("HER2: 1+ (HER2-low), may qualify for T-DXd").

    Only a clause that opens with a HER2 marker, names one IHC score in all, and has a separator (``,``,
    ``(``, ``:``, `` - ``) before the comment keeps its opening part; the reporting comment "IHC 1+ and
    2+/ISH-negative results may indicate eligibility ..." names two scores and is dropped whole.
    """
    marker = g.HER2_RE.match(clause.lstrip())
    if marker is None or len(g.SCORE_PLUS_RE.findall(clause)) + len(g.RANGE_RE.findall(clause)) != 1:
        return ""
    comment = min(
        (m.start() for m in re.finditer(r"eligib|deruxtecan|T-?DXd|enhertu|may|qualif|therap", clause, re.I)),
        default=len(clause),
    )
    cut = max(clause.rfind(sep, 0, comment) for sep in (",", "(", ":", " - "))
    prefix = clause[:cut] if cut > 0 else ""
    return prefix if g.SCORE_PLUS_RE.search(prefix) else ""


def _result_before(clause: str, cue: re.Pattern[str]) -> str:
    """The part of a clause before a cue ("… not performed") and its separator, when it states a HER2
    result."""
    match = cue.search(clause)
    if match is None:
        return ""
    cut = max(clause.rfind(sep, 0, match.start()) for sep in (",", " - ", ":", "(", " / "))
    prefix = clause[:cut].strip() if cut > 0 else ""
    if prefix.count("(") > prefix.count(")"):
        return ""
    if not (g.HER2_RE.search(prefix) or g.HER2_ASSAY_RE.search(prefix)):
        return ""
    if g.SCORE_PLUS_RE.search(prefix) or g.STATUS_RE.search(prefix) or g.SCORE_LABELLED_RE.search(prefix):
        return prefix
    return ""


def _without_asides(clause: str) -> str:
    """Blank out bracketed asides that name a score of something else: control tissue or an earlier
    specimen ("1+ (note: 3+ staining in the positive control tissue)", "1+ (previous core biopsy: 3+)")."""

    def blank(match: re.Match[str]) -> str:
        inner = match.group(0)
        before = clause[max(0, match.start() - 25) : match.start()]
        # "(… 3+ …)" about control tissue, an earlier specimen, or right after "control" ("external positive
        # control (breast carcinoma with known 3+ expression)").
        other = (
            _CONTROL_WORD_RE.search(inner)
            or s.PRIOR_RE.search(inner)
            or _EARLIER_RE.search(inner)
            or re.search(r"\bcontrols?\s*$", before, re.IGNORECASE)
            or HISTORICAL_RE.search(inner)
        )
        if other and (g.SCORE_PLUS_RE.search(inner) or g.STATUS_RE.search(inner)):
            return " " * len(inner)
        # "Score 0 (defined as no staining or faint … in ≤10 %)": a definition beside the result; "8 % of
        # cells (below the 10 % threshold for 1+)": a cut-off beside the result, not a second percentage.
        criterion = CRITERION_RE.search(inner) or _CUT_OFF_ASIDE_RE.search(inner)
        return " " * len(inner) if criterion and inner != clause.strip() else inner

    return _SCORE_QUESTION_RE.sub(lambda m: " " * len(m.group(0)), _ASIDE_RE.sub(blank, clause))


#: Two scores named as a question, not a result: "(0 vs 1+ distinction)", "0 versus 1+", "the 0/1+ cut-off",
#: "distinguishing 0 from 1+", "1+ or 2+ borderline".
_SCORE_QUESTION_RE: Final = re.compile(
    r"(?:\b(?:distinguish\w*|distinction|discriminat\w*|separat\w*)\s+(?:between\s+)?(?:IHC\s+|score\s+)?)?"
    r"(?<![\w.+/])(?:0|[1-3]\s?\+)\s*(?:vs\.?|versus|/|from|and|or)\s*(?:0|[1-3]\s?\+)(?![\w+])"
    r"(?=\s*(?:distinction|discriminat\w*|cut-?off|threshold|boundary|border\w*|question|categor\w*\s+"
    r"distinction|call|decision)\b)"
    r"|\b(?:distinguish\w*|distinction|discriminat\w*|separat\w*)\s+(?:between\s+)?(?:IHC\s+|score\s+)?"
    r"(?:0|[1-3]\s?\+)\s*(?:vs\.?|versus|from|and)\s*(?:0|[1-3]\s?\+)(?![\w+])",
    re.IGNORECASE,
)


def _segments(clause: str) -> list[str]:
    """Cut a clause at commas, semicolons and conjunctions outside brackets (separators kept)."""
    pieces: list[str] = []
    depth, start = 0, 0
    index = 0
    while index < len(clause):
        char = clause[index]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            match = _SEGMENT_SPLIT_RE.match(clause, index)
            if match is not None and (char in ",;" or (index > 0 and not clause[index - 1].isalnum())):
                pieces.append(clause[start:index])
                start = index
                index = match.end()
                continue
        index += 1
    pieces.append(clause[start:])
    return pieces


#: A short label opening a clause ("DCIS component   :", "In-situ carcinoma -"), in group 1.
_LABEL_RE: Final = re.compile(r"\s*([^:;,.()]{2,40}?)\s*(?::|\s[-–]\s)")


def _without_in_situ(clause: str) -> str:
    """Drop the parts of a clause about DCIS/LCIS ("DCIS shows 3+ staining", "0 (invasive), 3+ (DCIS)")."""
    if not s.IN_SITU_RE.search(clause):
        return clause
    label = _LABEL_RE.match(clause)
    if label is not None and s.IN_SITU_RE.search(label.group(1)) and not s.INVASIVE_RE.search(clause):
        # "DCIS component: ER (-), PR (-), HER2 3+": everything under an in-situ label is the in-situ's.
        return ""
    kept: list[str] = []
    for piece in _segments(clause):
        if not s.IN_SITU_RE.search(piece) or s.INVASIVE_RE.search(piece):
            kept.append(piece)
            continue
        if kept and not g.SCORE_PLUS_RE.search(piece) and _describes_previous_score(kept[-1]):
            # "HER2 (4B5): 3+, strong complete membranous staining in DCIS cells": the staining described is
            # the score's, so the score is the in-situ carcinoma's too.
            previous = kept.pop()
            label = _HER2_LABEL_RE.match(previous)
            kept.append(label.group(0) if label is not None else "")
            continue
        # "HER2 IHC: 3+ in the in-situ carcinoma, 0 in the invasive carcinoma": the label stays.
        label = _HER2_LABEL_RE.match(piece)
        if label is not None and not s.IN_SITU_RE.search(label.group(0)):
            kept.append(label.group(0) + " " * (len(piece) - label.end()))
    return "".join(kept)


def _describes_previous_score(piece: str) -> bool:
    """Whether ``piece`` states a score with nothing after it that places it (no invasive word)."""
    return bool(g.SCORE_PLUS_RE.search(piece)) and not s.INVASIVE_RE.search(piece)


def _is_her2_in_situ_statement(text: str) -> bool:
    """Whether dropped in-situ text spoke about HER2 staining (worth a note), not merely the diagnosis."""
    return bool(g.HER2_RE.search(text) or g.SCORE_PLUS_RE.search(text) or re.search(r"stain", text, re.I))


# ----------------------------------------------------------------------------------------------------------
# Specimens


#: A specimen named as what a result is compared with ("3+, concordant with the pre-treatment biopsy",
#: "unchanged from the prior core"): the result is not that specimen's.
_COMPARED_RE: Final = re.compile(
    r"\b(?:(?:concordant|discordant|consistent|compared|comparable|identical|similar|in\s+keeping|in\s+line|"
    r"in\s+agreement|agreeing|agrees|disagrees|unchanged|changed|different|differs|same)\s+(?:as|with|to|from)|"
    r"versus|vs\.?|unlike|as\s+(?:in|on|for|seen\s+in)|relative\s+to|confirm(?:s|ing)?)\s+"
    r"(?:(?:that\s+of|those\s+of|the|a|an|our|its)\s+)*$",
    re.IGNORECASE,
)


#: A result, before an aside and in it ("HER2: 1+ (previous core biopsy: 3+)").
_RESULT_BEFORE_RE: Final = re.compile(
    r"[0-3]\s*\+|\+{2,3}|:\s*[0-3]\b(?![.,]\d)|\b(?:positive|negative|amplified|equivocal|score\s+[0-3])\b",
    re.IGNORECASE,
)


def _names_the_clause(text: str, at: int) -> bool:
    """Whether a prior specimen named at ``at`` is the specimen of the clause's results: not when it is what
    a result is compared with, nor when an aside after the clause's own result names it with its own."""
    if _COMPARED_RE.search(text, 0, at):
        return False
    opening = text.rfind("(", 0, at)
    if opening >= 0 and text.rfind(")", opening, at) < 0:
        closing = text.find(")", at)
        aside = text[opening : closing if closing >= 0 else len(text)]
        # An aside with its own result after the clause's result is the aside's; a bracket naming only
        # where the result was measured ("amplified in the liver metastasis (S24-1000)") names the clause's.
        return not (_RESULT_BEFORE_RE.search(text, 0, opening) and _RESULT_BEFORE_RE.search(aside))
    return True


def _specimen_cue(text: str, state: _State) -> tuple[_Key, dt.date | None] | None:
    """The specimen a clause names: a prior specimen (with its accession if given) or the report's own."""
    prior = next((m for m in s.PRIOR_RE.finditer(text) if _names_the_clause(text, m.start())), None)
    current = s.CURRENT_RE.search(text)
    if prior is None and current is None:
        return _other_accession(text, state)
    if prior is None or (current is not None and current.start() < prior.start()):
        return None, None
    accession = min(s.ACCESSION_RE.finditer(text), key=lambda m: abs(m.start() - prior.end()), default=None)
    name = accession.group(1) if accession is not None else state.last_prior
    if name and name == state.current.id:
        return None, None
    if accession is not None:
        state.last_prior = name
    collected = None
    date = s.ISO_DATE_RE.search(text)
    if date is not None:
        try:
            collected = dt.date(int(date.group(1)), int(date.group(2)), int(date.group(3)))
        except ValueError:
            collected = None
    return name, collected


def _other_accession(text: str, state: _State) -> tuple[_Key, dt.date | None] | None:
    """A result placed on another accession than the report's own ("FISH: amplified in the metastasis
    (S24-1000)"): that specimen's, when the report's own accession is known and differs."""
    own = state.current.id
    if not own or not s.ACCESSION_RE.fullmatch(own):
        return None  # the report's own accession is not known (a resource id is no accession)
    for match in s.ACCESSION_RE.finditer(text):
        name = match.group(1)
        if (
            name.upper() != own.upper()
            and _ON_SPECIMEN_RE.search(text[max(0, match.start() - 60) : match.start()])
            and _names_the_clause(text, match.start())
        ):
            return name, None
    return None


# ----------------------------------------------------------------------------------------------------------
# Statements


_MARKERS: Final = (
    (g.HER2_RE, Topic.HER2),
    (g.HER2_ASSAY_RE, Topic.HER2),
    (g.ER_RE, Topic.ER),
    (g.PR_RE, Topic.PR),
    (g.OTHER_MARKER_RE, Topic.OTHER),
)


def _has_marker(text: str) -> bool:
    return any(pattern.search(text) for pattern, _ in _MARKERS)


def _gap_cut(gap: str) -> int:
    """Where the text between two markers splits: after its last separator outside brackets (or at its
    start when it has none), so that "positive for ER (95%) and negative for HER2" gives each its status."""
    depth, cut = 0, -1
    for index, char in enumerate(gap):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and (char in ",;" or re.match(r"\s(?:and|but|while|whereas)\s", gap[index:])):
            cut = index
    return cut


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
        ish = (
            g.ISH_WORD_RE.search(clause)
            or g.RECOUNT_RE.search(clause)
            or g.CEP17_WORD_RE.search(clause)
            # "CONCURRENT IHC: 2+" in an ISH report: the IHC read with the ISH, HER2's.
            or _CONCURRENT_IHC_RE.match(clause)
        )
        own = Topic.HER2 if ish else inherited
        return [(own, clause, False)]
    statements: list[tuple[Topic | None, str, bool]] = []
    cuts = [0]
    for index in range(1, len(markers)):
        previous_end, start = markers[index - 1][1], markers[index][0]
        gap = clause[previous_end:start]
        cut = _gap_cut(gap)
        cuts.append(previous_end + cut if cut >= 0 else start)
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
    if g.TRIPLE_NEGATIVE_RE.search(clause):
        # "Triple negative": ER, PR and HER2 negative, without a score: a legacy HER2 "negative" that any
        # HER2 statement of the report outranks.
        target.facts.statuses.append((state.bonus, ReportedStatus.NEGATIVE))
        if sentence not in target.facts.excerpts:
            target.facts.excerpts.append(sentence)
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
    # A sentence about a signal recount ("Observer 2 recount: ratio 1.90; HER2 4.3"): its numbers are the
    # second count's.
    if _sequencing_call(text, sentence, state):
        state.notes.append(OTHER_METHOD_NOTE)
        state.reset_topic()
        return
    at = sentence.find(text)
    following = sentence[at + len(text) :] if at >= 0 else ""
    # The recount named in the sentence, at or before this statement (a first count given earlier in the
    # sentence, "…; ratio 3.04 (group 2); Observer 2 (blinded recount): ratio 3.02", is not the recount's).
    end = at + len(text) if at >= 0 else len(sentence)
    recount = _names_recount(sentence[:end]) or (state.recount_label and not _FIRST_COUNT_RE.match(sentence))
    pooled = bool(_POOLED_COUNT_RE.match(sentence))
    ctx = StatementContext(
        start_mode=state.mode,
        kind=kind,
        bonus=state.bonus,
        recount=recount,
        following=following,
        pooled=pooled,
    )
    probes = [m.group(1).lower() for m in _PROBE_RE.finditer(text)]
    probe = probes[0] if probes else state.probe
    counts = len(target.facts.her2_per_cell)
    found, state.mode = read_her2_statement(text, target.facts, ctx)
    if probe == "single" and len(target.facts.her2_per_cell) > counts:
        # "Single-probe SISH: mean 4.5 signals/cell … reflexed to dual-probe ISH": kept apart from the
        # dual-probe count, which settles it.
        target.facts.single_counts += target.facts.her2_per_cell[counts:]
        del target.facts.her2_per_cell[counts:]
    state.probe = probes[-1] if probes else state.probe
    if s.METASTASIS_RE.search(text) and not s.NO_METASTASIS_RE.search(text):
        target.facts.metastasis = True
    explicit = named or bool(g.ISH_WORD_RE.search(text))
    if found:
        if sentence not in target.facts.excerpts:
            target.facts.excerpts.append(sentence)
    elif explicit and _RESULT_VOCAB_RE.search(text) and sentence not in target.facts.not_understood:
        target.facts.not_understood.append(sentence)


#: The counts of two observers taken together ("Combined (40 nuclei): HER2 3.4; CEN17 1.58; ratio 2.15",
#: "Mean of both counts:"): the count the group is called on, over either observer's own.
_POOLED_COUNT_RE: Final = re.compile(
    r"^\W*(?:combined|pooled|aggregate|overall|total|final)\s*(?:count|result|values?|mean)?\s*(?:\([^)]{0,40}\))?"
    r"\s*[:=-]|^\W*(?:mean|average)\s+of\s+(?:both|(?:the\s+)?two|all)\s+(?:counts|observers|readers)\b",
    re.IGNORECASE,
)


#: A heading over both counts ("20 nuclei x 2 observers:", "counted by two observers:"): not the second's.
_BOTH_COUNTS_RE: Final = re.compile(
    r"(?:two|2|both)\s+(?:independent\s+)?(?:observers|readers|counts)|counted\s+(?:independently\s+)?by\s+"
    r"(?:two|2)|number\s+of\s+observers",
    re.IGNORECASE,
)
#: A line giving the first count ("Observer 1:", "Count 1 (20 nuclei):", "First observer:").
_FIRST_COUNT_RE: Final = re.compile(
    r"^\W*(?:(?:observer|reader|scorer|counter|count)\s*(?:#|no\.?)?\s*(?:1|A)\b|first\s+(?:observer|reader|"
    r"count|scorer))",
    re.IGNORECASE,
)


def _names_recount(text: str) -> bool:
    """Whether the text names a second signal count (not an IHC re-scoring)."""
    return any(g.SIGNAL_COUNT_RE.search(m.group()) for m in g.RECOUNT_RE.finditer(text))


def _sequencing_call(text: str, sentence: str, state: _State) -> bool:
    """An amplification call of a report that names a sequencing method, in a sentence that names neither
    an ISH method nor IHC ("NGS panel … Findings: ERBB2 amplification detected (copy number 12)"): a
    copy-number result, not an ASCO/CAP ISH result."""
    return (
        state.sequencing
        and bool(AMPLIFICATION_RE.search(text))
        and not ISH_METHOD_RE.search(sentence)
        and not g.IHC_WORD_RE.search(text)
    )


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
