"""End to end, the service core of issue 4: discovery, patient-view and order-sign with the FHIR fallback,
client JWT forgeries, replay across workers and replicas, 412, all-null prefetch, the allow-list (an
unlisted FHIR server is never contacted), feedback stored, and a FHIR server that goes down.

Each test runs against both deployments (``conftest.py``): DICOMweb + SQLite with two gunicorn workers, and
DIMSE + PostgreSQL with two replicas.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from cds_service.storage.store import Storage
from tests.e2e.checks import (
    check_fhir_calls,
    check_hook_ok,
    check_pathology_basis,
    check_unauthorized,
    check_within_deadline,
)
from tests.e2e.conftest import ISS, Deployment, load_scenario, resolve_prefetch
from tests.e2e.harness import (
    ORDER,
    ORDER_SELECT,
    PATIENT_VIEW,
    EhrKey,
    RecordingProxy,
    fhir_access,
    order_sign,
    patient_view,
    tdxd_draft,
)
from tests.e2e.scenarios import BY_KEY
from tests.integration.fhir_server import FhirServer, start_fhir_server
from tests.unit.cds_service.cds_support import check_operation_outcome, schema_errors

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("quiet")]

TOKEN = "e2e-fhir-token"
LOW = BY_KEY["her2-low-no-pet"]


@pytest.mark.req("I-4")
@pytest.mark.req("I-177")
def test_discovery_lists_the_services_and_requires_the_jwt(deployment: Deployment) -> None:
    client = deployment.client()
    found = client.discovery()
    assert found.status == 200
    assert schema_errors("discovery", found.body) == []
    hooks = {(s["id"], s["hook"]) for s in found.body["services"]}
    assert hooks == {
        (PATIENT_VIEW, "patient-view"),
        (ORDER_SELECT, "order-select"),
        (ORDER, "order-sign"),
    }
    for service in found.body["services"]:
        assert {"patient", "her2", "pathology"} <= set(service["prefetch"])
        assert all("{{context.patientId}}" in t for t in service["prefetch"].values())
    check_unauthorized(client.discovery(authorization=""))


@pytest.mark.req("I-60")
@pytest.mark.req("I-34")
def test_patient_view_fetches_from_the_allow_listed_fhir_server(
    deployment: Deployment, dataset: Any, fhir_proxy: RecordingProxy
) -> None:
    fhir_proxy.reset()
    body = patient_view(LOW.patient_id, **fhir_access(fhir_proxy.base(), TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "patient-view fallback")
    assert check_hook_ok(exchange, deployment.limit_ms) == {"her2-low-no-pet"}
    check_pathology_basis(exchange.body["cards"][0]["detail"], LOW)
    check_fhir_calls(fhir_proxy, TOKEN, expect_calls=True)


def test_order_sign_fires_for_a_draft_tdxd_order_only(
    deployment: Deployment, dataset: Any, fhir_proxy: RecordingProxy
) -> None:
    client = deployment.client()
    fhir_proxy.reset()
    body = order_sign(LOW.patient_id, [tdxd_draft(LOW.patient_id)], **fhir_access(fhir_proxy.base(), TOKEN))
    exchange = deployment.hook(client, ORDER, body, "order-sign T-DXd")
    assert check_hook_ok(exchange, deployment.limit_ms) == {"tdxd-order-her2-basis"}
    check_pathology_basis(exchange.body["cards"][0]["detail"], LOW)
    assert exchange.body["cards"][0]["summary"].startswith("T-DXd order: HER2-low on pathology")

    fhir_proxy.reset()
    other = tdxd_draft(LOW.patient_id, "draft-dato")
    other["medicationCodeableConcept"] = {"text": "datopotamab deruxtecan 6 mg/kg IV"}
    exchange = deployment.hook(
        client,
        ORDER,
        order_sign(LOW.patient_id, [other], **fhir_access(fhir_proxy.base(), TOKEN)),
        "order-sign other",
    )
    assert check_hook_ok(exchange, deployment.limit_ms) == set()
    assert exchange.body == {"cards": []}
    check_fhir_calls(fhir_proxy, TOKEN, expect_calls=False)


def _hs256(claims: dict[str, Any], secret: str, kid: str) -> str:
    """The key-confusion forgery: HMAC-SHA256 keyed with the issuer's public key (PyJWT will not make it)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _forgeries(deployment: Deployment) -> dict[str, str]:
    client = deployment.client()
    path = f"/cds-services/{PATIENT_VIEW}"
    now = int(time.time())
    stranger = EhrKey.generate(kid=client.key.kid)
    claims = {
        "iss": ISS,
        "aud": deployment.public_url + path,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    hs_secret = json.dumps(client.key.public_jwk())
    return {
        "other key, same kid": jwt.encode(
            {**claims, "jti": str(uuid.uuid4())},
            stranger.private,
            algorithm="ES384",
            headers={"kid": stranger.kid, "typ": "JWT"},
        ),
        "alg none": jwt.encode(
            {**claims, "jti": str(uuid.uuid4())}, None, algorithm="none", headers={"kid": client.key.kid}
        ),
        "HS256 with the public key": _hs256({**claims, "jti": str(uuid.uuid4())}, hs_secret, client.key.kid),
        "aud of another service": client.token(f"/cds-services/{ORDER}"),
        "aud of the bind address": client.token(path, aud=client.send_to + path)
        if client.send_to != client.public_url
        else client.token(path, aud=client.public_url + path + "/"),
        "expired": client.token(path, iat=now - 900, exp=now - 300),
        "issued in the future": client.token(path, iat=now + 600, exp=now + 900),
        "lifetime over one hour": client.token(path, exp=now + 7200),
        "unknown issuer": client.token(path, iss="https://intruder.e2e.test/fhir"),
        "no jti": client.token(path, jti=None),
        "unknown kid": jwt.encode(
            {**claims, "jti": str(uuid.uuid4())},
            client.key.private,
            algorithm="ES384",
            headers={"kid": "not-a-known-kid", "typ": "JWT"},
        ),
    }


@pytest.mark.req("I-195")
@pytest.mark.req("I-201")
@pytest.mark.req("I-203")
def test_forged_or_invalid_jwts_get_a_bare_401(
    deployment: Deployment, dataset: Any, fhir_proxy: RecordingProxy
) -> None:
    client = deployment.client()
    fhir_proxy.reset()
    body = patient_view(LOW.patient_id, **fhir_access(fhir_proxy.base(), TOKEN))
    for name, token in _forgeries(deployment).items():
        exchange = client.hook(PATIENT_VIEW, body, token=token)
        assert exchange.status == 401, name
        check_unauthorized(exchange)
    check_unauthorized(client.hook(PATIENT_VIEW, body, authorization=""))
    check_unauthorized(client.hook(PATIENT_VIEW, body, authorization="Basic ZTJlOmUyZQ=="))
    assert fhir_proxy.count() == 0, "a refused call must not reach the FHIR server"


@pytest.mark.req("I-195")
def test_a_replayed_jti_is_refused_by_every_worker_and_replica(deployment: Deployment, dataset: Any) -> None:
    first = deployment.client(0)
    token = first.token(f"/cds-services/{PATIENT_VIEW}")
    body = patient_view(LOW.patient_id, prefetch=_null_prefetch())
    assert first.hook(PATIENT_VIEW, body, token=token).status == 200
    # Several replays: on the SQLite deployment they spread over both gunicorn workers.
    for replica in range(len(deployment.replicas)):
        for _ in range(3):
            check_unauthorized(deployment.client(replica).hook(PATIENT_VIEW, body, token=token))


def _null_prefetch() -> dict[str, Any]:
    keys = ("patient", "her2", "pathology", "hormone", "conditions", "imaging", "therapy", "administrations")
    return dict.fromkeys(keys)


@pytest.mark.req("I-54")
def test_required_data_unobtainable_is_412(deployment: Deployment, dataset: Any) -> None:
    exchange = deployment.hook(
        deployment.client(), PATIENT_VIEW, patient_view(LOW.patient_id), "412 no fhirServer"
    )
    assert exchange.status == 412, exchange.body
    check_operation_outcome(exchange.body, "incomplete")
    check_within_deadline(exchange, deployment.limit_ms)


def test_all_null_prefetch_is_a_normal_request(
    deployment: Deployment, dataset: Any, offlist_proxy: RecordingProxy
) -> None:
    offlist_proxy.reset()
    body = patient_view(LOW.patient_id, prefetch=_null_prefetch())
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "all-null prefetch")
    assert check_hook_ok(exchange, deployment.limit_ms) == set()
    body = patient_view(LOW.patient_id, prefetch=_null_prefetch(), **fhir_access(offlist_proxy.base(), TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "all-null prefetch, off-list server")
    assert exchange.status in (200, 400), exchange.body
    assert offlist_proxy.count() == 0


@pytest.mark.req("I-60")
def test_an_off_list_fhir_server_is_never_contacted(
    deployment: Deployment, dataset: Any, fhir: FhirServer, offlist_proxy: RecordingProxy
) -> None:
    client = deployment.client()
    templates = next(s for s in client.discovery().body["services"] if s["id"] == PATIENT_VIEW)["prefetch"]
    offlist_proxy.reset()
    full = patient_view(
        LOW.patient_id,
        prefetch=resolve_prefetch(fhir, templates, LOW.patient_id),
        **fhir_access(offlist_proxy.base()),
    )
    exchange = deployment.hook(client, PATIENT_VIEW, full, "full prefetch, off-list server")
    if exchange.status == 200:
        assert check_hook_ok(exchange, deployment.limit_ms) == {"her2-low-no-pet"}
    else:  # CH-10: an unlisted fhirServer may also be refused outright
        assert exchange.status == 400, exchange.body
    partial = patient_view(LOW.patient_id, **fhir_access(offlist_proxy.base()))
    exchange = deployment.hook(client, PATIENT_VIEW, partial, "no prefetch, off-list server")
    assert exchange.status in (400, 412), exchange.body
    check_operation_outcome(exchange.body)
    assert offlist_proxy.count() == 0, offlist_proxy.hits


@pytest.mark.req("I-34")
def test_feedback_is_stored_with_the_card_audit(
    deployment: Deployment, dataset: Any, fhir_proxy: RecordingProxy
) -> None:
    client = deployment.client()
    request_body = patient_view(LOW.patient_id, **fhir_access(fhir_proxy.base(), TOKEN))
    exchange = deployment.hook(client, PATIENT_VIEW, request_body, "patient-view for feedback")
    check_hook_ok(exchange, deployment.limit_ms)
    card = exchange.body["cards"][0]
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"system": "urn:her2-pet-cds:override-reason", "code": "already-reviewed"},
            "userComment": "reviewed at tumour board",
        },
        "outcomeTimestamp": dt.datetime.now(dt.UTC).isoformat(),
    }
    check_unauthorized(
        client.feedback(PATIENT_VIEW, [item], token=client.token(f"/cds-services/{PATIENT_VIEW}"))
    )
    answer = client.feedback(PATIENT_VIEW, [item])
    assert answer.status == 200, answer.body
    assert answer.body is None
    bad = client.feedback(PATIENT_VIEW, [{**item, "outcome": "ignored"}])
    assert bad.status == 400
    check_operation_outcome(bad.body)

    storage = Storage(deployment.database_url)
    try:
        stored = storage.feedback_for_card(card["uuid"])
        assert [(f.override_code, str(f.outcome)) for f in stored] == [("already-reviewed", "overridden")]
        audits = storage.hook_audits(request_body["hookInstance"])
        assert len(audits) == 1
        assert card["uuid"] in json.dumps(audits[0], default=str)
    finally:
        storage.dispose()


def test_an_unreachable_fhir_server_gives_a_data_unavailable_card(
    deployment: Deployment, dataset: Any, dead_fhir_base: str
) -> None:
    body = patient_view(BY_KEY["data-unavailable"].patient_id, **fhir_access(dead_fhir_base, TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "FHIR down")
    assert check_hook_ok(exchange, deployment.limit_ms) == {"data-unavailable"}
    assert "FHIR" in exchange.body["cards"][0]["detail"]


def test_a_fhir_server_stopped_between_two_hooks(
    deployment: Deployment, dataset: Any, spare_fhir_port: int, tmp_path: Any
) -> None:
    server = start_fhir_server(tmp_path, port=spare_fhir_port)
    try:
        load_scenario(LOW, server, None)
        body = patient_view(LOW.patient_id, **fhir_access(server.base_url, TOKEN))
        exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "FHIR up")
        assert check_hook_ok(exchange, deployment.limit_ms) == {"her2-low-no-pet"}
    finally:
        server.stop()
    body = patient_view(LOW.patient_id, **fhir_access(server.base_url, TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, "FHIR stopped")
    topics = check_hook_ok(exchange, deployment.limit_ms)
    assert topics == {"data-unavailable"}
