"""HTTP plumbing shared by the connectors: sessions, one deadline per unit of work, a bounded retry loop that
runs inside that deadline, bounded body reads, and the single place where HTTP failures become
:mod:`connectors.errors`.

Policy (``spec/operations.md`` §9, ``spec/cds-hooks.md`` §13):

- **One deadline.** A :class:`Deadline` is shared by every call of one hook: each attempt gets at most the
  time left as its connect and read timeouts, the body is read chunk by chunk with the socket timeout set to
  the time left, and no wait (back-off or ``Retry-After``) ever runs past it. A ``Retry-After`` that ends
  beyond the deadline (or beyond :attr:`RetryPolicy.max_wait_s`) means "unavailable now": the call fails at
  once instead of sleeping.
- **Bounded retries** (:func:`get`): idempotent GETs are retried on connection failures and on the statuses
  in :data:`RETRIABLE_STATUSES`, at most :attr:`RetryPolicy.total` times, with exponential back-off
  (``backoff_factor * 2**(n-1)`` seconds) or the server's ``Retry-After`` when it fits. Read timeouts are not
  retried: a slow upstream costs one timeout, not four. POSTs are never retried; redirects never followed
  (a 3xx is a refusal, so credentials cannot be forwarded).
- Sessions built by :func:`make_session` carry no urllib3 retries unless asked: urllib3's ``Retry`` sleeps
  where no deadline can see it. A library that sends its own requests through the session (dicomweb-client,
  used off the hook path by ``sync`` and the receiver) may mount :meth:`RetryPolicy.to_urllib3`, whose
  ``Retry-After`` is capped at ``max_wait_s``.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from connectors.errors import (
    ConnectorError,
    DeadlineExceededError,
    InvalidSourceDataError,
    NotFoundError,
    RequestRefusedError,
    SourceUnavailableError,
)
from rules.domain import SourceRef

#: Statuses worth a retry: rate limiting and gateway/availability failures (not 500, which is usually a bug).
RETRIABLE_STATUSES: tuple[int, ...] = (429, 502, 503, 504)

#: Only idempotent reads are retried; a POST (CDS feedback, FHIR ``_search`` by POST) is sent once.
RETRIABLE_METHODS: frozenset[str] = frozenset({"GET", "HEAD"})

#: A retry is started only when at least this much of the deadline is left after the wait, in seconds.
MIN_ATTEMPT_S: Final = 0.05

#: Default upper bound on a response body read by :func:`get`, in bytes (16 MiB).
DEFAULT_MAX_BYTES: Final = 16 * 1024 * 1024

_CHUNK_BYTES: Final = 64 * 1024


class Clock(Protocol):
    """Time as the connectors see it: injectable, so tests can assert which waits were asked for."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock (deadlines)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (to read an HTTP-date ``Retry-After``)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""
        ...


class SystemClock:
    """The process clock: :func:`time.monotonic`, :func:`time.time` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK: Final = SystemClock()


class Deadline:
    """A point on the monotonic clock shared by every upstream call of one unit of work (one hook call).

    ``budget_s`` counts from ``started`` (a ``clock.monotonic()`` reading taken when the request arrived, so
    that authentication and parsing count too) or from now. ``math.inf`` gives a deadline that never passes
    (command-line tools); waits are then bounded by :attr:`RetryPolicy.max_wait_s` alone.
    """

    __slots__ = ("_clock", "_end")

    def __init__(self, budget_s: float, *, started: float | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        if not budget_s >= 0:
            raise ValueError(f"a deadline needs a budget >= 0 s, got {budget_s}")
        self._clock = clock
        self._end = (clock.monotonic() if started is None else started) + budget_s

    @classmethod
    def unbounded(cls, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        """A deadline that never passes (per-call timeouts and ``max_wait_s`` still apply)."""
        return cls(math.inf, clock=clock)

    @property
    def clock(self) -> Clock:
        return self._clock

    def remaining_s(self) -> float:
        """Seconds left (0 once passed)."""
        return max(0.0, self._end - self._clock.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining_s() <= 0.0

    def fits(self, wait_s: float) -> bool:
        """True when waiting ``wait_s`` still leaves :data:`MIN_ATTEMPT_S` for another attempt."""
        return wait_s + MIN_ATTEMPT_S < self.remaining_s()

    def timeouts(self, timeouts: Timeouts, *, what: str) -> tuple[float, float]:
        """``(connect, read)`` for one attempt: the configured timeouts, cut to the time left.

        Raises :class:`DeadlineExceededError` when nothing is left.
        """
        left = self.remaining_s()
        if left <= 0.0:
            raise DeadlineExceededError(f"{what}: the time budget is used up")
        return (min(timeouts.connect_s, left), min(timeouts.read_s, left))


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Bounded retries for idempotent requests, run by :func:`get` inside a :class:`Deadline`.

    ``total`` bounds all retries, ``connect`` those after a connection failure, ``status`` those after a
    retriable status. ``backoff_factor`` is in seconds: the n-th retry waits ``backoff_factor * 2**(n-1)``,
    or the server's ``Retry-After``. ``max_wait_s`` bounds any single wait: a longer ``Retry-After`` (or one
    past the deadline) ends the call as unavailable instead of sleeping.
    """

    total: int = 3
    connect: int = 3
    status: int = 3
    backoff_factor: float = 0.1
    max_wait_s: float = 2.0
    statuses: tuple[int, ...] = RETRIABLE_STATUSES
    methods: frozenset[str] = RETRIABLE_METHODS

    def __post_init__(self) -> None:
        for name in ("total", "connect", "status"):
            if getattr(self, name) < 0:
                raise ValueError(f"RetryPolicy.{name} must be >= 0, got {getattr(self, name)}")
        if self.backoff_factor < 0:
            raise ValueError(f"RetryPolicy.backoff_factor must be >= 0 s, got {self.backoff_factor}")
        if self.max_wait_s < 0:
            raise ValueError(f"RetryPolicy.max_wait_s must be >= 0 s, got {self.max_wait_s}")
        if "POST" in self.methods:
            raise ValueError("RetryPolicy must never retry POST")

    def backoff_s(self, retry_number: int) -> float:
        """The wait before retry number ``retry_number`` (1-based) when the server names none."""
        return self.backoff_factor * 2 ** (retry_number - 1) if self.backoff_factor else 0.0

    def to_urllib3(self) -> Retry:
        """The equivalent urllib3 ``Retry`` for sessions driven by a library (read timeouts not retried,
        final response returned, ``Retry-After`` capped at ``max_wait_s``). Its waits are outside any
        :class:`Deadline`: never mount it on a session used within a hook."""
        return Retry(
            total=self.total,
            connect=self.connect,
            read=False,
            status=self.status,
            other=0,
            redirect=0,
            backoff_factor=self.backoff_factor,
            backoff_max=self.max_wait_s,
            retry_after_max=math.ceil(self.max_wait_s),
            status_forcelist=self.statuses,
            allowed_methods=self.methods,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )


#: The project's policy for every upstream (FHIR, DICOMweb).
DEFAULT_RETRY = RetryPolicy()

#: No retries at all.
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
    retry: RetryPolicy | None = None,
    pool_maxsize: int = 16,
    pool_block: bool = False,
    auth: tuple[str, str] | str | None = None,
) -> requests.Session:
    """A ``requests.Session`` for one upstream.

    Without ``retry`` the session never retries by itself (callers use :func:`get`, which retries inside
    their deadline); with ``retry`` its urllib3 form is mounted for libraries that send requests through the
    session. ``auth`` is ``(user, password)`` for HTTP Basic, a string for a bearer token, or None.
    ``pool_maxsize`` bounds the connections kept per host (one per concurrent request thread); with
    ``pool_block`` a request waits for a free connection instead of opening one that is then discarded
    ("Connection pool is full"), so a session shared by more threads than its pool stays bounded.
    """
    if pool_maxsize < 1:
        raise ValueError(f"pool_maxsize must be >= 1, got {pool_maxsize}")
    session = requests.Session()
    # NO_RETRY in urllib3 form, not 0: with read=False a read timeout stays a ReadTimeout.
    max_retries = (retry or NO_RETRY).to_urllib3()
    adapter = HTTPAdapter(
        max_retries=max_retries, pool_connections=4, pool_maxsize=pool_maxsize, pool_block=pool_block
    )
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
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{host}{port}{parts.path}"


# ------------------------------------------------------------------------------------------------------------
# Errors


def error_from_status(
    status: int, *, what: str, source: SourceRef | None = None, retry_after: str | None = None
) -> ConnectorError:
    """Map a non-success HTTP status to a connector error (the caller raises it).

    404 and 410 → :class:`NotFoundError`; 429 and 5xx (after retries) → :class:`SourceUnavailableError`;
    3xx (redirects are never followed) and any other 4xx (401/403: token refused, 400: query refused) →
    :class:`RequestRefusedError`, a :class:`SourceUnavailableError` whose data cannot be obtained from
    that source as configured.
    """
    if status in (404, 410):
        return NotFoundError(f"{what}: not found (HTTP {status})", source=source)
    if status == 429:
        hint = f", Retry-After {retry_after}" if retry_after else ""
        return SourceUnavailableError(f"{what}: rate limited (HTTP 429{hint})", source=source)
    if status >= 500:
        return SourceUnavailableError(f"{what}: upstream failure (HTTP {status})", source=source)
    if status in (401, 403):
        return RequestRefusedError(f"{what}: access refused (HTTP {status})", source=source, status=status)
    if 300 <= status < 400:
        return RequestRefusedError(
            f"{what}: redirect not followed (HTTP {status})", source=source, status=status
        )
    return RequestRefusedError(f"{what}: request refused (HTTP {status})", source=source, status=status)


def error_from_exception(
    exc: requests.RequestException | Urllib3Error | OSError, *, what: str, source: SourceRef | None = None
) -> ConnectorError:
    """Map a ``requests``/urllib3/socket exception to a connector error: always
    :class:`SourceUnavailableError`. The message names the failure class (timeout, connection) but never
    the request headers."""
    if isinstance(exc, requests.Timeout | TimeoutError | Urllib3Timeout):
        return SourceUnavailableError(f"{what}: timed out ({type(exc).__name__})", source=source)
    if isinstance(exc, requests.ConnectionError | ConnectionError):
        return SourceUnavailableError(f"{what}: connection failed ({type(exc).__name__})", source=source)
    return SourceUnavailableError(f"{what}: request failed ({type(exc).__name__})", source=source)


@contextmanager
def upstream_errors(what: str, *, source: SourceRef | None = None) -> Iterator[None]:
    """Run ``requests`` calls, re-raising any ``RequestException`` as a connector error ``from`` it."""
    try:
        yield
    except requests.RequestException as exc:
        raise error_from_exception(exc, what=what, source=source) from exc


class _HasStatus(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


_R = TypeVar("_R", bound=_HasStatus)


def check_response(response: _R, *, what: str, source: SourceRef | None = None) -> _R:
    """Return ``response`` if its status is 2xx, else raise the mapped connector error."""
    if 200 <= response.status_code < 300:
        return response
    raise error_from_status(
        response.status_code, what=what, source=source, retry_after=response.headers.get("Retry-After")
    )


def json_body(response: _HasStatus, *, what: str, source: SourceRef | None = None) -> dict[str, Any]:
    """The body as a JSON object; an unparseable or non-object body is :class:`InvalidSourceDataError`."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError) as exc:
        raise InvalidSourceDataError(f"{what}: response body is not JSON", source=source) from exc
    if not isinstance(body, dict):
        raise InvalidSourceDataError(f"{what}: response body is not a JSON object", source=source)
    return body


# ------------------------------------------------------------------------------------------------------------
# The bounded GET


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpReply:
    """A response read completely within the deadline: status, headers, body bytes and the URL as sent."""

    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""
    url: str = ""


Params = Mapping[str, str | Sequence[str]]


def parse_retry_after(value: str | None, clock: Clock) -> float | None:
    """Seconds named by a ``Retry-After`` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3); None when
    absent or unreadable (then the policy's back-off applies)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if re.fullmatch(r"\d+", text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock.time())


def get(
    session: requests.Session,
    url: str,
    *,
    deadline: Deadline,
    timeouts: Timeouts,
    what: str,
    params: Params | None = None,
    headers: Mapping[str, str] | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    max_bytes: int = DEFAULT_MAX_BYTES,
    source: SourceRef | None = None,
) -> HttpReply:
    """``GET url`` within ``deadline``, retried per ``retry``; the reply of the last attempt (any status).

    Raises :class:`SourceUnavailableError` for timeouts, connection failures and a used-up deadline (its
    subclass :class:`DeadlineExceededError`), and when a ``Retry-After`` asks for a wait that does not fit;
    :class:`InvalidSourceDataError` for a body over ``max_bytes``. Redirects are never followed.
    """
    query = {k: v if isinstance(v, str) else list(v) for k, v in (params or {}).items()} or None
    clock = deadline.clock
    retries = connect_retries = status_retries = 0
    while True:
        timeout = deadline.timeouts(timeouts, what=what)
        try:
            response = session.get(
                url,
                params=query,
                headers=dict(headers or {}),
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.ConnectionError as exc:  # includes ConnectTimeout; a ReadTimeout is never retried
            if not (retries < retry.total and connect_retries < retry.connect and "GET" in retry.methods):
                raise error_from_exception(exc, what=what, source=source) from exc
            retries, connect_retries = retries + 1, connect_retries + 1
            _wait(deadline, retry.backoff_s(retries), retry, what=what, source=source, cause=exc)
            continue
        except requests.RequestException as exc:
            raise error_from_exception(exc, what=what, source=source) from exc
        if (
            response.status_code in retry.statuses
            and retries < retry.total
            and status_retries < retry.status
            and "GET" in retry.methods
        ):
            asked = parse_retry_after(response.headers.get("Retry-After"), clock)
            response.close()
            retries, status_retries = retries + 1, status_retries + 1
            wait_s = asked if asked is not None else retry.backoff_s(retries)
            _wait(deadline, wait_s, retry, what=f"{what} (HTTP {response.status_code})", source=source)
            continue
        try:
            body = _read_body(response, deadline, timeouts, max_bytes=max_bytes, what=what, source=source)
        except BaseException:
            response.close()  # a body read in part: the connection cannot be reused
            raise
        response.raw.release_conn()  # read to the end: back to the pool, kept alive for the next call
        return HttpReply(
            status_code=response.status_code,
            headers=CaseInsensitiveDict(response.headers),
            content=body,
            url=response.url,
        )


def _wait(
    deadline: Deadline,
    wait_s: float,
    retry: RetryPolicy,
    *,
    what: str,
    source: SourceRef | None,
    cause: BaseException | None = None,
) -> None:
    """Sleep before a retry, or give up when the wait is longer than the policy allows or than the deadline
    leaves (never sleeping past the deadline)."""
    if wait_s > retry.max_wait_s or not deadline.fits(wait_s):
        error = SourceUnavailableError(
            f"{what}: unavailable now (a retry in {wait_s:.2f} s does not fit the time budget)", source=source
        )
        if cause is not None:
            raise error from cause
        raise error
    if wait_s > 0:
        deadline.clock.sleep(wait_s)


def _read_body(
    response: requests.Response,
    deadline: Deadline,
    timeouts: Timeouts,
    *,
    max_bytes: int,
    what: str,
    source: SourceRef | None,
) -> bytes:
    """The whole body, chunk by chunk, each read waiting at most the time left (the socket timeout is set
    before every read), refused beyond ``max_bytes``."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InvalidSourceDataError(f"{what}: response larger than {max_bytes} bytes", source=source)
    raw = response.raw
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            left = deadline.remaining_s()
            if left <= 0.0:
                raise DeadlineExceededError(f"{what}: the time budget ran out while reading", source=source)
            _set_read_timeout(raw, min(timeouts.read_s, left))
            chunk = raw.read1(_CHUNK_BYTES, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > max_bytes:
                raise InvalidSourceDataError(f"{what}: response larger than {max_bytes} bytes", source=source)
            chunks.append(chunk)
    except (Urllib3Error, OSError) as exc:
        raise error_from_exception(exc, what=what, source=source) from exc


def _set_read_timeout(raw: Any, seconds: float) -> None:
    """Set the timeout of the socket under a streamed urllib3 response (no-op when it has none)."""
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))
