"""The review worklist and the alert evidence page: signed links, as the card's evidence page.

- ``GET /alerts/worklist/<token>``: every alert with its title, basis, age, state (new / acknowledged /
  done, with who and when) and delivery status; ``?state=new|acknowledged|done|open|all`` filters (default
  ``open``: new and acknowledged), ``?sort=age|scenario|state`` sorts (default newest first).
- ``POST /alerts/worklist/<token>/<alert_key>/acknowledge`` and ``…/done`` (with an ``outcome``, see
  :data:`REVIEW_OUTCOMES`): move an alert forward, recorded with the reviewer named in the link and the
  time (and counted, without the reviewer, in the feedback report: ``cds_service.analytics.report``); the
  form carries a CSRF token bound to the link
  (itsdangerous, its own salt), and a POST without it, or with one made for another link, is refused (403).
- ``GET /alerts/evidence/<token>``: the evidence page of one alert (the snapshot stored when it was raised),
  valid ``evidence_ttl_days``; the Task's ``input`` and the worklist link to it (the worklist stops linking
  it once the snapshot has expired, and says so).

A worklist link (``her2-cds alerts link --reviewer NAME``) is a token signed with ``HER2CDS_LINK_SECRET``
carrying only the reviewer's name and the signing time, valid ``--hours`` (default 12): the link is the
credential, as for the evidence page, so it goes to one reviewer by a trusted channel. The pages show the
EHR patient reference and clinical content (PHI): ``no-store``, ``no-referrer``, no scripts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, cast

from flask import Blueprint, Response, current_app, redirect, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cds_service.evidence.routes import capability_page_headers
from cds_service.evidence.view import page_model
from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.settings import Settings
from cds_service.storage.store import AlertRecord, AlertState

__all__ = ["bp", "evidence_url", "read_worklist_token", "worklist_url"]

WORKLIST_SALT: Final = "her2cds.alert-worklist.v1"
EVIDENCE_SALT: Final = "her2cds.alert-evidence.v1"
CSRF_SALT: Final = "her2cds.alert-worklist-csrf.v1"
DEFAULT_LINK_HOURS: Final = 12.0
ALERT_EVIDENCE_DAYS_KEY: Final = "her2cds.alert-evidence-days"
WORKLIST_HOURS_KEY: Final = "her2cds.alert-worklist-hours"

_HEADERS: Final = capability_page_headers(form_action="'self'")
"""As the evidence page, except that the page posts its own acknowledge/done forms."""


def _serializer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.link_signing_key, salt=salt)


def worklist_url(settings: Settings, reviewer: str) -> str:
    """A signed worklist link for ``reviewer`` (a name or user id shown as who acknowledged)."""
    token = _serializer(settings, WORKLIST_SALT).dumps({"reviewer": reviewer})
    return f"{settings.base_url}/alerts/worklist/{token}"


def read_worklist_token(settings: Settings, token: str, max_age_s: float) -> str | None:
    """The reviewer of a valid worklist token, or None (forged, malformed, too old)."""
    try:
        value = _serializer(settings, WORKLIST_SALT).loads(token, max_age=int(max_age_s))
    except BadSignature:
        return None
    reviewer = value.get("reviewer") if isinstance(value, dict) else None
    return reviewer if isinstance(reviewer, str) and reviewer else None


def evidence_url(settings: Settings, evidence_id: str | None) -> str | None:
    """The signed evidence-page link of one alert (None when it has no snapshot)."""
    if evidence_id is None:
        return None
    return f"{settings.base_url}/alerts/evidence/{_serializer(settings, EVIDENCE_SALT).dumps(evidence_id)}"


bp = Blueprint("alerts", __name__)


def _components() -> Components:
    return cast(Components, current_app.extensions[EXTENSION_KEY])


def _page(html: str, status: int = 200) -> Response:
    return Response(html, status=status, mimetype="text/html", headers=_HEADERS)


def _denied(status: int) -> Response:
    return _page(render_template("evidence_error.html", status=status), status)


def _reviewer(token: str) -> str | None:
    hours = float(current_app.extensions.get(WORKLIST_HOURS_KEY, DEFAULT_LINK_HOURS))
    return read_worklist_token(_components().settings, token, hours * 3600)


def _csrf(token: str) -> str:
    return str(_serializer(_components().settings, CSRF_SALT).dumps(token[-32:]))


def _csrf_ok(token: str, submitted: str | None) -> bool:
    if not submitted:
        return False
    try:
        value = _serializer(_components().settings, CSRF_SALT).loads(submitted, max_age=24 * 3600)
    except BadSignature:
        return False
    return bool(value == token[-32:])


REVIEW_OUTCOMES: Final = {
    "reviewed-action": "Reviewed: action taken (e.g. referral, retesting, therapy discussion)",
    "reviewed-no-change": "Reviewed: no change to the plan",
    "not-applicable": "Not applicable to this patient",
    "already-addressed": "Already addressed elsewhere",
}
"""What a reviewer records when closing an alert (``done``); counted by the feedback report per scenario."""
OWNER_SOURCES: Final = {"care-team": "treating oncologist from the care team", "pool": "review pool"}

_SORTS: Final = {
    "age": lambda a: a.created_at,
    "scenario": lambda a: (a.scenario, a.created_at),
    "state": lambda a: (a.state.value, a.created_at),
}
_FILTERS: Final = {
    "open": (AlertState.NEW, AlertState.ACKNOWLEDGED),
    "new": (AlertState.NEW,),
    "acknowledged": (AlertState.ACKNOWLEDGED,),
    "done": (AlertState.DONE,),
    "all": (),
}


def _age(created: dt.datetime, now: dt.datetime) -> str:
    seconds = max(0, int((now - created).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def _row(alert: AlertRecord, now: dt.datetime) -> dict[str, Any]:
    settings = _components().settings
    days = float(current_app.extensions.get(ALERT_EVIDENCE_DAYS_KEY, 30))
    live = now - alert.created_at < dt.timedelta(days=days)
    return {
        "alert": alert,
        "age": _age(alert.created_at, now),
        "evidence": evidence_url(settings, alert.evidence_id) if live else None,
    }


@bp.get("/alerts/worklist/<token>")
def worklist(token: str) -> Response:
    """The worklist page (HTML); 403 for a forged or expired link."""
    reviewer = _reviewer(token)
    storage = _components().storage
    if reviewer is None or storage is None:
        return _denied(403)
    state = request.args.get("state", "open")
    sort = request.args.get("sort", "age")
    if state not in _FILTERS or sort not in _SORTS:
        return _denied(400)
    alerts = list(storage.list_alerts(states=_FILTERS[state]))
    alerts.sort(key=_SORTS[sort], reverse=sort == "age")
    now = storage.now()
    html = render_template(
        "worklist.html",
        rows=[_row(a, now) for a in alerts],
        reviewer=reviewer,
        token=token,
        csrf=_csrf(token),
        state=state,
        sort=sort,
        filters=list(_FILTERS),
        sorts=list(_SORTS),
        outcomes=REVIEW_OUTCOMES,
        owner_sources=OWNER_SOURCES,
    )
    return _page(html)


@bp.post("/alerts/worklist/<token>/<alert_key>/<action>")
def act(token: str, alert_key: str, action: str) -> Response:
    """Acknowledge or close one alert (``done`` with an ``outcome`` among :data:`REVIEW_OUTCOMES`, or
    none); 303 back to the worklist, 403 without a valid link and CSRF token, 400 for an unknown outcome,
    404 for an unknown alert or action, 409 when the alert is already past that state."""
    reviewer = _reviewer(token)
    storage = _components().storage
    if reviewer is None or storage is None or not _csrf_ok(token, request.form.get("csrf")):
        return _denied(403)
    states = {"acknowledge": AlertState.ACKNOWLEDGED, "done": AlertState.DONE}
    if action not in states or storage.get_alert(alert_key) is None:
        return _denied(404)
    outcome = (request.form.get("outcome") or None) if action == "done" else None
    if outcome is not None and outcome not in REVIEW_OUTCOMES:
        return _denied(400)
    if not storage.set_alert_state(alert_key, states[action], by=reviewer, outcome=outcome):
        return _denied(409)
    return cast(Response, redirect(f"/alerts/worklist/{token}", code=303))


@bp.get("/alerts/evidence/<token>")
def alert_evidence(token: str) -> Response:
    """The evidence page of one alert; 403 for a forged or expired link, 404 for a vanished snapshot."""
    parts = _components()
    days = float(current_app.extensions.get(ALERT_EVIDENCE_DAYS_KEY, 30))
    try:
        evidence_id = _serializer(parts.settings, EVIDENCE_SALT).loads(token, max_age=int(days * 86400))
    except BadSignature:
        return _denied(403)
    payload = (
        parts.storage.get_evidence(evidence_id) if parts.storage and isinstance(evidence_id, str) else None
    )
    if payload is None:
        return _denied(404)
    html = render_template("evidence.html", page=page_model(payload), token=token, has_picture=False)
    return _page(html)
