"""``her2-cds serve [--host H] [--port P] [--migrate]``: run the service under gunicorn (gthread workers).

The container's entry point. Settings come from the ``HER2CDS_*`` environment (``Settings.from_env``) and are
checked before gunicorn starts (``check_configuration``: trusted clients, writable directories, the database
schema), so a misconfiguration is one line on stderr and exit status 2, never a traceback per worker. The
Prometheus multiprocess directory is created and emptied here, once, before the workers fork. ``--migrate``
upgrades the schema first (a single host; the Helm chart runs ``her2-cds migrate`` instead). Worker settings
come from ``cds_service/gunicorn_conf.py`` (``WEB_CONCURRENCY`` workers × 8 threads, ``operations.md`` §3);
the app is built once per worker (no preload, so each worker opens its own database connections).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from cds_service.settings import Settings


class ServiceApplication(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn embedded application: ``options`` are gunicorn settings, ``factory`` builds the WSGI app."""

    def __init__(self, factory: Callable[[], Any], options: Mapping[str, Any]) -> None:
        self._factory = factory
        self._options = dict(options)
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self._factory()


def gunicorn_options(host: str, port: int, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The gunicorn settings of ``gunicorn_conf`` with ``bind`` set to ``host:port``."""
    from cds_service import gunicorn_conf

    options = gunicorn_conf.settings_dict()
    options["bind"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options.update(overrides or {})
    return options


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the CDS Hooks service under gunicorn")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    parser.add_argument(
        "--migrate", action="store_true", help="upgrade the database schema first (single host only)"
    )
    parser.set_defaults(func=run)


def clear_multiprocess_dir(directory: Path | None) -> None:
    """Remove the metric files a previous run left in the Prometheus multiprocess directory (it must be empty
    when the workers start: a restarted container keeps its ``emptyDir``)."""
    if directory is None:
        return
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    from cds_service import check_configuration, prepare_directories

    settings = Settings.from_env(os.environ)
    if args.migrate:
        from cds_service.storage.store import Storage

        prepare_directories(settings)
        storage = Storage(settings.database_url)
        try:
            storage.migrate()
        finally:
            storage.dispose()
    check_configuration(settings)
    clear_multiprocess_dir(settings.prometheus_multiproc_dir)
    options = gunicorn_options(args.host, args.port, {"loglevel": settings.log_level.lower()})

    def factory() -> Any:
        from cds_service import create_app

        return create_app(settings)

    ServiceApplication(factory, options).run()
    return 0
