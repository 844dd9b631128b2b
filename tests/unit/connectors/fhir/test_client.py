"""connectors.fhir.client against recorded FHIR responses on a loopback server.

Each test asserts the request the client sent (path, query, Authorization header) as well as what it parsed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import (
    DeadlineExceededError,
    InvalidSourceDataError,
    NotFoundError,
    RequestRefusedError,
    SourceUnavailableError,
)
from connectors.fhir.client import FhirClient
from connectors.fhir.mapping import pathology_from_bundle
from connectors.http import NO_RETRY, Deadline, Timeouts, make_session
from tests.conftest import free_port
from tests.unit.connectors.http_stub import (
    Recorded,
    Reply,
    StillClock,
    StubServer,
    sequence,
    stub_server,
)

FAST = Timeouts(connect_s=1.0, read_s=2.0)
TOKEN = "tok-" + "x" * 20


def _searchset(resources: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        bundle["link"] = [{"relation": "next", "url": next_url}]
    return bundle


def _client(server: StubServer, token: str | None = TOKEN) -> FhirClient:
    return FhirClient(f"{server.base}/fhir", make_session(), FAST, bearer_token=token)


def test_read_sends_path_accept_and_bearer() -> None:
    patient = {"resourceType": "Patient", "id": "p1"}
    with stub_server(sequence(Reply(200, patient))) as server:
        client = _client(server)
        assert client.read("Patient", "p1") == patient
    request = server.requests[0]
    assert (request.method, request.path) == ("GET", "/fhir/Patient/p1")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/fhir+json"
    assert TOKEN not in repr(client)


def test_no_authorization_header_without_token() -> None:
    with stub_server(sequence(Reply(200, {"resourceType": "Patient", "id": "p1"}))) as server:
        _client(server, token=None).read("Patient", "p1")
    assert "authorization" not in server.requests[0].headers


def test_search_follows_next_links_and_sends_query() -> None:
    def route(request: Recorded) -> Reply:
        if "page" not in request.query:
            nxt = f"http://{request.headers['host']}/fhir/Observation?patient=p1&page=2"
            return Reply(200, _searchset([{"resourceType": "Observation", "id": "o1"}], nxt))
        return Reply(200, _searchset([{"resourceType": "Observation", "id": "o2"}]))

    with stub_server(route) as server:
        found = _client(server).search("Observation", {"patient": "p1", "code": ["a", "b"]})
    assert [r["id"] for r in found] == ["o1", "o2"]
    first, second = server.requests
    assert first.path == "/fhir/Observation"
    assert first.query == {"patient": ["p1"], "code": ["a", "b"]}
    assert second.query == {"patient": ["p1"], "page": ["2"]}
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


def test_next_link_to_another_host_is_refused() -> None:
    page = _searchset([], "http://evil.example/fhir/Observation?page=2")
    with (
        stub_server(sequence(Reply(200, page))) as server,
        pytest.raises(InvalidSourceDataError, match="base"),
    ):
        _client(server).search("Observation", {"patient": "p1"})
    assert len(server.requests) == 1


def test_paging_is_bounded() -> None:
    def route(request: Recorded) -> Reply:
        page = int(request.query.get("page", ["1"])[0])
        nxt = f"http://{request.headers['host']}/fhir/Observation?page={page + 1}"
        return Reply(200, _searchset([{"resourceType": "Observation", "id": f"o{page}"}], nxt))

    with stub_server(route) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), FAST, max_pages=3)
        with pytest.raises(SourceUnavailableError, match="pages"):
            client.search("Observation", {})
    assert len(server.requests) == 3


def test_paging_loop_is_refused_at_the_first_repeat() -> None:
    """A server whose ``next`` link points back at a page already read (page 2 → page 1 → …)."""

    def route(request: Recorded) -> Reply:
        page = int(request.query.get("page", ["1"])[0])
        nxt = f"http://{request.headers['host']}/fhir/Observation?page={2 if page == 1 else 1}"
        return Reply(200, _searchset([], nxt))

    with stub_server(route) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), FAST)
        with pytest.raises(InvalidSourceDataError, match="paging loop"):
            client.fetch("Observation?page=1")
    assert [r.query["page"] for r in server.requests] == [["1"], ["2"]]


def test_too_many_entries_are_refused() -> None:
    many = _searchset([{"resourceType": "Observation", "id": f"o{i}"} for i in range(30)])
    with stub_server(sequence(Reply(200, many))) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), FAST, max_entries=20)
        with pytest.raises(InvalidSourceDataError, match="more than 20 entries"):
            client.search("Observation", {})


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param("../unlisted-app", id="dot-dot"),
        pytest.param("%2e%2e/unlisted-app", id="encoded dot-dot"),
        pytest.param(".%2E/unlisted-app", id="mixed dot-dot"),
        pytest.param("x/../../unlisted-app", id="deeper dot-dot"),
        pytest.param("..;/unlisted-app", id="dot-dot with path parameter"),
        pytest.param("..%2Funlisted-app", id="encoded slash"),
    ],
)
def test_next_link_leaving_the_base_path_is_not_followed_and_no_token_leaves(escape: str) -> None:
    """The same host and port, another path: ``…/fhir/../unlisted-app/…`` is ``/unlisted-app/…`` once
    dot segments are resolved, as any HTTP stack sends it."""

    def route(request: Recorded) -> Reply:
        nxt = f"http://{request.headers['host']}/fhir/{escape}/Observation?page=2"
        return Reply(200, _searchset([{"resourceType": "Observation", "id": "o1"}], nxt))

    with stub_server(route) as server, pytest.raises(InvalidSourceDataError, match="not under the FHIR base"):
        _client(server).search("Observation", {"patient": "p1"})
    assert [r.path for r in server.requests] == ["/fhir/Observation"]


@pytest.mark.parametrize(
    "disguise",
    [
        pytest.param("http://{host}@evil.example/fhir/Observation", id="userinfo"),
        pytest.param("http://evil.example/fhir/Observation", id="other host"),
        pytest.param("https://{host}/fhir/Observation", id="other scheme"),
    ],
)
def test_next_link_to_another_origin_is_not_followed(disguise: str) -> None:
    def route(request: Recorded) -> Reply:
        return Reply(200, _searchset([], disguise.format(host=request.headers["host"]) + "?page=2"))

    with stub_server(route) as server, pytest.raises(InvalidSourceDataError, match="not under"):
        _client(server).search("Observation", {"patient": "p1"})
    assert len(server.requests) == 1


def test_next_link_in_another_spelling_of_the_base_is_followed() -> None:
    """Case of scheme and host, the default port and ``./`` are spelling, not another place."""

    def route(request: Recorded) -> Reply:
        if "page" in request.query:
            return Reply(200, _searchset([{"resourceType": "Observation", "id": "o2"}]))
        nxt = f"HTTP://{request.headers['host'].upper()}/fhir/./Observation?page=2"
        return Reply(200, _searchset([{"resourceType": "Observation", "id": "o1"}], nxt))

    with stub_server(route) as server:
        found = _client(server).search("Observation", {})
    assert [r["id"] for r in found] == ["o1", "o2"]
    assert server.requests[1].headers["authorization"] == f"Bearer {TOKEN}"


def test_binary_url_outside_the_base_is_refused_before_any_request() -> None:
    with stub_server(sequence(Reply(200, {}))) as server:
        client = _client(server)
        for url in (
            f"{server.base}/fhir/../Binary/b1",
            f"{server.base}/other/Binary/b1",
            "ftp://x/Binary/b1",
        ):
            with pytest.raises(InvalidSourceDataError):
                client.binary(url)
    assert server.requests == []


def test_redirect_off_the_base_is_not_followed() -> None:
    with stub_server(sequence(Reply(200, _searchset([])))) as elsewhere:
        moved = Reply(301, {}, headers={"Location": f"{elsewhere.base}/fhir/Observation"})
        with stub_server(sequence(moved)) as server, pytest.raises(RequestRefusedError, match="redirect"):
            _client(server).search("Observation", {"patient": "p1"})
    assert elsewhere.requests == []


def test_one_deadline_bounds_every_call_of_the_client() -> None:
    """Three reads under one 1 s deadline: the first in time, the second with 0.1 s left (its read timeout
    cut to that, the server needing 0.4 s), the third never sent."""
    clock = StillClock()

    def route(request: Recorded) -> Reply:
        slow = len(server.requests) > 1
        return Reply(200, {"resourceType": "Patient", "id": "p1"}, delay_s=0.4 if slow else 0.0)

    with stub_server(route) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), FAST, deadline=Deadline(1.0, clock=clock))
        client.read("Patient", "p1")
        clock.advance(0.9)
        with pytest.raises(SourceUnavailableError, match="timed out"):
            client.read("Patient", "p1")
        clock.advance(0.2)
        with pytest.raises(DeadlineExceededError):
            client.read("Patient", "p1")
    assert len(server.requests) == 2
    assert clock.sleeps == []


def test_429_with_long_retry_after_is_unavailable_without_waiting() -> None:
    clock = StillClock()
    busy = Reply(429, {"resourceType": "OperationOutcome"}, headers={"Retry-After": "30"})
    with stub_server(sequence(busy)) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), FAST, deadline=Deadline(1.0, clock=clock))
        with pytest.raises(SourceUnavailableError, match="unavailable now"):
            client.fetch("Observation?patient=p1")
    assert clock.sleeps == []
    assert len(server.requests) == 1


def test_operation_outcome_instead_of_data_is_a_refusal() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "forbidden"}]}
    with stub_server(sequence(Reply(200, outcome))) as server, pytest.raises(RequestRefusedError):
        _client(server).fetch("Patient/p1")


def test_next_pages_of_a_bundle_in_hand() -> None:
    def route(request: Recorded) -> Reply:
        return Reply(200, _searchset([{"resourceType": "Observation", "id": "o2"}]))

    with stub_server(route) as server:
        nxt = f"{server.base}/fhir/Observation?p=2"
        first = _searchset([{"resourceType": "Observation", "id": "o1"}], nxt)
        found = _client(server).next_pages(first)
    assert [r["id"] for r in found] == ["o2"]
    assert server.requests[0].query == {"p": ["2"]}


def test_503_then_200_is_retried() -> None:
    with stub_server(sequence(Reply(503), Reply(200, _searchset([])))) as server:
        assert _client(server).search("Condition", {"patient": "p1"}) == []
    assert len(server.requests) == 2


def test_404_is_not_found() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
    with stub_server(sequence(Reply(404, outcome))) as server, pytest.raises(NotFoundError):
        _client(server).read("Patient", "nope")


def test_read_timeout_is_source_unavailable() -> None:
    with stub_server(sequence(Reply(200, {}, delay_s=1.0))) as server:
        client = FhirClient(f"{server.base}/fhir", make_session(), Timeouts(connect_s=1.0, read_s=0.2))
        with pytest.raises(SourceUnavailableError, match="timed out"):
            client.read("Patient", "p1")


def test_stopped_server_is_source_unavailable() -> None:
    client = FhirClient(f"http://127.0.0.1:{free_port()}/fhir", make_session(), FAST, retry=NO_RETRY)
    with pytest.raises(SourceUnavailableError):
        client.read("Patient", "p1")


def test_invalid_ids_are_refused_before_any_request() -> None:
    client = FhirClient("http://127.0.0.1:9/fhir", make_session(), FAST)
    with pytest.raises(ValueError, match="FHIR id"):
        client.read("Patient", "../admin")
    with pytest.raises(ValueError, match="FHIR id"):
        client.fetch_patient_pathology("p1&_include=*")


def test_binary_as_fhir_json_and_as_raw_content() -> None:
    binary = {"resourceType": "Binary", "id": "b1", "contentType": "text/html", "data": "PGI+aGk8L2I+"}
    raw = Reply(200, raw=b"plain text", headers={"Content-Type": "text/plain; charset=utf-8"})
    with stub_server(sequence(Reply(200, binary), raw)) as server:
        client = _client(server)
        first = client.binary("Binary/b1")
        second = client.binary(f"{server.base}/fhir/Binary/b2")
    assert (first.data, first.content_type) == (b"<b>hi</b>", "text/html")
    assert (second.data, second.content_type) == (b"plain text", "text/plain")
    assert [r.path for r in server.requests] == ["/fhir/Binary/b1", "/fhir/Binary/b2"]


def _bundle_server(bundle: dict[str, Any], *, drop_binary: bool = False) -> Any:
    """A route answering FHIR reads and searches from one bundle's resources (by type).

    Binary is readable only with ``drop_binary`` (the client must fetch it because searches never return it).
    """
    resources = [e["resource"] for e in bundle["entry"]]

    def route(request: Recorded) -> Reply:
        parts = request.path.strip("/").split("/")
        kind = parts[1]
        if len(parts) == 3:
            match = [r for r in resources if r["resourceType"] == kind and r["id"] == parts[2]]
            if not match or (kind == "Binary" and not drop_binary):
                return Reply(404, {"resourceType": "OperationOutcome"})
            return Reply(200, match[0])
        found = [r for r in resources if r["resourceType"] == kind]
        if kind == "DiagnosticReport":
            found += [r for r in resources if r["resourceType"] in ("Observation", "Specimen")]
        return Reply(200, _searchset(found))

    return route


def test_fetch_patient_pathology_matches_bundle_mapping(testdata: Path) -> None:
    path = testdata / "fhir/synthetic/bundle-her2-ihc2-ish-group5.json"
    bundle = json.loads(path.read_text())
    with stub_server(_bundle_server(bundle)) as server:
        data = _client(server).fetch_patient_pathology("pt-her2-low2")
    expected = pathology_from_bundle(bundle)
    assert data.her2 == expected.her2
    assert data.receptors == expected.receptors
    paths = [r.path for r in server.requests]
    assert paths[:3] == ["/fhir/DiagnosticReport", "/fhir/Observation", "/fhir/Specimen"]
    assert {"/fhir/Condition", "/fhir/MedicationRequest", "/fhir/MedicationStatement"} <= set(paths)
    report_query = server.requests[0].query
    assert report_query["patient"] == ["pt-her2-low2"]
    assert report_query["_include"] == ["DiagnosticReport:result", "DiagnosticReport:specimen"]
    assert "http://loinc.org|85319-2" in server.requests[1].query["code"][0].split(",")
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)


def test_fetch_pathology_without_context_searches_pathology_only(testdata: Path) -> None:
    path = testdata / "fhir/synthetic/bundle-her2-ihc2-ish-group5.json"
    bundle = json.loads(path.read_text())
    with stub_server(_bundle_server(bundle)) as server:
        data = _client(server).fetch_patient_pathology("pt-her2-low2", context=False)
    assert data.her2 == pathology_from_bundle(bundle).her2
    assert [r.path for r in server.requests] == [
        "/fhir/DiagnosticReport",
        "/fhir/Observation",
        "/fhir/Specimen",
    ]


def test_fetch_reads_presented_form_binary(testdata: Path) -> None:
    bundle = json.loads((testdata / "fhir/synthetic/bundle-narrative-only-binary-html.json").read_text())
    with stub_server(_bundle_server(bundle, drop_binary=True)) as server:
        data = _client(server).fetch_patient_pathology("pt-narrative-only")
    assert "/fhir/Binary/bin-pt-narrative-only" in [r.path for r in server.requests]
    assert not [s for s in data.skipped if s.reference.startswith("Binary")]


def test_fetch_clinical_context(testdata: Path) -> None:
    bundle = json.loads((testdata / "fhir/synthetic/bundle-context-metastatic-hr-pos.json").read_text())
    with stub_server(_bundle_server(bundle)) as server:
        context = _client(server).fetch_clinical_context("pt-her2-low1")
    assert context.metastatic is True
    assert context.tdxd_draft_order is True
    assert {r.path for r in server.requests} == {
        "/fhir/Condition",
        "/fhir/MedicationRequest",
        "/fhir/MedicationAdministration",
        "/fhir/MedicationStatement",
    }
