"""Meaning-preserving rewrites of a report: case, whitespace, line breaks, decimal separator, synonyms.

A reader that is robust changes no category under any of these; ``tests/unit/connectors/fhir`` checks it
with hypothesis on the corpus texts. Every rewrite keeps what the report states (the ASCO/CAP truth of the
case it was written from); none uses the reader.
"""

from __future__ import annotations

import random
import re
import textwrap
from collections.abc import Callable

#: (pattern, replacements): a replacement is chosen per report; case follows the matched text.
SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"\bHER2\b(?![/:]\s*(?:CEP|Chr|cell))", ("HER-2", "HER2/neu", "Her2", "HER-2/neu")),
    (r"\btumor\b", ("tumour",)),
    (r"\btumour\b", ("tumor",)),
    (r"\bby immunohistochemistry\b", ("by IHC",)),
    (r"\bsignals/cell\b", ("signals per cell", "signals per nucleus", "copies/cell")),
    (r"\bnot amplified\b", ("non-amplified", "non amplified")),
    (r"\bapproximately\b", ("approx.", "about", "~")),
    (r"\bmembrane staining\b", ("membranous staining", "membrane immunostaining")),
    (r"\bhybridization\b", ("hybridisation",)),
    (r"\bequivocal\b", ("borderline",)),
    (r"\bintense\b", ("strong",)),
    (r"(?<=\d)\s?%", (" percent", " per cent", "%")),
    (r"\bFINAL HER2 STATUS\b", ("Final HER2 result", "Overall HER2 status")),
)


def _keep_case(template: str, replacement: str) -> str:
    if template.isupper():
        return replacement.upper()
    if template[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def synonyms(text: str, rng: random.Random) -> str:
    """Swap a random subset of wordings for synonyms (one choice per wording per report)."""
    for pattern, choices in SYNONYMS:
        if rng.random() < 0.5:
            continue
        replacement = rng.choice(choices)
        text = re.sub(pattern, lambda m, r=replacement: _keep_case(m.group(0), r), text, flags=re.IGNORECASE)
    return text


def respace(text: str, rng: random.Random) -> str:
    """Extra spaces and tabs between words, indentation, trailing spaces and Windows line ends."""
    lines = []
    for line in text.split("\n"):
        words = line.split(" ")
        spaced = words[0]
        for word in words[1:]:
            spaced += rng.choice([" ", " ", " ", "  ", "   ", "\t"]) + word
        indent = rng.choice(["", "", "  ", "    ", "\t"]) if spaced.strip() else ""
        lines.append(indent + spaced + rng.choice(["", "", " ", "  "]))
    return rng.choice(["\n", "\r\n"]).join(lines)


def rewrap(text: str, width: int) -> str:
    """Fixed-width wrapping: lines longer than ``width`` are broken at spaces (never inside a word).

    In an RTF document a line break of the source is not one of the text (the space it replaces would be
    lost): there the break is written as the ``\\line`` control word it stands for."""
    rtf = re.match(r"\s*\{\\rtf", text, re.IGNORECASE) is not None
    out: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width or line.lstrip().startswith("|"):
            out.append(line)
            continue
        pieces = textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False)
        out.extend([piece + "\\line" for piece in pieces[:-1]] + pieces[-1:] if rtf else pieces)
    return "\n".join(out)


def decimal_comma(text: str) -> str:
    """Decimal points written as commas (European convention): ``2.35`` → ``2,35``."""
    return re.sub(r"(?<=\d)\.(?=\d)", ",", text)


def decimal_point(text: str) -> str:
    """Decimal commas written as points: ``2,35`` → ``2.35`` (only comma-digits that are decimals)."""
    return re.sub(r"(?<=\d),(?=\d{1,2}(?!\d))", ".", text)


CASES: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "decimal_comma": decimal_comma,
    "decimal_point": decimal_point,
}


def perturb(
    text: str, rng: random.Random, *, case: str | None, width: int | None, spaces: bool, words: bool
) -> str:
    """Apply the chosen rewrites in a fixed order (synonyms, case, separators, wrapping, whitespace)."""
    if words:
        text = synonyms(text, rng)
    if case is not None:
        text = CASES[case](text)
    if width is not None:
        text = rewrap(text, width)
    if spaces:
        text = respace(text, rng)
    return text
