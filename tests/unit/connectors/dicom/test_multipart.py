"""The streaming multipart/related reader: RFC 2046 grammar, any chunking, malformed bodies refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.dicom.multipart import Part, boundary_from_content_type, iter_parts

BOUNDARY = b"b0undary-42"


def _body(payloads: list[bytes], *, preamble: bytes = b"", epilogue: bytes = b"\r\n") -> bytes:
    out = preamble + (b"\r\n" if preamble else b"")
    for payload in payloads:
        out += b"--" + BOUNDARY + b"\r\nContent-Type: application/dicom\r\n\r\n" + payload + b"\r\n"
    return out + b"--" + BOUNDARY + b"--" + epilogue


def _chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(data[pos : pos + size])
        pos += size
    chunks.append(data[pos:])
    return chunks


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('multipart/related; type="application/dicom"; boundary=abc-1', b"abc-1"),
        ('Multipart/Related; boundary="a;b c"; type="application/dicom"', b"a;b c"),
        ("multipart/related;boundary=xyz", b"xyz"),
    ],
)
def test_boundary_from_content_type(header: str, expected: bytes) -> None:
    assert boundary_from_content_type(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "application/dicom",
        "multipart/related; type=x",
        'multipart/related; boundary=""',
        "multipart/related; boundary=" + "x" * 71,
    ],
)
def test_boundary_refused(header: str) -> None:
    with pytest.raises(ValueError, match=r"multipart|boundary"):
        boundary_from_content_type(header)


def test_parts_headers_and_bodies() -> None:
    payloads = [b"first", b"", b"third\r\n--not-the-boundary\r\n"]
    parts = list(iter_parts([_body(payloads, preamble=b"ignored preamble")], BOUNDARY))
    assert [p.body for p in parts] == payloads
    assert all(p.media_type == "application/dicom" for p in parts)


def test_part_without_headers_and_folded_header_and_padding() -> None:
    body = (
        b"--" + BOUNDARY + b"  \t\r\n\r\nbare\r\n"
        b"--" + BOUNDARY + b"\r\nContent-Type: application/dicom;\r\n transfer-syntax=1.2\r\n\r\nx\r\n"
        b"--" + BOUNDARY + b"--"
    )
    bare, folded = iter_parts([body], BOUNDARY)
    assert bare == Part(body=b"bare")
    assert folded.headers["content-type"] == "application/dicom; transfer-syntax=1.2"
    assert folded.body == b"x"


def test_epilogue_after_close_is_ignored() -> None:
    parts = list(iter_parts([_body([b"a"], epilogue=b"\r\ntrailing junk --" + BOUNDARY)], BOUNDARY))
    assert [p.body for p in parts] == [b"a"]


def test_parts_are_yielded_before_the_stream_ends() -> None:
    body = _body([b"one", b"two"])
    cut = body.index(b"two")  # the delimiter after "one" has arrived, "two" has not
    seen: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        yield body[:cut]
        assert seen == [b"one"]
        yield body[cut:]

    for part in iter_parts(chunks(), BOUNDARY):
        seen.append(part.body)
    assert seen == [b"one", b"two"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"--" + BOUNDARY + b"\r\nContent-Type: a\r\n\r\nbody without close\r\n", "closing delimiter"),
        (b"", "closing delimiter"),
        (b"--" + BOUNDARY + b"\r\nContent-Type: a\r\nno blank line\r\n--" + BOUNDARY + b"--", "empty line"),
        (b"--" + BOUNDARY + b"\r\nbroken header\r\n\r\nx\r\n--" + BOUNDARY + b"--", "header"),
        (b"--" + BOUNDARY + b"\r\n\r\nx\r\n--" + BOUNDARY + b"X\r\n\r\n--" + BOUNDARY + b"--", "inside"),
    ],
)
def test_malformed_bodies_raise(body: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list(iter_parts([body], BOUNDARY))


def test_part_size_limit() -> None:
    body = _body([b"x" * 5000])
    with pytest.raises(ValueError, match="larger than"):
        list(iter_parts(_chunked(body, [100] * 60), BOUNDARY, max_part_bytes=1000))


@settings(max_examples=150, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
    sizes=st.lists(st.integers(min_value=0, max_value=97), max_size=40),
)
def test_any_chunking_gives_the_same_parts(payloads: list[bytes], sizes: list[int]) -> None:
    payloads = [p.replace(b"--" + BOUNDARY, b"") for p in payloads]  # RFC 2046: never inside content
    body = _body(payloads)
    assert [p.body for p in iter_parts(_chunked(body, sizes), BOUNDARY)] == payloads
