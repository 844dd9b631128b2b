"""Report text → normalised lines: one spelling per sign and number; tables and wrapped lines undone.

The phrase grammar (:mod:`connectors.fhir.narrative_grammar`) is written for one spelling of everything, so
this module turns the many ways laboratories type the same thing into that one spelling, and nothing else:

- signs: Unicode dashes and minus → ``-``; ``⩾ ≧ >=`` → ``≥`` and ``⩽ ≦ <=`` → ``≤``; full-width and
  superscript signs and digits → ASCII; typographic quotes → ASCII; ``per cent``/``percent`` → ``%``;
  HTML character references left in plain text are decoded;
- numbers: a decimal comma (``ratio 2,3``, ``12,5 %``) and the decimal middle dot (``2·3``) become a point;
  thousands separators (``1,200`` and the thin-space ``1 200``) are removed. A comma between two numbers of
  which the second has three digits is a thousands separator; with one or two digits it is a decimal comma
  (European and UK reports write ratios and copy numbers with at most two decimals);
- tables: rows of a pipe table (``| HER2 | 2+ |``; HTML tables arrive in this form) become ``HER2: 2+``;
  under a header row, each cell is prefixed by its column header
  (``| Ratio | HER2/cell |`` over ``| 1,6 | 5,7 |`` → ``Ratio: 1.6; HER2/cell: 5.7``);
- dictation: spoken numbers and names ("one point two", "CEP seventeen"); "her 2", "her two", "her 2 new",
  "HER 2 NEU" → ``HER2`` where HER2 words follow (not the pronoun: "her 2 sisters"); a spelled score ("three
  plus", "three+") → ``3+`` only where HER2 is the last marker named before it (an ER "strong three plus
  intensity" stays words); a long dictated line without punctuation gets a full stop before each marker or
  method it moves on to ("… of cells fish not performed ki 67 …");
- wrapped lines: a line broken in the middle of a sentence (fixed-width report text) is joined to the next
  one when the next line plainly continues it (starts in lower case or with a number, and is neither a
  ``label: value`` line nor a list item).

Character positions are not preserved; excerpts are taken from the normalised text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from connectors.fhir.narrative_lexicon import to_english
from connectors.fhir.narrative_markup import plain_text
from connectors.fhir.narrative_sections import PART_RE, part_label

_NEWLINES: Final = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_DASHES: Final = re.compile(r"[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d]")
_ZERO_WIDTH: Final = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
#: The dot a Turkish capital İ leaves on the "i" of a report lower-cased ("i̇n si̇tu"): no letter of its own.
_DOTTED_I: Final = re.compile(r"(?<=[iI])\u0307")
_THIN_THOUSANDS: Final = re.compile(r"(?<=\d)[\u2009\u202f'](?=\d{3}(?!\d))")
_SPACES: Final = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\f\v]")
_TRANSLATE: Final = str.maketrans(
    {
        "⩾": "≥",
        "≧": "≥",
        "⩽": "≤",
        "≦": "≤",
        "＞": ">",
        "＜": "<",
        "＝": "=",
        "＋": "+",
        "⁺": "+",
        "₊": "+",
        "⁻": "-",
        "％": "%",
        "﹪": "%",
        "：": ":",
        "；": ";",
        "，": ",",
        "（": "(",
        "）": ")",
        "‘": "'",
        "’": "'",
        "‚": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "×": "x",
        "•": "-",
        "◦": "-",
        "▪": "-",
        "►": "-",
        **{chr(0xFF10 + d): str(d) for d in range(10)},
    }
)
_COMPARATORS: Final = ((re.compile(r">\s?="), "≥"), (re.compile(r"<\s?="), "≤"), (re.compile(r"=\s?<"), "≤"))
_ENTITY: Final = re.compile(r"&(?:#\d{1,6}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")
_PERCENT_WORD: Final = re.compile(r"(?<=\d)[ \t]*(?:per[ \t]?cent|percent|pct)\b", re.IGNORECASE)
_MIDDLE_DOT: Final = re.compile(r"(?<=\d)[·\u2219](?=\d)")
#: Leaders between a field's name and its value ("HER2 IHC SCORE........1+", "Ratio ____ 2.3").
_RULE_LINE: Final = re.compile(r"^[ \t]*(?:[-=_*~][ \t]*){5,}$")
#: Page furniture a rule line frames ("Printed: … Page 1 of 2", "*** FINAL REPORT ***"): a page break, which
#: the text across it continues.
_PAGE_FURNITURE: Final = re.compile(
    r"\bpage\s+\d+\s*(?:of|/)\s*\d+\b|^\s*printed\b|\*{3}\s*[\w\s]{0,30}\*{3}|\(?continued\)?\s*$",
    re.IGNORECASE,
)


def _without_rules(lines: list[str]) -> list[str]:
    """Rule lines as blank lines, except those framing page furniture (a page break)."""
    found = list(lines)
    for index, line in enumerate(lines):
        if not _RULE_LINE.match(line):
            continue
        near = lines[max(0, index - 2) : index] + lines[index + 1 : index + 3]
        if not any(_PAGE_FURNITURE.search(other) for other in near):
            found[index] = ""
    return found


_LEADER: Final = re.compile(r"(?<=\S)[ \t]*(?:\.{3,}|_{3,}|\.(?:[ \t]\.){2,})[ \t]*(?=\S)")
#: Underscores joining the words of a laboratory system's field name ("HER2_IHC_SCORE=1").
_UNDERSCORE: Final = re.compile(r"(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])")
_THOUSANDS: Final = re.compile(r"(?<![\d.,])(\d{1,3})((?:,\d{3})+)(?![\d]|[.,]\d)")
_DECIMAL_COMMA: Final = re.compile(r"(?<![\d.,])(\d{1,3}),(\d{1,2})(?![\d]|,\d)")
_SEPARATOR_ROW: Final = re.compile(r"^[\s|:=+-]*$")
_LIST_ITEM: Final = re.compile(r"^\s*(?:[-*]\s|\d{1,2}[.)]\s|\(?[a-hA-H][.)]\s)")
#: A next line whose first word ends in the ")" of a bracket the line before left open ("h) renders").
_CLOSES_BRACKET: Final = re.compile(r"^[^\s()]{1,12}\)\s")
_KEY_VALUE: Final = re.compile(r"^[A-Za-z][^:.;]{0,40}:\s")
_CONTINUES: Final = re.compile(r"^[a-z0-9(%+/,]")
_ENDS_SENTENCE: Final = re.compile(r"[.;:!?]\s*$")
_SOFT_END: Final = re.compile(r"[;,]\s*$")
#: A line that is itself a ``label: value`` item ("er: negative (0%)", "KI-67: 15%").
_LABELLED_ITEM: Final = re.compile(r"^[A-Za-z][A-Za-z0-9 /()'-]{0,40}:\s*\S")
_SECTION_LABEL: Final = re.compile(
    r"^(?:(?:clinical|relevant|pertinent)\s+)?(?:history|information|indication|notes?|comments?|diagnosis|"
    r"final\s+diagnosis|addendum|criteria|interpretive\s+criteria|methods?|specimens?|gross|microscopic)\b",
    re.IGNORECASE,
)
_TITLE_WORD: Final = re.compile(r"^[A-Z][a-z]")
_ENDS_ITEM: Final = re.compile(r"(?:\)|%|(?<![A-Za-z\d])(?<![A-Za-z]-)\d+(?:\.\d+)?\+?)\s*$")
#: A line that opens with a word that cannot open a sentence continues the one before ("… 0%" / "of cells …").
_CONTINUATION: Final = re.compile(
    r"^(?:[/,;%+()=]|(?:in\b(?!\s+situ)|of|and|or|with|to|from|than|per|which|whereas|percent|per\s?cent|staining|signals|"
    r"copies|cells|nuclei|elsewhere|remaining|remainder|"
    r"show|shows|showing|demonstrat\w*|exhibit\w*)\b"
    r"(?!\s*:))",
    re.IGNORECASE,
)
_ENDS_NUMBER: Final = re.compile(r"(?:%|(?<![A-Za-z\d])(?<![A-Za-z]-)\d+(?:\.\d+)?\+?)\s*$")
#: A conditional sentence: until it ends, the next line belongs to it ("If HER2" / "IHC is 2+, …").
_CONDITIONAL: Final = re.compile(r"\b(?:if|should|whether|unless|in\s+case)\b", re.IGNORECASE)
_NOTE_START: Final = re.compile(r"^\W*(?:notes?|nb|comments?|footnotes?)\s*[:.(-]", re.IGNORECASE)
#: A qualifier of what the line before states ("… HER2 IHC: 3+" / "cannot be excluded (edge artefact)").
_QUALIFIER: Final = re.compile(
    r"^(?:cannot\s+be\s+(?:excluded|ruled\s+out)|can\s*not\s+be|not\s+(?:be\s+)?excluded|(?:is|are|was|were)\s+"
    r"(?:possible|suspected|likely|questionable|uncertain|not)\b|\?)",
    re.IGNORECASE,
)
#: The unit of a number the line before ends with ("mean 4.8" / "HER2 signals per nucleus").
_UNIT_CONTINUATION: Final = re.compile(
    r"^(?:(?:HER-?2|CEP-?17)(?:/neu)?\s+)?(?:signals?|cop(?:y|ies)|dots)\s*(?:per|/)\s*(?:cell|nucle)",
    re.IGNORECASE,
)
#: An intensity word and the staining it qualifies on the next line ("… pattern: strong" /
#: "complete membranous …").
_INTENSITY_END: Final = re.compile(
    r"\b(?:weak|faint|moderate|strong|intense|perceptible|weakly|moderately|strongly|intensely)\s*$",
    re.IGNORECASE,
)
_STAINING_NEXT: Final = re.compile(
    r"^(?:complete|incomplete|circumferential|partial|basolateral|lateral|membran\w*|staining|stained)\b(?!\s*:)",
    re.IGNORECASE,
)
_ENDS_NO: Final = re.compile(r"\bno\s*$", re.IGNORECASE)
_NO_OBJECT: Final = re.compile(
    r"^(?:(?:HER-?2|ERBB2)(?:/neu)?\s+)?(?:gene\s+)?(?:amplification|evidence|over-?expression|staining|"
    r"membran\w*|immunoreactivity|signals?)\b",
    re.IGNORECASE,
)
_ABBREVIATION_END: Final = re.compile(r"\b(?:approx|ca|e\.g|i\.e|vs|cf|incl|resp|no)\.\s*$", re.IGNORECASE)
_DANGLING: Final = re.compile(
    r"\b(?:of|in|with|and|or|to|the|a|an|per|by|for|at|on|as|than|is|are|was|were|shows?|showing|but|"
    r"not|mean|average|group|score|ratio|number|approximately|about|barely|very|IHC|ISH|if|when|should|unless|"
    r"gave|gives|yielded|yields|revealed|reveals|showed|demonstrated|demonstrates|"
    r"whether)\s*$|"
    r"[,(/]\s*$|\s-\s*$|"
    # "… shows no" / "staining": a verb's "no" dangles, a field's value ("AMPLIFIED  No") does not.
    r"\b(?:is|are|was|were|with|shows?|showed|showing|has|have|had|and|or|but|demonstrat\w*|exhibit\w*|"
    r"reveal\w*|identif\w*|see[ns]?)\s+no\s*$",
    re.IGNORECASE,
)
_NEW_ITEM: Final = re.compile(
    r"^(?:(?:HER-?2|ERBB2|c-?erb|ER|PR|PgR|o?estrogen|progesterone|Ki-?67|E-?cadherin|DCIS|LCIS)\b|"
    r"(?:the\s+|an?\s+|adjacent\s+|associated\s+)*(?:DCIS|LCIS|(?:ductal|lobular)\s+carcinoma\s+in\s+situ|in\s+situ\s+"
    r"(?:carcinoma|component))\b|(?:final|addend\w*|clinical|history|comments?|notes?|footnotes?|nb|remarks?|"
    r"diagnosis|specimen|methods?|criteria|legend|"
    r"interpret\w*|impression|conclusion|summary|if|should|when|unless|whether|in\s+case)\b)",
    re.IGNORECASE,
)
#: Headers that make a table's first column a row label ("Marker | Result | Score").
_ROW_LABEL_HEADERS: Final = re.compile(
    r"^(?:marker|biomarker|antibody|stain|test|assay|parameter|analyte|item|gene|protein|target|name|probe)s?$",
    re.IGNORECASE,
)
_GENERIC_HEADERS: Final = re.compile(
    r"^(?:result|results|value|values|finding|findings|outcome)$", re.IGNORECASE
)
_FOOTNOTE: Final = re.compile(
    r"^\s*(?:\*{1,3}(?=[^\s*])|\*\s+(?=(?:note|nb|footnote|please|the|this|these|results?)\b)|[†‡§¹²³])\s*",
    re.IGNORECASE,
)
_VALUE_CELL: Final = re.compile(
    r"\d\s*[+%]|^\s*[<>≤≥]?\d|\b(?:positive|negative|equivocal|borderline|pending|amplified|indeterminate)\b",
    re.IGNORECASE,
)
_MARKER_CELL: Final = re.compile(
    r"^\s*(?:HER-?2(?:/neu)?|ERBB2|c-?erbB-?2|ER|PR|PgR|Ki-?67)\s*$", re.IGNORECASE
)


# Dictated reports spell numbers and names out ("HER two", "CEP seventeen", "ninety percent", "one point
# two").
_UNITS: Final = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS: Final = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_UNIT_WORD: Final = "|".join(sorted(_UNITS, key=len, reverse=True))
_TEN_WORD: Final = "|".join(_TENS)
_DIGIT_WORD: Final = "zero|one|two|three|four|five|six|seven|eight|nine|oh"
_SPOKEN_NUMBER: Final = (
    rf"(?:(?:a|one)\s+hundred|(?:{_TEN_WORD})(?:[-\s](?:one|two|three|four|five|six|seven|eight|nine))?|"
    rf"{_UNIT_WORD})"
)
_SPOKEN_DECIMAL_RE: Final = re.compile(
    rf"\b(?P<whole>{_SPOKEN_NUMBER})\s+point\s+(?P<digits>(?:{_DIGIT_WORD})\b(?:\s+(?:{_DIGIT_WORD})\b)*)",
    re.IGNORECASE,
)
_SPOKEN_PERCENT_RE: Final = re.compile(
    rf"\b(?P<whole>{_SPOKEN_NUMBER})(?=\s*(?:%|per\s?cent|percent)\b)", re.IGNORECASE
)
#: What follows a spoken HER2 ("her 2 is …", "her two by FISH …"); "her two sisters" is the pronoun.
_HER2_FOLLOWS: Final = (
    r"(?=\s*(?:[:(=]|\b(?:is|was|are|were|by|status|results?|ihc|immuno\w*|fish|ish|sish|cish|score[sd]?|"
    r"protein|gene|test\w*|stain\w*|membrane|expression|over-?expression|equivocal|negative|positive|"
    r"borderline|amplif\w*|non-?amplif\w*|not|signals?|cop(?:y|ies)|to\s+cep|cep|in\s+situ|dual|single|"
    r"hybridi[sz]ation|zero|one|two|three|"
    r"\d+\+?(?![\d.]*\s*(?:year|month|week|day|prior|previous|sister|child|daughter|son|cm|mm)))\b))"
)
_SPOKEN_NAMES: Final = (
    # "HER2/neu" dictated: "her 2 new", "HER 2 NEU", "her two slash neu".
    (
        re.compile(
            r"\bher(?:[-\s]{0,3}(?:two|2))(?:\s*(?:[-/]|\s+slash\s+)?\s*(?:neu|new))\b",
            re.IGNORECASE,
        ),
        "HER2",
    ),
    (re.compile(r"\b(?-i:HER)[-\s]{0,3}two\b", re.IGNORECASE), "HER2"),
    (re.compile(rf"\b(?-i:her|Her)(?:[-\s]{{0,3}}two|\s+2)\b{_HER2_FOLLOWS}", re.IGNORECASE), "HER2"),
    (re.compile(r"\bhercep[-\s]?t[-\s]?test\b", re.IGNORECASE), "HercepTest"),
    (re.compile(r"\b(CEP|CEN|chromosome)[-\s]{0,3}seventeen\b", re.IGNORECASE), r"\g<1>17"),
    (re.compile(r"(?<=[A-Za-z0-9])\s+slash\s+(?=neu\b)", re.IGNORECASE), "/"),
)
_SPOKEN_SCORE_RE: Final = re.compile(
    r"(?<![\w.])(zero|one|two|three|[0-3])(?:[-\s]{1,3}plus\b|\+)(?![\w+])", re.IGNORECASE
)
_SCORE_DIGITS: Final = {"zero": 0, "one": 1, "two": 2, "three": 3, "0": 0, "1": 1, "2": 2, "3": 3}
#: The markers whose score a spelled "three plus" can be: HER2 (and its assays), or another marker.
_SCORE_OWNER_RE: Final = re.compile(
    r"(?P<her2>\bHER[-\s]?2\b|\bHER[-\s]?two\b|ERBB-?2|c-?erb-?B-?2|HercepTest|\b4B5\b)|"
    r"(?P<other>\b(?:ER|PR|PgR|AR|er|pr)\b|o?estrogen|progesterone|androgen|Ki-?\s?67|\bki\s+67\b|"
    r"e-?\s?cadherin|\bp53\b|\bCK\s?5/6\b|GATA-?3|PD-?L1|intensity)",
    re.IGNORECASE,
)
#: How far back the marker of a spelled score is looked for (a dictated report runs its markers together).
_SCORE_OWNER_SPAN: Final = 160


def _spoken_value(words: str) -> int:
    """The value of a spelled-out number below 101 ("ninety", "twenty-five", "one hundred")."""
    parts = re.split(r"[-\s]+", words.lower())
    if "hundred" in parts:
        return 100
    return sum(_TENS.get(part, 0) + _UNITS.get(part, 0) for part in parts)


def _keeping_lines(match: re.Match[str], replacement: str) -> str:
    """A replacement that keeps the line breaks the spoken words spanned (the report's line structure, and
    so its wrapping, stays that of the text as written)."""
    return replacement + "\n" * match.group(0).count("\n")


def _named(replacement: str) -> Callable[[re.Match[str]], str]:
    def substitute(match: re.Match[str]) -> str:
        return _keeping_lines(match, match.expand(replacement))

    return substitute


def _spoken_score(match: re.Match[str]) -> str:
    """A spelled score ("two plus", "three+", "1 plus") as written ("2+") where it is HER2's: the last marker
    named before it is HER2 (or no marker is named); another marker's "three plus" intensity stays words."""
    if match.group(0)[-1] == "+" and match.group(1).isdigit():
        return match.group(0)
    before = match.string[max(0, match.start() - _SCORE_OWNER_SPAN) : match.start()]
    owners = list(_SCORE_OWNER_RE.finditer(before))
    if owners and owners[-1].group("other"):
        return match.group(0)
    return _keeping_lines(match, f"{_SCORE_DIGITS[match.group(1).lower()]}+")


def _spoken_numbers(text: str) -> str:
    if not re.search(
        r"\b(?:point|per\s?cent|percent|her[-\s]{0,3}(?:two|2)|seventeen|slash|plus|hercep\w*)\b|%|[a-z]\+",
        text,
        re.IGNORECASE,
    ):
        return text
    for pattern, replacement in _SPOKEN_NAMES:
        text = pattern.sub(_named(replacement), text)
    # "two plus", "three-plus", "three+": the score as written ("2+"), where it is HER2's.
    text = _SPOKEN_SCORE_RE.sub(_spoken_score, text)

    def decimal(match: re.Match[str]) -> str:
        digits = "".join(
            "0" if word.lower() == "oh" else str(_UNITS[word.lower()])
            for word in match.group("digits").split()
        )
        return _keeping_lines(match, f"{_spoken_value(match.group('whole'))}.{digits}")

    text = _SPOKEN_DECIMAL_RE.sub(decimal, text)
    return _SPOKEN_PERCENT_RE.sub(lambda m: _keeping_lines(m, str(_spoken_value(m.group("whole")))), text)


#: A dictated line: many words and no punctuation between them (speech recognition without spoken stops).
_STOP_RE: Final = re.compile(r"[.;:,!?](?!\d)|[|()\[\]=]")
#: Words after which a marker's name continues the sentence ("positive for her 2", "ratio of HER2 to …").
_RUNS_ON: Final = frozenset(
    {
        "for",
        "of",
        "and",
        "or",
        "with",
        "by",
        "to",
        "in",
        "on",
        "the",
        "a",
        "is",
        "was",
        "than",
        "per",
        "no",
        "not",
    }
)
_DICTATED_WORDS: Final = 12
#: What opens a new statement in dictation: a marker, a method or a comment.
_DICTATED_OPENER_RE: Final = re.compile(
    r"(?<=[\w%+])\s+(?=(?:HER2|(?-i:ER|PR)|fish|ish|sish|cish|ki[-\s]?67|e[-\s]?cadherin|"
    r"o?estrogen\s+receptors?|progesterone\s+receptors?|androgen\s+receptors?|comments?|addendum|"
    r"interpretation|impression)\b)",
    re.IGNORECASE,
)


def _dictated_stops(text: str) -> str:
    """Full stops where a dictated, unpunctuated line moves on to the next marker or method ("… 30% of cells
    fish not performed ki 67 is 10%" → "… 30% of cells. fish not performed. ki 67 is 10%"), so that one
    marker's words are not read as another's."""
    return "\n".join(
        _DICTATED_OPENER_RE.sub(_stop, line) if _dictated(line) else line for line in text.split("\n")
    )


def _stop(match: re.Match[str]) -> str:
    before = match.string[: match.start()].split()
    return match.group(0) if before and before[-1].lower() in _RUNS_ON else ". "


#: An abbreviation's point ("approx. 20%", "vs. 2+") is no sentence stop: a dictated line may hold one.
_ABBREVIATION_POINT: Final = re.compile(r"\b(?:approx|ca|e\.g|i\.e|vs|cf|incl|resp)\.(?=\s)", re.IGNORECASE)


def _dictated(line: str) -> bool:
    return len(line.split()) >= _DICTATED_WORDS and not _STOP_RE.search(_ABBREVIATION_POINT.sub(" ", line))


@dataclass(frozen=True, slots=True)
class Line:
    """One normalised report line; ``footnote``: the line opened with a footnote sign (``*``, ``†``)."""

    text: str
    footnote: bool = False


#: The number of cells counted, in brackets between a field's name and its value ("COPIES PER CELL (N=40):").
_COUNT_ASIDE: Final = re.compile(
    r"\s*\(\s*n\s*=\s*\d{1,4}(?:\s+(?:nuclei|cells))?\s*\)(?=\s*[:=])", re.IGNORECASE
)


#: Characters an OCR engine reads for the digits of an IHC score, in a score position only (after a HER2,
#: IHC or score label): "l+", "L+", "I+", "i+", "|+" for 1+, and "O"/"o" for 0. Only repairs that cannot
#: raise a category are made (never a 2+ or 3+, nor a positive word).
_OCR_SCORE: Final = re.compile(
    r"(?P<lead>(?i:\b(?:HER-?2|c-?erb-?B-?2|IHC|score)\b)[^:\n|]{0,30}?[:=]\s*|(?i:\bscore)\s+)"
    r"(?P<token>[lLiI|]\s?\+|[Oo])(?=\s*(?:\(|[.,;]|$))",
    re.MULTILINE,
)
#: OCR spellings of "negative" ("Negatlve", "Negatíve", "Neg4tive"): only the negative word is repaired.
_OCR_NEGATIVE: Final = re.compile(r"\b([Nn])eg[a4]t[l1I|í]ve\b|\b(NEG)[A4]T[L1I|]VE\b")


def _ocr_repaired(text: str) -> str:
    """OCR confusions repaired where they can only lower a reading ("HER2 : l+ (Negatlve)": 1+, negative)."""
    text = _OCR_SCORE.sub(
        lambda m: m.group("lead") + ("0" if m.group("token") in "Oo" else "1+"),
        text,
    )
    return _OCR_NEGATIVE.sub(lambda m: "NEGATIVE" if m.group(2) else f"{m.group(1)}egative", text)


def normalise(text: str) -> str:
    """One spelling of signs and numbers (see the module docstring); line structure is kept."""
    text = _NEWLINES.sub("\n", text)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    text = _DOTTED_I.sub("", _ZERO_WIDTH.sub("", text))
    text = _THIN_THOUSANDS.sub("", text)
    text = _SPACES.sub(" ", _DASHES.sub("-", text.translate(_TRANSLATE)))
    text = _ocr_repaired(text)
    text = to_english(_spoken_numbers(re.sub(r"[ \t]+", " ", text)))
    for pattern, sign in _COMPARATORS:
        text = pattern.sub(sign, text)
    text = _PERCENT_WORD.sub("%", text)
    text = _MIDDLE_DOT.sub(".", text)
    text = _LEADER.sub(": ", text)
    text = _COUNT_ASIDE.sub("", text)
    text = _UNDERSCORE.sub(" ", text)
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    return _DECIMAL_COMMA.sub(r"\1.\2", text)


# ----------------------------------------------------------------------------------------------------
# Forms and message dumps: checkboxes and HL7 v2 result segments

#: A ticked box: "[x]", "(X)", "_x_", "☒", "☑", "✓".
_CHECKED: Final = r"(?:\[\s*[xX✓✔]\s*\]|\(\s*[xX✓✔]\s*\)|_+[xX✓✔]_+|[☒☑✓✔■▣])"
#: An empty box: "[ ]", "(  )", "___", "☐", "□".
_UNCHECKED: Final = r"(?:\[\s*\]|\(\s{1,3}\)|_{2,}|[☐□])"
_BOX_RE: Final = re.compile(rf"(?P<checked>{_CHECKED})|(?P<unchecked>{_UNCHECKED})")
_HL7_SEGMENT_RE: Final = re.compile(r"^\s*(?P<segment>[A-Z][A-Z0-9]{2})\|(?P<fields>.*)$")
#: HL7 v2 segments that carry no result (message header, patient, visit, order): never read (PHI).
_HL7_SKIPPED: Final = frozenset(
    {"MSH", "PID", "PD1", "PV1", "PV2", "ORC", "OBR", "NK1", "IN1", "GT1", "EVN", "SPM"}
)


def _form_options(line: str) -> str | None:
    """A form line with its empty boxes and their options removed ("[ ] 0 [x] 1+ [ ] 2+" → "1+",
    "3+ [ ]  1+ [x]" → "1+"); None when nothing is ticked on a line that is only options (it is dropped).
    Lines without a box are returned unchanged."""
    boxes = list(_BOX_RE.finditer(line))
    if not boxes:
        return line
    # A line that ends with a box and does not open with one writes each option before its box.
    trailing = boxes[-1].end() >= len(line.rstrip()) and boxes[0].start() > len(line) - len(line.lstrip())
    options: list[tuple[str, bool]] = []
    label = ""
    if trailing:
        # "Negative (Score 1+) _X_": each option precedes its box; a label ends at the first colon.
        previous = 0
        for index, box in enumerate(boxes):
            option = line[previous : box.start()]
            if index == 0 and ":" in option:
                label, option = option.split(":", 1)
                label += ":"
            options.append((option, bool(box.group("checked"))))
            previous = box.end()
    else:
        label = line[: boxes[0].start()]
        for index, box in enumerate(boxes):
            end = boxes[index + 1].start() if index + 1 < len(boxes) else len(line)
            options.append((line[box.end() : end], bool(box.group("checked"))))
    ticked = [option.strip() for option, checked in options if checked and option.strip()]
    if not ticked and not label.strip():
        return None
    return " ".join(part for part in [label.strip(), *ticked] if part)


def _hl7_line(line: str) -> str | None:
    """An HL7 v2 OBX segment as "observation: value" (NTE as its comment text); other segments dropped."""
    match = _HL7_SEGMENT_RE.match(line)
    if match is None:
        return line
    segment, fields = match.group("segment"), match.group("fields").split("|")
    if segment == "NTE":
        return fields[2] if len(fields) > 2 else ""
    if segment != "OBX":
        return None if segment in _HL7_SKIPPED else line
    field = fields + [""] * (12 - len(fields))
    identifier = [c for c in field[2].split("^") if c]
    name = identifier[1] if len(identifier) > 1 else (identifier[0] if identifier else "")
    value_parts = [c for c in field[4].split("^") if c]
    # A coded value "LA6577-6^Negative^LN": its text; a plain value as written.
    value = (
        value_parts[1] if field[1] in ("CE", "CWE", "CNE") and len(value_parts) > 1 else " ".join(value_parts)
    )
    unit = field[5].split("^")[0] if "%" in field[5] else ""
    # A preliminary result (status P) is hedged; "PENDING" with status P is simply pending.
    preliminary = field[10].strip().upper() == "P" and not re.search(
        r"pending|to\s+follow|ordered|in\s+progress|requested", value, re.IGNORECASE
    )
    status = " (preliminary)" if preliminary else ""
    return f"{name}: {value}{unit}{status}" if value else None


#: A header row of answer columns at the end of a line ("HER2 assessment      Yes   No").
_ANSWER_HEADER_RE: Final = re.compile(
    r"^(?P<label>.*?\S)?\s{2,}(?P<a>yes|present|positive)\s{2,}(?P<b>no|absent|negative)\s*$"
    r"|^(?P<label2>.*?\S)?\s{2,}(?P<c>no|absent|negative)\s{2,}(?P<d>yes|present|positive)\s*$",
    re.IGNORECASE,
)
#: A row under it: a label, then one mark in one of the columns.
_MARK_ROW_RE: Final = re.compile(r"^\s*(?P<label>\S.*?\S)\s{2,}(?P<mark>[xX✓✔☒■])\s*$")


def _answer_columns(lines: list[str]) -> list[str]:
    """Rows ticked under answer columns ("Any membrane staining      X" under "Yes   No") → "label: No"
    by the column nearest the mark; a mark under neither column is an answer that cannot be told
    ("label: ?")."""
    out: list[str] = []
    columns: list[tuple[float, str]] = []
    for written in lines:
        # Columns are read at tab stops of 8, as a fixed-width text shows them.
        line = written.expandtabs()
        header = _ANSWER_HEADER_RE.match(line)
        if header is not None:
            names = ("a", "b") if header.group("a") else ("c", "d")
            columns = [(header.start(n) + len(header.group(n)) / 2, header.group(n)) for n in names]
            # The column names are no answer: only the header's label is kept.
            out.append(header.group("label") or header.group("label2") or "")
            continue
        row = _MARK_ROW_RE.match(line) if columns else None
        if row is None:
            columns = [] if not line.strip() or not _MARK_ROW_RE.match(line) else columns
            out.append(written)
            continue
        at = row.start("mark")
        (first, name_a), (second, name_b) = columns
        distance_a, distance_b = abs(at - first), abs(at - second)
        if abs(distance_a - distance_b) < 1 or min(distance_a, distance_b) > 4:
            # A mark under neither column (the alignment lost to tabs or re-spacing): an answer was given
            # and cannot be told, which is not the same as no answer.
            out.append(f"{row.group('label')}: ?")
            continue
        out.append(f"{row.group('label')}: {name_a if distance_a < distance_b else name_b}")
    return out


#: A column of reference values in a laboratory listing ("TEST   RESULT   REFERENCE RANGE").
_REFERENCE_COLUMN_RE: Final = re.compile(
    r"(?<=\S)\s{2,}(?P<column>(?:reference|ref\.?|normal|expected)\s+(?:range|interval|values?|results?)"
    r"|reference)\s*$",
    re.IGNORECASE,
)


def _reference_columns(lines: list[str]) -> list[str]:
    """A listing with a reference-range column keeps only the columns before it: the range ("NEGATIVE (0,
    1+)", "<1% NEG") is what the laboratory expects, not the result. The block ends at a blank line."""
    out: list[str] = []
    start: int | None = None
    open_cell = False  # the range cut last ended inside brackets ("NEGATIVE (0,")
    for line in lines:
        header = _REFERENCE_COLUMN_RE.search(line)
        if header is not None:
            start = header.start("column")
            out.append(line[: header.start()])
            continue
        if start is not None and not line.strip():
            start = None
        if start is not None and len(line) > start and line[start - 1 : start] in (" ", "\t"):
            open_cell = line[start:].count("(") > line[start:].count(")")
            out.append(line[:start].rstrip())
            continue
        if start is not None and open_cell and line.count(")") > line.count("("):
            # "NEGATIVE (0," / "1+)": the range wrapped onto a line of its own is the range still.
            open_cell = False
            out.append("")
            continue
        open_cell = False
        out.append(line)
    return out


_ALIGNED_GAP: Final = re.compile(r"\t+\s*| {2,}")
#: A column header of a space-aligned table names a column ("Focus", "HER2 IHC"), not a value.
_HEADER_CELL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9 /()'-]{0,30}$")
#: The first column of a table of specimens: its rows are parts, foci or blocks of the report.
_SPECIMEN_COLUMN: Final = re.compile(
    r"^(?:focus|foci|part|specimen|sample|block|lesion|tumou?r|site|nodule)s?\b", re.IGNORECASE
)


def _aligned_cells(line: str) -> list[str]:
    return [cell.strip() for cell in _ALIGNED_GAP.split(line.strip()) if cell.strip()]


def _aligned_tables(lines: list[str]) -> list[str]:
    """Space- or tab-aligned tables of specimens as pipe tables: a header line of column names, the first
    naming the specimen (focus, part, block), followed by rows with as many cells ("Focus   Size   HER2
    IHC" over "A (12 o'clock)   22 mm   3+") become ``| … |`` rows, which :func:`_flatten_tables` reads like
    any other table. A line that continues a sentence broken on the line before ("… 4% of the" / "tumor
    cells show faint<TAB>incomplete") is no header, whatever its spacing."""
    out = list(lines)
    index = 0
    while index < len(out) - 1:
        header = _aligned_cells(out[index])
        width = len(header)
        if (
            width < 2
            or "|" in out[index]
            or (index > 0 and _DANGLING.search(" ".join(out[index - 1].split())) is not None)
            or not _SPECIMEN_COLUMN.match(header[0])
            or not all(_HEADER_CELL.match(cell) and not re.search(r"\d\s*[+%]", cell) for cell in header)
        ):
            index += 1
            continue
        end = index + 1
        while end < len(out) and "|" not in out[end] and len(_aligned_cells(out[end])) == width:
            end += 1
        if end - index < 2:
            index += 1
            continue
        for row in range(index, end):
            out[row] = "| " + " | ".join(_aligned_cells(out[row])) + " |"
        index = end
    return out


def _forms_and_messages(lines: list[str]) -> list[str]:
    out: list[str] = []
    lines = _aligned_tables(_answer_columns(_reference_columns(lines)))
    for line in lines:
        text = _hl7_line(line)
        text = _form_options(text) if text is not None else None
        if text is not None:
            out.append(text)
    return out


def report_lines(text: str) -> list[Line]:
    """The report as normalised lines, with tables flattened and wrapped lines joined."""
    text = plain_text(text)
    # A rule line ("-----", "=====", "_____") parts the report like a blank line: the section above it ends
    # there (a copied-forward history block framed by rules), and it is not joined to the line above.
    text = "\n".join(_forms_and_messages(_without_rules(_NEWLINES.sub("\n", text).split("\n"))))
    lines = [line.strip() for line in normalise(text).split("\n")]
    raw = _NEWLINES.sub("\n", text).split("\n")
    # Wrapping is judged on the lines as written (normalising shortens "per cent" and "&gt;").
    # So is the first word a full line left for the next one ("… 3+ o ISH positivo" / "correspondería a …",
    # not the shorter "would" it became in English).
    written = raw if len(raw) == len(lines) else lines
    sizes = [len(" ".join(r.split())) for r in written]
    openers = [len(r.split()[0]) if r.split() else 0 for r in written]
    lines, sizes, openers = _rejoin_rows(lines, sizes, openers)
    # A dictated line is judged once its wrapped lines are joined (speech recognition wraps at any width).
    unwrapped = [replace(line, text=_dictated_stops(line.text)) for line in _unwrap(lines, sizes, openers)]
    return _flatten_tables(unwrapped)


# ----------------------------------------------------------------------------------------------------
# Tables


def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table row, or None for an ordinary line (a tab is whitespace: HTML tables reach
    the reader as pipe rows, see :func:`connectors.fhir.narrative_html.html_to_report_text`)."""
    if line.count("|") >= 2 or (line.count("|") == 1 and line.strip().startswith("|")):
        return [cell.strip() for cell in line.strip().strip("|").split("|")]
    return None


def _is_broken_row(line: str, following: str, neighbour: str) -> bool:
    """Whether a table row was broken across two lines: it ends in a separator its neighbouring row does not
    end in ("Marker | Prior (2022) |" / "Current (2024)" over "HER2 IHC | 2+ | 0"), and with the next
    line it has as many separators as that row."""
    row = line.rstrip()
    return (
        row.endswith("|")
        and not row.lstrip().startswith("|")
        and not neighbour.rstrip().endswith("|")
        and bool(following.strip())
        and "|" not in following
        and row.count("|") == neighbour.count("|")
    )


def _is_cut_row(line: str, following: str, after: str) -> bool:
    """Whether a table row's last cell was wrapped onto the next line: a line without separators between
    two rows with as many ("Test | Prior core (S23-4411) | Current" / "excision (S24-0912)" / "IHC score |
    1+ | 3+")."""
    return (
        bool(following.strip())
        and "|" not in following
        and not line.rstrip().endswith("|")
        and _cells(after) is not None
        and after.count("|") == line.count("|")
    )


def _rejoin_rows(
    lines: list[str], sizes: list[int], openers: list[int]
) -> tuple[list[str], list[int], list[int]]:
    """Table rows broken across lines (fixed-width wrapping) joined again."""
    out: list[str] = []
    out_sizes: list[int] = []
    out_openers: list[int] = []
    index = 0
    while index < len(lines):
        line, size = lines[index], sizes[index]
        if _cells(line) is not None and index + 1 < len(lines):
            before = out[-1] if out and _cells(out[-1]) is not None else None
            after = lines[index + 2] if index + 2 < len(lines) else ""
            neighbour = before if before is not None else after
            if (_cells(neighbour) is not None and _is_broken_row(line, lines[index + 1], neighbour)) or (
                _is_cut_row(line, lines[index + 1], after)
            ):
                out.append(f"{line.rstrip()} {lines[index + 1].strip()}")
                out_sizes.append(size + 1 + sizes[index + 1])
                out_openers.append(openers[index])
                index += 2
                continue
        out.append(line)
        out_sizes.append(size)
        out_openers.append(openers[index])
        index += 1
    return out, out_sizes, out_openers


def _is_header(cells: list[str]) -> bool:
    """A row of column names: no values, results or bare marker names."""
    return all(cell for cell in cells) and not any(
        _VALUE_CELL.search(cell) or _MARKER_CELL.match(cell) for cell in cells
    )


def _row_text(cells: list[str], header: list[str] | None) -> str:
    if header is None or len(header) != len(cells):
        filled = [c for c in cells if c]
        if len(filled) < 2:
            return " ".join(filled)
        return f"{filled[0].rstrip(':')}: " + "; ".join(filled[1:])
    if _ROW_LABEL_HEADERS.match(header[0]):
        pairs = [
            value if _GENERIC_HEADERS.match(name) else f"{name}: {value}"
            for name, value in zip(header[1:], cells[1:], strict=True)
            if value
        ]
        return f"{cells[0]}: " + "; ".join(pairs) if cells[0] else "; ".join(pairs)
    return "; ".join(f"{name}: {value}" for name, value in zip(header, cells, strict=True) if value)


def _next_row(rows: list[list[str] | None], lines: list[str]) -> list[str] | None:
    """The next data row of the same table block (None when the block ends)."""
    for cells, raw in zip(rows, lines, strict=True):
        if cells is None:
            return None
        if not _SEPARATOR_ROW.match(raw):
            return cells
    return None


def _flatten_tables(items: list[Line]) -> list[Line]:
    """Table rows → ``label: value`` lines; a block's first row is its header when it names columns."""
    lines = [item.text for item in items]
    rows = [_cells(line) for line in lines]
    out: list[Line] = []
    header: list[str] | None = None
    for index, (line, cells) in enumerate(zip(lines, rows, strict=True)):
        if cells is None:
            out.append(items[index])
            header = None
            continue
        if _SEPARATOR_ROW.match(line):
            continue
        starts_block = index == 0 or rows[index - 1] is None
        if starts_block:
            header = None
            following = _next_row(rows[index + 1 :], lines[index + 1 :])
            if following is not None and len(following) == len(cells) and _is_header(cells):
                header = cells
                continue
        out.append(Line(text=_row_text(cells, header)))
    return out


# ----------------------------------------------------------------------------------------------------
# Wrapped lines


def _joins(
    current: str,
    following: str,
    width: int,
    *,
    physical: int,
    note: bool,
    cased: bool,
    opener: int | None = None,
) -> bool:
    """Whether ``following`` continues the sentence ``current`` was broken in (fixed-width wrapping).

    ``current`` is the text joined so far, ``physical`` the length of the last line as the report wrote
    it (a line's fullness is judged on the physical line, before "per cent" became "%"), ``opener`` the length
    of the next line's first word as written (default: as it reads now).

    - A label ending in a colon takes a value on the next line ("…signals per cell:" / "9.7").
    - A line that ends a sentence never continues; one that dangles ("… of", "… if", "… group"), an open
      footnote or note, or an open conditional sentence always does.
    - A list item, or a line that opens with a marker, a section name, carcinoma in situ or a conditional,
      starts anew.
    - In a report that uses both cases, a line starting in lower case (or with "of", "and" …) continues;
      one starting with a capitalised word or an upper-case ``Label:`` starts anew; otherwise the line
      continues when it is full (the next word would not have fitted within the report's line width,
      the signature of greedy wrapping) and does not end with a value.
    - In a report written in one case, a line continues unless it ends with a value, or the next line is a
      ``LABEL: value`` item following a sentence with its own colon.
    """
    text, nxt = current.rstrip(), following.strip()
    if not text.strip() or not nxt or _cells(text) is not None or _cells(nxt) is not None:
        return False  # a table row is no wrapped sentence, nor a line's continuation (in any case)
    first_word = len(nxt.split(" ", 1)[0]) if opener is None else opener
    tight = physical + 1 + first_word > width
    settled = _settled_by_shape(text, following, tight=tight)
    if settled is not None:
        return settled
    if text.endswith(":"):
        return _label_takes_next(text, nxt, cased=cased, tight=tight)
    if _ENDS_SENTENCE.search(text) and not _ABBREVIATION_END.search(text):
        return False
    # A bracket left open ("… recount (second" / "observer, blinded): group 5") continues too, also when
    # the next line's first word closes it ("fixation (> 72" / "h) renders …": the bracket's own ")", not a
    # list item "h)").
    unclosed = text.count("(") > text.count(")") and (
        not _LIST_ITEM.match(following) or _CLOSES_BRACKET.match(nxt) is not None
    )
    if _DANGLING.search(text) or note or unclosed or _CONDITIONAL.search(_last_sentence(text)):
        return True
    # "gene status: no" / "HER2 amplification": the "no" is the article of the next line's noun.
    if (
        _UNIT_CONTINUATION.match(nxt)
        or _QUALIFIER.match(nxt)
        or (_ENDS_NO.search(text) and _NO_OBJECT.match(nxt))
    ):
        return True
    if _INTENSITY_END.search(text) and _STAINING_NEXT.match(nxt):
        return True
    if _LIST_ITEM.match(following) or _NEW_ITEM.match(nxt):
        return False
    if cased:
        return _continues_cased(text, nxt, tight=tight)
    return _continues_uncased(text, nxt, tight=tight)


def _settled_by_shape(text: str, following: str, *, tight: bool) -> bool | None:
    """Breaks any case and spacing leave alone: a part's opening starts anew; a full line ending in a
    clause separator continues. None when the shape does not settle it."""
    nxt = following.strip()
    if PART_RE.match(nxt) and not _DANGLING.search(text):
        return False  # "Part A (block A4, right): …" opens a part of the report, in any case
    # "OUTSIDE DIAGNOSIS: invasive carcinoma, grade 2;" / "HER2 IHC 3+.": a full line ending in a clause
    # separator was broken by greedy wrapping; what follows stays in the sentence (and its context).
    if _SOFT_END.search(text) and tight and not _LIST_ITEM.match(following):
        return True
    return None


def _label_takes_next(text: str, nxt: str, *, cased: bool, tight: bool) -> bool:
    """Whether a line ending in a colon takes the next line as its value."""
    if _SECTION_LABEL.match(text.strip(" -*#")) or (cased and not _CONTINUES.match(nxt)):
        return False
    if part_label(nxt) is not None:
        # "BIOMARKERS:" / "a (primary tumour): …": a part opening under the heading starts anew, in any case.
        return False
    if not cased and (_NEW_ITEM.match(nxt) or _LABELLED_ITEM.match(nxt)):
        # All one case: "immunohistochemistry (on dcis):" over "er: negative (0%)" is a heading over its
        # items, as it is in mixed case — not a label over its value.
        return False
    # "Average number of HER2 signals per cell:" / "9.7": a label and its value on the next line.
    return nxt[:1].islower() or len(nxt) <= 25 or tight


def _continues_cased(text: str, nxt: str, *, tight: bool) -> bool:
    """In a report that uses both cases: a lower-case start continues, a capitalised one starts anew."""
    if _CONTINUES.match(nxt) or (_CONTINUATION.match(nxt) and not nxt[:1].isupper()):
        return True
    if _TITLE_WORD.match(nxt.split(" ", 1)[0]) or _KEY_VALUE.match(nxt):
        return False
    return tight and not _ENDS_ITEM.search(text)


def _continues_uncased(text: str, nxt: str, *, tight: bool) -> bool:
    """In a report written in one case: a line continues when the next opens with a word that cannot open a
    sentence, or when it is full and does not end with a value (a ``LABEL: value`` next line only after a
    sentence without a colon of its own)."""
    if _CONTINUATION.match(nxt) or (_CONTINUES.match(nxt) and not nxt[:1].isalpha()):
        return True
    if _ENDS_NUMBER.search(text) or not tight:
        return False
    return not _KEY_VALUE.match(nxt) or ":" not in _last_sentence(text)


def starts_new_item(line: str) -> bool:
    """Whether a line opens a new item: a list item, a marker, a section name, carcinoma in situ, a
    conditional, or a capitalised ``Label: value``."""
    text = line.strip()
    return bool(
        _LIST_ITEM.match(line) or _NEW_ITEM.match(text) or (_KEY_VALUE.match(text) and text[:1].isupper())
    )


def _last_sentence(text: str) -> str:
    return re.split(r"[.!?]\s", text)[-1]


def _wrap_width(lines: list[str], sizes: list[int]) -> int:
    """The width the report's text fills: its longest line of three words or more (a table row is no
    wrapped text: it is as wide as its cells)."""
    return max(
        (
            size
            for line, size in zip(lines, sizes, strict=True)
            if len(line.split()) >= 3 and _cells(line) is None
        ),
        default=0,
    )


def _unwrap(lines: list[str], sizes: list[int] | None = None, openers: list[int] | None = None) -> list[Line]:
    """Join wrapped lines; ``sizes`` are the lengths of the lines as written (default: their lengths),
    ``openers`` those of their first words as written (default: as they read)."""
    sizes = sizes if sizes is not None else [len(line) for line in lines]
    openers = (
        openers if openers is not None else [len(line.split()[0]) if line.split() else 0 for line in lines]
    )
    width = _wrap_width(lines, sizes)
    letters = [c for line in lines for c in line if c.isalpha()]
    # In a report written all in lower (or upper) case, the case of a line's first letter says nothing.
    cased = any(c.isupper() for c in letters) and any(c.islower() for c in letters)
    out: list[Line] = []
    last = 0  # the last physical line's length: wrapping is judged on it, not on the sentence joined so far
    for line, size, opener in zip(lines, sizes, openers, strict=True):
        note = bool(out) and (out[-1].footnote or bool(_NOTE_START.match(out[-1].text)))
        joins = bool(out) and _joins(
            out[-1].text, line, width, physical=last, note=note, cased=cased, opener=opener
        )
        last = size
        if joins:
            joined = _PERCENT_WORD.sub("%", f"{out[-1].text.rstrip()} {line.strip()}")
            out[-1] = Line(text=joined, footnote=out[-1].footnote)
            continue
        footnote = bool(_FOOTNOTE.match(line))
        out.append(Line(text=_FOOTNOTE.sub("", line, count=1) if footnote else line, footnote=footnote))
    return out
