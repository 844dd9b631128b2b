"""Rules the test suite holds itself to: no bare skips, and the log guard recognises what it must."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.log_guard import _phi_terms, findings

TESTS = Path(__file__).resolve().parents[1]


def test_no_bare_skips_bypass_the_ci_rule() -> None:
    """A skip outside ``missing_dependency`` would pass CI with the dependency missing (CI=true must fail)."""
    offenders = []
    for path in TESTS.rglob("*.py"):
        if "node_modules" in path.parts or path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"pytest\.(skip|importorskip)\(", line) and "def missing_dependency" not in line:
                offenders.append(f"{path.relative_to(TESTS)}:{number}")
    assert offenders == ["conftest.py:27"], "skip only through conftest.missing_dependency"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('{"event": "x", "auth": "Bearer abcdefghijklmnop"}', "bearer token"),
        ("token eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJodHRwczovL2VociJ9.c2lnbmF0dXJl", "JWT"),
        ('"GET /evidence/ImV2aWQtMTIzIg.Z1x2Yw.abcdefghijklmnop HTTP/1.1" 200', "evidence-link token"),
        ("retrying GET https://fhir.test/Observation?patient=pat-1&code=x", "patient parameter in a URL"),
        ('{"event": "hook call", "name": "Avery Demo-Low"}', "synthetic patient name, MRN or birth date"),
        ('{"birthDate": "1961-04-02"}', "synthetic patient name, MRN or birth date"),
    ],
)
def test_log_guard_finds_secrets_and_phi(line: str, kind: str) -> None:
    assert kind in findings(line, _phi_terms())


@pytest.mark.parametrize(
    "line",
    [
        '{"event": "hook call", "hook_instance": "d1577c69", "outcome": "cards", "duration_ms": 12.5}',
        '"GET /evidence/[redacted] HTTP/1.1" 200',
        '"POST /cds-services/her2-pet-review HTTP/1.1" 200',
        "retrying GET https://fhir.test/Observation?patient=[redacted]",
    ],
)
def test_log_guard_passes_clean_lines(line: str) -> None:
    assert findings(line, _phi_terms()) == []


def test_log_guard_records_this_process() -> None:
    import logging

    from tests.log_guard import GUARD

    logging.getLogger("tests.hygiene").warning("log guard probe 7f3a")
    assert any("log guard probe 7f3a" in line for line in GUARD.lines)
