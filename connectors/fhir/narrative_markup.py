"""Report text wrapped in markup other than HTML: RTF documents and HL7 v2 escape sequences.

Pathology systems export reports as RTF (a DocumentReference ``application/rtf``, or RTF pasted into a
``text/plain`` body), and interfaces that convert HL7 v2 results to FHIR often keep the v2 escapes in the
text (``\\.br\\`` for a line break, ``\\T\\`` for ``&``, ``~`` between repetitions). Both are turned into the
plain text the reader expects; text without them is returned unchanged. RTF is read with ``striprtf`` and the
v2 escapes with ``python-hl7`` (HL7 v2.x chapter 2, escape sequences), not by hand.
"""

from __future__ import annotations

import re
from typing import Final

import hl7
import hl7.util
from striprtf.striprtf import rtf_to_text

#: The opening of an RTF document (anywhere: some systems put a line before it).
_RTF_RE: Final = re.compile(r"\{\\rtf\d?", re.IGNORECASE)
#: An RTF control word (or an escaped backslash, left alone): control words are lower case, but a report
#: rewritten in upper case still is the same RTF document.
_RTF_WORD_RE: Final = re.compile(r"\\\\|\\[A-Za-z]+")
#: An HL7 v2 escape sequence with the standard escape character: formatting (``\.br\``), delimiters
#: (``\F\``, ``\S\``, ``\T\``, ``\R\``, ``\E\``), highlighting (``\H\``, ``\N\``) and hexadecimal data.
_V2_ESCAPE_RE: Final = re.compile(
    r"\\(?:\.(?:br|sp\d*|fi|nf|in[-+]?\d*|ti[-+]?\d*|sk[-+]?\d*|ce)|[FSTREHN]|X[0-9A-Fa-f]{2,}|"
    r"C[0-9A-Fa-f]{4}|M[0-9A-Fa-f]{4,6})\\",
    re.IGNORECASE,
)
#: The standard v2 delimiters (``|^~\&``): the message the escapes are read against.
_V2_MESSAGE: Final = hl7.parse("MSH|^~\\&|")
#: Highlighting on and off is dropped (the default map puts an underscore).
_V2_APP_MAP: Final = {"H": "", "N": ""}


def is_rtf(text: str) -> bool:
    """Whether the text holds an RTF document."""
    return _RTF_RE.search(text) is not None


def has_v2_escapes(text: str) -> bool:
    """Whether the text carries HL7 v2 escape sequences."""
    return _V2_ESCAPE_RE.search(text) is not None


def _v2_spelling(match: re.Match[str]) -> str:
    """An escape in its standard case (a report rewritten in one case writes ``\\.BR\\`` or ``\\f\\``):
    formatting commands in lower case, delimiters and hexadecimal data in upper case."""
    escape = match.group(0)
    return escape.lower() if escape[1] == "." else escape.upper()


def plain_text(text: str) -> str:
    """The text with RTF markup and HL7 v2 escapes turned into plain text (line breaks kept)."""
    rtf = _RTF_RE.search(text)
    if rtf is not None:
        document = _RTF_WORD_RE.sub(lambda m: m.group(0).lower(), text[rtf.start() :])
        converted = rtf_to_text(document, errors="replace")  # type: ignore[no-untyped-call]
        text = text[: rtf.start()] + str(converted)
    if has_v2_escapes(text):
        # "~" separates repetitions of a v2 field: in a converted report text each is a line of its own.
        text = _V2_ESCAPE_RE.sub(_v2_spelling, text)
        text = str(hl7.util.unescape(_V2_MESSAGE, text.replace("~", "\n"), _V2_APP_MAP))
    return text
