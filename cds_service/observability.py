"""Logging and metrics of the service (``spec/operations.md`` §6).

Logging: structlog over the standard library. :func:`configure_logging` installs one root handler whose
``structlog.stdlib.ProcessorFormatter`` renders every record, ours and foreign ones (gunicorn, urllib3,
werkzeug), as one JSON line with an ISO 8601 UTC ``timestamp``, ``level``, ``logger``, ``event``, the rules
version and the request context bound by :func:`bind_request_context` (``hook_instance``, ``hook``,
``service_id``, ``trace_id``). The last processor before rendering, :func:`redact`, removes anything that
looks like a bearer token or JWT and the values of known secret or PHI keys, as defence in depth: callers must
still never log tokens, prefetch bodies or PHI (``spec/cds-hooks.md`` CH-9, CH-35).

Metrics: prometheus-client counters and histograms in :class:`Metrics`, all named ``her2cds_*``
(``docs/metrics.md``); :func:`render_metrics` serves ``/metrics``, aggregating gunicorn workers through a
``MultiProcessCollector`` when given the multiprocess directory (the app passes ``PROMETHEUS_MULTIPROC_DIR``;
this module never reads the environment). In multiprocess mode that variable must be set before
``prometheus_client`` is first imported, the directory must exist before the first sample is recorded
(``create_app`` creates it; ``her2-cds serve`` also empties it before the workers start), and gunicorn's
``child_exit`` hook calls :func:`mark_worker_dead`.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client import multiprocess as prom_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from rules.parameters import RULES_VERSION

__all__ = [
    "METRIC_PREFIX",
    "REDACTED",
    "DatabaseCollector",
    "Metrics",
    "UpstreamTarget",
    "bind_request_context",
    "clear_request_context",
    "configure_logging",
    "default_metrics",
    "get_logger",
    "mark_worker_dead",
    "redact",
    "render_metrics",
    "request_context",
]

REDACTED = "[REDACTED]"

#: A compact JWS/JWT: base64url header starting ``{"`` (``eyJ``), payload and signature (RFC 7515 §7.1).
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
#: An HTTP bearer credential (RFC 6750 §2.1 ``b64token``), whatever the token's format.
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
#: ``key=value`` or ``"key": "value"`` pairs of secrets embedded in a string (query strings, JSON text).
_SECRET_PAIR_RE = re.compile(
    r"(?i)(\"?\b(?:access_token|id_token|refresh_token|client_secret|password)\"?\s*[:=]\s*\"?)[^\"&\s,}]+"
)
#: Patient-identifying FHIR search parameters in a URL (``?patient=…``, ``&identifier=…``) and DICOMweb QIDO
#: patient attributes (``PatientID=…``, ``00100020=…``), as foreign loggers such as urllib3 write them.
_PATIENT_PARAM_RE = re.compile(
    r"(?i)([?&](?:patient|subject|_id|identifier|patient\.identifier|subject:Patient|PatientID|PatientName"
    r"|PatientBirthDate|00100010|00100020|00100030)=)[^&\s\"',)}]+"
)
#: A reference to a patient in a URL path or text (``/fhir/Patient/123``, ``subject: Patient/123``), as
#: urllib3's retry warnings and exception messages write them: the FHIR id identifies the patient.
_PATIENT_REFERENCE_RE = re.compile(r"\b((?:Patient|Person|RelatedPerson)/)(?!\[)[A-Za-z0-9.\-]{1,64}")
#: What any of the patterns above needs somewhere in a text (a case-insensitive superset of their literal
#: parts): most logged values (ids, outcomes, topics) hold none of it and are returned after one search.
_MAYBE_SENSITIVE_RE = re.compile(r"(?i)eyJ|bearer|token|secret|password|=|person/|patient/")
#: Keys whose values are never logged: credentials, prefetch bodies, and PHI (names, ids, contact, free text).
#: Compared after lower-casing and removing ``_`` and ``-``.
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "authorization",
        "accesstoken",
        "idtoken",
        "refreshtoken",
        "token",
        "jwt",
        "bearer",
        "password",
        "secret",
        "clientsecret",
        "cookie",
        "setcookie",
        "fhirauthorization",
        "prefetch",
        "patient",
        "patientid",
        "patientname",
        "name",
        "given",
        "family",
        "birthdate",
        "dob",
        "mrn",
        "identifier",
        "address",
        "telecom",
        "phone",
        "email",
        "ssn",
        "usercomment",
        "comment",
    }
)
_MAX_DEPTH = 6
_OUR_HANDLER_FLAG = "_her2cds_handler"


def _normalise_key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def scrub_text(text: str) -> str:
    """Replace JWTs, bearer credentials, embedded ``access_token=…``-style secrets, patient-identifying
    URL parameters and patient references (``Patient/<id>``) in ``text``."""
    if _MAYBE_SENSITIVE_RE.search(text) is None:
        return text
    return _all_patterns_scrubbed(text)


def _all_patterns_scrubbed(text: str) -> str:
    text = _JWT_RE.sub(REDACTED, text)
    text = _PATIENT_PARAM_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _PATIENT_REFERENCE_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_PAIR_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def _redact_value(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED if _normalise_key(k) in SENSITIVE_KEYS else _redact_value(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_redact_value(v, depth + 1) for v in value]
    # Anything else is rendered by repr() in the JSON output: scrub that text too.
    return scrub_text(repr(value))


_STRUCTURAL_KEYS = frozenset({"event", "timestamp", "level", "logger", "exception"})


def redact(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: scrub tokens from all values, drop values of sensitive keys (defence in depth)."""
    for key in list(event_dict):
        if key not in _STRUCTURAL_KEYS and _normalise_key(key) in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact_value(event_dict[key], 0)
    return event_dict


def _add_rules_version(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event_dict.setdefault("rules_version", RULES_VERSION)
    return event_dict


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is when a record is emitted (the command line's logs;
    tests replace ``sys.stderr``)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        return


def configure_logging(level: str = "INFO", *, stream: TextIO | None = None, stderr: bool = False) -> None:
    """Route structlog and stdlib logging to one JSON-lines handler on ``stream`` (default: standard output;
    ``stderr``: the process's standard error, as the ``her2-cds`` commands log, their results being on
    standard output).

    Idempotent: calling it again replaces the handler it installed before (tests pass their own stream).
    """
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
        _add_rules_version,
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )
    handler = (
        _StderrHandler() if stderr else logging.StreamHandler(stream if stream is not None else sys.stdout)
    )
    handler.setFormatter(formatter)
    setattr(handler, _OUR_HANDLER_FLAG, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OUR_HANDLER_FLAG, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)


def get_logger(name: str) -> Any:
    """A structlog logger bound to the stdlib logger ``name`` (use keyword arguments for fields)."""
    return structlog.stdlib.get_logger(name)


def bind_request_context(
    *,
    hook_instance: str | None = None,
    hook: str | None = None,
    service_id: str | None = None,
    trace_id: str | None = None,
) -> None:
    """Bind request identifiers to this request's log lines (in ``before_request``); ``None`` is skipped."""
    values = {"hook_instance": hook_instance, "hook": hook, "service_id": service_id, "trace_id": trace_id}
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear_request_context() -> None:
    """Forget all request identifiers (call in ``teardown_request``)."""
    structlog.contextvars.clear_contextvars()


@contextmanager
def request_context(**identifiers: str | None) -> Iterator[None]:
    """Bind ``hook_instance``, ``hook``, ``service_id`` or ``trace_id`` for a block, then restore."""
    with structlog.contextvars.bound_contextvars(**{k: v for k, v in identifiers.items() if v is not None}):
        yield


class UpstreamTarget(StrEnum):
    """The ``target`` label of the upstream metrics (a bounded set, one per kind of upstream)."""

    FHIR = "fhir"
    DICOMWEB = "dicomweb"
    DIMSE = "dimse"
    JWKS = "jwks"


METRIC_PREFIX = "her2cds_"
"""Every metric of the service is named ``her2cds_*`` (``docs/metrics.md``)."""

#: Upstream latency buckets in seconds: hook budget 1 s (``spec/cds-hooks.md`` §13), JWKS timeout 5 s.
UPSTREAM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)
#: Hook latency buckets in seconds, dense around the default budget (1 s) so a budget's quantile is exact.
HOOK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
#: PET analysis duration buckets in seconds (one series: a few seconds; a large one: about a minute).
ANALYSIS_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 60.0, 120.0, 300.0)


class Metrics:
    """The service's Prometheus metrics, registered in ``registry`` (tests use a fresh ``CollectorRegistry``).

    The CDS service id is the label ``service_id`` (``service`` is the Kubernetes Service label that
    Prometheus adds to every scraped series). Counters and histograms only, so gunicorn workers aggregate in
    multiprocess mode; the one gauge, the last successful sync, is read from the database at scrape time
    (:class:`DatabaseCollector`). Label values come from bounded sets: registered service ids and hooks
    (``"unknown"`` otherwise), the :class:`cds_service.storage.tables.HookOutcome` values, card topic codes,
    :class:`UpstreamTarget`, :class:`cds_service.auth.AuthFailure` codes and the CDS Hooks feedback outcomes.
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        p = METRIC_PREFIX
        self.hook_requests = Counter(
            p + "hook_requests",
            "CDS Hooks service calls by service id, hook and outcome.",
            ("service_id", "hook", "outcome"),
            registry=registry,
        )
        self.hook_seconds = Histogram(
            p + "hook_duration_seconds",
            "Time from a hook request's arrival to its answer, in seconds, by service id and outcome.",
            ("service_id", "outcome"),
            buckets=HOOK_BUCKETS,
            registry=registry,
        )
        self.hook_budget_misses = Counter(
            p + "hook_budget_exceeded",
            "Hook calls answered after HER2CDS_HOOK_BUDGET_MS, by service id.",
            ("service_id",),
            registry=registry,
        )
        self.cards_returned = Counter(
            p + "cards_returned",
            "Cards returned, by card topic (scenario code).",
            ("topic",),
            registry=registry,
        )
        self.upstream_seconds = Histogram(
            p + "upstream_request_seconds",
            "Duration of calls to upstream systems (FHIR, DICOMweb, DIMSE, JWKS) in seconds.",
            ("target",),
            buckets=UPSTREAM_BUCKETS,
            registry=registry,
        )
        self.upstream_errors = Counter(
            p + "upstream_errors",
            "Upstream calls that failed (connection error, timeout, 5xx or 429, DIMSE failure), by target.",
            ("target",),
            registry=registry,
        )
        self.jwt_rejections = Counter(
            p + "jwt_rejections",
            "Client JWTs refused, by reason code.",
            ("reason",),
            registry=registry,
        )
        self.analysis_seconds = Histogram(
            p + "pet_analysis_seconds",
            "Duration of one PET series analysis (fetch, SUV, lesions, picture) in seconds, by outcome.",
            ("outcome",),
            buckets=ANALYSIS_BUCKETS,
            registry=registry,
        )
        self.feedback = Counter(
            p + "feedback",
            "Card feedback received, by service id and outcome (accepted, overridden).",
            ("service_id", "outcome"),
            registry=registry,
        )

    def record_hook(self, service: str, hook: str, outcome: str) -> None:
        """Count one hook call."""
        self.hook_requests.labels(service_id=service, hook=hook, outcome=str(outcome)).inc()

    def observe_hook(self, service: str, outcome: str, seconds: float, *, budget_s: float) -> None:
        """Record one hook call's duration in seconds, and a budget miss when it exceeded ``budget_s``."""
        self.hook_seconds.labels(service_id=service, outcome=str(outcome)).observe(seconds)
        if seconds > budget_s:
            self.hook_budget_misses.labels(service_id=service).inc()

    def record_cards(self, topics: Iterable[str]) -> None:
        """Count returned cards by topic code."""
        for topic in topics:
            self.cards_returned.labels(topic=topic).inc()

    def observe_upstream(self, target: UpstreamTarget | str, seconds: float, *, failed: bool = False) -> None:
        """Record one upstream call's duration in seconds (and count it as an error when it failed)."""
        label = UpstreamTarget(target).value
        self.upstream_seconds.labels(target=label).observe(seconds)
        if failed:
            self.upstream_errors.labels(target=label).inc()

    @contextmanager
    def time_upstream(self, target: UpstreamTarget | str) -> Iterator[None]:
        """Time a block as one upstream call; an exception leaving the block counts as an error."""
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            self.observe_upstream(target, time.perf_counter() - started, failed=failed)

    def record_jwt_rejection(self, reason: str) -> None:
        """Count one refused client JWT (pass it as ``JwtVerifier(on_rejection=...)``)."""
        self.jwt_rejections.labels(reason=str(reason)).inc()

    def record_jwks_fetch(self, seconds: float) -> None:
        """Record one JWKS fetch (pass it as ``JwtVerifier(on_jwks_fetch=...)``)."""
        self.observe_upstream(UpstreamTarget.JWKS, seconds)

    def observe_analysis(self, outcome: str, seconds: float) -> None:
        """Record one PET series analysis (``stored``, ``not_her2`` or ``failed``) and its duration."""
        self.analysis_seconds.labels(outcome=outcome).observe(seconds)

    def record_feedback(self, service: str, outcome: str) -> None:
        """Count one feedback item (CDS Hooks outcome ``accepted`` or ``overridden``)."""
        self.feedback.labels(service_id=service, outcome=str(outcome)).inc()


@functools.cache
def default_metrics() -> Metrics:
    """The process-wide metrics in the default registry (created once; several apps in tests share it)."""
    return Metrics(REGISTRY)


class DatabaseCollector(Collector):
    """Gauges read from the shared database at scrape time (the same value from every pod and worker).

    ``her2cds_sync_last_success_timestamp_seconds``: when ``her2-cds sync`` last completed a poll (Unix
    time), from ``last_success`` (for example ``Storage.heartbeat``), absent before the first one or when the
    database does not answer.
    """

    def __init__(self, last_success: Callable[[str], float | None]) -> None:
        self._last_success = last_success

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            when = self._last_success("sync")
        except Exception:  # a scrape never fails because of the database; the alert sees the gap
            when = None
        family = GaugeMetricFamily(
            METRIC_PREFIX + "sync_last_success_timestamp_seconds",
            "Unix time at which `her2-cds sync` last completed a poll (from the database).",
        )
        if when is not None:
            family.add_metric([], when)
        yield family


def render_metrics(
    multiprocess_dir: str | Path | None = None,
    registry: CollectorRegistry | None = None,
    extra: Iterable[Collector] = (),
) -> tuple[bytes, str]:
    """The ``/metrics`` body and its content type.

    With ``multiprocess_dir`` (the value of ``PROMETHEUS_MULTIPROC_DIR``) the values of all gunicorn workers
    are aggregated from their files; otherwise ``registry`` (default: the process registry) is rendered.
    ``extra`` collectors (such as :class:`DatabaseCollector`) are rendered after them.
    """
    if multiprocess_dir is not None:
        collecting = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(collecting, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
        body = generate_latest(collecting)
    else:
        body = generate_latest(registry if registry is not None else REGISTRY)
    extras = CollectorRegistry(auto_describe=False)
    for collector in extra:
        extras.register(collector)
    return body + generate_latest(extras), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int, multiprocess_dir: str | Path) -> None:
    """Drop a dead worker's live-gauge files (gunicorn ``child_exit`` hook, multiprocess mode)."""
    prom_multiprocess.mark_process_dead(pid, str(multiprocess_dir))  # type: ignore[no-untyped-call]
