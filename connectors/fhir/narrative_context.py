"""Assertion context of report text: is a sentence a result of this specimen, or something else?

Pathology reports say a great deal about HER2 that is not the result of the specimen in hand. This module
names those contexts; the reader (:mod:`connectors.fhir.narrative`) drops or re-attributes the text:

- ``HISTORICAL``: a quoted earlier result without a named specimen ("history of HER2-positive carcinoma",
  "previously reported as HER2 2+ at an outside hospital");
- ``HYPOTHETICAL``: conditional or future wording ("if IHC is 2+, reflex ISH is performed");
- ``UNCERTAIN``: hedged wording ("3+ cannot be excluded", "possibly", "suspicious for");
- ``CRITERION``: guideline text quoted as a legend or definition ("Negative: group 3 with IHC 0-1+",
  "3+ = complete intense staining in >10 % of cells", "defined as");
- ``ELIGIBILITY``: therapy and eligibility comments (the 2023 reporting comment, ``spec`` §7: never a result);
- ``CONTROL``: statements about control tissue;
- ``NOT_PERFORMED``: a test stated as not done;
- ``IN_ERROR``: a value the report says was issued in error ("the original report incorrectly listed 1+",
  "se informó por error HER2 3+", "RETRACTED"); the corrected value, stated elsewhere, is the result.

Marker attribution (ER/PR, E-cadherin …), carcinoma in situ and prior specimens are handled by the reader
itself. The :class:`AssertionReader` protocol lets another implementation (medspaCy's ConText and
sectionizer, evaluated in ``docs/pathology-accuracy.md``) supply the historical/hypothetical calls and the
section kinds; :class:`GrammarAssertions` is the one the service uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Final, Protocol

from connectors.fhir.narrative_sections import Section, SectionTracker


class Assertion(StrEnum):
    HISTORICAL = "historical"
    HYPOTHETICAL = "hypothetical"
    UNCERTAIN = "uncertain"
    CRITERION = "criterion"
    ELIGIBILITY = "eligibility"
    CONTROL = "control"
    NOT_PERFORMED = "not_performed"
    OTHER_METHOD = "other_method"
    IN_ERROR = "in_error"


_I = re.IGNORECASE

#: Therapy and eligibility wording: the 2023 reporting comment (§7) and therapy/trial comments.
ELIGIBILITY_RE: Final = re.compile(
    r"eligib\w*|deruxtecan|\bT-?DXd\b|enhertu|\bDS-?8201|trastuzumab|pertuzumab|lapatinib|neratinib|tucatinib|"
    r"targeted\s+therap\w*|therap(?:y|ies)\s+targeting|anti-?HER-?2\s+(?:therap|agent|drug|treatment)|"
    r"(?:may|might|could)\s+(?:indicate|qualify|respond|benefit|be\s+(?:eligible|relevant|considered))|"
    r"treatment\s+with|treated\s+with|response\s+to|\bbenefit|efficacy|\bqualif\w*|candidate|\btrials?\b|"
    r"low\s+(?:levels?\s+of\s+)?HER-?2\s+expression|evidence\s+is\s+limited|limited\s+evidence|"
    r"insufficient\s+data|uncertain\s+whether|\bfor\s+(?:therapy|treatment)\b",
    _I,
)
#: A quoted earlier result (no named specimen: a named one is a prior specimen, kept with provenance).
HISTORICAL_RE: Final = re.compile(
    r"^\W*(?:clinical\s+)?(?:history|hx|indication|comparison|for\s+comparison)\b|\bhistory\s+of\b|"
    # "the 2021 primary tumour was …", "HER2 (2019 primary): 3+": a specimen dated by an earlier year.
    r"\b(?:19|20)\d\d\s+(?:primary|biopsy|specimen|tumou?r|resection|excision|core|mastectomy|lumpectomy)\b|"
    # ... but not the dated revision of this report's result ("REVISED HER2 RESULT (10/29/2025): IHC 1+").
    r"(?<!revised\s)(?<!corrected\s)(?<!amended\s)(?<!updated\s)(?<!current\s)(?<!final\s)"
    r"\bHER-?2[^:;()]{0,20}\([^)]*(?:\b(?:19|20)\d\d\b|\b(?:previous|prior|earlier|original|outside|initial)\b)"
    r"[^)]*\)\s*:|\bh/o\b|\bknown\s+(?:HER-?2|case|"
    r"to\s+be)|previously\s+(?:diagnosed|treated|reported|described|tested|shown|documented|known)|"
    r"\b(?:outside|referring|external|prior|previous|earlier|original|former)\s+"
    r"(?:HER-?2(?:/neu)?\s+(?:(?:IHC|ISH|FISH|SISH|DISH)\s+)?)?(?:report|result|"
    r"institution|hospital|laborator\w*|lab|testing|assessment|evaluation|pathology|review|diagnosis)|"
    r"\b(?:was|were)\s+(?:previously|originally|initially)\b|\breported\s+(?:elsewhere|previously|earlier)|"
    r"\bat\s+(?:an?\s+)?(?:outside|other|another|referring)\s+(?:hospital|institution|lab\w*|centre|center)|"
    r"\b(?:in|from|dated)\s+(?:19|20)\d\d\b(?=[^;]*\b(?:was|were|had)\b)|"
    # "HER2 (outside): 3+", "per outside report", "the outside HER2 IHC": another laboratory's result quoted.
    r"\(\s*outside(?:\s+(?:lab\w*|hospital|institution|report|result))?\s*\)|\bper\s+(?:the\s+)?outside\b|"
    r"\boutside\s+(?:HER-?2|IHC|ISH|FISH|SISH|immuno\w*)\b|"
    # "prior HER2+ by core", "known HER2-positive", "previously HER2 3+": an earlier result quoted.
    r"\b(?:prior|previous|previously|earlier|original|originally|initial|initially|known)\s+(?:\w+\s+)?HER-?2\s*"
    r"(?:[-+]|\(?[0-3]\s?\+|positiv|negativ|low|amplif|over)|"
    # "see separate report for the left breast core biopsy (HER2 3+)": another report's result.
    r"\bsee\s+(?:the\s+)?(?:separate|other|previous|prior|earlier|accompanying|companion|corresponding)\s+"
    r"(?:pathology\s+)?reports?\b|\b(?:reported|described)\s+(?:separately|under|in\s+(?:the\s+)?(?:separate|"
    r"other|previous|prior))\b|"
    r"\b(?:differs?|different)\s+from\b|\bin\s+contrast\s+(?:to|with)\b|\bcompared\s+(?:with|to)\b|\bunlike\b|"
    r"\bdiscordan\w*\s+(?:with|from)\b|"
    # Earlier results quoted in the report languages: "im Vorbefund", "précédemment", "previamente informado".
    r"\bVorbefund\w*|\bvorbekannt\w*|\bpr[ée]c[ée]demment\b|\bant[ée]rieurement\b|\bpreviamente\b|"
    r"\bprecedentemente\b|\banteriormente\b|\beerder\s+(?:gerapporteerd|bepaald|vastgesteld)\b|"
    # "HER2 on that primary was reported as 1+": the earlier specimen the sentence before named.
    r"\b(?:on|in|of|for|from)\s+(?:that|the\s+(?:original|earlier|initial|index))\s+(?:primary|specimen|biopsy|"
    r"tumou?r|core|resection|excision|lesion|sample)\b|"
    # "HER2 was positive (3+) in the 2019 primary": a past result dated by its year.
    r"\b(?:was|were|had\s+been)\b[^;]*\bin\s+(?:the\s+|an?\s+)?(?:19|20)\d\d\b",
    _I,
)
#: A value declared wrong: issued in error, retracted or withdrawn (the report languages read).
IN_ERROR_RE: Final = re.compile(
    r"\bincorrect(?:ly)?\b|\berroneous(?:ly)?\b|\b(?:in|by)\s+error\b|\bby\s+mistake\b|\bmistaken(?:ly)?\b|"
    r"\btranscription(?:al)?\s+error\b|\bretracted\b|\bwithdrawn\b|\bno\s+longer\s+valid\b|"
    r"\b(?:por|per|par|by)\s+(?:error|erreur|errore|equivocaci[oó]n|engano|mistake)\b|\berr[oó]neamente\b|"
    r"\berror(?:e|es)?\s+(?:de|di|of)\s+(?:transcripci[oó]n|trascrizione|transcription|transcripción)|"
    r"\berron[ée]e?s?\b|\berroneamente\b|"
    r"\bf(?:ä|ae)lschlich\w*|\birrt(?:ü|ue)mlich\w*|\bÜbertragungsfehler\b|\babusievelijk\b|\bfoutief\b",
    _I,
)
_BRACKETS_RE: Final = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
#: The corrected value beside it ("the correct score is 3+", "should read", "el valor correcto es").
CORRECTED_VALUE_RE: Final = re.compile(
    r"\b(?:correct|corrected|right|actual|amended|revised|valid)\s+(?:HER-?2\s+)?(?:IHC\s+)?"
    r"(?:score|result|value|reading|interpretation)\b|\b(?:now|should)\s+reads?\b|"
    r"\bvalor\s+correcto\b|\bvalore\s+corretto\b|\bvaleur\s+correcte\b|\brichtige[rn]?\s+Wert\b|"
    r"\bjuiste\s+waarde\b|\bvalor\s+correto\b",
    _I,
)
#: Conditional and future wording.
HYPOTHETICAL_RE: Final = re.compile(
    r"\bif\b|\bwhether\b|\bunless\b|\bin\s+case\s+of\b|\bshould\s+(?:the|it|this|HER-?2|IHC|a|an|results?)\b|"
    r"\bwould\b|\bwhen(?:ever)?\s+(?:the\s+)?(?:IHC|results?|score|HER-?2|staining)\b|"
    r"\bfor\s+(?:cases|tumou?rs|results|specimens)\s+(?:with|that|of|showing)\b|\bin\s+the\s+event\b|"
    r"\bdifferential\s+diagnos\w*",
    _I,
)
#: A query from the request: "? HER2 amplified", "Clinical question: HER2 status?", "Query HER2 3+". It asks,
#: it does not state (nor hedge) a result.
QUERY_RE: Final = re.compile(
    r"^\W*(?:(?:clinical\s+)?(?:question|query|queries|request|indication|reason\s+for\s+(?:request|referral))"
    r"\s*[:=-]\s*)?\?\s*[A-Za-z]|^\W*(?:clinical\s+)?(?:question|query)\s*[:=-]|^\W*query\s+HER-?2\b",
    _I,
)
_LABEL: Final = (
    r"(?:positive|negative|equivocal|borderline|indeterminate|amplified|not\s+amplified|non-?amplified|"
    r"HER-?2[-\s](?:low|ultralow|null|positive|negative|0)|(?:ISH\s+)?groups?\s*[1-5IV]+(?:\s*-\s*[1-5])?|"
    r"(?:score|IHC)\s*[0-3]\+?|[0-3]\+?)"
)
#: Hedged wording: the statement is not a result the reader may act on.
UNCERTAIN_RE: Final = re.compile(
    r"cannot\s+be\s+(?:excluded|ruled\s+out)|can(?:not|'t)\s+(?:exclude|rule\s+out)|not\s+(?:be\s+)?excluded|"
    r"\bpossib(?:le|ly)\b|\bprobabl[ey]\b|\blikely\b|\bsuspicious\s+(?:for|of)\b|\bquestionabl[ey]\b|"
    r"\buncertain\b|\bquery\b|"
    # "could be 3+" hedges; "FISH may be requested" offers a further test and hedges nothing.
    r"\b(?:could|may|might)\s+(?:represent|be)\b(?!\s+(?:requested|ordered|performed|done|sent|obtained|"
    r"repeated|added|pursued|arranged|helpful|useful)\b)|\bpreliminar\w*|\bprovisional\w*|"
    r"\btentative\w*|\bpresumptive\w*|"
    # "suggesting a subclone" hedges; a recommendation ("treatment according to the current result is
    # suggested", "we suggest clinical correlation") hedges nothing.
    r"(?:\bsuggest(?:s|ing|ive)?\b|(?<!\bis\s)(?<!\bare\s)(?<!\bbe\s)(?<!\bwas\s)\bsuggested\b)"
    r"(?!\s+(?:clinical|correlation|repeat\w*|re-?test\w*|consider\w*|further|additional|referral|"
    r"discussion|review)\b)|"
    r"\?(?!\s*(?:yes|no|none|absent|present|not)\b)",
    _I,
)
_NOT_FINAL_RE: Final = re.compile(r"preliminar\w*|provisional\w*", _I)
#: A sentence saying that this report replaces an earlier result ("supersedes the provisional result").
SUPERSEDED_RE: Final = re.compile(
    r"\b(?:supersed(?:es|ed|ing)|replac(?:es|ed|ing)|overrid(?:es|ing))\s+(?:the\s+|an?\s+|all\s+|any\s+)?"
    r"(?:[\w'\"-]+\s+){0,4}(?:results?|reports?|interpretations?|diagnos[ie]s|scores?|status)\b",
    _I,
)
#: Guideline criteria quoted as a legend or definition.
CRITERION_RE: Final = re.compile(
    r"defined\s+as|\bis\s+defined\b|\bare\s+defined\b|\bdefinitions?\b|\bcriteri(?:a|on)\s*[:=]|"
    r"\bcriteri(?:a|on)\s+(?:for|of)\s+(?:HER-?2\s+)?(?:positiv|negativ|low|ultralow|amplif|over)\w*|"
    r"(?:interpretive|interpretation|scoring|reporting|diagnostic)\s+(?:criteria|guidelines?|key|system|"
    r"scheme)\s*(?:\([^)]*\))?\s*[:=]|\bare\s+(?:considered|regarded|classified)\b|\bcorresponds?\s+to\b|"
    r"\bgroups\b|"
    # "The guideline recommends distinguishing IHC 0 from 1+", "HER2-low includes 1+ and 2+/ISH-negative".
    r"\bguidelines?\s+(?:recommend|state|require|define|suggest|advise)\w*|"
    # "HER2 staining of DCIS is not used for HER2 status of invasive carcinoma": what it is not used for.
    r"\b(?:is|are)\s+not\s+used\s+(?:for|to\s+(?:determine|assign|guide))\b|"
    r"\bdistinguish\w*\s+(?:between\s+)?(?:IHC\s+)?[0-3]\+?\s+(?:from|and|vs\.?|versus)\s+(?:IHC\s+)?[0-3]\+|"
    r"HER-?2[-\s](?:low|ultralow|null|positive|negative|0)\s+(?:includes?|including|comprises?|encompass\w*|"
    r"consists?\s+of|refers?\s+to|means?)\b|"
    r"(?:group\s*[1-5]|ISH)\s+(?:with|and)\s+(?:concurrent\s+)?IHC\s+[0-3]\+?\s*(?:-|to|or|/)\s*[0-3]\+|"
    r"(?:^|[;.:(]\s*)" + _LABEL + r"\s*=\s*\S|"
    r"\b(?:tumou?rs|cases|results|carcinomas|cancers|patients|specimens|samples|scores)\s+(?:with|showing|that|"
    r"which|whose)\b|"
    # "HER2 IHC results of 1+, or 2+ with a negative ISH result, are HER2-negative": a class of results.
    r"\b(?:results?|scores?)\s+of\s+(?:IHC\s+)?[0-3]\s?\+?\s*,?\s+(?:or|and)\s+(?:IHC\s+)?[0-3]\s?\+",
    _I,
)
#: A legend line: a bare category label, a colon, then criteria (a range, a comparison, a list).
LEGEND_LINE_RE: Final = re.compile(
    r"^\W*" + _LABEL + r"\s*[:=]\s*(?=.*(?:[<>≤≥]|\bor\b|\d\s*\+?\s*(?:-|to)\s*\d\s*\+|\bgroups?\s*\d|"
    r"\bstaining\s+in\b|\bcells\b))",
    _I,
)
#: Several ISH groups or categories defined in one sentence ("group 1 (ratio ≥2.0) positive; group 5 …").
_GROUP_NUMBER_RE: Final = re.compile(r"\bgroups?\s*([1-5]|I{1,3}|IV|V)\b", _I)
#: "We agree with the outside HER2 3+": the result quoted is this report's own (a second opinion concurs).
_CONCUR_RE: Final = re.compile(r"\b(?:we|I)\s+(?:agree|concur)\b|\b(?:agree|concur)\w*\s+with\s+the\b", _I)
_RECOUNT_HINT_RE: Final = re.compile(r"re-?count|second|observer|adjudicat|changed|from\s+group", _I)
#: An ISH test done on this same case and reported in its addendum ("FISH performed on the previously
#: reported case (IHC 2+)", "ISH was carried out on the same block"): the same test occasion, not a quoted
#: earlier result.
#: A dated, outside or otherwise named earlier specimen is not matched and stays history.
_SAME_CASE_ISH_RE: Final = re.compile(
    r"\b(?:F|S|C|D|DD|BD)?ISH\b[^.;]{0,60}?\b(?:performed|done|carried\s+out|undertaken)\s+on\s+(?:the\s+)?"
    r"(?:previously\s+reported|same|present|current|this)\s+(?:case|specimen|block|tissue|sample|material)\b",
    _I,
)
#: A test repeated by this laboratory on another laboratory's material ("repeat IHC on outside block A2",
#: "HER2 IHC performed in-house on the outside slides"): this report's own test, not a quoted result.
_RETESTED_HERE_RE: Final = re.compile(
    r"\brepeat(?:ed)?\s+(?:HER-?2\s+)?(?:IHC|ISH|FISH|SISH|immuno\w*|stain\w*|testing)\s+(?:\w+\s+){0,2}?on\s+"
    r"(?:the\s+)?outside\s+(?:block|slides?|material|tissue|paraffin)|"
    r"\b(?:performed|done|stained|repeated)\s+(?:here|in[-\s]house|at\s+(?:our|this)\s+(?:institution|"
    r"laboratory|lab|hospital|department))\b",
    _I,
)
_EARLIER_SPECIMEN_RE: Final = re.compile(
    r"\b(?:19|20)\d\d\b|outside|referring|external|another|other\s+(?:hospital|institution|lab)|\b[A-Z]{1,3}\d{2}-\d+",
    _I,
)


def criterion_sentence(sentence: str) -> bool:
    """Whether a whole sentence quotes guideline criteria (a legend line, or several groups defined)."""
    if LEGEND_LINE_RE.search(sentence):
        return True
    groups = {m.group(1).upper() for m in _GROUP_NUMBER_RE.finditer(sentence)}
    return len(groups) >= 2 and not _RECOUNT_HINT_RE.search(sentence)


_LABEL_LINES: Final = (
    re.compile(
        r"^\W*(?:positive|negative|equivocal|borderline|indeterminate|amplified|not\s+amplified|"
        r"HER-?2[-\s](?:positive|negative|low|ultralow|null|0))\s*(?:\([^)]*\))?\s*[:=]",
        _I,
    ),
    re.compile(
        r"^\W*(?:(?:IHC\s+)?score\s*)?[0-3]\+?\s*(?:\([^)]*\))?\s*[:=-]\s*(?:no\b|faint|weak|moderate|strong|"
        r"intense|complete|incomplete|barely|positive|negative|equivocal|borderline)",
        _I,
    ),
    re.compile(r"^\W*(?:ISH\s+)?group\s*(?:[1-5]|I{1,3}|IV|V)\s*(?:\([^)]*\))?\s*[:=]", _I),
)


def legend_lines(lines: Sequence[str]) -> set[int]:
    """Indexes of lines that belong to a legend: two or more adjacent lines each opening with a category
    label ("Positive: …" / "Negative: …", "0: no staining" / "1+: faint …", "Group 1: …" / "Group 5: …"),
    or one line whose label is followed by criteria (:data:`LEGEND_LINE_RE`)."""
    labelled = [i for i, line in enumerate(lines) if any(p.match(line) for p in _LABEL_LINES)]
    found = {i for i in labelled if LEGEND_LINE_RE.search(lines[i])}
    texts = [i for i, line in enumerate(lines) if line.strip()]
    position = {index: n for n, index in enumerate(texts)}
    marked = set(labelled)
    for index in labelled:
        n = position[index]
        neighbours = [texts[k] for k in (n - 1, n + 1) if 0 <= k < len(texts)]
        if any(other in marked for other in neighbours):
            found.add(index)
    return found


_HER2_OPENING_RE: Final = re.compile(r"^\W*(?:HER-?2|ERBB2|c-?erb)", _I)
_HER2_LABEL_RE: Final = re.compile(
    r"^\W*(?:HER-?2|ERBB2|c-?erb\S*)(?:/neu)?(?:\s+(?:IHC|ISH|FISH|SISH|immunohistochemistry|\(\w+\)))*\s*:",
    _I,
)
_SCORED_CONTROL_RE: Final = re.compile(
    r"^\W*(?:HER-?2|ERBB2|c-?erb\S*)(?:/neu)?\s+(?:\(?[0-3]\s?\+\)?\s+)?(?:(?:positive|negative|external|"
    r"internal|on-?slide|tissue|low|high|expressing|-)\s*)*controls?\b",
    _I,
)
_TUMOUR_RESULT_RE: Final = re.compile(
    r"\d\s*\+|\+\s*\d|\bscore|positiv|negativ|equivocal|amplif|ratio|\d\.\d|\d\s*%", _I
)
#: Control tissue statements ("appropriate positive and negative controls"); only a failure is read.
CONTROL_RE: Final = re.compile(r"\bcontrols?\b|\bcell\s+lines?\b|\bcontrol\s+tissue", _I)
NOT_PERFORMED_RE: Final = re.compile(
    r"\bnot\s+(?:performed|done|carried\s+out|requested|repeated|indicated)\b|"
    r"\bno\s+(?:repeat\s+)?(?:(?:HER-?2(?:/neu)?|ERBB2|c-?erbB-?2)\s+)?(?:testing|IHC|ISH|FISH|"
    r"immunohistochemistry)\s+"
    r"(?:(?:was|has|have)\s+)?(?:been\s+)?(?:performed|done|repeated)|"
    r"(?:was|were)\s+not\s+(?:performed|repeated|tested|done)",
    _I,
)


#: Sequencing methods (tissue or blood).
_SEQUENCING: Final = (
    r"\bNGS\b|next[-\s]generation\s+sequencing|\bsequencing\b|\bctDNA\b|\bcfDNA\b|liquid\s+biopsy"
)
#: HER2 measured by a method that is not tissue IHC or ISH (sequencing, RNA assays, blood tests): not an
#: ASCO/CAP result, whatever it says ("NGS: ERBB2 amplification detected", "HER2 RT-PCR: positive").
OTHER_METHOD_RE: Final = re.compile(
    _SEQUENCING + r"|"
    r"circulating\s+tumou?r|\bCTCs?\b|\bRT-?q?PCR\b|\bq?PCR\b|\bmRNA\b|\bRNA\b|Oncotype|MammaPrint|BluePrint|"
    r"PAM50|Prosigna|intrinsic\s+subtype|gene\s+expression|\bserum\b|\bECD\b|extracellular\s+domain|ELISA|"
    r"HER-?2[-\s]enriched",
    _I,
)


#: A sequencing method named anywhere in a report: the report may be a molecular one, whose "ERBB2
#: amplification detected" is a copy-number call, not an ISH result.
SEQUENCING_RE: Final = re.compile(
    _SEQUENCING + r"|"
    r"\bgene\s+panel\b|\bcomprehensive\s+genomic\b|\bgenomic\s+profil\w*",
    _I,
)
#: An ISH method named in a sentence (not the result words that ISH shares with sequencing: "amplified",
#: "copy number", "gene").
ISH_METHOD_RE: Final = re.compile(
    r"\b(?:F|S|C|D|DD|BD|IQ)?ISH\b|in[-\s]situ\s+hybridi[sz]ation|hybridi[sz]ation|\bprobes?\b|PathVysion|"
    r"ZytoLight|\bINFORM\b|\bCEP\s?-?17|\bCEN\s?-?17|centromer\w*|\bsignals?\b|\bratio\b",
    _I,
)
#: Amplification words, the result of ISH and of sequencing alike.
AMPLIFICATION_RE: Final = re.compile(r"amplif\w*|copy[-\s]number", _I)


class AssertionReader(Protocol):
    """Where the reader gets section kinds and the historical/hypothetical context of a clause."""

    def sections(self, lines: Sequence[str]) -> list[Section]:
        """The section each line belongs to."""
        ...

    def clause(self, clause: str) -> frozenset[Assertion]:
        """The assertion context of one clause (an empty set for a plain result)."""
        ...


class GrammarAssertions:
    """The service's assertion reader: this module's patterns and :class:`SectionTracker`."""

    def sections(self, lines: Sequence[str]) -> list[Section]:
        tracker = SectionTracker()
        return [tracker.feed(line) for line in lines]

    def clause(self, clause: str) -> frozenset[Assertion]:
        found = set(domain_assertions(clause))
        if (
            HISTORICAL_RE.search(clause)
            and not _RECOUNT_HINT_RE.search(clause)
            and not _CONCUR_RE.search(clause)
            and not _RETESTED_HERE_RE.search(clause)
            and not (_SAME_CASE_ISH_RE.search(clause) and not _EARLIER_SPECIMEN_RE.search(clause))
        ):
            found.add(Assertion.HISTORICAL)
        if HYPOTHETICAL_RE.search(clause):
            found.add(Assertion.HYPOTHETICAL)
        # An error named only in brackets ("1+ (repeated: the incorrect block was stained first)") is about
        # the work-up, not about the value the clause states.
        whole = _BRACKETS_RE.fullmatch(clause.strip(" .;:"))
        unbracketed = clause if whole else _BRACKETS_RE.sub(" ", clause)
        if IN_ERROR_RE.search(unbracketed) and not CORRECTED_VALUE_RE.search(unbracketed):
            found.add(Assertion.IN_ERROR)
        uncertain = UNCERTAIN_RE.search(clause)
        if uncertain and not (
            # "PRELIMINARY HER2 ISH RESULT", "provisional FISH count": an ISH result not yet final is pending
            # (§6: IHC 2+ without a final ISH is equivocal, pending), not hedged wording.
            _NOT_FINAL_RE.fullmatch(uncertain.group(0))
            and ISH_METHOD_RE.search(clause)
            and not UNCERTAIN_RE.search(clause, uncertain.end())
        ):
            found.add(Assertion.UNCERTAIN)
        if SUPERSEDED_RE.search(clause):
            # "This supersedes the provisional 'equivocal' result in the original report": about the replaced
            # result, which is no result of its own.
            found.discard(Assertion.UNCERTAIN)
            found.add(Assertion.HISTORICAL)
        if QUERY_RE.search(clause):
            found.discard(Assertion.UNCERTAIN)
            found.add(Assertion.HYPOTHETICAL)
        return frozenset(found)


def _is_control_statement(clause: str) -> bool:
    """A statement about control tissue: a control word among its first six words, and it does not open
    with a HER2 result ("HER2 IHC: 1+, external controls appropriate" is a result)."""
    match = CONTROL_RE.search(clause)
    if match is None:
        return False
    if _SCORED_CONTROL_RE.match(clause):
        return True  # "HER2 3+ control: satisfactory", "HER2 positive control (3+) stained as expected"
    label = _HER2_LABEL_RE.match(clause)
    if label is not None:
        # "HER2 IHC: external positive control (3+ tissue) stained appropriately": a label, then the
        # control, before any result of the tumour's.
        before = re.sub(
            r"(?:positive|negative|external|internal|tissue|and|on-?slide|,|\s)+$",
            "",
            clause[label.end() : match.start()],
            flags=_I,
        )
        return len(before.split()) < 6 and not _TUMOUR_RESULT_RE.search(before)
    if _HER2_OPENING_RE.match(clause):
        return False
    return len(clause[: match.start()].split()) < 6


def domain_assertions(clause: str) -> frozenset[Assertion]:
    """Contexts specific to HER2 reporting, read with this module's grammar whatever the reader."""
    found = set()
    if ELIGIBILITY_RE.search(clause):
        found.add(Assertion.ELIGIBILITY)
    if CRITERION_RE.search(clause) or LEGEND_LINE_RE.search(clause):
        found.add(Assertion.CRITERION)
    if _is_control_statement(clause):
        found.add(Assertion.CONTROL)
    if NOT_PERFORMED_RE.search(clause):
        found.add(Assertion.NOT_PERFORMED)
    if OTHER_METHOD_RE.search(clause):
        found.add(Assertion.OTHER_METHOD)
    return frozenset(found)
