"""Prefetch resolution and the FHIR fallback against local recording HTTP servers on 127.0.0.1.

Proves the allow-list: a ``fhirServer`` that is not allow-listed is never contacted (no request reaches it, so
the bearer token cannot leak), ``next`` links and redirects never lead to another host, and an upstream outage
yields a ``data-unavailable`` card within the hook budget instead of an error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation

from cds_service.demo.data import DEMO_PATIENTS, patient_resources
from cds_service.hooks.prefetch import (
    PREFETCH_KEYS,
    FhirAccess,
    PrefetchResolver,
    render_template,
)
from cds_service.hooks.service import PetLookupResult
from cds_service.settings import AuthMode, Settings, normalise_base_url
from connectors.fhir.client import FhirClient
from connectors.fhir.codes import LOINC_KINDS, ObsKind
from connectors.fhir.mapping_observations import observation_kind
from connectors.http import Deadline, RetryPolicy, Timeouts, make_session
from tests.unit.cds_service.cds_support import (
    bundle,
    check_operation_outcome,
    check_service_response,
    hook_request,
    make_app,
    null_prefetch,
    scenario_topics,
)
from tests.unit.connectors.http_stub import StillClock

PV = "/cds-services/her2-pet-review"
TOKEN = "opaque-fhir-token-123"
UNHURRIED_MS = 30_000
"""For tests of what is fetched, not of when: a budget no busy machine uses up."""
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


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # a hook opens one connection per prefetch key at once; the default backlog is 5


@pytest.fixture
def serve() -> Iterator[Callable[[Route], Recorder]]:
    servers: list[ThreadingHTTPServer] = []

    def start(route: Route) -> Recorder:
        recorder = Recorder(route)
        server = _Server(("127.0.0.1", 0), _handler(recorder))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
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
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
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


def test_missing_keys_are_fetched_concurrently(tmp_path: Path, serve: Any) -> None:
    """The queries of an empty prefetch (one per key) are in flight together (so the budget bounds the slowest
    query, not the sum): the server holds each one until all have arrived, which never happens if they are
    sent one after another (then the barrier breaks and the server answers 503)."""
    answer = fhir_route()
    barrier = threading.Barrier(len(PREFETCH_KEYS), timeout=10)

    def together(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return 503, {"resourceType": "OperationOutcome"}, {}
        return answer(path)

    fhir = serve(together)
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=30_000, pet_lookup=NoPet()
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(fhir.base)))
    assert resp.status_code == 200
    assert scenario_topics(resp.get_json()) == ["her2-low-no-pet"]
    assert not barrier.broken
    assert len(fhir.hits) == len(PREFETCH_KEYS)


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
    # dot segments are resolved before the check, ambiguous spellings never match
    assert settings.fhir_server_allowed("https://ehr.example.org/fhir/r4/..")
    assert not settings.fhir_server_allowed("https://ehr.example.org/fhir/../admin")
    assert not settings.fhir_server_allowed("https://ehr.example.org/fhir/x/..%2F")
    assert not settings.fhir_server_allowed("https://ehr.example.org/fhir?x=1")
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
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    resp = client.post(PV, json=hook_request(prefetch=prefetch, **authorization(fhir.base)))
    assert resp.status_code == 200
    assert [p for p, _ in fhir.hits] == ["/fhir/Observation?page=2"]
    assert elsewhere.hits == []


def test_redirects_are_not_followed(tmp_path: Path, serve: Any) -> None:
    elsewhere = serve(fhir_route())
    fhir = serve(lambda path: (302, {}, {"Location": elsewhere.base + path.split("/fhir", 1)[1]}))
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(fhir.base)))
    assert resp.status_code == 412
    assert elsewhere.hits == []


def test_fhir_refusal_is_412(tmp_path: Path, serve: Any) -> None:
    fhir = serve(lambda path: (401, {"resourceType": "OperationOutcome"}, {}))
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
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


class NoPet:
    """A PET lookup that knows no study, so that a test exercises the FHIR side of the budget alone."""

    def lookup(
        self,
        patient_id: str,
        imaging: Sequence[dict[str, Any]],
        deadline: Deadline,
        *,
        patient: Sequence[dict[str, Any]] = (),
    ) -> PetLookupResult:
        return PetLookupResult()


def rate_limited(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    return 429, {"resourceType": "OperationOutcome"}, {"Retry-After": "30"}


@pytest.mark.req("I-27")
def test_429_with_retry_after_30_answers_within_the_budget(tmp_path: Path, serve: Any) -> None:
    """An allow-listed server answering 429 with ``Retry-After: 30`` used to hold the hook for 30 s (the
    HTTP library slept outside the hook's deadline). Now a wait that does not fit means "unavailable now"."""
    fhir = serve(rate_limited)
    app = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=500, pet_lookup=NoPet()
    )
    client = app.test_client()
    assert client.post(PV, json=hook_request(prefetch=null_prefetch())).status_code == 200  # warm-up
    started = time.monotonic()
    resp = client.post(PV, json=hook_request(**authorization(fhir.base)))
    elapsed_s = time.monotonic() - started
    assert resp.status_code == 200
    body = resp.get_json()
    check_service_response(body)
    assert scenario_topics(body) == ["data-unavailable"]
    assert "FHIR server" in body["cards"][0]["summary"]
    paths = [path for path, _ in fhir.hits]
    assert len(paths) == len(set(paths)) <= len(PREFETCH_KEYS)  # one try per query: no retry after a 429
    assert elapsed_s < 0.5 + 0.1  # the bound: budget + 100 ms


def test_no_wait_past_the_deadline_is_ever_asked_for(serve: Any) -> None:
    """The same server against the resolver with a recording clock: not one sleep is requested, even with
    a retry policy that would allow a 60 s wait."""
    fhir = serve(rate_limited)
    clock = StillClock()
    session = make_session()
    patient_retry = RetryPolicy(total=3, connect=3, status=3, backoff_factor=0.1, max_wait_s=60.0)

    def client_for(base: str, token: str, deadline: Deadline) -> FhirClient:
        return FhirClient(
            base, session, Timeouts(), bearer_token=token, deadline=deadline, retry=patient_retry
        )

    access = FhirAccess(base_url=normalise_base_url(fhir.base), token=TOKEN)
    result = PrefetchResolver(client_for).resolve(
        None, {"patientId": "p1", "userId": "Practitioner/x"}, access, Deadline(1.0, clock=clock)
    )
    assert result.unavailable
    assert set(result.status.values()) == {"unavailable"}
    assert clock.sleeps == []


def test_a_hung_query_is_abandoned_at_the_deadline(serve: Any) -> None:
    """A server that accepts and never answers within the read timeout: the hook thread stops waiting at the
    deadline whatever the socket does (the query is abandoned, its result unavailable)."""
    release = threading.Event()

    def hang(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        release.wait(5)
        return 200, bundle([]), {}

    fhir = serve(hang)
    session = make_session()

    def client_for(base: str, token: str, deadline: Deadline) -> FhirClient:
        # a read timeout far beyond the deadline, as if the per-read cut were not there
        return FhirClient(base, session, Timeouts(connect_s=5, read_s=5), bearer_token=token)

    access = FhirAccess(base_url=normalise_base_url(fhir.base), token=TOKEN)
    key = next(k for k in PREFETCH_KEYS if k.name == "patient")
    try:
        result = PrefetchResolver(client_for, (key,)).resolve(
            None, {"patientId": "p1", "userId": "Practitioner/x"}, access, Deadline(0.3)
        )
    finally:
        release.set()
    assert result.unavailable
    assert result.status == {"patient": "unavailable"}


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param("..", id="dot-dot"),
        pytest.param("%2e%2e", id="encoded dot-dot"),
        pytest.param("x/../..", id="deeper dot-dot"),
        pytest.param("..%2F..", id="encoded slash"),
    ],
)
def test_next_link_leaving_the_base_path_is_not_followed(tmp_path: Path, serve: Any, escape: str) -> None:
    """``…/fhir/../unlisted-app/…`` starts with the allow-listed base but is ``/unlisted-app/…`` as sent:
    it is not followed, so the bearer token never reaches another application on the same host."""
    fhir = serve(lambda path: (200, bundle([]), {}))
    first = bundle([])
    first["link"] = [{"relation": "next", "url": f"{fhir.base}/{escape}/unlisted-app/Observation?page=2"}]
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    resp = client.post(
        PV, json=hook_request(prefetch=null_prefetch() | {"her2": first}, **authorization(fhir.base))
    )
    assert resp.status_code == 200
    assert fhir.hits == []
    # the rest of the HER2 results could not be read: said so, never answered as if complete
    assert "data-unavailable" in scenario_topics(resp.get_json())


def test_paging_loop_is_stopped_at_the_first_repeat(tmp_path: Path, serve: Any) -> None:
    looping = bundle([])
    fhir: Recorder = serve(lambda path: (200, looping, {}))
    looping["link"] = [{"relation": "next", "url": f"{fhir.base}/Observation?page=2"}]
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    resp = client.post(
        PV, json=hook_request(prefetch=null_prefetch() | {"her2": looping}, **authorization(fhir.base))
    )
    assert resp.status_code == 200
    assert [p for p, _ in fhir.hits] == ["/fhir/Observation?page=2"]
    assert "data-unavailable" in scenario_topics(resp.get_json())


def test_narrative_only_report_is_read_through_its_binary(tmp_path: Path, serve: Any, testdata: Path) -> None:
    """A pathology report whose text is a ``presentedForm`` URL: the fallback reads the Binary too (same
    client, same base, same token) and the narrative gives the HER2 result."""
    data = json.loads((testdata / "fhir/synthetic/bundle-narrative-only-binary-html.json").read_text())
    resources = [e["resource"] for e in data["entry"]]

    def route(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        rest = path.split("/fhir/", 1)[1].split("?")[0]
        found = [r for r in resources if f"{r['resourceType']}/{r['id']}" == rest]
        if found:
            return 200, found[0], {}
        return 200, bundle([r for r in resources if r["resourceType"] == rest]), {}

    fhir = serve(route)
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id="pt-narrative-only", **authorization(fhir.base)))
    assert resp.status_code == 200
    assert "/fhir/Binary/bin-pt-narrative-only" in [p for p, _ in fhir.hits]
    assert all(auth == f"Bearer {TOKEN}" for _, auth in fhir.hits)
    without = make_app(
        tmp_path / "b", fhir_allowlist=(normalise_base_url(fhir.base),), hook_budget_ms=UNHURRIED_MS
    ).test_client()
    prefetch = {"pathology": bundle([r for r in resources if r["resourceType"] == "DiagnosticReport"])}
    report_only = without.post(
        PV, json=hook_request(patient_id="pt-narrative-only", prefetch=null_prefetch() | prefetch)
    )
    codes = scenario_topics(resp.get_json())
    assert codes == ["her2-ultralow"]  # the Binary says "IHC 0 with membrane staining", ER/PR positive
    assert scenario_topics(report_only.get_json()) == []


def test_every_code_the_mapping_recognises_is_asked_for() -> None:
    """One list of codes: every LOINC code the FHIR mapping reads as a tissue HER2 or ER/PR result is in
    the prefetch template (and so in the fallback query) of its key."""
    templates = {k.name: k.template for k in PREFETCH_KEYS}

    def asked(key: str) -> set[str]:
        query = templates[key].split("?", 1)[1]
        return set(dict(p.split("=", 1) for p in query.split("&"))["code"].split(","))

    hormone_kinds = {ObsKind.ER, ObsKind.ER_PERCENT, ObsKind.PR, ObsKind.PR_PERCENT}
    for code in LOINC_KINDS:
        observation = {"code": {"coding": [{"system": "http://loinc.org", "code": code}]}}
        kind = observation_kind(
            Observation.model_validate(dict(observation, resourceType="Observation", status="final"))
        )
        assert kind is not None
        if kind is ObsKind.HER2_SERUM:  # serum HER2 is not a tissue result: the mapping ignores it
            assert f"http://loinc.org|{code}" not in asked("her2")
            continue
        key = "hormone" if kind in hormone_kinds else "her2"
        assert f"http://loinc.org|{code}" in asked(key), (code, kind)


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
