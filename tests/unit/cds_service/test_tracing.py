"""OpenTelemetry tracing (``cds_service.tracing``): real hook calls through the app, spans caught by an
in-memory exporter, and nothing in them that identifies the patient or grants access.

The FHIR server is a local recording HTTP server on 127.0.0.1 (as in ``test_prefetch``); no other network.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from cds_service import create_app
from cds_service.settings import Settings, SettingsError, TracingMode
from cds_service.tracing import redact_attributes, start_tracing, stop_tracing
from tests.conftest import free_port
from tests.unit.cds_service.cds_support import hook_request, make_settings, migrate
from tests.unit.cds_service.test_prefetch import (
    PV,
    TOKEN,
    UNHURRIED_MS,
    Recorder,
    Route,
    authorization,
    fhir_route,
    serve,
)

__all__ = ["serve"]  # the fixture, imported for this module's tests

PATIENT = "demo-her2-low"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwYXQtMSJ9.c2lnbmF0dXJl"


@pytest.fixture
def traced(
    tmp_path: Path, serve: Callable[[Route], Recorder], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Flask, InMemorySpanExporter, Recorder]]:
    # Header capture on, as an operator might switch it on: the credentials must still not leave.
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST", "Authorization,Accept")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST", "Authorization,Cookie")
    fhir = serve(fhir_route(PATIENT))
    settings = make_settings(
        tmp_path,
        fhir_allowlist=(fhir.base,),
        hook_budget_ms=UNHURRIED_MS,
        link_secret="k" * 43,
    )
    migrate(settings)
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    app.testing = True
    try:
        yield app, exporter, fhir
    finally:
        stop_tracing(app)


def _evidence_path(body: dict[str, Any]) -> str:
    urls = [link["url"] for card in body["cards"] for link in card.get("links", [])]
    evidence = [u for u in urls if "/evidence/" in u]
    assert evidence, f"no evidence link among {urls}"
    return "/evidence/" + evidence[0].split("/evidence/", 1)[1]


def test_hook_call_is_traced_without_phi_tokens_or_credentials(
    traced: tuple[Flask, InMemorySpanExporter, Recorder],
) -> None:
    app, exporter, fhir = traced
    client = app.test_client()
    body = hook_request(
        patient_id=PATIENT, prefetch={"imaging": None, "administrations": None}, **authorization(fhir.base)
    )
    resp = client.post(PV, json=body, headers={"Cookie": f"session={JWT}"})
    assert resp.status_code == 200
    evidence_path = _evidence_path(resp.get_json())
    token = evidence_path.split("/")[2]
    assert client.get(evidence_path).status_code == 200
    assert client.get("/healthz").status_code == 200

    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind is SpanKind.SERVER]
    routes = sorted(str((s.attributes or {}).get("http.route")) for s in server)
    # Probes make no span; the hook and the evidence page do, named by their route templates.
    assert routes == ["/cds-services/<service_id>", "/evidence/<token>"]
    assert {s.name for s in server} == {"POST /cds-services/<service_id>", "GET /evidence/<token>"}

    fhir_spans = [s for s in spans if s.kind is SpanKind.CLIENT and "http" in str(s.attributes)]
    assert fhir_spans, "the FHIR calls of the hook made no client span"
    origin = fhir.base.rsplit("/fhir", 1)[0]
    for span in fhir_spans:
        attributes = span.attributes or {}
        url = attributes.get("url.full", attributes.get("http.url"))
        assert url == f"{origin}/[REDACTED]"
        captured = [k for k in attributes if "header.authorization" in k]
        assert captured, "the Authorization header capture is on: its attribute must be there, redacted"
        assert all(attributes[k] == "[REDACTED]" for k in captured)
    assert any(s.attributes and "db.statement" in s.attributes for s in spans), "no SQLAlchemy span"
    assert any(s.parent is not None for s in fhir_spans), "FHIR spans are children of the hook's span"

    exported = "\n".join(span.to_json() for span in spans)
    fhir_paths = [path for path, _ in fhir.hits]
    assert any(f"patient={PATIENT}" in p for p in fhir_paths)  # what the spans must not repeat
    for secret in (PATIENT, TOKEN, token, JWT, "patient="):
        assert secret not in exported, f"{secret!r} leaked into a span"


def test_a_failed_fhir_call_leaves_no_patient_id_in_its_exception_event(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens: the FHIR calls fail
    settings = make_settings(tmp_path, fhir_allowlist=(closed,), hook_budget_ms=UNHURRIED_MS)
    migrate(settings)
    exporter = InMemorySpanExporter()
    app = create_app(settings, span_exporter=exporter)
    try:
        body = hook_request(patient_id=PATIENT, prefetch={"imaging": None}, **authorization(closed))
        resp = app.test_client().post(PV, json=body)
        assert resp.status_code in (200, 412)
    finally:
        stop_tracing(app)
    spans = exporter.get_finished_spans()
    failed = [s for s in spans if s.kind is SpanKind.CLIENT and s.events]
    assert failed, "the refused FHIR connections are recorded as exception events"
    assert any(e.name == "exception" for s in failed for e in s.events)
    exported = "\n".join(span.to_json() for span in spans)
    assert "Patient/[REDACTED]" in exported or "url: [REDACTED]" in exported
    assert PATIENT not in exported
    assert TOKEN not in exported


def test_redaction_of_urls_headers_and_free_text() -> None:
    server = redact_attributes(
        {
            "http.route": "/evidence/<token>",
            "http.target": "/evidence/abc.def?x=1",
            "url.path": "/evidence/abc.def",
            "url.query": "patient=123",
            "http.url": "https://cds.example.org/evidence/abc.def?x=1",
            "http.request.header.authorization": ("Bearer abc",),
            "http.request.header.accept": ("application/json",),
            "http.status_code": 200,
        },
        server=True,
    )
    assert server == {
        "http.route": "/evidence/<token>",
        "http.target": "/evidence/<token>",
        "url.path": "/evidence/<token>",
        "url.query": "[REDACTED]",
        "http.url": "https://cds.example.org/evidence/<token>",
        "http.request.header.authorization": "[REDACTED]",
        "http.request.header.accept": ("application/json",),
        "http.status_code": 200,
    }
    client = redact_attributes(
        {
            "url.full": "https://user:pw@fhir.example.org:8443/r4/Patient/123?_id=1",
            "exception.message": f"401 for https://fhir.example.org/r4/Observation?patient=123 ({JWT})",
            "server.address": "fhir.example.org",
        },
        server=False,
    )
    assert client["url.full"] == "https://fhir.example.org:8443/[REDACTED]"
    assert "123" not in client["exception.message"]
    assert JWT not in client["exception.message"]
    assert client["server.address"] == "fhir.example.org"
    # A server path without a route (404) keeps nothing of the path.
    assert redact_attributes({"url.path": "/evidence/secret-token"}, server=True) == {
        "url.path": "[REDACTED]"
    }


def test_tracing_setting_is_validated() -> None:
    assert Settings.from_env({"HER2CDS_AUTH": "off"}).tracing is TracingMode.OFF
    assert Settings.from_env({"HER2CDS_AUTH": "off", "HER2CDS_TRACING": "OTLP"}).tracing is TracingMode.OTLP
    with pytest.raises(SettingsError, match="HER2CDS_TRACING"):
        Settings.from_env({"HER2CDS_AUTH": "off", "HER2CDS_TRACING": "jaeger"})


def test_service_runs_without_opentelemetry_unless_tracing_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "opentelemetry" or m.startswith("opentelemetry.")]:
        monkeypatch.setitem(sys.modules, name, None)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # type: ignore[arg-type]
    assert start_tracing(TracingMode.OFF) is None
    settings = make_settings(tmp_path)
    migrate(settings)
    assert create_app(settings).test_client().get("/healthz").status_code == 200
    with pytest.raises(SettingsError, match=r"HER2CDS_TRACING=console: .*her2-pet-cds\[tracing\]"):
        create_app(make_settings(tmp_path, tracing=TracingMode.CONSOLE))


def test_console_exporter_writes_redacted_spans_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path, tracing=TracingMode.CONSOLE)
    migrate(settings)
    app = create_app(settings)
    try:
        assert app.test_client().get("/evidence/not-a-valid-token").status_code in (403, 404, 410)
    finally:
        stop_tracing(app)  # shuts the provider down: the batch processor exports now
    spans = [json.loads(chunk) for chunk in _json_objects(capsys.readouterr().err)]
    assert [s["name"] for s in spans if s["kind"] == "SpanKind.SERVER"] == ["GET /evidence/<token>"]
    assert "not-a-valid-token" not in json.dumps(spans)


def _json_objects(text: str) -> list[str]:
    decoder = json.JSONDecoder()
    found, index = [], 0
    while (start := text.find("{", index)) != -1:
        try:
            _, end = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        found.append(text[start:end])
        index = end
    return found
