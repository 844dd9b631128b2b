"""connectors.json_limits: one iterative walk bounds depth, Bundle entries and string length."""

from __future__ import annotations

import base64
import json

import pytest

from connectors.json_limits import JsonLimitError, JsonLimits, LimitKind, check_within, loads_within

LIMITS = JsonLimits(max_depth=8, max_entries=3, max_string_chars=50)


def _bundle(n: int) -> dict[str, object]:
    return {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Basic"}} for _ in range(n)]}


@pytest.mark.parametrize("depth", [10_000, 2_000, 9])
def test_deep_nesting_is_refused_without_recursion_error(depth: int) -> None:
    for opener, closer in (("[", "]"), ('{"a":', "}")):
        raw = opener * depth + "1" + closer * depth
        with pytest.raises(JsonLimitError) as info:
            loads_within(raw, LIMITS)
        assert info.value.kind is LimitKind.DEPTH


def test_depth_at_the_limit_is_accepted() -> None:
    raw = "[" * 8 + "]" * 8
    assert loads_within(raw, LIMITS) == json.loads(raw)


def test_entries_of_all_bundles_count_together() -> None:
    check_within({"a": _bundle(2), "b": _bundle(1)}, LIMITS)
    with pytest.raises(JsonLimitError) as info:
        check_within({"a": _bundle(2), "b": [_bundle(2)]}, LIMITS)
    assert info.value.kind is LimitKind.ENTRIES


def test_long_strings_are_refused_wherever_they_are() -> None:
    for doc in ({"conclusion": "x" * 51}, ["x" * 51], {"a": [{"b": "x" * 51}]}, "x" * 51):
        with pytest.raises(JsonLimitError) as info:
            check_within(doc, LIMITS)
        assert info.value.kind is LimitKind.STRING


def test_binary_data_counts_only_when_it_is_text() -> None:
    pdf = base64.b64encode(b"%PDF" + b"\0" * 500).decode()
    html = base64.b64encode(b"<p>" + b"x" * 500 + b"</p>").decode()
    check_within({"contentType": "application/pdf", "data": pdf}, LIMITS)
    with pytest.raises(JsonLimitError):
        check_within({"contentType": "text/html; charset=utf-8", "data": html}, LIMITS)
    with pytest.raises(JsonLimitError):
        check_within({"contentType": "application/pdf", "text": pdf}, LIMITS)


def test_malformed_json_is_a_syntax_error() -> None:
    for raw in (b"{", b"\xff\xfe", b"[1,]"):
        with pytest.raises(JsonLimitError) as info:
            loads_within(raw, LIMITS)
        assert info.value.kind is LimitKind.SYNTAX
