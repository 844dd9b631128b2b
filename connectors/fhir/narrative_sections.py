"""Report structure: section headers and what each section is, specimen cues, and summary lines.

A pathology report is a sequence of sections: final diagnosis, synoptic or biomarker blocks, microscopic
description, comments, clinical history, methods, interpretive criteria, and addenda that supersede what
came before. :class:`SectionTracker` follows them line by line:

- a *header line* is a short line that ends with a colon, is written in capitals, or is a known section name
  on its own ("FINAL DIAGNOSIS", "Clinical history:", "ADDENDUM (HER2 ISH):", "Addendum report - 2026-02-03");
  it opens a section that lasts until the next header (history, criteria, methods, comments and carcinoma in
  situ also end at a blank line);
- an *inline label* ("Clinical history: 58F, new liver lesion.", "Comment: …") gives its kind to that line
  only.

The kinds the reader acts on: :attr:`Section.HISTORY` (never this specimen's result), :attr:`Section.CRITERIA`
(guideline text), :attr:`Section.METHOD` (assay names only), :attr:`Section.IN_SITU` (not scored, ``spec``
§2), :attr:`Section.ADDENDUM` (supersedes earlier text, §6, §10), :attr:`Section.COMMENT` and
:attr:`Section.BODY` (read as results).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

_I = re.IGNORECASE


class Section(StrEnum):
    BODY = "body"
    HISTORY = "history"
    CRITERIA = "criteria"
    METHOD = "method"
    COMMENT = "comment"
    IN_SITU = "in_situ"
    ADDENDUM = "addendum"


_SECTION_NAMES: Final = (
    (
        Section.ADDENDUM,
        r"addend(?:um|a)(?:\s+report)?|amend(?:ment|ed)(?:\s+report)?|revised\s+report|corrected\s+report|revision|"
        r"supplement(?:ary|al)?\s+report|(?:report\s+)?supplement",
    ),
    (
        Section.HISTORY,
        r"(?:(?:relevant|pertinent|clinical|past|medical|oncologic)\s+)*(?:history|hx|anamnesis)|"
        r"clinical(?:\s+(?:information|info|data|details|notes?|indication|presentation|summary))?|"
        r"indications?|reason\s+for\s+(?:referral|request|biopsy|testing)|previous\s+(?:results|history)|"
        r"background|(?:outside|external|referring)\s+(?:(?:pathology|HER-?2)\s+)?"
        r"(?:diagnosis|report|results?|findings|interpretation|pathology)|"
        # The same sections in the report languages read (es/pt, fr, de, it, nl).
        r"antecedentes?(?:\s+(?:cl[ií]nicos?|personales|oncol[oó]gicos?))?|historia\s+cl[ií]nica|datos\s+cl[ií]nicos|"
        r"hist[oó]ria\s+cl[ií]nica|ant[ée]c[ée]dents?|renseignements\s+cliniques|anamnese|vorgeschichte|"
        r"klinische\s+angaben|anamnesi|notizie\s+cliniche|storia\s+clinica|voorgeschiedenis|"
        r"klinische\s+gegevens",
    ),
    (
        Section.CRITERIA,
        r"(?:interpretive|interpretation|scoring|reporting|diagnostic|ASCO/?CAP)\s+(?:criteria|guidelines?|key|"
        r"system|scheme|notes?)|criteria|reference\s+(?:ranges?|values?|intervals?)|legend|key|definitions?|"
        r"guidelines?|disclaimers?|limitations?|test\s+information",
    ),
    (Section.METHOD, r"methods?|methodology|techniques?|technical\s+(?:notes?|details)|procedures?"),
    (Section.COMMENT, r"comments?|notes?|nb|remarks?|footnotes?|pathologist'?s?\s+(?:comments?|notes?)"),
)
_NAME_RES: Final = tuple((kind, re.compile(rf"^(?:{names})$", _I)) for kind, names in _SECTION_NAMES)
#: Carcinoma in situ (DCIS/LCIS): not scored. "in situ hybridisation" is ISH, not DCIS.
IN_SITU_RE: Final = re.compile(
    r"\bDCIS\b|\bLCIS\b|carcinoma\s+in[-\s]situ|in[-\s]situ\s+(?:carcinoma|component|disease|lesion|portion|"
    r"areas?|part)|intraductal|\bin[-\s]situ\b(?!\s+hybridi[sz]ation)",
    _I,
)
#: "Invasive" in the report languages: invasive/infiltrating, invasif/infiltrant(e), invasivo/infiltrante,
#: invasor, invasiv/infiltrierend, invasief/infiltrerend.
INVASIVE_RE: Final = re.compile(
    r"\binvasi(?:ve|f|ves|ivo|va|vos|vas|v|ven?|ver|ves|ef|eve)\b|\binvasor(?:a|es|as)?\b|"
    r"\binfiltra(?:ting|nte?s?|tivo|tiva|tive|tief|tieve)\b|\binfiltrierend\w*|\binfiltrerend\w*",
    _I,
)
#: Words that name an invasive carcinoma (or its spread) in a report, in the report languages.
INVASIVE_DISEASE_RE: Final = re.compile(
    r"\b(?:micro-?)?invasi\w*|\binfiltra\w*|\bIDC\b|\bILC\b|\bNST\b|no\s+special\s+type|"
    r"type\s+non\s+sp[ée]cifique|metasta\w*|m[ée]tasta\w*|"
    r"(?<!intraductal\s)(?<!papillary\s)\b(?:carcinoma|carcinome|karzinom|carcinoom)\b(?!\s+in[-\s]situ)|"
    r"\bT[1-4][a-d]?\b|\btumou?r\s+size\b",
    _I,
)
#: Carcinoma in situ denied: "no in situ component", "absence de composante in situ", "kein DCIS".
NO_IN_SITU_RE: Final = re.compile(
    r"\b(?:no|without|absence\s+(?:of|de|d')|absent|sans|pas\s+de|kein\w*|ohne|sin|senza|assenza\s+di|geen|"
    r"zonder|sem|aus[eê]ncia\s+de)\s+(?:(?!invasi|infiltra)\w+\s+){0,3}?(?:DCIS|LCIS|in[-\s]situ|intraductal\w*)"
    r"(?:\s+(?:component|composante|componente|Komponente|areas?|carcinoma|carcinome))?",
    _I,
)
#: Invasion denied: "no invasive carcinoma", "negative for invasion", "DCIS only", "no residual invasive …".
NO_INVASION_RE: Final = re.compile(
    r"\b(?:no|without|negative\s+for|free\s+of|absence\s+of)\s+(?:(?:evidence|definite|definitive|residual|"
    r"stromal|of|any|an?)\s+)*(?:micro-?)?invasi\w*(?:\s+(?:ductal\s+|lobular\s+|mammary\s+)?carcinoma)?|"
    r"\b(?:invasion|invasive\s+carcinoma)\s+(?:is\s+|was\s+)?(?:not\s+(?:seen|identified|present|observed)|"
    r"absent)",
    _I,
)
_IN_SITU_ONLY_RE: Final = re.compile(
    r"\b(?:DCIS|LCIS|(?:carcinoma\s+)?in[-\s]situ)(?:\s+\w+){0,2}?\s+only\b|\bpure\s+(?:DCIS|LCIS)\b", _I
)

#: Carcinoma in situ named as part of, or beside, another lesion.
_IN_SITU_BESIDE_RE: Final = re.compile(
    r"\b(?:associated|adjacent|accompanying|background|surrounding|co-?existing|coexistent|concurrent|"
    r"additional|admixed|also|with|and|plus)\s+(?:\w+\s+){0,2}?(?:DCIS|LCIS|(?:ductal\s+|lobular\s+)?carcinoma\s+"
    r"in[-\s]situ|in[-\s]situ)|(?:DCIS|LCIS|in[-\s]situ)\s+(?:component|areas?|portion|foci|elements?)|"
    r"\bextensive\s+intraductal\s+component",
    _I,
)


def in_situ_only(text: str) -> bool:
    """Whether a report describes carcinoma in situ and no invasive carcinoma (its HER2 is the DCIS's).

    Every mention of invasive disease must be denied ("no invasive carcinoma identified"); a control
    sentence naming a carcinoma, or any undenied invasive word, keeps the report's HER2 result.
    """
    text = NO_IN_SITU_RE.sub(" ", text)
    if not IN_SITU_RE.search(text):
        return False
    stated = bool(NO_INVASION_RE.search(text) or _IN_SITU_ONLY_RE.search(text))
    if not stated and _IN_SITU_BESIDE_RE.search(text):
        return False  # "associated DCIS", "the in situ component": beside an invasive carcinoma
    rest = NO_INVASION_RE.sub(" ", _IN_SITU_ONLY_RE.sub(" ", text))
    in_situ = [match.span() for match in IN_SITU_RE.finditer(rest)]
    for match in INVASIVE_DISEASE_RE.finditer(rest):
        # "ductal carcinoma in situ", "intraductal carcinoma": the carcinoma named is the in-situ one.
        near = [(a, b) for a, b in in_situ if a < match.end() + 2 and match.start() - 2 < b]
        if not near:
            return False
    return True


_HEADER_TEXT: Final = re.compile(
    r"^[\s*#>=-]*(?P<name>[A-Za-z][A-Za-z0-9 /&'(),.#+-]{0,78}?)\s*(?P<colon>[:=-])?\s*$"
)
_KNOWN_HEADER: Final = re.compile(
    # The name, then up to three of: a bracket, a number, " - what it is", a date ("ADDENDUM 2 (08/09/2024) -
    # HER2 ISH recount", "*** AMENDED REPORT *** (Amendment #1, 09/20/2024 - change in HER2 score)").
    r"^[\s*#>=-]*(?P<name>[A-Za-z][A-Za-z /&']{0,40}?)[\s*=]*"
    r"(?:\s*(?:\([^)]{0,60}\)|#?\d+|\s-\s[\w\s/.,-]{0,40}|\d{4}-\d{2}-\d{2})){0,3}"
    # "Scoring criteria (ASCO/CAP 2018/2023), for reference:": what the section is for.
    r"(?:\s*,?\s*(?:for\s+(?:reference|information|guidance)|as\s+applied|used))?\s*:?\s*$"
)
_INLINE_LABEL: Final = re.compile(
    r"^[\s*#>-]*(?P<name>[A-Za-z][A-Za-z /&'-]{0,40}?)\s*(?:\([^)]{0,30}\))?\s*:\s*\S"
)
_ENDS_AT_BLANK: Final = frozenset({Section.HISTORY, Section.CRITERIA, Section.METHOD, Section.IN_SITU})

# ----------------------------------------------------------------------------------------------------------
# Specimens and summary lines

ACCESSION: Final = r"([A-Z]{1,4}-?\d{2,4}-\d{2,7})\b"
ACCESSION_RE: Final = re.compile(r"(?<![\w-])" + ACCESSION, _I)
#: What a bracket after "Prior" / "Current" names when it names a specimen: its kind or its year.
_SPECIMEN_IN_BRACKET: Final = (
    r"\b(?:core|biops(?:y|ies)|excision|resection|specimen|sample|lumpectomy|mastectomy|block|"
    r"(?:19|20)\d\d)\b"
)
PRIOR_RE: Final = re.compile(
    r"\b(?:previous|prior|earlier|outside|original|initial|preceding|former|diagnostic|pre-?treatment|"
    r"pre-?therapy|pre-?neoadjuvant|pre-?chemotherapy|baseline)\s+"
    r"(?:(?:core|needle|excisional|incisional|punch|surgical|breast|diagnostic|left|right)\s+)*"
    r"(?:biops(?:y|ies)|specimens?|samples?|cores?|excisions?|resections?|case|material|lumpectomy|mastectomy|"
    r"tumou?rs?|carcinomas?|cancers?|lesions?|primary)\b|"
    # A column or row named by time with the specimen in brackets ("Prior (2022, core)").
    r"\b(?:previous|prior|earlier|outside|original|initial|former)\s*\((?=[^()]*"
    + _SPECIMEN_IN_BRACKET
    + r")[^()]*\)|"
    # "Previously performed on core biopsy S26-…": a test done earlier, on another specimen.
    r"\b(?:previously|earlier|originally|formerly)\s+(?:performed|done|tested|carried\s+out|assessed|reported)\s+"
    r"on\s+(?:the\s+|a\s+)?(?:(?:core|needle|excisional|incisional|diagnostic|breast|left|right)\s+)*"
    r"(?:biops(?:y|ies)|specimens?|samples?|cores?|excisions?|resections?|blocks?)\b|"
    # "la biopsia previa", "biopsie antérieure", "Vorbiopsie", "biopsia precedente", "eerdere biopsie".
    r"\b(?:biops[iy]a|biopsie|biópsia|muestra|pi[eè]ce|prélèvement|campione|preparaat)\s+"
    r"(?:previa|anterior|inicial|original|pr[ée]c[ée]dente|ant[ée]rieure|initiale|precedente|iniziale|pr[ée]via)\b|"
    r"\bVorbiops\w*|\b(?:vorherig|früher|frueher|ursprünglich)\w*\s+(?:Biopsie|Stanz\w*|Probe|Befund)|"
    r"\b(?:eerdere|vorige|oorspronkelijke)\s+(?:biopsie|preparaat|naaldbiopt\w*)",
    _I,
)
CURRENT_RE: Final = re.compile(
    r"\b(?:current|present|this|today'?s)\s+(?:(?:core|needle|excisional|surgical|breast)\s+)*"
    r"(?:biopsy|specimen|sample|excision|resection|case|material|lumpectomy|mastectomy)\b|"
    r"\b(?:current|present|today'?s)\s*\((?=[^()]*" + _SPECIMEN_IN_BRACKET + r")[^()]*\)",
    _I,
)
ISO_DATE_RE: Final = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
METASTASIS_RE: Final = re.compile(r"\bmetasta(?:tic|sis|ses)\b", _I)
#: No invasive carcinoma left in the specimen after neoadjuvant therapy (pathological complete response):
#: there is nothing of its own to test for HER2.
NO_RESIDUAL_RE: Final = re.compile(
    r"\bno\s+(?:residual|remaining|viable)\s+(?:invasive\s+|infiltrating\s+)?(?:carcinoma|tumou?r|cancer|disease)\b|"
    r"\bno\s+(?:invasive|infiltrating)\s+(?:carcinoma|tumou?r)\s+(?:remains|is\s+(?:left|identified|seen))|"
    r"\bypT0\b|(?<!\bno\s)(?<!\bnot\s)(?<!\bnon-)(?<!\bwithout\s)(?<!\bnot\sa\s)"
    r"(?:\bpathologic(?:al)?\s+complete\s+(?:response|remission)\b|\bpCR\b)|\bRCB[-\s]*(?:class\s*)?(?:0|zero)\b|"
    r"\b(?:sin|sans|senza|sem|zonder|ohne)\s+(?:\w+\s+){0,2}r[ée]sidu\w*|\bkein\w*\s+(?:\w+\s+){0,2}Resttumor\w*|"
    r"\bkein\w*\s+(?:\w+\s+){0,2}residu\w*",
    _I,
)
NO_METASTASIS_RE: Final = re.compile(r"\b(?:no|negative\s+for|without|free\s+of)\s+(?:\w+\s+)?metasta", _I)
#: A "FINAL HER2 STATUS" / "Final:" / "Overall result:" statement: preferred over the rest of the report.
FINAL_RE: Final = re.compile(
    r"^[\s*>-]*(?:HER-?2\s+)?(?:final|overall)\b[^:\n]{0,40}?(?:[:=]|\s-\s)|^[\s*>-]*(?:final|overall)\s*-",
    _I,
)
#: "Interpretation:", "Conclusion:": a summary statement, stronger than a single test's status.
SUMMARY_RE: Final = re.compile(
    r"^[\s*>-]*(?:HER-?2\s+)?(?:interpretation|conclusion|summary|impression|adjudicat\w*)\b", _I
)
ABBREVIATIONS: Final = frozenset(
    {"e.g", "i.e", "approx", "vs", "dr", "no", "fig", "ca", "cf", "nos", "min", "nb", "incl", "resp"}
)


#: A part of a multi-part report: "Part A", "Specimen 2:", "A. Left breast, core biopsy:", "(B) Right breast";
#: "Teil A", "Partie B", "Parte A", "Deel B" in the report languages.
PART_RE: Final = re.compile(
    r"^[\s*#>-]*(?:(?:part|specimen|sample|container|jar|teil|partie|parte|deel)\s*(?:#|no\.?)?\s*(?P<named>[A-H]|\d{1,2})\b(?!\s*[+%.]\d)"
    # The foci or blocks of one tumour: "Focus A (upper outer):", "Focus: B", "Tumour focus 2", "Block A3".
    r"|(?:(?:tumou?r\s+)?(?:focus|foci|lesion|nodule)|block)\s*(?:#|no\.?|:)?\s*(?P<focus>[A-H]\d{0,2}|\d{1,2})"
    r"(?![\w+%.])"
    # "Tumour 1 (12 mm):", "Tumor #2:" (not "tumour 2 cm", "tumour 3+")
    r"|tumou?r\s*(?:#|no\.?)?\s*(?P<tumour>[1-9])(?![\w+%.,])(?!\s*(?:cm|mm|\+))"
    r"|\(?(?P<letter>[A-H])[.)]\s+(?=(?:[^.;:]{0,40}?)\b(?:left|right|breast|axilla\w*|(?:lymph\s+)?nodes?|"
    r"core|biops\w*|excision|re-?excision|mastectomy|lumpectomy|resection|segmentectomy|quadrant|liver|bone|lung|"
    r"skin|pleura\w*|brain|chest\s+wall|margin|o'?clock|sentinel)\b)"
    # "A (primary tumour, block A4):", "B (nodal metastasis):": a letter, then what the part is, in brackets.
    r"|(?P<bracketed>[A-H])\s*\((?=[^()]{0,60}\)\s*:)(?=[^()]{0,60}?\b(?:primary|tumou?r|nodal|nodes?|"
    r"metasta\w*|breast|left|right|axilla\w*|core|biops\w*|excision|mastectomy|lumpectomy|resection|"
    r"sentinel)\b))",
    re.IGNORECASE,
)


def part_label(sentence: str) -> str | None:
    """The part a sentence opens ("A. Left breast, core biopsy: …" → "A"), or None."""
    match = PART_RE.match(sentence)
    if match is None:
        return None
    return (
        match.group("named")
        or match.group("focus")
        or match.group("tumour")
        or match.group("letter")
        or match.group("bracketed")
    ).upper()


def section_of_name(name: str) -> Section | None:
    """The kind of a section name ("Clinical history" → HISTORY); None when the name is not a known kind."""
    cleaned = re.sub(r"\s+", " ", name.strip(" .:-#*")).strip()
    for kind, pattern in _NAME_RES:
        if pattern.match(cleaned):
            return kind
    if IN_SITU_RE.search(cleaned) and not INVASIVE_RE.search(cleaned):
        return Section.IN_SITU
    return None


def header_line(line: str) -> str | None:
    """The name of a standalone header line, or None for a line with content."""
    known = _KNOWN_HEADER.match(line)
    if known and section_of_name(known.group("name")) is not None:
        return known.group("name")
    match = _HEADER_TEXT.match(line)
    if match is None:
        return None
    name = match.group("name")
    letters = [c for c in name if c.isalpha()]
    shouting = (
        len(letters) >= 4
        and all(c.isupper() for c in letters)
        and not re.search(r"[.;!?](?:\s|$)", name)
        and not re.search(r"\d\.\d+\s*$", name)  # "CEP17 COPY NUMBER (MEAN PER CELL)   1.7": a value
    )
    if match.group("colon") == ":" and re.search(r"[.;!?]\s", name):
        return None  # "HER2 IHC 2+. The DCIS component shows 3+. HER2 FISH:": sentences, not a header
    if match.group("colon") == ":" or (shouting and len(name) <= 70):
        return name
    return None


def inline_section(line: str) -> Section | None:
    """The kind named by an inline label ("Comment: …"), when the label is a known section name."""
    match = _INLINE_LABEL.match(line)
    kind = section_of_name(match.group("name")) if match else None
    return None if kind is Section.IN_SITU else kind


class SectionTracker:
    """Follows the sections of one report, line by line (:meth:`feed` returns each line's section)."""

    def __init__(self) -> None:
        self.current = Section.BODY

    def feed(self, line: str) -> Section:
        if not line.strip():
            if self.current in _ENDS_AT_BLANK or self.current is Section.COMMENT:
                self.current = Section.BODY
            return Section.BODY
        name = header_line(line)
        if name is not None:
            self.current = section_of_name(name) or Section.BODY
            return self.current
        inline = inline_section(line)
        if inline is not None:
            return inline
        return self.current
