"""cds_service.serving: gunicorn's own refusals as OperationOutcome JSON; the probe-only WSGI wrapper."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import pytest
import requests
from gunicorn.http import errors as http_errors

from cds_service.serving import error_response, error_status, health_only, start_health_listener


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        pytest.param(http_errors.LimitRequestLine(5000, 4094), 414, id="request line too long"),
        pytest.param(http_errors.LimitRequestHeaders("too many"), 431, id="headers too large"),
        pytest.param(http_errors.InvalidRequestLine("GARBAGE"), 400, id="malformed request line"),
        pytest.param(http_errors.InvalidHeader("x"), 400, id="malformed header"),
        pytest.param(http_errors.InvalidHTTPVersion("9.9"), 400, id="unknown HTTP version"),
        pytest.param(http_errors.ForbiddenProxyRequest("10.0.0.1"), 403, id="untrusted proxy"),
        pytest.param(http_errors.InvalidResponseHeaderName("x y"), 500, id="the application's fault"),
        pytest.param(RuntimeError("boom"), 500, id="anything else"),
    ],
)
def test_error_status(exc: BaseException, status: int) -> None:
    assert error_status(exc) == status


@pytest.mark.parametrize("status", [400, 414, 431, 500])
def test_error_response_is_a_complete_json_answer(status: int) -> None:
    head, _, body = error_response(status).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith(f"HTTP/1.1 {status} ")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Content-Type"] == "application/json"
    assert int(headers["Content-Length"]) == len(body)
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "error"
    if status == 500:
        assert outcome["issue"][0]["diagnostics"] == "internal error"


def test_health_listener_serves_only_the_probes_from_its_own_thread() -> None:
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(threading.current_thread().name)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status":"ok"}']

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    server = start_health_listener(app, sock)
    assert server is not None
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        assert requests.get(f"{base}/healthz", timeout=10).json() == {"status": "ok"}
        assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        refused = requests.post(f"{base}/cds-services/x", json={}, timeout=10)
        with socket.create_connection(sock.getsockname()[:2], timeout=10) as raw:
            raw.sendall(b"GET /healthz?" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
            answer = b""
            while chunk := raw.recv(65536):
                answer += chunk
    finally:
        server.shutdown()
        server.server_close()
    assert refused.status_code == 404
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert len(seen) == 2
    assert threading.main_thread().name not in seen
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 414")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["issue"][0]["code"] == "too-long"


def test_health_only_refuses_other_methods() -> None:
    started: list[str] = []
    wrapped = health_only(lambda environ, start: [b"never"])
    body = wrapped({"REQUEST_METHOD": "DELETE", "PATH_INFO": "/healthz"}, lambda s, h: started.append(s))
    assert started == ["404 Not Found"]
    assert json.loads(b"".join(body))["issue"][0]["code"] == "not-found"
