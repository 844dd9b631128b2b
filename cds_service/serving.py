"""gunicorn integration: JSON error bodies for what gunicorn refuses by itself, and probes that never queue.

**Errors before the application.** gunicorn parses the request line and headers itself and answers a line
over ``limit_request_line`` (414), headers over ``limit_request_field_size``/``limit_request_fields`` (431) or
a malformed request (400) with its own HTML page. :class:`JsonErrorWorker` (the gthread worker with
``handle_error`` replaced) answers them with the service's ``OperationOutcome`` JSON instead, like every other
error (``cds-hooks.md`` §8), and logs only the status and the error class — never the request line, which
may carry a token in its query string.

**Probes that never queue behind hooks.** A gthread worker serves every request from one pool of
``threads`` threads: when every thread holds a hook, ``/healthz`` waits in the queue behind them, and a
liveness probe may kill a pod that is merely busy. Two things prevent that:

1. hooks are bounded: each answers within its budget (``HER2CDS_HOOK_BUDGET_MS``; every FHIR call, retry and
   wait runs inside the hook's deadline), so a thread is never held much longer than the budget;
2. the probes have their own door: with ``GUNICORN_HEALTH_BIND`` set (the Helm chart sets ``:8081``), the
   master binds a second listening socket before forking, and every worker serves ``/healthz`` and
   ``/readyz`` on it from a small thread of its own (:func:`start_health_listener`), calling the same Flask
   application but never through the hook pool. A separate pool inside gthread is not possible; a second
   listener is, and it answers as long as the worker process runs.

Other paths on the health port get 404; the main port still serves ``/healthz`` and ``/readyz`` too.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Final
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http import errors as http_errors  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

from cds_service.errors import IssueCode, operation_outcome

HEALTH_PATHS: Final = frozenset({"/healthz", "/readyz"})
HEALTH_CLIENT_TIMEOUT_S: Final = 5.0
"""A probe connection that sends nothing for this long is closed (seconds)."""

_REASONS: Final = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    414: "URI Too Long",
    417: "Expectation Failed",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
}
_ISSUES: Final = {414: IssueCode.TOO_LONG, 431: IssueCode.TOO_LONG, 404: IssueCode.NOT_FOUND}


def error_status(exc: BaseException) -> int:
    """The HTTP status for an error gunicorn raised before (or instead of) the application's answer."""
    if isinstance(exc, http_errors.InvalidResponseHeader | http_errors.InvalidResponseHeaderName):
        return 500  # the application's fault, not the client's
    table: tuple[tuple[type[BaseException], int], ...] = (
        (http_errors.LimitRequestLine, 414),
        (http_errors.LimitRequestHeaders, 431),
        (http_errors.ForbiddenProxyRequest, 403),
        (http_errors.ExpectationFailed, 417),
        (http_errors.UnsupportedTransferCoding, 501),
        (http_errors.ConfigurationProblem, 500),
        (http_errors.ParseException, 400),
        (ssl.SSLError, 400),
    )
    return next((status for kind, status in table if isinstance(exc, kind)), 500)


def error_response(status: int) -> bytes:
    """A complete HTTP/1.1 response carrying an OperationOutcome (``Connection: close``)."""
    reason = _REASONS.get(status, "Error")
    code = _ISSUES.get(status, IssueCode.EXCEPTION if status >= 500 else IssueCode.INVALID)
    body = json.dumps(operation_outcome(code, reason if status < 500 else "internal error")).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's gthread worker, answering its own errors (414, 431, 400, 500…) as OperationOutcome JSON."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        status = error_status(exc)
        if status >= 500:
            self.log.error("error handling a request: %s", type(exc).__name__)
        else:
            self.log.warning("request refused by the HTTP parser: HTTP %s (%s)", status, type(exc).__name__)
        try:
            util.write_nonblock(client, error_response(status))
        except OSError:
            self.log.debug("could not send the error response")


# ------------------------------------------------------------------------------------------------------------
# The health listener

_health_socket: socket.socket | None = None
"""The listening socket for probes, bound by the master before it forks (inherited by every worker)."""


def bind_health_socket(bind: str) -> socket.socket:
    """Bind and listen on ``host:port`` (``[v6]:port`` for IPv6) for the probes; kept for the workers."""
    global _health_socket
    host, _, port = bind.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - probes come from the kubelet, not through the ingress
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(64)
    sock.setblocking(False)  # several workers accept on it: the ones that lose a race must not block
    sock.set_inheritable(True)
    _health_socket = sock
    return sock


def health_only(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """``app`` for ``GET``/``HEAD`` of :data:`HEALTH_PATHS`; a JSON 404 for anything else."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("PATH_INFO") in HEALTH_PATHS:
            return app(environ, start_response)
        body = json.dumps(operation_outcome(IssueCode.NOT_FOUND, "only /healthz and /readyz here")).encode()
        start_response(
            "404 Not Found", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]

    return serve


class _QuietHandler(WSGIRequestHandler):
    """No access log for probes (they would drown the log); a probe connection idle for long is closed."""

    timeout = HEALTH_CLIENT_TIMEOUT_S
    server_version = "her2-cds"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's HTML error page, as an OperationOutcome (never the request line)."""
        self.close_connection = True
        reason = self.responses.get(code, ("Error",))[0]
        body = json.dumps(operation_outcome(_ISSUES.get(code, IssueCode.INVALID), reason)).encode()
        self.send_response(code, reason)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _HealthServer(ThreadingMixIn, WSGIServer):
    """A WSGI server on an already listening socket; one short-lived thread per probe, so a slow readiness
    check never delays a liveness probe."""

    daemon_threads = True

    def __init__(self, sock: socket.socket, app: Callable[..., Iterable[bytes]]) -> None:
        super().__init__(sock.getsockname()[:2], _QuietHandler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()[:2]
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])
        self.setup_environ()
        self.set_app(app)


def start_health_listener(
    app: Callable[..., Iterable[bytes]], sock: socket.socket | None = None
) -> WSGIServer | None:
    """Serve the probes of ``app`` on ``sock`` (default: the socket the master bound) from a daemon thread of
    this worker; returns the server (``shutdown()`` stops it), or None when no health socket was bound."""
    listening = sock if sock is not None else _health_socket
    if listening is None:
        return None
    server = _HealthServer(listening, health_only(app))
    threading.Thread(target=server.serve_forever, name="health-listener", daemon=True).start()
    return server
