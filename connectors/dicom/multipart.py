"""A streaming ``multipart/related`` reader for WADO-RS responses (RFC 2046 §5.1.1, RFC 2387; PS3.18 8.6.1.2).

WADO-RS returns the instances of a series as one ``multipart/related`` body. :func:`iter_parts` reads that
body from an iterable of byte chunks (``requests.Response.iter_content``) and yields each part as soon as
its closing delimiter has arrived, so a caller can decode part *n* while part *n + 1* is still on the
wire. Delimiters are searched with ``bytearray.find`` from where the previous search stopped; consumed bytes
are dropped from the front of the buffer, so at most one part (plus one chunk) is held and the whole body is
never copied. Each part's body is copied once, into the ``bytes`` of :class:`Part`.

Grammar handled (RFC 2046 §5.1.1): an optional preamble, then for each part ``--boundary`` (optionally
preceded by CRLF, followed by optional transport padding and CRLF), header lines, an empty line and the
body; the body ends at ``CRLF--boundary``; the close delimiter is ``--boundary--`` and the epilogue after it
is ignored. A body that ends before the close delimiter, a part without the empty line after its headers,
or a part larger than ``max_part_bytes`` raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_MAX_PART_BYTES", "Part", "boundary_from_content_type", "iter_parts"]

DEFAULT_MAX_PART_BYTES = 2 * 1024**3
"""Largest part accepted, in bytes (2 GiB): a guard against a server that never sends a delimiter."""

_MAX_BOUNDARY = 70
"""RFC 2046 §5.1.1: a boundary has 1 to 70 characters."""

_MAX_PADDING = 1024
"""Longest transport padding (whitespace after a delimiter) accepted, in bytes."""

_CRLF = b"\r\n"


@dataclass(frozen=True, slots=True)
class Part:
    """One body part: its header fields (names lower-cased, values stripped) and its content bytes."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        """The part's media type without parameters, lower-cased (``""`` without a Content-Type)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def boundary_from_content_type(content_type: str) -> bytes:
    """The ``boundary`` parameter of a ``multipart/*`` Content-Type header (quoted or not).

    ``ValueError`` when the media type is not multipart or the boundary is missing, empty, longer than 70
    characters or not ASCII (RFC 2046 §5.1.1).
    """
    media_type, *params = (item.strip() for item in _split_params(content_type))
    if not media_type.lower().startswith("multipart/"):
        raise ValueError(f"expected a multipart media type, got {media_type!r}")
    for param in params:
        name, sep, value = param.partition("=")
        if sep and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if not 0 < len(value) <= _MAX_BOUNDARY or not value.isascii():
                raise ValueError("multipart boundary must be 1-70 ASCII characters")
            return value.encode("ascii")
    raise ValueError("multipart Content-Type has no boundary parameter")


def iter_parts(
    chunks: Iterable[bytes], boundary: bytes, *, max_part_bytes: int = DEFAULT_MAX_PART_BYTES
) -> Iterator[Part]:
    """Yield the parts of a multipart body given as consecutive chunks of any size (see module doc)."""
    if not boundary:
        raise ValueError("empty multipart boundary")
    delimiter = _CRLF + b"--" + boundary
    # A leading CRLF lets the first delimiter (which may start the body) be found like the others.
    buf = bytearray(_CRLF)
    scan = 0  # where the next delimiter search starts
    in_part = False  # False while reading the preamble
    for chunk in chunks:
        buf += chunk
        while True:
            found = _next_delimiter(buf, delimiter, scan)
            if found is None:
                scan = max(0, len(buf) - len(delimiter) - _MAX_PADDING - 2)
                if in_part and len(buf) > max_part_bytes:
                    raise ValueError(f"multipart part larger than {max_part_bytes} bytes")
                break
            start, end, closing = found
            if in_part:
                yield _part(buf, start)
            if closing:
                return
            del buf[:end]  # O(1) in CPython: bytearray keeps an offset to its start
            in_part, scan = True, 0
    raise ValueError("multipart body ended before its closing delimiter")


def _next_delimiter(buf: bytearray, delimiter: bytes, scan: int) -> tuple[int, int, bool] | None:
    """The next complete delimiter line at or after ``scan``: (its start, the end of its line, closing?).

    None when no complete delimiter line is in ``buf`` yet (more data is needed).
    """
    index = buf.find(delimiter, scan)
    if index < 0:
        return None
    after = index + len(delimiter)
    if len(buf) < after + 2:
        return None
    if buf[after : after + 2] == b"--":
        return index, after + 2, True
    eol = buf.find(_CRLF, after, after + _MAX_PADDING + 2)
    if eol < 0:
        if len(buf) >= after + _MAX_PADDING + 2:
            raise ValueError("multipart delimiter line is not followed by CRLF")
        return None
    if buf[after:eol].strip(b" \t"):
        raise ValueError("multipart boundary occurs inside a part (not followed by CRLF)")
    return index, eol + 2, False


def _part(buf: bytearray, end: int) -> Part:
    """The part occupying ``buf[:end]``: header lines, an empty line, then the body (copied once)."""
    with memoryview(buf) as view:
        if view[:2] == _CRLF:  # no header fields
            return Part(body=bytes(view[2:end]))
        blank = buf.find(b"\r\n\r\n", 0, end)
        if blank < 0:
            raise ValueError("multipart part has no empty line after its header fields")
        headers = _headers(bytes(view[:blank]))
        return Part(body=bytes(view[blank + 4 : end]), headers=headers)


def _headers(block: bytes) -> dict[str, str]:
    """RFC 822-style header fields (RFC 2045 §3), folded lines joined; names lower-cased."""
    headers: dict[str, str] = {}
    name = ""
    for line in block.decode("latin-1").split("\r\n"):
        if line[:1] in (" ", "\t") and name:
            headers[name] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise ValueError("malformed multipart header line")
        name = key.strip().lower()
        headers[name] = value.strip()
    return headers


def _split_params(content_type: str) -> list[str]:
    """Split a header value on ``;`` outside double quotes."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in content_type:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items
