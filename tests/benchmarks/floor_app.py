"""The benchmark floors: what any endpoint costs under the service's own gunicorn settings.

``python -m tests.benchmarks.floor_app --port P`` serves, from a bare Flask app, through the same embedded
gunicorn application and options as ``her2-cds serve`` (``cds_service/gunicorn_conf.py``: ``WEB_CONCURRENCY``
workers × ``GUNICORN_THREADS`` threads, gthread, access log on stdout, worker recycling):

- ``GET /floor`` → ``{"status": "ok"}``: the trivial JSON endpoint (issue 8's yardstick);
- ``POST /floor-signed`` (when ``BENCH_FLOOR_PUBLIC_KEY``, ``BENCH_FLOOR_AUDIENCE`` and
  ``BENCH_FLOOR_DATABASE`` are set): the work every hook call must do whatever it answers — the client JWT's
  ES384 signature and claims checked with PyJWT, the JSON body parsed, and the token id committed as one row
  in SQLite (WAL, ``synchronous=NORMAL``, as the service's hook write) — and nothing else. What a hook costs
  above this floor is the hook's own work (mapping, PET, rules, cards, audit, evidence, logging, metrics).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import threading
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, Response, jsonify, request

from cds_service.cli.serve import ServiceApplication, gunicorn_options

SIGNED_FLOOR_PATH = "/floor-signed"


def create_floor_app() -> Flask:
    app = Flask(__name__)

    @app.get("/floor")
    def floor() -> Response:
        return jsonify({"status": "ok"})

    key_path = os.environ.get("BENCH_FLOOR_PUBLIC_KEY")
    audience = os.environ.get("BENCH_FLOOR_AUDIENCE")
    database = os.environ.get("BENCH_FLOOR_DATABASE")
    if key_path and audience and database:
        _add_signed_floor(app, Path(key_path), audience, database)
    return app


def _add_signed_floor(app: Flask, key_path: Path, audience: str, database: str) -> None:
    key = load_pem_public_key(key_path.read_bytes())
    local = threading.local()

    def connection() -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(database, isolation_level=None, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS token_ids (jti TEXT PRIMARY KEY)")
            local.conn = conn
        return conn

    @app.post(SIGNED_FLOOR_PATH)
    def floor_signed() -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(
            token,
            key,  # type: ignore[arg-type]
            algorithms=["ES384"],
            audience=audience,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
        body = json.loads(request.get_data())
        conn = connection()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO token_ids (jti) VALUES (?)", (claims["jti"],))
        conn.execute("COMMIT")
        return jsonify({"status": "ok", "members": len(body)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    ServiceApplication(create_floor_app, gunicorn_options(args.host, args.port)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
