"""Liveness, readiness and metrics endpoints (``operations.md`` §5, §6).

``/healthz`` answers while the process runs (liveness: no dependency checks). ``/readyz`` answers 200 when
the settings loaded (they did, or the app would not exist), the database is reachable and the PET series
index has had its first pass since the start (``cds_service.pet.wiring``); the database check is cached for
``READY_CACHE_S`` so that probes never cause a live call per probe. ``/metrics``
renders Prometheus metrics from ``observability.render_metrics`` (all gunicorn workers in multiprocess mode),
with the database-backed gauges of ``observability.DatabaseCollector``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import Blueprint, Response, jsonify

from cds_service.hooks.routes import components
from cds_service.observability import DatabaseCollector, render_metrics

READY_CACHE_S = 5.0
"""How long a database reachability result is reused by ``/readyz``, in seconds."""

bp = Blueprint("health", __name__)


class ReadinessCheck:
    """A cached, thread-safe readiness probe over ``ping`` (for example ``Storage.ping``), and optionally
    ``pet_index`` (whether the PET series index had its first pass; cheap, never cached)."""

    def __init__(
        self,
        ping: Callable[[], bool],
        ttl_s: float = READY_CACHE_S,
        *,
        pet_index: Callable[[], bool] | None = None,
    ) -> None:
        self._ping = ping
        self._pet_index = pet_index
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._ok = False

    def __call__(self) -> bool:
        return self.database() and self.pet_index()

    def pet_index(self) -> bool:
        """Whether the PET series index is ready (True without a PET index check)."""
        return self._pet_index is None or self._pet_index()

    def database(self) -> bool:
        """Whether the database answered (cached for ``ttl_s``)."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= self._ttl_s:
                try:
                    self._ok = bool(self._ping())
                except Exception:  # any failure of the probe means "not ready"
                    self._ok = False
                self._checked_at = now
            return self._ok


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    parts = components()
    check = parts.readiness
    ready = check() if check is not None else True
    body = {"status": "ready" if ready else "not ready"}
    if isinstance(check, ReadinessCheck):
        body["database"] = "ok" if check.database() else "unreachable"
        body["pet_index"] = "ok" if check.pet_index() else "first pass running"
    else:
        body["database"] = "ok" if ready else "unreachable"
    resp = jsonify(body)
    resp.status_code = 200 if ready else 503
    return resp


@bp.get("/metrics")
def metrics() -> Response:
    parts = components()
    extra = [DatabaseCollector(parts.storage.last_success)] if parts.storage is not None else []
    body, content_type = render_metrics(parts.settings.prometheus_multiproc_dir, extra=extra)
    return Response(body, content_type=content_type)
