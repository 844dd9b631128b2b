"""Bounds on JSON input, checked once before any work is done on it.

Work on a JSON document grows with its nesting (recursive parsers and validators), with the number of FHIR
resources in it (each is validated as a FHIR model) and with the length of the texts read by the narrative
parser. :func:`loads_within` parses a body and checks those three bounds with one iterative walk (no
recursion, so a document nested 10,000 deep is refused, never a ``RecursionError`` further on).

Strings: every string counts, except the base64 ``data`` of an attachment or Binary whose ``contentType`` is
not text (a PDF is never parsed; the request size limit bounds it). For text content the decoded size is
estimated from the base64 length (3 bytes per 4 characters).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

_TEXT_TYPES: Final = ("text/", "application/xhtml", "application/xml", "application/json", "application/fhir")


class LimitKind(StrEnum):
    """Which bound a document broke."""

    DEPTH = "depth"
    ENTRIES = "entries"
    STRING = "string"
    SYNTAX = "syntax"


class JsonLimitError(ValueError):
    """The document is not JSON or breaks a bound; the message names the bound and its value."""

    def __init__(self, message: str, *, kind: LimitKind) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonLimits:
    """``max_depth``: nesting of arrays and objects (the top-level object is depth 1); ``max_entries``:
    entries of all FHIR Bundles in the document together; ``max_string_chars``: the longest string."""

    max_depth: int = 64
    max_entries: float = math.inf
    max_string_chars: float = math.inf

    def __post_init__(self) -> None:
        if self.max_depth < 1 or self.max_entries < 1 or self.max_string_chars < 1:
            raise ValueError("JSON limits must be >= 1")


def loads_within(raw: bytes | str, limits: JsonLimits) -> Any:
    """Parse ``raw`` and check it against ``limits``; :class:`JsonLimitError` otherwise.

    Order, cheapest refusal first: the parser's own recursion guard (a document nested thousands deep),
    the entries of the Bundles at the top two levels (``{"prefetch": {"key": Bundle}}``, a Bundle itself),
    then one walk over everything for depth, strings and any nested Bundle.
    """
    try:
        value = json.loads(raw)
    except RecursionError as exc:
        raise JsonLimitError(
            f"JSON nested deeper than {limits.max_depth} levels", kind=LimitKind.DEPTH
        ) from exc
    except ValueError as exc:  # includes UnicodeDecodeError
        raise JsonLimitError("not valid JSON", kind=LimitKind.SYNTAX) from exc
    if _shallow_entries(value) > limits.max_entries:
        raise _too_many(limits)
    check_within(value, limits)
    return value


def _shallow_entries(value: Any) -> int:
    """Entries of the Bundles found within two levels of ``value`` (no walk of their content)."""
    if not isinstance(value, dict):
        return 0
    total = _bundle_entries(value)
    for item in value.values():
        if isinstance(item, dict):
            total += _bundle_entries(item) + sum(
                _bundle_entries(inner) for inner in item.values() if isinstance(inner, dict)
            )
    return total


def _too_many(limits: JsonLimits) -> JsonLimitError:
    return JsonLimitError(
        f"more than {limits.max_entries:.0f} Bundle entries in one document", kind=LimitKind.ENTRIES
    )


def check_within(value: Any, limits: JsonLimits) -> None:
    """Check a parsed document against ``limits`` (one walk, level by level); :class:`JsonLimitError`
    otherwise. ``value`` is what :func:`json.loads` returns (plain dicts, lists, strings, numbers)."""
    if isinstance(value, str):
        _check_string(None, value, None, limits)
    entries = 0
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 1
    while level:
        if depth > limits.max_depth:
            raise JsonLimitError(f"JSON nested deeper than {limits.max_depth} levels", kind=LimitKind.DEPTH)
        entries, level = _next_level(level, entries, limits)
        depth += 1


def _next_level(level: list[Any], entries: int, limits: JsonLimits) -> tuple[int, list[Any]]:
    """Check the strings and Bundles of one level's containers; (entries so far, the containers below)."""
    max_chars = limits.max_string_chars
    below: list[Any] = []
    for node in level:
        if isinstance(node, dict):
            if node.get("resourceType") == "Bundle":
                entries += _bundle_entries(node)
                if entries > limits.max_entries:
                    raise _too_many(limits)
            items: Any = node.values()
        else:
            items = node
        for item in items:
            if isinstance(item, str):
                if len(item) > max_chars:  # the common case, a short string, costs no call
                    _check_long_string(node, item, limits)
            elif isinstance(item, dict | list):
                below.append(item)
    return entries, below


def _check_long_string(owner: dict[str, Any] | list[Any], text: str, limits: JsonLimits) -> None:
    if isinstance(owner, list):
        _check_string(None, text, None, limits)
        return
    key = next(k for k, v in owner.items() if v is text)
    _check_string(key, text, owner, limits)


def _bundle_entries(node: dict[str, Any]) -> int:
    entry = node.get("entry")
    return len(entry) if node.get("resourceType") == "Bundle" and isinstance(entry, list) else 0


def _check_string(key: str | None, text: str, owner: dict[str, Any] | None, limits: JsonLimits) -> None:
    if len(text) <= limits.max_string_chars:
        return
    if key == "data" and owner is not None:
        content_type = owner.get("contentType")
        is_text = isinstance(content_type, str) and content_type.strip().lower().startswith(_TEXT_TYPES)
        if not is_text or len(text) * 3 // 4 <= limits.max_string_chars:
            return
    raise JsonLimitError(
        f"a string longer than {limits.max_string_chars:.0f} characters (a report text is limited to that)",
        kind=LimitKind.STRING,
    )
