"""The feedback-report page for the oncology lead, behind a signed, short-lived link.

Authentication is the one the evidence links use (``cds_service.evidence.routes``): the URL carries an
itsdangerous ``URLSafeTimedSerializer`` token signed with ``HER2CDS_LINK_SECRET`` (or the data-directory
key), valid for ``HER2CDS_EVIDENCE_TTL_S`` seconds. Its own salt keeps an evidence token from opening the
report and the other way round. The token holds only the reporting period (two dates); the page reads the
database when it is opened, so a link shows the figures of that moment. ``her2-cds feedback-report --link``
prints one.

Routes: ``GET /feedback-report/<token>`` (server-rendered HTML, no JavaScript, no external assets) and
``GET /feedback-report/<token>/chart.png`` (the chart of ``render.to_png``). A forged, malformed or expired
token gives 403, a deployment without a database 404, each as a page that says nothing about why.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Final, cast

from flask import Blueprint, Response, current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cds_service.analytics.render import period_label, report_json, to_png
from cds_service.analytics.report import FeedbackReport, Period, build_report
from cds_service.evidence.routes import capability_page_headers
from cds_service.hooks.registry import EXTENSION_KEY, Components

if TYPE_CHECKING:
    from cds_service.settings import Settings

__all__ = ["REPORT_SALT", "bp", "read_report_token", "report_link", "sign_report_token"]

REPORT_SALT: Final = "her2cds.feedback-report-link.v1"  # a public namespace, not a secret
"""Namespaces the signature apart from the evidence links signed with the same secret."""

bp = Blueprint("feedback_report", __name__)

_PAGE_HEADERS: Final = capability_page_headers()
"""As the evidence page: never cached, indexed or framed, the token never leaks through a Referer."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.link_signing_key, salt=REPORT_SALT)


def sign_report_token(settings: Settings, since: dt.date, until: dt.date) -> str:
    """A URL-safe token for the days ``since`` … ``until`` (inclusive), signed now."""
    if until < since:
        raise ValueError("until must not be before since")
    return _serializer(settings).dumps({"since": since.isoformat(), "until": until.isoformat()})


def read_report_token(settings: Settings, token: str, *, now: dt.datetime | None = None) -> Period | None:
    """The period in ``token``; None when forged, malformed or older than ``settings.evidence_ttl_s``.

    ``now`` (timezone-aware) replaces the clock in tests.
    """
    serializer = _serializer(settings)
    try:
        if now is None:
            value: Any = serializer.loads(token, max_age=settings.evidence_ttl_s)
        else:
            value, signed_at = serializer.loads(token, return_timestamp=True)
            age_s = (now - signed_at).total_seconds()
            if age_s > settings.evidence_ttl_s or age_s < -60:
                return None
        since = dt.date.fromisoformat(value["since"])
        until = dt.date.fromisoformat(value["until"])
        return Period.from_dates(since, until)
    except (BadSignature, KeyError, TypeError, ValueError):  # SignatureExpired is a BadSignature
        return None


def report_link(settings: Settings, since: dt.date, until: dt.date) -> str:
    """``{HER2CDS_PUBLIC_URL}/feedback-report/{token}`` (root-relative without a public URL)."""
    return f"{settings.base_url}/feedback-report/{sign_report_token(settings, since, until)}"


def _components() -> Components:
    return cast(Components, current_app.extensions[EXTENSION_KEY])


def _denied(status: int) -> Response:
    html = render_template("feedback_report_error.html", status=status)
    return Response(html, status=status, mimetype="text/html", headers=_PAGE_HEADERS)


def _report(token: str) -> FeedbackReport | Response:
    parts = _components()
    period = read_report_token(parts.settings, token)
    if period is None:
        return _denied(403)
    if parts.storage is None:
        return _denied(404)
    return build_report(parts.storage.engine, period)


@bp.get("/feedback-report/<token>")
def feedback_report_page(token: str) -> Response:
    """The report page (HTML): rates per card topic, override reasons, the chart."""
    found = _report(token)
    if isinstance(found, Response):
        return found
    html = render_template(
        "feedback_report.html",
        report=report_json(found),
        period=period_label(found.period),
        token=token,
    )
    return Response(html, mimetype="text/html", headers=_PAGE_HEADERS)


@bp.get("/feedback-report/<token>/chart.png")
def feedback_report_chart(token: str) -> Response:
    """The chart of the report as PNG."""
    found = _report(token)
    if isinstance(found, Response):
        return found
    headers = {k: v for k, v in _PAGE_HEADERS.items() if k != "Content-Security-Policy"}
    return Response(to_png(found), mimetype="image/png", headers=headers)
