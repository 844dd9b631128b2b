"""Optional OpenTelemetry tracing of the service: Flask requests, outgoing ``requests`` calls, SQLAlchemy.

Switched by ``HER2CDS_TRACING`` (``off`` by default, ``console`` for development, ``otlp`` for a collector);
the exporter's endpoint, headers, service name, resource attributes and sampler come from the standard
``OTEL_*`` variables, which the OpenTelemetry SDK reads itself (``docs/tracing.md``). The ``opentelemetry``
packages are the optional ``tracing`` extra and are imported only when tracing is on, so the service runs
without them; asking for tracing without them is a configuration error at start-up.

Spans leave the process only through :class:`RedactingSpanProcessor`, which hands the exporter a copy of
each finished span with nothing that identifies a patient or grants access (``spec/cds-hooks.md`` CH-9,
CH-35): query strings are dropped from every URL (FHIR searches carry ``?patient=…``); server paths are
replaced by their route template (``/evidence/<token>``, so capability tokens never leave); client URLs keep
only their origin (FHIR read paths such as ``Patient/123`` carry ids); captured headers that carry credentials
or cookies are dropped; span names, status texts, every other string attribute and event (exception
messages, stack traces) go through the log redaction (:func:`cds_service.observability.scrub_text`:
JWTs, bearer credentials, embedded secrets, patient search parameters).

Each gunicorn worker builds its own tracer provider in ``create_app`` (after the fork, so the batch
exporter's thread lives in the worker). Instrumentation of ``requests`` and of SQLAlchemy are process-wide;
:func:`stop_tracing` undoes it (tests).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cds_service.observability import REDACTED, SENSITIVE_KEYS, scrub_text
from cds_service.settings import TracingMode

if TYPE_CHECKING:
    from flask import Flask
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy import Engine

__all__ = [
    "DEFAULT_SERVICE_NAME",
    "EXCLUDED_URLS",
    "EXTENSION_KEY",
    "RedactingSpanProcessor",
    "Tracing",
    "TracingMode",
    "redact_attributes",
    "start_tracing",
    "stop_tracing",
]

DEFAULT_SERVICE_NAME = "her2-pet-cds"
"""``service.name`` of the spans unless ``OTEL_SERVICE_NAME`` or ``OTEL_RESOURCE_ATTRIBUTES`` say
otherwise."""

EXTENSION_KEY = "her2cds.tracing"
"""``app.extensions`` key of the app's :class:`Tracing` (absent when tracing is off)."""

EXCLUDED_URLS = "healthz,readyz,metrics"
"""Requests that make no span: probes and scrapes (they would drown the hooks)."""

EXTRA_HINT = "install the tracing extra: pip install 'her2-pet-cds[tracing]'"


#: Attributes holding a full URL (old and stable HTTP semantic conventions).
_FULL_URL_KEYS = frozenset({"http.url", "url.full"})
#: Attributes holding a path, possibly with its query string.
_PATH_KEYS = frozenset({"http.target", "url.path"})
#: Attributes holding a query string alone.
_QUERY_KEYS = frozenset({"url.query"})
_ROUTE_KEY = "http.route"
_HEADER_MARKERS = (".header.", ".headers.")
#: Semantic-convention namespaces whose key names are not data (``server.address`` is a host name).
_SEMCONV_PREFIXES = ("server.", "client.", "net.", "network.", "url.", "http.", "db.", "user_agent.")


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (credentials dropped), or the redaction marker."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return REDACTED
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, "", "", ""))


def _redact_path(value: str, route: str | None) -> str:
    path = value.split("?", 1)[0].split("#", 1)[0]
    if route:
        return route
    return "/" if path in ("", "/") else REDACTED


def _redact_full_url(value: str, route: str | None, server: bool) -> str:
    origin = _origin(value)
    if origin == REDACTED:
        return REDACTED
    path = urlsplit(value).path
    if server and route:
        return origin + route
    return origin if path in ("", "/") else f"{origin}/{REDACTED}"


def _sensitive_key(key: str) -> bool:
    """A captured header carrying credentials, or a key named like a secret or PHI field."""
    last = key.rsplit(".", 1)[-1]
    normal = last.lower().replace("_", "").replace("-", "")
    if any(marker in key for marker in _HEADER_MARKERS):
        return normal in SENSITIVE_KEYS or normal in {"xapikey", "proxyauthorization"}
    return not key.startswith(_SEMCONV_PREFIXES) and normal in SENSITIVE_KEYS


#: An absolute URL in free text (exception messages, status texts): its path and query go.
_URL_IN_TEXT_RE = re.compile(r"(?i)\b(https?://[^/\s'\"<>]+)/[^\s'\"<>)]*")
#: urllib3's "Max retries exceeded with url: /fhir/Patient/123?…" and similar relative URLs.
_RELATIVE_URL_RE = re.compile(r"(?i)\b(url: ?)/[^\s'\"<>)]*")
#: A FHIR reference in free text (``Patient/123``, ``DiagnosticReport/abc``): the id goes.
_FHIR_REFERENCE_RE = re.compile(r"\b([A-Z][A-Za-z]{2,})/([A-Za-z0-9.\-]{1,64})\b")


def scrub_span_text(text: str) -> str:
    """The log redaction (:func:`cds_service.observability.scrub_text`) plus the paths of URLs and the ids of
    FHIR references, which exception messages of HTTP clients carry."""
    text = _URL_IN_TEXT_RE.sub(lambda m: f"{m.group(1)}/{REDACTED}", text)
    text = _RELATIVE_URL_RE.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _FHIR_REFERENCE_RE.sub(lambda m: f"{m.group(1)}/{REDACTED}", text)
    return scrub_text(text)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_span_text(value)
    if isinstance(value, (list, tuple)):
        return tuple(_scrub(item) for item in value)
    return value


def redact_attributes(attributes: Mapping[str, Any] | None, *, server: bool) -> dict[str, Any]:
    """A redacted copy of span (or event) attributes; ``server``: the span answers an incoming request
    (paths become the route template), otherwise it is a client or internal span (URLs keep their origin)."""
    if not attributes:
        return {}
    route = attributes.get(_ROUTE_KEY)
    route = route if isinstance(route, str) and route else None
    redacted: dict[str, Any] = {}
    for key, value in attributes.items():
        if _sensitive_key(key):
            redacted[key] = REDACTED
        elif key in _FULL_URL_KEYS and isinstance(value, str):
            redacted[key] = _redact_full_url(value, route, server)
        elif key in _PATH_KEYS and isinstance(value, str):
            redacted[key] = _redact_path(value, route if server else None)
        elif key in _QUERY_KEYS:
            redacted[key] = REDACTED if value else value
        else:
            redacted[key] = _scrub(value)
    return redacted


def _redact_name(name: str, attributes: Mapping[str, Any]) -> str:
    """Span names are ``METHOD /route`` or ``METHOD``; anything path-like without a route is cut."""
    if "/" not in name and "?" not in name:
        return scrub_span_text(name)
    route = attributes.get(_ROUTE_KEY)
    method = name.split(" ", 1)[0]
    if isinstance(route, str) and route:
        return f"{method} {route}" if method.isupper() else route
    return f"{method} {REDACTED}" if method.isupper() else REDACTED


class RedactingSpanProcessor:
    """A span processor that passes ``inner`` (the exporting processor) a redacted copy of each finished
    span; nothing else of the span reaches the exporter."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self._inner.on_start(span, parent_context=parent_context)

    def _on_ending(self, span: Any) -> None:
        """Called by the SDK before a span ends; nothing to do (the copy is made in :meth:`on_end`)."""

    def on_end(self, span: ReadableSpan) -> None:
        self._inner.on_end(redacted_span(span))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` with its name, attributes, events, links and status redacted."""
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Link, SpanKind, Status

    server = span.kind is SpanKind.SERVER
    attributes = redact_attributes(span.attributes, server=server)
    events = [
        Event(
            name=scrub_span_text(event.name),
            attributes=redact_attributes(event.attributes, server=server),
            timestamp=event.timestamp,
        )
        for event in span.events
    ]
    links = [Link(link.context, redact_attributes(link.attributes, server=server)) for link in span.links]
    status = span.status
    if status.description:
        status = Status(status.status_code, scrub_span_text(status.description))
    return ReadableSpan(
        name=_redact_name(span.name, span.attributes or {}),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tracing:
    """The tracing of one app: its tracer provider (instrument the Flask app with :meth:`instrument_app`)."""

    provider: TracerProvider

    def instrument_engine(self, engine: Engine) -> None:
        """Trace the statements of ``engine`` (the service database)."""
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # The instrumentation declares SQLAlchemy < 2.1 while the event hooks it uses are unchanged in 2.1.
        SQLAlchemyInstrumentor().instrument(
            engine=engine, tracer_provider=self.provider, enable_commenter=False, skip_dep_check=True
        )

    def instrument_app(self, app: Flask) -> None:
        """Trace the app's requests (probes and ``/metrics`` excluded)."""
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor.instrument_app(  # type: ignore[no-untyped-call]
            app, tracer_provider=self.provider, excluded_urls=EXCLUDED_URLS, enable_commenter=False
        )
        app.extensions[EXTENSION_KEY] = self


def _exporter(mode: TracingMode) -> SpanExporter:
    if mode is TracingMode.CONSOLE:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # Standard error: standard output carries the JSON log lines.
        return ConsoleSpanExporter(out=sys.stderr)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_* (read by the exporter)


def start_tracing(mode: TracingMode, *, exporter: SpanExporter | None = None) -> Tracing | None:
    """Build the tracer provider and instrument ``requests``; ``None`` when ``mode`` is off
    and no ``exporter`` is given (tests pass an in-memory exporter, exported synchronously).

    Raises ``ImportError`` (with what to install) when the tracing extra is missing.
    """
    if mode is TracingMode.OFF and exporter is None:
        return None
    try:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor  # noqa: F401 - checked here
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor  # noqa: F401
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise ImportError(f"tracing is on but OpenTelemetry is not installed: {EXTRA_HINT}") from exc

    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME over this default.
    provider = TracerProvider(resource=Resource.create({"service.name": DEFAULT_SERVICE_NAME}))
    inner = SimpleSpanProcessor(exporter) if exporter is not None else BatchSpanProcessor(_exporter(mode))
    provider.add_span_processor(RedactingSpanProcessor(inner))  # type: ignore[arg-type]
    stop_tracing()  # a new app in the same process (tests) re-instruments with its own provider
    RequestsInstrumentor().instrument(tracer_provider=provider)
    return Tracing(provider=provider)


def stop_tracing(app: Flask | None = None) -> None:
    """Undo the process-wide instrumentation (and, given ``app``, its own, exporting the spans it still
    holds); harmless when none is on."""
    try:
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    except ImportError:
        return
    for instrumentor in (RequestsInstrumentor(), SQLAlchemyInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    if app is not None:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor.uninstrument_app(app)  # type: ignore[no-untyped-call]
        tracing = app.extensions.pop(EXTENSION_KEY, None)
        if isinstance(tracing, Tracing):
            tracing.provider.shutdown()  # exports what the batch processor still holds
