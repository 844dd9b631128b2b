"""HTTP plumbing shared by the connectors: one ``requests.Session`` per upstream, a named retry
policy, timeouts, and the single place where HTTP failures become :mod:`connectors.errors`.

Policy (``spec/operations.md`` §9): idempotent reads (GET, HEAD) are retried at most three times on
connection failures and on the statuses in :data:`RETRIABLE_STATUSES`, with exponential back-off
(0.1 s, 0.2 s, 0.4 s) that honours ``Retry-After``. Read timeouts are not retried (``read=False``), so
they surface as ``requests.ReadTimeout`` and a slow upstream costs one read timeout, not four. POSTs are
never retried. After the last attempt the final response is returned (``raise_on_status=False``) and
:func:`check_response` turns its status into an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth
from urllib3.util.retry import Retry

from connectors.errors import ConnectorError, InvalidSourceDataError, NotFoundError, SourceUnavailableError
from rules.domain import SourceRef

#: Statuses worth a retry: rate limiting and gateway/availability failures (not 500, which is usually a bug).
RETRIABLE_STATUSES: tuple[int, ...] = (429, 502, 503, 504)

#: Only idempotent reads are retried; a POST (CDS feedback, FHIR ``_search`` by POST) is sent once.
RETRIABLE_METHODS: frozenset[str] = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounded retries for idempotent requests, expressed once and turned into a urllib3 ``Retry``.

    ``backoff_factor`` is in seconds: the n-th retry waits ``backoff_factor * 2**(n-1)`` (or ``Retry-After``).
    """

    total: int = 3
    connect: int = 3
    status: int = 3
    backoff_factor: float = 0.1
    statuses: tuple[int, ...] = RETRIABLE_STATUSES
    methods: frozenset[str] = RETRIABLE_METHODS

    def __post_init__(self) -> None:
        for name in ("total", "connect", "status"):
            if getattr(self, name) < 0:
                raise ValueError(f"RetryPolicy.{name} must be >= 0, got {getattr(self, name)}")
        if self.backoff_factor < 0:
            raise ValueError(f"RetryPolicy.backoff_factor must be >= 0 s, got {self.backoff_factor}")
        if "POST" in self.methods:
            raise ValueError("RetryPolicy must never retry POST")

    def to_urllib3(self) -> Retry:
        """The equivalent urllib3 ``Retry`` (read timeouts not retried; final response returned)."""
        return Retry(
            total=self.total,
            connect=self.connect,
            read=False,
            status=self.status,
            other=0,
            backoff_factor=self.backoff_factor,
            status_forcelist=self.statuses,
            allowed_methods=self.methods,
            respect_retry_after_header=True,
            raise_on_status=False,
        )


#: The project's policy for every upstream (FHIR, DICOMweb, JWKS).
DEFAULT_RETRY = RetryPolicy()

#: No retries at all (tests, and calls that must fail fast within a hook budget).
NO_RETRY = RetryPolicy(total=0, connect=0, status=0)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts in seconds: ``connect_s`` to connect (TCP/TLS), ``read_s`` between bytes."""

    connect_s: float = 2.0
    read_s: float = 5.0

    def __post_init__(self) -> None:
        if not (self.connect_s > 0 and self.read_s > 0):
            raise ValueError(
                f"Timeouts must be positive seconds, got connect={self.connect_s} read={self.read_s}"
            )

    def as_tuple(self) -> tuple[float, float]:
        """The ``(connect, read)`` pair ``requests`` expects as ``timeout=``."""
        return (self.connect_s, self.read_s)


class BearerAuth(AuthBase):
    """``Authorization: Bearer <token>`` on every request; the token never appears in ``repr`` or messages."""

    def __init__(self, token: str) -> None:
        if not token or any(c in token for c in "\r\n"):
            raise ValueError("bearer token must be a non-empty single line")
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(<redacted>)"


def make_session(
    *,
    retry: RetryPolicy = DEFAULT_RETRY,
    pool_maxsize: int = 16,
    auth: tuple[str, str] | str | None = None,
) -> requests.Session:
    """A ``requests.Session`` for one upstream with ``retry`` mounted for http and https.

    ``auth`` is ``(user, password)`` for HTTP Basic, a string for a bearer token, or None.
    ``pool_maxsize`` bounds the connections kept per host (one per concurrent request thread).
    """
    if pool_maxsize < 1:
        raise ValueError(f"pool_maxsize must be >= 1, got {pool_maxsize}")
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry.to_urllib3(), pool_connections=4, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if isinstance(auth, tuple):
        session.auth = HTTPBasicAuth(*auth)
    elif isinstance(auth, str):
        session.auth = BearerAuth(auth)
    return session


def describe_url(url: str) -> str:
    """``host[:port]/path`` without query or credentials, for messages (queries may carry patient ids)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


def error_from_status(
    status: int, *, what: str, source: SourceRef | None = None, retry_after: str | None = None
) -> ConnectorError:
    """Map a non-success HTTP status to a connector error (the caller raises it).

    404 and 410 → :class:`NotFoundError`; 429 and 5xx (after retries) → :class:`SourceUnavailableError`;
    any other 4xx (401/403: token refused, 400: query refused) → :class:`SourceUnavailableError` as well,
    because the data cannot be obtained from that source as configured.
    """
    if status in (404, 410):
        return NotFoundError(f"{what}: not found (HTTP {status})", source=source)
    if status == 429:
        hint = f", Retry-After {retry_after}" if retry_after else ""
        return SourceUnavailableError(f"{what}: rate limited (HTTP 429{hint})", source=source)
    if status >= 500:
        return SourceUnavailableError(f"{what}: upstream failure (HTTP {status})", source=source)
    if status in (401, 403):
        return SourceUnavailableError(f"{what}: access refused (HTTP {status})", source=source)
    return SourceUnavailableError(f"{what}: request refused (HTTP {status})", source=source)


def error_from_exception(
    exc: requests.RequestException, *, what: str, source: SourceRef | None = None
) -> ConnectorError:
    """Map a ``requests`` exception to a connector error: always :class:`SourceUnavailableError`.

    The message names the failure class (timeout, connection) but never the request headers.
    """
    if isinstance(exc, requests.Timeout):
        return SourceUnavailableError(f"{what}: timed out ({type(exc).__name__})", source=source)
    if isinstance(exc, requests.ConnectionError):
        return SourceUnavailableError(f"{what}: connection failed ({type(exc).__name__})", source=source)
    return SourceUnavailableError(f"{what}: request failed ({type(exc).__name__})", source=source)


@contextmanager
def upstream_errors(what: str, *, source: SourceRef | None = None) -> Iterator[None]:
    """Run ``requests`` calls, re-raising any ``RequestException`` as a connector error ``from`` it."""
    try:
        yield
    except requests.RequestException as exc:
        raise error_from_exception(exc, what=what, source=source) from exc


def check_response(
    response: requests.Response, *, what: str, source: SourceRef | None = None
) -> requests.Response:
    """Return ``response`` if its status is 2xx, else raise the mapped connector error."""
    if 200 <= response.status_code < 300:
        return response
    raise error_from_status(
        response.status_code, what=what, source=source, retry_after=response.headers.get("Retry-After")
    )


def json_body(response: requests.Response, *, what: str, source: SourceRef | None = None) -> dict[str, Any]:
    """The body as a JSON object; an unparseable or non-object body is :class:`InvalidSourceDataError`."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError) as exc:
        raise InvalidSourceDataError(f"{what}: response body is not JSON", source=source) from exc
    if not isinstance(body, dict):
        raise InvalidSourceDataError(f"{what}: response body is not a JSON object", source=source)
    return body
