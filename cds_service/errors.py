"""HTTP errors rendered as FHIR ``OperationOutcome`` bodies (``cds-hooks.md`` §8).

Every non-2xx response carries an OperationOutcome with ``Content-Type: application/json``. Diagnostics
never contain tokens, PHI or stack traces; a 401 carries no diagnostics at all (best practices: no hint to
an attacker). An upstream outage is never an error here: the service answers with a ``data-unavailable``
card instead.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from cds_service.observability import get_logger

log = get_logger(__name__)


class IssueCode(StrEnum):
    """FHIR ``IssueType`` codes used by this service (http://hl7.org/fhir/R4/valueset-issue-type.html)."""

    INVALID = "invalid"
    REQUIRED = "required"
    LOGIN = "login"
    NOT_FOUND = "not-found"
    NOT_SUPPORTED = "not-supported"
    INCOMPLETE = "incomplete"
    PROCESSING = "processing"
    EXCEPTION = "exception"
    TOO_LONG = "too-long"
    TOO_COSTLY = "too-costly"


def operation_outcome(code: IssueCode, diagnostics: str | None = None) -> dict[str, Any]:
    """A one-issue OperationOutcome; ``diagnostics`` omitted when None (CH-2: no empty elements)."""
    issue: dict[str, Any] = {"severity": "error", "code": code.value}
    if diagnostics:
        issue["diagnostics"] = diagnostics
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class HttpError(Exception):
    """Base of the service's HTTP errors: a status, an issue code and safe diagnostics."""

    status = 500
    code = IssueCode.EXCEPTION

    def __init__(self, diagnostics: str | None = None) -> None:
        super().__init__(diagnostics or self.code.value)
        self.diagnostics = diagnostics

    def response(self) -> Response:
        resp = jsonify(operation_outcome(self.code, self.diagnostics))
        resp.status_code = self.status
        return resp


class BadRequestError(HttpError):
    """400: malformed JSON, a missing or invalid field, ``fhirAuthorization`` without ``fhirServer``."""

    status = 400
    code = IssueCode.INVALID


class InputLimitError(BadRequestError):
    """400 with issue code ``too-costly``: the body breaks an input limit (JSON depth, Bundle entries, string
    length; ``docs/configuration.md``), refused before any work is done on it."""

    code = IssueCode.TOO_COSTLY


class MissingFieldError(BadRequestError):
    """400 with issue code ``required``: a required field is absent."""

    code = IssueCode.REQUIRED


class UnsupportedMediaTypeError(HttpError):
    """415: the body is not ``application/json``."""

    status = 415
    code = IssueCode.NOT_SUPPORTED


class UnauthorizedError(HttpError):
    """401: missing, invalid or untrusted JWT. Never carries diagnostics (CH-35)."""

    status = 401
    code = IssueCode.LOGIN

    def __init__(self, diagnostics: str | None = None) -> None:
        super().__init__(None)


class NotFoundError(HttpError):
    """404: unknown service id or route."""

    status = 404
    code = IssueCode.NOT_FOUND


class PreconditionFailedError(HttpError):
    """412: required FHIR data could not be obtained (CH-17, [I-54])."""

    status = 412
    code = IssueCode.INCOMPLETE


class UnprocessableError(HttpError):
    """422: data present but unusable."""

    status = 422
    code = IssueCode.PROCESSING


_STATUS_CODES: dict[int, IssueCode] = {
    400: IssueCode.INVALID,
    401: IssueCode.LOGIN,
    404: IssueCode.NOT_FOUND,
    405: IssueCode.NOT_SUPPORTED,
    412: IssueCode.INCOMPLETE,
    413: IssueCode.TOO_LONG,
    414: IssueCode.TOO_LONG,
    415: IssueCode.NOT_SUPPORTED,
    422: IssueCode.PROCESSING,
    431: IssueCode.TOO_LONG,
}


def _from_werkzeug(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _STATUS_CODES.get(status, IssueCode.EXCEPTION if status >= 500 else IssueCode.INVALID)
    diagnostics = None if status in (401, 500) else (exc.name or None)
    resp = jsonify(operation_outcome(code, diagnostics))
    resp.status_code = status
    if status == 405:
        allowed = exc.get_headers()
        for name, value in allowed:
            if name.lower() == "allow":
                resp.headers["Allow"] = value
    return resp


def register_error_handlers(app: Flask) -> None:
    """Render every error, including Werkzeug's routing errors and unexpected exceptions, as an
    OperationOutcome."""

    @app.errorhandler(HttpError)
    def _http_error(exc: HttpError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _werkzeug_error(exc: HTTPException) -> Response:
        return _from_werkzeug(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", **{"error_type": type(exc).__name__})
        resp = jsonify(operation_outcome(IssueCode.EXCEPTION, "internal error"))
        resp.status_code = 500
        return resp
