"""Whole-suite log guard: every log line the suite produces is checked for secrets and PHI.

Two sources are read: every log record emitted in the test process (formatted the way the service's own
JSON handler would write it, so redaction counts), and the log files of the service processes the
integration and end-to-end tests start (``service-*.log``, ``demo*.log``, ``receive*.log``, ``sync*.log``
under the run's temporary folder). At the end of the session any line carrying a bearer token, a JWT, an
evidence-page capability token, a patient parameter in a URL, or a synthetic patient's name, MRN or birth
date fails the run, naming the offending lines (truncated, with the secret part masked).

Tests that deliberately write such strings to a log (none should) would have to do so through a logger
outside the service's namespaces; the guard covers every logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
BEARER = re.compile(r"Bearer\s+(?!\[)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
EVIDENCE_TOKEN = re.compile(r"/evidence/(?!\[|<|\{)[A-Za-z0-9_.\-]{16,}")
PATIENT_IN_URL = re.compile(r"[?&](?:patient|subject|_id|identifier|patient\.identifier)=(?!\[)[^&\s\"',}]+")
PATIENT_REFERENCE = re.compile(r"/Patient/(?!\[|\{|<|\$|\?|_search)[A-Za-z0-9.\-]{1,64}")

SERVICE_LOG_GLOBS = ("service-*.log", "demo*.log", "receive*.log", "sync*.log", "serve*.log")


def _phi_terms() -> list[re.Pattern[str]]:
    """Names, MRNs and birth dates of the synthetic patients the tests use (demo charts, synthetic cohort)."""
    from cds_service.cohort.synthetic import synthetic_cohort
    from cds_service.demo.data import ALL_DEMO_PATIENTS

    terms: set[str] = set()
    for patient in ALL_DEMO_PATIENTS:
        terms.update({f"{patient.given} {patient.family}", patient.family, patient.birth_date})
        terms.add(patient.dicom_patient_id)
    for member in synthetic_cohort().patients:
        terms.update({f"{member.given} {member.family}", member.family, member.mrn})
        terms.update({member.birth_date.isoformat(), f"{member.family}^{member.given}"})
    return [re.compile(rf"(?<![\w-]){re.escape(t)}(?![\w-])") for t in sorted(terms) if len(t) >= 4]


def findings(line: str, phi: Iterable[re.Pattern[str]]) -> list[str]:
    """What in ``line`` must never be logged (names of the kinds found)."""
    found = [
        kind
        for kind, pattern in (
            ("JWT", JWT),
            ("bearer token", BEARER),
            ("evidence-link token", EVIDENCE_TOKEN),
            ("patient parameter in a URL", PATIENT_IN_URL),
            ("patient id in a URL path", PATIENT_REFERENCE),
        )
        if pattern.search(line)
    ]
    if any(p.search(line) for p in phi):
        found.append("synthetic patient name, MRN or birth date")
    return found


class _Recorder(logging.Handler):
    """Keeps the formatted text of every record (with the service formatter when one is installed)."""

    def __init__(self, sink: list[str]) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            service = next(
                (h for h in logging.getLogger().handlers if getattr(h, "_her2cds_handler", False)), None
            )
            formatter = service.formatter if service is not None and service.formatter else None
            text = formatter.format(record) if formatter else self.format(record)
        except Exception:  # a record the service formatter cannot render is still checked as plain text
            text = record.getMessage()
        self.sink.append(f"{record.name}: {text}")


@dataclass
class LogGuard:
    lines: list[str] = field(default_factory=list)
    handler: _Recorder | None = None

    def start(self) -> None:
        self.handler = _Recorder(self.lines)
        logging.getLogger().addHandler(self.handler)

    def stop(self) -> None:
        if self.handler is not None:
            logging.getLogger().removeHandler(self.handler)

    def service_log_lines(self, base: Path | None) -> Iterator[tuple[str, str]]:
        if base is None or not base.is_dir():
            return
        for pattern in SERVICE_LOG_GLOBS:
            for path in base.rglob(pattern):
                for line in path.read_text(errors="replace").splitlines():
                    yield path.name, line

    def violations(self, base: Path | None) -> list[str]:
        phi = _phi_terms()
        out: list[str] = []
        sources: Iterable[tuple[str, str]] = [
            *(("test process", line) for line in self.lines),
            *self.service_log_lines(base),
        ]
        for where, line in sources:
            kinds = findings(line, phi)
            if kinds:
                shown = JWT.sub("eyJ…", BEARER.sub("Bearer …", line))[:300]
                out.append(f"[{where}] {', '.join(kinds)}: {shown}")
        return out


GUARD = LogGuard()


def pytest_sessionstart(session: pytest.Session) -> None:
    GUARD.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    GUARD.stop()
    base: Path | None = None
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        try:
            base = factory.getbasetemp()
        except (OSError, ValueError):
            base = None
    bad = GUARD.violations(base)
    if bad:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"log guard: {len(bad)} log line(s) carry secrets or PHI:\n" + "\n".join(bad[:40])
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
