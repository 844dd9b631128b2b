"""connectors.http: the named retry policy, timeouts and the mapping of HTTP failures to connector errors."""

from __future__ import annotations

import time

import pytest
import requests

from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError
from connectors.http import (
    DEFAULT_RETRY,
    NO_RETRY,
    BearerAuth,
    RetryPolicy,
    Timeouts,
    check_response,
    json_body,
    make_session,
    upstream_errors,
)
from tests.conftest import free_port
from tests.unit.connectors.http_stub import Reply, sequence, stub_server

FAST = Timeouts(connect_s=1.0, read_s=2.0)


def test_default_policy_matches_operations_spec() -> None:
    retry = DEFAULT_RETRY.to_urllib3()
    assert (retry.total, retry.connect, retry.read, retry.status) == (3, 3, False, 3)
    assert retry.backoff_factor == pytest.approx(0.1)
    assert set(retry.status_forcelist or ()) == {429, 502, 503, 504}
    assert set(retry.allowed_methods or ()) == {"GET", "HEAD"}
    assert retry.respect_retry_after_header is True
    assert retry.raise_on_status is False


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
    with stub_server(route) as server, make_session() as session:
        started = time.monotonic()
        response = session.get(f"{server.base}/x", timeout=FAST.as_tuple())
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert len(server.requests) == 3
    assert elapsed < 2.0


def test_post_is_never_retried() -> None:
    with stub_server(sequence(Reply(503), Reply(200))) as server, make_session() as session:
        response = session.post(f"{server.base}/x", json={}, timeout=FAST.as_tuple())
    assert response.status_code == 503
    assert len(server.requests) == 1


def test_429_after_retries_maps_to_source_unavailable() -> None:
    reply = Reply(429, {"resourceType": "OperationOutcome"}, headers={"Retry-After": "0"})
    with stub_server(sequence(reply)) as server, make_session() as session:
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
