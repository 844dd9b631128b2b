"""``her2-cds serve`` as deployed (gunicorn, the JSON-error gthread worker, the probe listener) on loopback.

One worker with one thread, so that a single hook holds the whole hook pool: the probes on
``GUNICORN_HEALTH_BIND`` must still answer while it does, and gunicorn's own refusals (414, 431, 400) must be
OperationOutcome JSON like every other error. Assertions are about order (the probe answers *while* the hook
is still held), never about how fast a busy machine is.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.conftest import free_port
from tests.e2e.harness import ServiceProcess
from tests.unit.cds_service.cds_support import hook_request

pytestmark = pytest.mark.integration

PV = "/cds-services/her2-pet-review"


@dataclass
class HeldFhir:
    """A FHIR server that holds every request until released (a hook stuck on its upstream)."""

    base: str = ""
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="module")
def held_fhir() -> Iterator[HeldFhir]:
    held = HeldFhir()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            held.arrived.set()
            held.release.wait(30)
            body = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.request_queue_size = 64  # a hook's queries arrive at once
    server.server_bind()
    server.server_activate()
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    held.base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    yield held
    held.release.set()
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Served:
    url: str
    health_url: str
    port: int


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, held_fhir: HeldFhir) -> Iterator[Served]:
    health_port = free_port()
    service = ServiceProcess(
        port=free_port(),
        workdir=tmp_path_factory.mktemp("serve"),
        env={
            "HER2CDS_AUTH": "off",
            "HER2CDS_DATA_DIR": str(tmp_path_factory.mktemp("data")),
            "HER2CDS_FHIR_ALLOWLIST": held_fhir.base,
            "HER2CDS_HOOK_BUDGET_MS": "20000",
            "HER2CDS_HTTP_READ_TIMEOUT_S": "30",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "1",
            "GUNICORN_HEALTH_BIND": f"127.0.0.1:{health_port}",
        },
    ).start()
    try:
        yield Served(url=service.url, health_url=f"http://127.0.0.1:{health_port}", port=service.port)
    finally:
        service.stop()


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], Any]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return status_line, headers, json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        pytest.param(
            b"GET /healthz?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "too-long", id="414"
        ),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
            431,
            "too-long",
            id="431",
        ),
        pytest.param(b"NOT HTTP AT ALL\r\n\r\n", 400, "invalid", id="400 request line"),
        pytest.param(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400, "invalid", id="400 header"
        ),
    ],
)
def test_gunicorn_refusals_are_operation_outcomes(
    served: Served, request_bytes: bytes, status: int, code: str
) -> None:
    status_line, headers, body = _raw(served.port, request_bytes)
    assert status_line.split(" ", 2)[1] == str(status)
    assert headers["content-type"] == "application/json"
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    assert "<html" not in json.dumps(body).lower()


def test_health_port_serves_only_the_probes(served: Served) -> None:
    healthz = requests.get(f"{served.health_url}/healthz", timeout=10)
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    readyz = requests.get(f"{served.health_url}/readyz", timeout=10)
    assert readyz.status_code == 200
    assert readyz.json()["status"] == "ready"
    other = requests.get(f"{served.health_url}/cds-services", timeout=10)
    assert other.status_code == 404
    assert other.json()["resourceType"] == "OperationOutcome"


def test_probes_answer_while_every_hook_thread_is_held(served: Served, held_fhir: HeldFhir) -> None:
    outcome: dict[str, Any] = {}
    body = hook_request(
        patient_id="pat-1",
        fhirServer=held_fhir.base,
        fhirAuthorization={
            "access_token": "held-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/*.read",
            "subject": "her2-cds",
        },
    )

    def call() -> None:
        outcome["response"] = requests.post(f"{served.url}{PV}", json=body, timeout=60)

    hook = threading.Thread(target=call)
    hook.start()
    try:
        assert held_fhir.arrived.wait(30), "the hook never reached the FHIR server"
        # the only hook thread is held: the main port queues, the probe port answers
        with pytest.raises(requests.Timeout):
            requests.get(f"{served.url}/healthz", timeout=1.0)
        probe = requests.get(f"{served.health_url}/healthz", timeout=10)
        assert (probe.status_code, probe.json()) == (200, {"status": "ok"})
        assert hook.is_alive()  # the probe was answered while the hook still held the thread
    finally:
        held_fhir.release.set()
        hook.join(60)
    assert outcome["response"].status_code == 200
    assert requests.get(f"{served.url}/healthz", timeout=10).status_code == 200
