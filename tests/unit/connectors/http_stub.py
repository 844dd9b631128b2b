"""A recorded-response HTTP server on 127.0.0.1 for connector unit tests.

Each test scripts the responses (a route function or a queue) and then asserts the requests the client sent:
method, path, query and headers. ``ShiftingClock`` stands in for the clock of a ``Deadline`` so that a test
asserts which waits were asked for instead of measuring wall time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    client_port: int = 0


@dataclass
class Reply:
    """A scripted response: status, JSON (or raw) body, headers and an optional delay in seconds."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: bytes | None = None
    trickle_s: float = 0.0


Route = Callable[[Recorded], Reply]


@dataclass
class ShiftingClock:
    """A ``connectors.http.Clock`` whose ``sleep`` records the wait and moves the clock on instead of
    blocking; ``monotonic`` and ``time`` are the real clocks plus what was "slept" so far."""

    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return time.monotonic() + sum(self.sleeps)

    def time(self) -> float:
        return time.time() + sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@dataclass
class StillClock(ShiftingClock):
    """A ``ShiftingClock`` on which only the recorded sleeps (and :meth:`advance`) move monotonic time, so
    that what a deadline leaves never depends on how fast a busy machine runs the test."""

    start: float = 1_000.0
    moved: float = 0.0

    def monotonic(self) -> float:
        return self.start + self.moved + sum(self.sleeps)

    def advance(self, seconds: float) -> None:
        self.moved += seconds


class StubServer:
    """Serves ``route(request)`` for every request and records the requests in order."""

    def __init__(self, route: Route, *, keep_alive: bool = False) -> None:
        """``keep_alive``: speak HTTP/1.1 and keep connections open (otherwise HTTP/1.0, one per request)."""
        self.route = route
        self.requests: list[Recorded] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                    client_port=self.client_address[1],
                )
                stub.requests.append(request)
                reply = stub.route(request)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                payload = reply.raw if reply.raw is not None else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    content_type = reply.headers.pop("Content-Type", "application/fhir+json")
                    self.send_header("Content-Type", content_type)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if reply.trickle_s:  # one byte at a time: every read gets data, the whole body is slow
                        for byte in payload:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.trickle_s)
                    else:
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_HEAD = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self._server.request_queue_size = 64  # clients open several connections at once
        self._server.server_bind()
        self._server.server_activate()
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def stub_server(route: Route, *, keep_alive: bool = False) -> Iterator[StubServer]:
    """Run a :class:`StubServer` for the duration of a ``with`` block."""
    server = StubServer(route, keep_alive=keep_alive)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sequence(*replies: Reply) -> Route:
    """A route answering with ``replies`` in order (the last one repeats)."""
    queue = list(replies)

    def route(_request: Recorded) -> Reply:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return Reply(reply.status, reply.body, dict(reply.headers), reply.delay_s, reply.raw, reply.trickle_s)

    return route
