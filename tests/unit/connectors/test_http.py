"""connectors.http: the named retry policy, timeouts and the mapping of HTTP failures to connector errors."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import pytest
import requests

from connectors.errors import (
    DeadlineExceededError,
    InvalidSourceDataError,
    NotFoundError,
    RequestRefusedError,
    SourceUnavailableError,
)
from connectors.http import (
    DEFAULT_RETRY,
    NO_RETRY,
    BearerAuth,
    Deadline,
    HttpReply,
    RetryPolicy,
    Timeouts,
    check_response,
    get,
    json_body,
    make_session,
    parse_retry_after,
    upstream_errors,
)
from tests.conftest import free_port
from tests.unit.connectors.http_stub import Reply, ShiftingClock, StillClock, sequence, stub_server

FAST = Timeouts(connect_s=1.0, read_s=2.0)


def test_default_policy_matches_operations_spec() -> None:
    retry = DEFAULT_RETRY.to_urllib3()
    assert (retry.total, retry.connect, retry.read, retry.status) == (3, 3, False, 3)
    assert retry.backoff_factor == pytest.approx(0.1)
    assert set(retry.status_forcelist or ()) == {429, 502, 503, 504}
    assert set(retry.allowed_methods or ()) == {"GET", "HEAD"}
    assert retry.respect_retry_after_header is True
    assert retry.raise_on_status is False
    assert retry.retry_after_max == 2  # a library-driven session never sleeps 30 s on a Retry-After


def test_retry_policy_refuses_post_and_negative_counts() -> None:
    with pytest.raises(ValueError, match="POST"):
        RetryPolicy(methods=frozenset({"GET", "POST"}))
    with pytest.raises(ValueError, match="total"):
        RetryPolicy(total=-1)


def test_timeouts_validate_and_give_requests_tuple() -> None:
    assert Timeouts(connect_s=2, read_s=5).as_tuple() == (2, 5)
    with pytest.raises(ValueError, match="positive"):
        Timeouts(connect_s=0, read_s=5)


def test_get_retried_on_503_then_succeeds() -> None:
    route = sequence(Reply(503), Reply(503), Reply(200, {"ok": True}))
    with stub_server(route) as server, make_session(retry=DEFAULT_RETRY) as session:
        started = time.monotonic()
        response = session.get(f"{server.base}/x", timeout=FAST.as_tuple())
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert len(server.requests) == 3
    assert elapsed < 2.0


def test_post_is_never_retried() -> None:
    route = sequence(Reply(503), Reply(200))
    with stub_server(route) as server, make_session(retry=DEFAULT_RETRY) as session:
        response = session.post(f"{server.base}/x", json={}, timeout=FAST.as_tuple())
    assert response.status_code == 503
    assert len(server.requests) == 1


def test_429_after_retries_maps_to_source_unavailable() -> None:
    reply = Reply(429, {"resourceType": "OperationOutcome"}, headers={"Retry-After": "0"})
    with stub_server(sequence(reply)) as server, make_session(retry=DEFAULT_RETRY) as session:
        response = session.get(f"{server.base}/x", timeout=FAST.as_tuple())
        with pytest.raises(SourceUnavailableError, match="429"):
            check_response(response, what="test")
    assert len(server.requests) == 4  # first attempt plus three retries


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(404, NotFoundError, id="404→not-found"),
        pytest.param(410, NotFoundError, id="410→not-found"),
        pytest.param(500, SourceUnavailableError, id="500→unavailable"),
        pytest.param(401, SourceUnavailableError, id="401→unavailable"),
        pytest.param(400, SourceUnavailableError, id="400→unavailable"),
    ],
)
def test_status_mapping(status: int, error: type[Exception]) -> None:
    with stub_server(sequence(Reply(status, {}))) as server, make_session(retry=NO_RETRY) as session:
        response = session.get(f"{server.base}/x", timeout=FAST.as_tuple())
    with pytest.raises(error):
        check_response(response, what="test")


def test_read_timeout_is_not_retried_and_maps_to_unavailable() -> None:
    with stub_server(sequence(Reply(200, {}, delay_s=1.0))) as server, make_session() as session:
        with pytest.raises(SourceUnavailableError, match="timed out") as info, upstream_errors("test"):
            session.get(f"{server.base}/slow", timeout=(1.0, 0.2))
        assert isinstance(info.value.__cause__, requests.ReadTimeout)
    assert len(server.requests) == 1


def test_connection_refused_maps_to_unavailable() -> None:
    port = free_port()
    with (
        make_session(retry=NO_RETRY) as session,
        pytest.raises(SourceUnavailableError, match="connection") as info,
        upstream_errors("test"),
    ):
        session.get(f"http://127.0.0.1:{port}/x", timeout=FAST.as_tuple())
    assert isinstance(info.value.__cause__, requests.ConnectionError)


def test_unparseable_body_is_invalid_source_data() -> None:
    with stub_server(sequence(Reply(200, raw=b"<html>oops"))) as server, make_session() as session:
        response = session.get(f"{server.base}/x", timeout=FAST.as_tuple())
    with pytest.raises(InvalidSourceDataError, match="not JSON"):
        json_body(response, what="test")


def test_bearer_auth_header_and_redacted_repr() -> None:
    with stub_server(sequence(Reply(200, {}))) as server, make_session(auth="s3cr3t-token") as session:
        session.get(f"{server.base}/x", timeout=FAST.as_tuple())
        assert "s3cr3t" not in repr(session.auth)
    assert server.requests[0].headers["authorization"] == "Bearer s3cr3t-token"


def test_basic_auth_header() -> None:
    with stub_server(sequence(Reply(200, {}))) as server, make_session(auth=("orthanc", "pw")) as session:
        session.get(f"{server.base}/x", timeout=FAST.as_tuple())
    assert server.requests[0].headers["authorization"].startswith("Basic ")


def test_bearer_token_must_be_one_line() -> None:
    with pytest.raises(ValueError, match="single line"):
        BearerAuth("abc\r\nX-Evil: 1")


# --- connectors.http.get: retries and waits inside one deadline (no urllib3 retries)


def _get(url: str, deadline: Deadline, retry: RetryPolicy = DEFAULT_RETRY, **kwargs: Any) -> HttpReply:
    with make_session() as session:
        return get(session, url, deadline=deadline, timeouts=FAST, retry=retry, what="test", **kwargs)


def test_retry_after_beyond_the_deadline_fails_at_once_without_sleeping() -> None:
    clock = StillClock()
    reply = Reply(429, {"resourceType": "OperationOutcome"}, headers={"Retry-After": "30"})
    with (
        stub_server(sequence(reply)) as server,
        pytest.raises(SourceUnavailableError, match="unavailable now"),
    ):
        _get(f"{server.base}/x", Deadline(1.0, clock=clock))
    assert clock.sleeps == []
    assert len(server.requests) == 1


def test_retry_after_that_fits_is_honoured() -> None:
    clock = StillClock()
    route = sequence(Reply(429, {}, headers={"Retry-After": "1"}), Reply(200, {"ok": True}))
    with stub_server(route) as server:
        reply = _get(f"{server.base}/x", Deadline(5.0, clock=clock))
    assert reply.status_code == 200
    assert json.loads(reply.content) == {"ok": True}
    assert clock.sleeps == [1.0]
    assert len(server.requests) == 2


def test_retry_after_as_http_date_is_read() -> None:
    clock = StillClock()
    when = email.utils.formatdate(clock.time() + 20, usegmt=True)
    with (
        stub_server(sequence(Reply(503, {}, headers={"Retry-After": when}))) as server,
        pytest.raises(SourceUnavailableError, match="unavailable now"),
    ):
        _get(f"{server.base}/x", Deadline(30.0, clock=clock))  # 20 s fits the deadline, not max_wait_s
    assert clock.sleeps == []


class _FrozenClock(ShiftingClock):
    """Wall time stands still at ``now`` (an HTTP-date has whole seconds)."""

    def __init__(self, now: float) -> None:
        super().__init__()
        self.now = now

    def time(self) -> float:
        return self.now


def test_retry_after_forms() -> None:
    clock = _FrozenClock(1_800_000_000.0)
    assert parse_retry_after(email.utils.formatdate(clock.now + 20, usegmt=True), clock) == 20.0
    assert parse_retry_after(email.utils.formatdate(clock.now - 20, usegmt=True), clock) == 0.0
    assert parse_retry_after(" 7 ", clock) == 7.0
    assert parse_retry_after("soon", clock) is None
    assert parse_retry_after(None, clock) is None


def test_back_off_stops_where_the_deadline_would_be_passed() -> None:
    clock = StillClock()
    retry = RetryPolicy(total=5, connect=5, status=5, backoff_factor=0.2)
    with (
        stub_server(sequence(Reply(503, {}))) as server,
        pytest.raises(SourceUnavailableError, match="unavailable now"),
    ):
        _get(f"{server.base}/x", Deadline(0.5, clock=clock), retry)
    assert clock.sleeps == [pytest.approx(0.2)]  # the next wait (0.4 s) would end past the deadline
    assert sum(clock.sleeps) < 0.5
    assert len(server.requests) == 2


def test_connection_failures_are_retried_inside_the_deadline() -> None:
    clock = StillClock()
    retry = RetryPolicy(total=2, connect=2, status=2, backoff_factor=0.1)
    with pytest.raises(SourceUnavailableError, match="connection") as info:
        _get(f"http://127.0.0.1:{free_port()}/x", Deadline(5.0, clock=clock), retry)
    assert isinstance(info.value.__cause__, requests.ConnectionError)
    assert clock.sleeps == [pytest.approx(0.1), pytest.approx(0.2)]


def test_a_used_up_deadline_sends_nothing() -> None:
    with stub_server(sequence(Reply(200, {}))) as server, pytest.raises(DeadlineExceededError):
        _get(f"{server.base}/x", Deadline(0.0))
    assert server.requests == []


def test_slow_headers_cost_at_most_the_deadline() -> None:
    with (
        stub_server(sequence(Reply(200, {}, delay_s=1.5))) as server,
        pytest.raises(SourceUnavailableError, match="timed out"),
    ):
        _get(f"{server.base}/x", Deadline(0.3))  # the read timeout (2 s) is cut to the time left
    assert len(server.requests) == 1


def test_a_trickled_body_is_cut_at_the_deadline() -> None:
    """200 bytes at one byte per 50 ms would take 10 s: every read returns data, so only the deadline
    (checked between reads, and set as the socket timeout) ends it."""
    payload = json.dumps({"padding": "x" * 180}).encode()
    with (
        stub_server(sequence(Reply(200, raw=payload, trickle_s=0.05))) as server,
        pytest.raises(SourceUnavailableError) as info,
    ):
        _get(f"{server.base}/x", Deadline(0.5))
    assert isinstance(info.value, DeadlineExceededError) or "timed out" in str(info.value)


def test_a_body_over_max_bytes_is_refused() -> None:
    with (
        stub_server(sequence(Reply(200, raw=b"x" * 5000))) as server,
        pytest.raises(InvalidSourceDataError, match="larger than 1000 bytes"),
    ):
        _get(f"{server.base}/x", Deadline(5.0), max_bytes=1000)


def test_redirects_are_never_followed() -> None:
    with stub_server(sequence(Reply(200, {}))) as elsewhere:
        moved = Reply(302, {}, headers={"Location": f"{elsewhere.base}/y"})
        with stub_server(sequence(moved)) as server:
            reply = _get(f"{server.base}/x", Deadline(5.0), headers={"Authorization": "Bearer t0k"})
    assert reply.status_code == 302
    assert elsewhere.requests == []
    with pytest.raises(RequestRefusedError, match="redirect"):
        check_response(reply, what="test")


def test_connections_are_kept_alive_between_calls() -> None:
    """A body read to its end returns the connection to the pool: a second call reuses it (no new TCP or
    TLS handshake per FHIR query)."""
    with stub_server(sequence(Reply(200, {"n": 1})), keep_alive=True) as server, make_session() as session:
        for _ in range(3):
            get(session, f"{server.base}/x", deadline=Deadline(5.0), timeouts=FAST, what="test")
    assert len({r.client_port for r in server.requests}) == 1
