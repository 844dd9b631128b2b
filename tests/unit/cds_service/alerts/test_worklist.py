"""The review worklist and alert evidence pages through Flask's test client: rows with basis, age and state,
filter and sort, acknowledge/done with the link-bound CSRF token, and refused links."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from cds_service.alerts.worklist import evidence_url, worklist_url
from cds_service.analytics.report import Period, build_report
from cds_service.analytics.routes import sign_report_token
from cds_service.evidence.routes import build_payload
from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.storage.store import AlertState, NewAlert, Storage
from rules.assess import assess
from rules.domain import AssessInputs, Her2Result, IhcResult, IhcScore, SourceRef, SpecimenRef
from tests.unit.cds_service.cds_support import make_app

PUBLIC = "https://cds.example.org"
REVIEWER = "dr-onc-17"


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path, public_url=PUBLIC, link_secret="w" * 43)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _parts(app: Flask) -> Components:
    parts = app.extensions[EXTENSION_KEY]
    assert isinstance(parts, Components)
    return parts


def _path(url: str) -> str:
    assert url.startswith(PUBLIC + "/")
    return url[len(PUBLIC) :]


def _evidence_id(storage: Storage) -> str:
    result = Her2Result(
        specimen=SpecimenRef(id="S25-0091", collected=dt.date(2024, 2, 20)),
        ihc=IhcResult(score=IhcScore.ONE_PLUS),
        source=SourceRef(system="fhir", reference="Observation/her2-ihc-9"),
    )
    assessment = assess(AssessInputs(her2_results=(result,)), dt.datetime(2024, 4, 1, tzinfo=dt.UTC))
    return storage.save_evidence(dict(build_payload("pat-wl-1", assessment)), 86400)


def _raise(app: Flask, key: str, patient: str, scenario: str, *, age: dt.timedelta) -> None:
    """Store one alert raised ``age`` ago (a storage of its own whose clock stands then)."""
    url = _parts(app).settings.database_url
    raised_at = dt.datetime.now(dt.UTC) - age
    storage = Storage(url, clock=lambda: raised_at)
    try:
        alert = NewAlert(
            alert_key=key,
            patient_id=patient,
            scenario=scenario,
            reason="review-scenario",
            trigger="pet",
            title=f"Title of {key}",
            summary=f"Summary of {key}",
            basis=(f"Basis line of {key}",),
            evidence_id=_evidence_id(storage),
            rules_version="test",
        )
        assert storage.record_assessment(
            patient, scenario=scenario, cards=[scenario], alert=alert, channels=("fhir-task",)
        )
    finally:
        storage.dispose()


@pytest.fixture
def seeded(app: Flask) -> str:
    """Three alerts of different ages and scenarios; the worklist link path."""
    _raise(app, "key-old", "pat-wl-1", "her2-zero-pet-avid", age=dt.timedelta(days=3, hours=1))
    _raise(app, "key-mid", "pat-wl-2", "her2-low-pet-avid", age=dt.timedelta(hours=5, minutes=2))
    _raise(app, "key-new", "pat-wl-3", "her2-ultralow", age=dt.timedelta(minutes=7, seconds=1))
    return _path(worklist_url(_parts(app).settings, REVIEWER))


def _keys(page: str) -> list[str]:
    return re.findall(r'data-alert-key="([^"]+)"', page)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return html.unescape(found.group(1))


def _row(page: str, key: str) -> str:
    found = re.search(rf'<tr data-alert-key="{key}".*?</tr>', page, re.S)
    assert found is not None
    return found.group(0)


def test_open_alerts_listed_newest_first_with_basis_age_state_and_evidence(
    client: FlaskClient, seeded: str
) -> None:
    resp = client.get(seeded)
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"].startswith("no-store")
    page = resp.get_data(as_text=True)
    assert _keys(page) == ["key-new", "key-mid", "key-old"]
    row = _row(page, "key-mid")
    assert "pat-wl-2" in row
    assert "Basis line of key-mid" in row
    assert ">5 h<" in row
    assert 'data-state="new"' in row
    assert "fhir-task: pending" in row
    assert f'href="{PUBLIC}/alerts/evidence/' in row
    assert ">3 d<" in _row(page, "key-old")
    assert ">7 min<" in _row(page, "key-new")
    assert REVIEWER in page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("age", ["key-new", "key-mid", "key-old"]),
        ("scenario", ["key-mid", "key-new", "key-old"]),
    ],
)
def test_sort(client: FlaskClient, seeded: str, sort: str, expected: list[str]) -> None:
    assert _keys(client.get(f"{seeded}?sort={sort}").get_data(as_text=True)) == expected


def _post(client: FlaskClient, link: str, key: str, action: str, csrf: str | None) -> int:
    data = {} if csrf is None else {"csrf": csrf}
    return client.post(f"{link}/{key}/{action}", data=data).status_code


def test_acknowledge_then_done_recorded_with_reviewer_and_filtered(
    app: Flask, client: FlaskClient, seeded: str
) -> None:
    csrf = _csrf(client.get(seeded).get_data(as_text=True))
    assert _post(client, seeded, "key-old", "acknowledge", csrf) == 303
    assert _post(client, seeded, "key-mid", "done", csrf) == 303
    storage = _parts(app).storage
    assert storage is not None
    acknowledged = storage.get_alert("key-old")
    assert acknowledged is not None
    assert (acknowledged.state, acknowledged.acknowledged_by) == (AlertState.ACKNOWLEDGED, REVIEWER)
    assert acknowledged.acknowledged_at is not None
    row = _row(client.get(seeded).get_data(as_text=True), "key-old")
    assert f"acknowledged by {REVIEWER}" in row
    assert "/acknowledge" not in row  # only Done is left
    assert _keys(client.get(seeded).get_data(as_text=True)) == ["key-new", "key-old"]  # open by default
    assert _keys(client.get(f"{seeded}?state=done").get_data(as_text=True)) == ["key-mid"]
    assert _keys(client.get(f"{seeded}?state=new").get_data(as_text=True)) == ["key-new"]
    assert _keys(client.get(f"{seeded}?state=acknowledged").get_data(as_text=True)) == ["key-old"]
    assert len(_keys(client.get(f"{seeded}?state=all").get_data(as_text=True))) == 3
    # a closed alert cannot move again; an unknown alert or action is not found
    assert _post(client, seeded, "key-mid", "acknowledge", csrf) == 409
    assert _post(client, seeded, "no-such-key", "done", csrf) == 404
    assert _post(client, seeded, "key-new", "delete", csrf) == 404


def test_done_records_the_outcome_which_the_feedback_report_counts(
    app: Flask, client: FlaskClient, seeded: str
) -> None:
    page = client.get(seeded).get_data(as_text=True)
    assert 'name="outcome"' in _row(page, "key-mid")
    csrf = _csrf(page)
    storage = _parts(app).storage
    assert storage is not None
    done = client.post(f"{seeded}/key-mid/done", data={"csrf": csrf, "outcome": "reviewed-action"})
    assert done.status_code == 303
    closed = storage.get_alert("key-mid")
    assert closed is not None
    assert (closed.state, closed.outcome, closed.done_by) == (AlertState.DONE, "reviewed-action", REVIEWER)
    row = _row(client.get(f"{seeded}?state=done").get_data(as_text=True), "key-mid")
    assert "Reviewed: action taken" in row
    bad = client.post(f"{seeded}/key-new/done", data={"csrf": csrf, "outcome": "eligible"})
    assert bad.status_code == 400
    still = storage.get_alert("key-new")
    assert still is not None
    assert still.state is AlertState.NEW
    start = storage.now() - dt.timedelta(days=1)
    report = build_report(storage.engine, Period(start=start, end=start + dt.timedelta(days=2)))
    assert report.alerts_total is not None
    assert (report.alerts_total.source, report.alerts_total.done) == ("worklist", 1)
    assert report.alerts_total.outcomes == (("reviewed-action", 1),)
    today = storage.now().date()
    token = sign_report_token(_parts(app).settings, today - dt.timedelta(days=1), today)
    page = client.get(f"/feedback-report/{token}").get_data(as_text=True)
    table = re.search(r'<table class="data" id="alerts">.*?</table>', page, re.S)
    assert table is not None
    assert "reviewed-action (1)" in table.group(0)
    assert "worklist" in table.group(0)
    assert "pat-wl-" not in page
    assert REVIEWER not in page


def test_the_worklist_stops_linking_expired_evidence(app: Flask, client: FlaskClient, seeded: str) -> None:
    _raise(app, "key-stale", "pat-wl-4", "her2-zero-pet-avid", age=dt.timedelta(days=31))
    page = client.get(f"{seeded}?state=all").get_data(as_text=True)
    assert "/alerts/evidence/" not in _row(page, "key-stale")
    assert "evidence snapshot expired" in _row(page, "key-stale")
    assert "/alerts/evidence/" in _row(page, "key-old")


def test_unknown_filter_or_sort_is_a_client_error(client: FlaskClient, seeded: str) -> None:
    assert client.get(f"{seeded}?state=everything").status_code == 400
    assert client.get(f"{seeded}?sort=patient").status_code == 400


def test_post_without_or_with_a_foreign_csrf_token_is_refused(
    app: Flask, client: FlaskClient, seeded: str
) -> None:
    other = _path(worklist_url(_parts(app).settings, "someone-else"))
    foreign = _csrf(client.get(other).get_data(as_text=True))
    own = _csrf(client.get(seeded).get_data(as_text=True))
    for csrf in (None, "", "not-a-token", foreign, own[:-2] + ("AA" if own[-2:] != "AA" else "BB")):
        resp = client.post(f"{seeded}/key-new/acknowledge", data={} if csrf is None else {"csrf": csrf})
        assert resp.status_code == 403
        assert resp.mimetype == "text/html"
    storage = _parts(app).storage
    assert storage is not None
    alert = storage.get_alert("key-new")
    assert alert is not None
    assert alert.state is AlertState.NEW


def _tampered(path: str) -> str:
    token = path.rsplit("/", 1)[1]
    middle = len(token) - 8
    return path[: -len(token)] + token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def _signed_hours_ago(monkeypatch: pytest.MonkeyPatch, hours: float, make: Callable[[], str]) -> str:
    stamp = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).timestamp())
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: stamp)
        return make()


def test_tampered_or_expired_worklist_link_refused(
    app: Flask, client: FlaskClient, seeded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _parts(app).settings
    expired = _path(_signed_hours_ago(monkeypatch, 13, lambda: worklist_url(settings, REVIEWER)))
    recent = _path(_signed_hours_ago(monkeypatch, 11, lambda: worklist_url(settings, REVIEWER)))
    assert client.get(recent).status_code == 200
    csrf = _csrf(client.get(seeded).get_data(as_text=True))
    for link in (expired, _tampered(seeded), "/alerts/worklist/not-a-token"):
        resp = client.get(link)
        assert resp.status_code == 403
        assert "pat-wl-" not in resp.get_data(as_text=True)
        assert client.post(f"{link}/key-new/done", data={"csrf": csrf}).status_code == 403


def test_alert_evidence_page_and_refused_links(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _parts(app).settings
    storage = _parts(app).storage
    assert storage is not None
    evidence_id = _evidence_id(storage)
    url = evidence_url(settings, evidence_id)
    assert url is not None
    resp = client.get(_path(url))
    assert resp.status_code == 200
    assert "pat-wl-1" in resp.get_data(as_text=True)
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    expired = _signed_hours_ago(monkeypatch, 31 * 24, lambda: str(evidence_url(settings, evidence_id)))
    assert client.get(_path(expired)).status_code == 403
    assert client.get(_tampered(_path(url))).status_code == 403
    gone = evidence_url(settings, "no-such-snapshot")
    assert gone is not None
    assert client.get(_path(gone)).status_code == 404
    # a worklist token is not an evidence token (and the other way round): the salts differ
    worklist = _path(worklist_url(settings, REVIEWER)).rsplit("/", 1)[1]
    assert client.get(f"/alerts/evidence/{worklist}").status_code == 403
    assert client.get(f"/alerts/worklist/{_path(url).rsplit('/', 1)[1]}").status_code == 403


def test_alert_evidence_links_last_the_configured_evidence_ttl_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = "https://fhir.example.org/r4"
    config = tmp_path / "alerts.json"
    config.write_text(json.dumps({"fhir_base_url": base, "evidence_ttl_days": 3}), encoding="utf-8")
    app = make_app(
        tmp_path, public_url=PUBLIC, link_secret="w" * 43, fhir_allowlist=(base,), alerts_config=config
    )
    client = app.test_client()
    settings = _parts(app).settings
    storage = _parts(app).storage
    assert storage is not None
    evidence_id = _evidence_id(storage)
    within = _signed_hours_ago(monkeypatch, 2 * 24, lambda: str(evidence_url(settings, evidence_id)))
    beyond = _signed_hours_ago(monkeypatch, 4 * 24, lambda: str(evidence_url(settings, evidence_id)))
    assert client.get(_path(within)).status_code == 200
    assert client.get(_path(beyond)).status_code == 403
