"""gunicorn configuration (``operations.md`` §3): gthread workers for an I/O-bound service.

Every value can be overridden on the gunicorn command line. ``workers`` comes from ``WEB_CONCURRENCY``
(gunicorn's own convention; default 2: scale pods, not workers), ``threads`` from ``GUNICORN_THREADS``
(default 8), ``max_requests`` from ``GUNICORN_MAX_REQUESTS`` (default 20000; 0 never recycles a worker).
``forwarded_allow_ips`` comes from ``FORWARDED_ALLOW_IPS`` (the ingress range; never ``*``).
The ``child_exit`` hook marks a dead worker for the Prometheus multiprocess collector when
``PROMETHEUS_MULTIPROC_DIR`` is set. :class:`JsonLogger` makes gunicorn's error and access logs the same JSON
lines as the service's (``observability.configure_logging``): an access line names the method, a path with
capability tokens removed (``/evidence/[REDACTED]``), the status, bytes and duration, never a query string.

The worker class is gunicorn's gthread worker answering its own refusals (request line over
``limit_request_line``: 414; headers over ``limit_request_field_size``/``limit_request_fields``: 431; a
malformed request: 400) as OperationOutcome JSON (:mod:`cds_service.serving`). ``GUNICORN_HEALTH_BIND``
(``host:port``, unset by default) opens a second listener on which every worker serves ``/healthz`` and
``/readyz`` from a thread outside the hook pool, so probes never queue behind hooks.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

#: Path segments that are capabilities (signed evidence links): logged as ``[REDACTED]``.
_CAPABILITY_PATH_RE = re.compile(r"^(/evidence/)[^/]+")


def loggable_path(path: str) -> str:
    """The request path fit for a log line: no query string, evidence-link tokens replaced."""
    from cds_service.observability import REDACTED

    return _CAPABILITY_PATH_RE.sub(lambda m: m.group(1) + REDACTED, path.split("?", 1)[0])


class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's logger with its error and access logs sent, as JSON lines, through the root handler of
    ``observability.configure_logging``."""

    def setup(self, cfg: Any) -> None:
        from cds_service.observability import configure_logging

        super().setup(cfg)
        configure_logging(str(cfg.loglevel).upper())
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if self.cfg.accesslog is None:
            return
        self.access_log.info(
            "http_request",
            extra={
                "method": req.method,
                "path": loggable_path(req.path or ""),
                "status": getattr(resp, "status_code", None),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
            },
        )


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "cds_service.serving.JsonErrorWorker"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30
graceful_timeout = 25
keepalive = 5
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - heartbeat files, tmpfs
# A recycled worker re-imports the service and pays about a second of CPU, and the hooks it held wait. The
# ten-minute soak (recycling off) grew worker memory by 2 % over 15,000 hooks per worker, so recycling is a
# guard, not a need: at 1000 a worker of a service answering 50 hooks/s restarted every 40 s.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))  # 0: never recycle (soak runs)
max_requests_jitter = 2000
accesslog = "-"
logger_class = JsonLogger
loglevel = logging.getLevelName(logging.INFO).lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
health_bind = os.environ.get("GUNICORN_HEALTH_BIND", "").strip()
# The control socket lives under $HOME, which is read-only in the container; the service does not use it.
control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: forget the metrics files of a dead worker (operations.md §6)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from cds_service.observability import mark_worker_dead

        mark_worker_dead(worker.pid, directory)


def when_ready(server: Any) -> None:
    """Master, before forking: bind the probe listener (``GUNICORN_HEALTH_BIND``) the workers inherit."""
    if health_bind:
        from cds_service.serving import bind_health_socket

        bind_health_socket(health_bind)
        server.log.info("probes (/healthz, /readyz) also served on %s", health_bind)


def post_worker_init(worker: Any) -> None:
    """Worker, app loaded: serve the probes on the inherited listener from a thread of its own."""
    if health_bind:
        from cds_service.serving import start_health_listener

        start_health_listener(worker.wsgi)


def settings_dict() -> dict[str, Any]:
    """The configuration above as gunicorn settings (used by ``her2-cds serve`` through
    ``BaseApplication``)."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": worker_class,
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": graceful_timeout,
        "keepalive": keepalive,
        "worker_tmp_dir": worker_tmp_dir,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests_jitter,
        "accesslog": accesslog,
        "logger_class": logger_class,
        "loglevel": loglevel,
        "forwarded_allow_ips": forwarded_allow_ips,
        "child_exit": child_exit,
        "when_ready": when_ready,
        "post_worker_init": post_worker_init,
        "control_socket_disable": control_socket_disable,
    }
