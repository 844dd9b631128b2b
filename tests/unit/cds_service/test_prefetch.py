"""Prefetch resolution and the FHIR fallback against local recording HTTP servers on 127.0.0.1.

Proves the allow-list: a ``fhirServer`` that is not allow-listed is never contacted (no request reaches it, so
the bearer token cannot leak), ``next`` links and redirects never lead to another host, and an upstream outage
yields a ``data-unavailable`` card within the hook budget instead of an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cds_service.demo.data import DEMO_PATIENTS, patient_resources
from cds_service.hooks.prefetch import render_template
from cds_service.settings import AuthMode, Settings, normalise_base_url
from tests.unit.cds_service.cds_support import (
    bundle,
    check_operation_outcome,
    check_service_response,
    hook_request,
    make_app,
    null_prefetch,
    scenario_topics,
)

PV = "/cds-services/her2-pet-review"
TOKEN = "opaque-fhir-token-123"
Route = Callable[[str], tuple[int, dict[str, Any], dict[str, str]]]


@dataclass
class Recorder:
    """A FHIR-ish server recording every request (path and Authorization header)."""

    route: Route
    hits: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""


def _handler(recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            recorder.hits.append((self.path, self.headers.get("Authorization")))
            status, body, headers = recorder.route(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout tests)
                return

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[Route], Recorder]]:
    servers: list[ThreadingHTTPServer] = []

    def start(route: Route) -> Recorder:
        recorder = Recorder(route)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorder))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        recorder.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
        return recorder

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def chart(patient_id: str = "demo-her2-low") -> dict[str, list[dict[str, Any]]]:
    return patient_resources(next(p for p in DEMO_PATIENTS if p.id == patient_id))


def fhir_route(patient_id: str = "demo-her2-low") -> Route:
    """Answer reads and searches from a demo chart by resource type (like a FHIR server would)."""
    resources = [r for items in chart(patient_id).values() for r in items]

    def route(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        rest = path.split("/fhir/", 1)[1]
        rtype = rest.split("?")[0].split("/")[0]
        if "/" in rest.split("?")[0]:
            match = [r for r in resources if f"{r['resourceType']}/{r['id']}" == rest]
            return (200, match[0], {}) if match else (404, {"resourceType": "OperationOutcome"}, {})
        return 200, bundle([r for r in resources if r["resourceType"] == rtype]), {}

    return route


def authorization(fhir_server: str) -> dict[str, Any]:
    return {
        "fhirServer": fhir_server,
        "fhirAuthorization": {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.read user/Observation.read",
            "subject": "her2-cds",
        },
    }


@pytest.mark.req("I-60")
@pytest.mark.req("I-61")
@pytest.mark.req("I-34")
def test_absent_keys_are_fetched_with_the_bearer_token(tmp_path: Path, serve: Any) -> None:
    fhir = serve(fhir_route())
    client = make_app(tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),)).test_client()
    prefetch = {"imaging": None, "administrations": None}  # null: no data, never fetched
    body = hook_request(patient_id="demo-her2-low", prefetch=prefetch, **authorization(fhir.base))
    resp = client.post(PV, json=body)
    assert resp.status_code == 200
    check_service_response(resp.get_json())
    assert scenario_topics(resp.get_json()) == ["her2-low-no-pet"]
    paths = [p for p, _ in fhir.hits]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in fhir.hits)
    assert "/fhir/Patient/demo-her2-low" in paths
    assert any(p.startswith("/fhir/Observation?patient=demo-her2-low&code=") for p in paths)
    assert not any(p.startswith(("/fhir/ImagingStudy", "/fhir/MedicationAdministration")) for p in paths)


def test_missing_keys_are_fetched_concurrently_within_the_budget(tmp_path: Path, serve: Any) -> None:
    """Seven keys at 250 ms each: one after another they would need 1.75 s, over a 1 s budget."""
    answer = fhir_route()

    def slowish(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        time.sleep(0.25)
        return answer(path)

    fhir = serve(slowish)
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=1000
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(fhir.base)))
    assert resp.status_code == 200
    assert scenario_topics(resp.get_json()) == ["her2-low-no-pet"]
    assert len(fhir.hits) >= 7


@pytest.mark.req("I-54")
@pytest.mark.parametrize(
    "allowlist",
    [
        pytest.param((), id="empty allow-list"),
        pytest.param(("https://fhir.example.org/r4",), id="other host listed"),
        pytest.param(("http://127.0.0.1:1/fhir",), id="same host, other port"),
    ],
)
def test_off_list_fhir_server_is_never_contacted(
    tmp_path: Path, serve: Any, allowlist: tuple[str, ...]
) -> None:
    fhir = serve(fhir_route())
    client = make_app(tmp_path, fhir_allowlist=allowlist).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(fhir.base)))
    assert resp.status_code == 412
    check_operation_outcome(resp.get_json(), "incomplete")
    assert TOKEN not in resp.get_data(as_text=True)
    # complete prefetch with an off-list server: a normal answer, still no contact
    full = hook_request(patient_id="demo-her2-low", prefetch=null_prefetch(), **authorization(fhir.base))
    assert client.post(PV, json=full).status_code == 200
    assert fhir.hits == []


def test_allow_list_of_the_calling_client_also_applies() -> None:
    settings = Settings(auth=AuthMode.OFF, fhir_allowlist=("https://ehr.example.org/fhir",))
    assert settings.fhir_server_allowed("https://EHR.example.org:443/fhir/")
    assert not settings.fhir_server_allowed("https://ehr.example.org/fhir/other")
    assert not settings.fhir_server_allowed("https://ehr.example.org.evil.test/fhir")
    assert not settings.fhir_server_allowed("https://user@ehr.example.org/fhir")
    assert settings.fhir_server_allowed("https://ehr.example.org/fhir", ("https://ehr.example.org/fhir",))
    assert not settings.fhir_server_allowed(
        "https://ehr.example.org/fhir", ("https://other.example.org/fhir",)
    )


@pytest.mark.req("I-58")
def test_pagination_follows_next_only_under_the_same_base(tmp_path: Path, serve: Any) -> None:
    elsewhere = serve(lambda path: (200, bundle([]), {}))
    pages: dict[str, dict[str, Any]] = {}
    fhir: Recorder = serve(lambda path: (200, pages.get(path.split("/fhir/", 1)[1], bundle([])), {}))
    page2 = bundle([])
    page2["link"] = [{"relation": "next", "url": f"{elsewhere.base}/Observation?page=3"}]
    pages["Observation?page=2"] = page2
    first = bundle([])
    first["link"] = [{"relation": "next", "url": f"{fhir.base}/Observation?page=2"}]
    prefetch = null_prefetch() | {"her2": first}
    client = make_app(tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),)).test_client()
    resp = client.post(PV, json=hook_request(prefetch=prefetch, **authorization(fhir.base)))
    assert resp.status_code == 200
    assert [p for p, _ in fhir.hits] == ["/fhir/Observation?page=2"]
    assert elsewhere.hits == []


def test_redirects_are_not_followed(tmp_path: Path, serve: Any) -> None:
    elsewhere = serve(fhir_route())
    fhir = serve(lambda path: (302, {}, {"Location": elsewhere.base + path.split("/fhir", 1)[1]}))
    client = make_app(tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),)).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(fhir.base)))
    assert resp.status_code == 412
    assert elsewhere.hits == []


def test_fhir_refusal_is_412(tmp_path: Path, serve: Any) -> None:
    fhir = serve(lambda path: (401, {"resourceType": "OperationOutcome"}, {}))
    client = make_app(tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),)).test_client()
    resp = client.post(PV, json=hook_request(**authorization(fhir.base)))
    assert resp.status_code == 412
    assert "401" in resp.get_json()["issue"][0]["diagnostics"]


@pytest.mark.req("I-27")
@pytest.mark.parametrize("kind", ["503", "slow", "refused"])
def test_upstream_outage_gives_data_unavailable_within_budget(tmp_path: Path, serve: Any, kind: str) -> None:
    if kind == "503":
        base = serve(lambda path: (503, {"resourceType": "OperationOutcome"}, {})).base
    elif kind == "slow":

        def slow(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
            time.sleep(1.5)
            return 200, bundle([]), {}

        base = serve(slow).base
    else:
        from tests.conftest import free_port

        base = f"http://127.0.0.1:{free_port()}/fhir"
    client = make_app(tmp_path, fhir_allowlist=(normalise_base_url(base),), hook_budget_ms=400).test_client()
    started = time.monotonic()
    resp = client.post(PV, json=hook_request(**authorization(base)))
    elapsed = time.monotonic() - started
    assert resp.status_code == 200
    body = resp.get_json()
    check_service_response(body)
    assert scenario_topics(body) == ["data-unavailable"]
    assert "FHIR server" in body["cards"][0]["summary"]
    assert elapsed < 1.2


def test_render_template_uses_only_2_0_tokens() -> None:
    context = {"patientId": "p 1", "userId": "PractitionerRole/r-9", "encounterId": "e-1"}
    assert render_template("Patient/{{context.patientId}}", context) == "Patient/p%201"
    assert (
        render_template("PractitionerRole?_id={{userPractitionerRoleId}}", context)
        == "PractitionerRole?_id=r-9"
    )
    assert render_template("Practitioner?_id={{userPractitionerId}}", context) is None
    assert render_template("X?d={{today()}}", context) is None
    assert render_template("X?o={{context.draftOrders}}", context) is None
    assert render_template("{{context.userId}}", context) == "PractitionerRole/r-9"
