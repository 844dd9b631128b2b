"""What oversized input and a rate-limiting FHIR server cost a hook (in-process, Flask test client).

The floor, measured in the same run, is a hook with an all-``null`` prefetch (authentication off, no FHIR, no
PET). Rows (median of ``REPEATS``, after one warm-up call):

- a FHIR server answering every fallback query with 429 and ``Retry-After: 30`` (budget 1 s): the hook must
  answer at once with a ``data-unavailable`` card (it used to wait 30 s);
- a 10,000-entry Bundle in prefetch (refused with 400; it used to be mapped: 2–14 s);
- the demo chart padded to the default entry cap (1,000 entries, answered);
- a 1 MB report conclusion (refused with 400) and JSON nested 10,000 deep (400, not 500).

``make bench`` prints the figures as a table; they are not asserted (shared cores make timings noisy), only
the statuses and cards are.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.demo.data import DEMO_PATIENTS, patient_resources
from cds_service.settings import normalise_base_url
from tests.unit.cds_service.cds_support import bundle, hook_request, make_app, null_prefetch, scenario_topics

pytestmark = pytest.mark.benchmark

PV = "/cds-services/her2-pet-review"
REPEATS = 7
BUDGET_MS = 1000

Row = tuple[str, float, int, float]
"""(label, median seconds, HTTP status, body megabytes)."""


@pytest.fixture(scope="module")
def rate_limited_fhir() -> Iterator[str]:
    """A FHIR server that answers everything with 429 and ``Retry-After: 30``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"resourceType":"OperationOutcome","issue":[]}'
            self.send_response(429)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, rate_limited_fhir: str) -> FlaskClient:
    app = make_app(
        tmp_path_factory.mktemp("limits"),
        fhir_allowlist=(normalise_base_url(rate_limited_fhir),),
        hook_budget_ms=BUDGET_MS,
    )
    client = app.test_client()
    client.post(PV, json=hook_request(prefetch=null_prefetch()))  # warm-up: first-call imports
    return client


@pytest.fixture(scope="module")
def summary(request: pytest.FixtureRequest) -> Iterator[list[Row]]:
    rows: list[Row] = []
    yield rows
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not rows:
        return
    floor = next((seconds for label, seconds, _, _ in rows if label.startswith("floor")), None)
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(f"input limits and a rate-limited FHIR server, median of {REPEATS}")
        reporter.write_line(f"  {'input':52s} {'status':>6s} {'MB':>6s} {'ms':>8s} {'x floor':>8s}")
        for label, seconds, status, megabytes in rows:
            ratio = f"{seconds / floor:7.1f}x" if floor else ""
            line = f"  {label:52s} {status:6d} {megabytes:6.2f} {seconds * 1000:8.1f} {ratio}"
            reporter.write_line(line)
        reporter.write_line(f"  hook budget: {BUDGET_MS} ms")


def _median(post: Callable[[], Any]) -> tuple[float, Any]:
    times, response = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = post()
        times.append(time.perf_counter() - started)
    return statistics.median(times), response


def _chart_prefetch(**extra: dict[str, Any]) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == "demo-her2-low")
    return null_prefetch() | {k: bundle(v) for k, v in patient_resources(patient).items()} | extra


def _row(client: FlaskClient, summary: list[Row], label: str, raw: str) -> Any:
    seconds, response = _median(lambda: client.post(PV, data=raw, content_type="application/json"))
    summary.append((label, seconds, response.status_code, len(raw) / 1e6))
    return response


def test_limits_and_rate_limiting(client: FlaskClient, summary: list[Row], rate_limited_fhir: str) -> None:
    floor = _row(
        client, summary, "floor: all-null prefetch", json.dumps(hook_request(prefetch=null_prefetch()))
    )
    assert floor.status_code == 200

    access = {
        "fhirServer": rate_limited_fhir,
        "fhirAuthorization": {
            "access_token": "bench-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "her2-cds",
        },
    }
    limited = _row(
        client, summary, "FHIR 429 Retry-After: 30, no prefetch", json.dumps(hook_request(**access))
    )
    assert scenario_topics(limited.get_json()) == ["data-unavailable"]

    observation = _chart_prefetch()["her2"]["entry"][0]["resource"]
    chart_entries = sum(len(v["entry"]) for v in _chart_prefetch().values() if isinstance(v, dict))
    padded = bundle([dict(observation, id=f"o{i}") for i in range(1000 - chart_entries)])
    at_cap = _row(
        client,
        summary,
        "chart padded to 1,000 entries (the default cap)",
        json.dumps(hook_request(patient_id="demo-her2-low", prefetch=_chart_prefetch(hormone=padded))),
    )
    assert at_cap.status_code == 200

    many = bundle([dict(observation, id=f"o{i}") for i in range(10_000)])
    big = _row(
        client,
        summary,
        "10,000-entry Bundle",
        json.dumps(hook_request(patient_id="demo-her2-low", prefetch=_chart_prefetch(her2=many))),
    )
    assert big.status_code == 400

    report = dict(_chart_prefetch()["pathology"]["entry"][0]["resource"])
    report["conclusion"] = "HER2 IHC 2+ (equivocal). " * 42_000
    long_text = _row(
        client,
        summary,
        "1 MB report conclusion",
        json.dumps(
            hook_request(patient_id="demo-her2-low", prefetch=_chart_prefetch(pathology=bundle([report])))
        ),
    )
    assert long_text.status_code == 400

    body = json.dumps(hook_request(prefetch=null_prefetch()))
    deep = body[:-1] + ', "extension": {"x": ' + "[" * 10_000 + "]" * 10_000 + "}}"
    assert _row(client, summary, "JSON nested 10,000 deep", deep).status_code == 400
