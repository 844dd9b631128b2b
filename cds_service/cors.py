"""CORS for browser CDS clients (``cds-hooks.md`` CH-36, CH-37).

Preflight ``OPTIONS`` on ``/cds-services``, ``/cds-services/{id}`` and ``/cds-services/{id}/feedback`` is
answered with 204 **without** a JWT (browsers send no ``Authorization`` on preflight). Only allow-listed
origins (``HER2CDS_CORS_ORIGINS``) are echoed back; ``*`` (development only, enforced by ``Settings``)
allows any origin. No credentials mode.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE_S = "600"
_PREFIX = "/cds-services"


def _allowed(origin: str | None, origins: tuple[str, ...]) -> bool:
    return bool(origin) and ("*" in origins or origin in origins)


def register_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Install the preflight handler and the ``Access-Control-Allow-Origin`` header on CDS Hooks responses."""

    @app.before_request
    def _preflight() -> Response | None:
        if request.method != "OPTIONS" or not (
            request.path == _PREFIX or request.path.startswith(_PREFIX + "/")
        ):
            return None
        resp = Response(status=204)
        del resp.headers["Content-Type"]  # no content, so no type (never text/html)
        resp.headers["Vary"] = "Origin"
        origin = request.headers.get("Origin")
        if _allowed(origin, origins):
            assert origin is not None
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
            resp.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            resp.headers["Access-Control-Max-Age"] = MAX_AGE_S
        return resp

    @app.after_request
    def _allow_origin(resp: Response) -> Response:
        if request.method == "OPTIONS" or not request.path.startswith(_PREFIX):
            return resp
        resp.vary.add("Origin")
        origin = request.headers.get("Origin")
        if _allowed(origin, origins):
            assert origin is not None
            resp.headers["Access-Control-Allow-Origin"] = origin
        return resp
