"""``her2-cds serve [--host H] [--port P]``: run the service under gunicorn (gthread workers).

Settings come from the ``HER2CDS_*`` environment (``Settings.from_env``), validated before gunicorn starts
so a misconfiguration fails at once with a message naming the variable. Worker settings come from
``cds_service/gunicorn_conf.py`` (``WEB_CONCURRENCY`` workers × 8 threads, ``operations.md`` §3); the app
is built once per worker (no preload, so each worker opens its own database connections).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from cds_service.settings import Settings, SettingsError


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(f"her2-cds serve: configuration error: {exc}", file=sys.stderr)
        return 2

    def factory() -> Any:
        from cds_service import create_app

        return create_app(settings)

    ServiceApplication(factory, gunicorn_options(args.host, args.port)).run()
    return 0
