"""The one write of a call (``hooks/routes.py``): token id, audit record and evidence snapshot committed
together before the answer; a replay found at commit refused with nothing written; a failed write costing
the audit row and the link, never the answer, unless the token id cannot be recorded (then 401)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from cds_service.hooks.registry import EXTENSION_KEY, Components
from cds_service.storage.store import Storage
from cds_service.storage.tables import card_feedback, evidence_snapshots
from tests.unit.cds_service.cds_support import hook_request, make_app, scenario_topics
from tests.unit.cds_service.contention import ISSUER, KID, PATIENT, PUBLIC_URL, SERVICE, Rig, chart_prefetch

PV = f"/cds-services/{SERVICE}"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    made = Rig(tmp_path, f"sqlite:///{tmp_path / 'writes.db'}")
    yield made
    made.close()


def _parts(app: Flask) -> Components:
    parts = app.extensions[EXTENSION_KEY]
    assert isinstance(parts, Components)
    return parts


def _storage(app: Flask) -> Storage:
    storage = _parts(app).storage
    assert storage is not None
    return storage


def _snapshots(storage: Storage) -> int:
    with storage.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(evidence_snapshots)).scalar_one())


def _failing(*_args: Any, **_kwargs: Any) -> Any:
    raise OperationalError("INSERT …", {}, Exception("disk I/O error"))


def _post(app: Flask, token: str, body: dict[str, Any] | None = None, path: str = PV) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    return app.test_client().post(path, json=body, headers=headers)


def _evidence_links(resp: Any) -> list[str]:
    return [
        link["url"]
        for card in resp.get_json()["cards"]
        for link in card.get("links", [])
        if link["url"].startswith(f"{PUBLIC_URL}/evidence/")
    ]


def test_an_answer_leaves_with_its_audit_row_evidence_and_token_id_stored(rig: Rig) -> None:
    app = rig.apps[0]
    jti = str(uuid.uuid4())
    call = rig.call(app, rig.token(jti))
    assert call.status == 200
    assert len(call.evidence_tokens) == 1
    assert rig.audit_rows([call.hook_instance]) == {call.hook_instance: 1}
    assert rig.lost_evidence([call]) == []
    assert _storage(app).seen(ISSUER, jti) is True
    page = app.test_client().get(f"/evidence/{call.evidence_tokens[0]}")
    assert page.status_code == 200


@pytest.mark.req("I-192")
def test_a_replay_found_at_commit_is_refused_and_writes_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rig.apps[0]
    hook_service = _parts(app).hook_service
    handle = hook_service.handle
    jti = str(uuid.uuid4())

    def raced(*args: Any, **kwargs: Any) -> Any:
        result = handle(*args, **kwargs)
        # Another worker, verifying the same token at the same moment, records it first.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
        assert _storage(rig.apps[1]).check_and_store(ISSUER, jti, later) is True
        return result

    monkeypatch.setattr(hook_service, "handle", raced)
    before = _snapshots(_storage(app))
    body = hook_request(patient_id=PATIENT, prefetch=rig.prefetch)
    resp = _post(app, rig.token(jti), body)
    assert resp.status_code == 401
    assert resp.get_json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login"}],
    }
    assert rig.audit_rows([body["hookInstance"]]) == {body["hookInstance"]: 0}
    assert _snapshots(_storage(app)) == before


def test_a_failed_write_costs_the_link_and_audit_not_the_answer(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rig.apps[0]
    monkeypatch.setattr(_storage(app), "record_call", _failing)
    token = rig.token()
    body = hook_request(patient_id=PATIENT, prefetch=rig.prefetch)
    resp = _post(app, token, body)
    assert resp.status_code == 200
    cards = resp.get_json()["cards"]
    assert scenario_topics(resp.get_json()) == ["her2-low-no-pet"]
    assert all(
        not link["url"].startswith(f"{PUBLIC_URL}/evidence/") for c in cards for link in c.get("links", [])
    )
    assert rig.audit_rows([body["hookInstance"]]) == {body["hookInstance"]: 0}
    # The token id was still recorded, alone: the token cannot be used again.
    assert rig.call(rig.apps[1], token).status == 401


def test_without_any_way_to_record_the_token_the_call_is_refused(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = rig.apps[0]
    monkeypatch.setattr(_storage(app), "record_call", _failing)
    monkeypatch.setattr(_storage(app), "check_and_store", _failing)
    assert rig.call(app, rig.token()).status == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"hook": "patient-view", "hookInstance": "x", "context": {}}, 400, id="bad request"),
        pytest.param(hook_request(patient_id=PATIENT), 412, id="precondition failed (no prefetch, no FHIR)"),
    ],
)
def test_a_token_refused_request_still_spends_its_token(rig: Rig, body: dict[str, Any], status: int) -> None:
    token = rig.token()
    assert _post(rig.apps[0], token, body).status_code == status
    assert rig.call(rig.apps[1], token).status == 401
    if status == 412:
        (row,) = _storage(rig.apps[0]).hook_audits(body["hookInstance"])
        assert row["outcome"] == "precondition_failed"


def test_a_non_json_request_still_spends_its_token(rig: Rig) -> None:
    token = rig.token()
    resp = (
        rig.apps[0]
        .test_client()
        .post(
            PV,
            data="hook=patient-view",
            content_type="text/plain",
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    assert resp.status_code == 415
    assert rig.call(rig.apps[1], token).status == 401


def _feedback_token(rig: Rig) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": f"{PUBLIC_URL}{PV}/feedback",
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, rig.key, algorithm="ES384", headers={"kid": KID, "typ": "JWT"})


def _feedback(card: str) -> dict[str, Any]:
    return {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-01-02T03:04:05Z"}]}


def test_feedback_is_stored_with_its_token_once(rig: Rig) -> None:
    token = _feedback_token(rig)
    assert _post(rig.apps[0], token, _feedback("card-a"), PV + "/feedback").status_code == 200
    assert _post(rig.apps[1], token, _feedback("card-b"), PV + "/feedback").status_code == 401
    storage = _storage(rig.apps[0])
    assert [r.card_uuid for r in storage.feedback_for_card("card-a")] == ["card-a"]
    assert storage.feedback_for_card("card-b") == ()
    malformed = _feedback_token(rig)
    bad = {"feedback": [{"card": "card-c", "outcome": "ignored", "outcomeTimestamp": "2026-01-02T03:04:05Z"}]}
    assert _post(rig.apps[0], malformed, bad, PV + "/feedback").status_code == 400
    assert _post(rig.apps[1], malformed, _feedback("card-c"), PV + "/feedback").status_code == 401
    with storage.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(card_feedback)).scalar_one() == 1


def test_with_authentication_off_a_failed_write_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, public_url=PUBLIC_URL, link_secret="k" * 43)
    body = hook_request(patient_id=PATIENT, prefetch=chart_prefetch())
    working = app.test_client().post(PV, json=body)
    assert len(_evidence_links(working)) == 1
    monkeypatch.setattr(_storage(app), "record_call", _failing)
    failed = app.test_client().post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart_prefetch()))
    assert failed.status_code == 200
    assert failed.get_json()["cards"]
    assert _evidence_links(failed) == []
