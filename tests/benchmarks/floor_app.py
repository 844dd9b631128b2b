"""The benchmark floor: a trivial JSON endpoint under the service's own gunicorn settings.

``python -m tests.benchmarks.floor_app --port P`` serves ``GET /floor`` → ``{"status": "ok"}`` from a bare
Flask app, through the same embedded gunicorn application and options as ``her2-cds serve``
(``cds_service/gunicorn_conf.py``: ``WEB_CONCURRENCY`` workers × ``GUNICORN_THREADS`` threads, gthread,
access log on stdout, worker recycling). What the hook costs above this is the service's own work.
"""

from __future__ import annotations

import argparse
import sys

from flask import Flask, Response, jsonify

from cds_service.cli.serve import ServiceApplication, gunicorn_options


def create_floor_app() -> Flask:
    app = Flask(__name__)

    @app.get("/floor")
    def floor() -> Response:
        return jsonify({"status": "ok"})

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    ServiceApplication(create_floor_app, gunicorn_options(args.host, args.port)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
