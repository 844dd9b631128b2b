"""Report narrative for the FHIR mapping: collect a report's text and hand it to the parser.

Text comes from a DiagnosticReport's ``presentedForm`` attachments (inline base64 ``data``, or a ``url``
pointing at a ``Binary`` in the same resource set; text/plain or text/html) and ``conclusion`` (FHIR R4
§DiagnosticReport), or from a pathology DocumentReference's ``content.attachment`` (FHIR R4
§DocumentReference; spec/clinical-logic.md §10 lists it as a place pathology text arrives). The phrase grammar
itself lives in :mod:`connectors.fhir.narrative`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any

from connectors.fhir.codes import LOINC
from connectors.fhir.mapping_values import codings, concept_text
from connectors.fhir.narrative import parse_report_text
from connectors.fhir.narrative_html import html_to_report_text
from connectors.fhir.narrative_markup import plain_text
from rules.domain import Her2Result, ReceptorResult, SourceRef, SpecimenRef

_TEXT_TYPES = ("text/plain", "text/html", "application/xhtml+xml", "text/rtf", "application/rtf")
_RTF_RE = re.compile(r"^\s*\{\\rtf", re.IGNORECASE)
#: LOINC document types and classes of pathology reports (FHIR DocumentReference.type/category).
PATHOLOGY_DOCUMENT_CODES = frozenset(
    {
        "11526-1",  # Pathology study
        "11529-5",  # Surgical pathology study
        "60567-5",  # Comprehensive pathology report panel
        "60568-3",  # Pathology synoptic report
        "22637-3",  # Pathology report final diagnosis
        "22634-0",  # Pathology report gross observation
        "33717-0",  # Cytology report
        "LP7839-6",  # Pathology (document class)
    }
)
_PATHOLOGY_WORDS = ("patholog", "histolog", "biomarker", "surgical path")

MAX_NARRATIVE_CHARS = 100_000
"""Default upper bound on the length of one report text given to the parser (characters); longer texts are
skipped with a reason. A pathology report is rarely over 20,000 characters, even as HTML."""

Getter = Callable[[str, str | None], Any]
Skipper = Callable[[str, str], None]


def decode_attachment(content_type: str, data: bytes) -> str | None:
    """Text of an attachment body (UTF-8, falling back to Latin-1); None for non-text content types."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in _TEXT_TYPES:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if _RTF_RE.match(text):
        # Laboratory systems send RTF bodies under a text type: "\par" is a line break, not report text.
        return plain_text(text)
    return html_to_report_text(text) if kind not in ("text/plain", "text/rtf") else text


def _content(data: Any) -> bytes | None:
    """Attachment or Binary content: the R4B models decode base64Binary to bytes; plain JSON keeps base64."""
    if isinstance(data, bytes | bytearray):
        return bytes(data)
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def report_texts(
    report: Any, get: Getter, skip: Skipper, *, max_chars: int = MAX_NARRATIVE_CHARS
) -> list[str]:
    """Narrative texts of a report: each text presentedForm (inline or Binary), then the conclusion.

    A text (or an attachment body) longer than ``max_chars`` is not read: ``skip`` records it instead.
    """
    label = f"DiagnosticReport/{report.id}"
    texts = attachment_texts(report.presentedForm or (), label, get, skip, max_chars=max_chars)
    if report.conclusion and len(report.conclusion) > max_chars:
        skip(label, _too_long(max_chars))
    elif report.conclusion and report.conclusion.strip():
        texts.append(report.conclusion)
    return texts


def is_pathology_document(document: Any) -> bool:
    """Whether a DocumentReference is a pathology report (by LOINC type or class, or by its type text)."""
    concepts = [getattr(document, "type", None), *(getattr(document, "category", None) or ())]
    coded = {code for concept in concepts for system, code, _ in codings(concept) if system == LOINC}
    if coded & PATHOLOGY_DOCUMENT_CODES:
        return True
    text = " ".join(concept_text(c) for c in concepts).lower()
    return any(word in text for word in _PATHOLOGY_WORDS)


def document_texts(
    document: Any, get: Getter, skip: Skipper, *, max_chars: int = MAX_NARRATIVE_CHARS
) -> list[str]:
    """Narrative texts of a DocumentReference's attachments (inline or Binary)."""
    attachments = [c.attachment for c in getattr(document, "content", None) or () if c.attachment is not None]
    return attachment_texts(attachments, f"DocumentReference/{document.id}", get, skip, max_chars=max_chars)


def _too_long(max_chars: int) -> str:
    return f"report text longer than {max_chars} characters not read"


def attachment_texts(
    attachments: Any, label: str, get: Getter, skip: Skipper, *, max_chars: int = MAX_NARRATIVE_CHARS
) -> list[str]:
    """The text of each text attachment (inline base64 data, or a url to a Binary in the resource set); a
    text (or body) longer than ``max_chars`` is not read: ``skip`` records it instead."""
    texts: list[str] = []
    for attachment in attachments:
        content_type = attachment.contentType or "text/plain"
        body: bytes | None = None
        if attachment.data:
            body = _content(attachment.data)
        elif attachment.url:
            binary = get("Binary", _binary_id(attachment.url))
            if binary is None:
                skip(label, "attachment url points to a Binary that is not available")
                continue
            content_type = binary.contentType or content_type
            body = _content(binary.data)
        if body is not None and len(body) > 4 * max_chars:  # UTF-8: at most 4 bytes per character
            skip(label, _too_long(max_chars))
            continue
        text = decode_attachment(content_type, body) if body is not None else None
        if text and len(text) > max_chars:
            skip(label, _too_long(max_chars))
        elif text and text.strip():
            texts.append(text)
    return texts


def texts_to_results(
    texts: Sequence[str], *, source: SourceRef, specimen: SpecimenRef, reported: dt.date | None
) -> tuple[tuple[Her2Result, ...], tuple[ReceptorResult, ...]]:
    """HER2 and ER/PR results read from a report's narrative: the first text that yields HER2 results gives
    them, and likewise for receptors (the full report before the conclusion)."""
    her2: tuple[Her2Result, ...] = ()
    receptors: tuple[ReceptorResult, ...] = ()
    for text in _with_addenda(texts):
        reading = parse_report_text(text, source=source, specimen=specimen, reported=reported)
        her2 = her2 or reading.her2
        receptors = receptors or reading.receptors
        if her2 and receptors:
            break
    return her2, receptors


#: A text that opens as an addendum or amendment to the report ("ADDENDUM #1 (2025-04-29) - HER2 FISH").
_ADDENDUM_OPENING_RE = re.compile(
    r"\s*[*#=\-\s]*(?:addend(?:um|a)|amended\s+report|amendment|corrected\s+report|supplement(?:al|ary)\s+report)\b",
    re.IGNORECASE,
)


def _with_addenda(texts: Sequence[str]) -> list[str]:
    """The texts to read, an addendum sent as its own attachment joined after the text before it: it goes
    on that report (and supersedes it where it says so), as an addendum written inside it would."""
    joined: list[str] = []
    for text in texts:
        if joined and _ADDENDUM_OPENING_RE.match(text):
            joined[-1] = f"{joined[-1]}\n\n{text}"
        else:
            joined.append(text)
    return joined


def _binary_id(url: str) -> str | None:
    """The id of a ``Binary/<id>`` reference or URL (relative or absolute)."""
    parts = url.split("?")[0].rstrip("/").split("/")
    return parts[-1] if len(parts) >= 2 and parts[-2] == "Binary" and parts[-1] else None
