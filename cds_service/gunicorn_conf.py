"""gunicorn configuration (``operations.md`` §3): gthread workers for an I/O-bound service.

Every value can be overridden on the gunicorn command line. ``workers`` comes from ``WEB_CONCURRENCY``
(gunicorn's own convention; default 2: scale pods, not workers), ``threads`` from ``GUNICORN_THREADS``
(default 8), ``max_requests`` from ``GUNICORN_MAX_REQUESTS`` (default 1000; 0 never recycles a worker).
``forwarded_allow_ips`` comes from ``FORWARDED_ALLOW_IPS`` (the ingress range; never ``*``).
The ``child_exit`` hook marks a dead worker for the Prometheus multiprocess collector when
``PROMETHEUS_MULTIPROC_DIR`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30
graceful_timeout = 25
keepalive = 5
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - heartbeat files, tmpfs
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))  # 0: never recycle (soak runs)
max_requests_jitter = 100
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The control socket lives under $HOME, which is read-only in the container; the service does not use it.
control_socket_disable = True


def child_exit(server: Any, worker: Any) -> None:
    """Prometheus multiprocess mode: forget the metrics files of a dead worker (operations.md §6)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from cds_service.observability import mark_worker_dead

        mark_worker_dead(worker.pid, directory)


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
        "forwarded_allow_ips": forwarded_allow_ips,
        "child_exit": child_exit,
        "control_socket_disable": control_socket_disable,
    }
