"""The CDS Hooks endpoints through Flask's test client: discovery, each hook, errors, order detection,
feedback, CORS, health and OpenAPI. Every 200 hook answer is checked against the project schemas and card
predicates."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from cds_service.hooks.prefetch import PREFETCH_KEYS, lint_template
from cds_service.settings import AuthMode
from tests.unit.cds_service.cds_support import (
    check_operation_outcome,
    check_service_response,
    hook_request,
    make_app,
    medication_request,
    null_prefetch,
    scenario_topics,
    schema_errors,
)

PV = "/cds-services/her2-pet-review"
ORDER_SERVICES = {
    "order-select": "/cds-services/her2-pet-tdxd-order-select",
    "order-sign": "/cds-services/her2-pet-tdxd-order-sign",
}


def order_url(body: dict[str, Any]) -> str:
    """The service of the body's order hook (one service per hook)."""
    return ORDER_SERVICES[body["hook"]]


RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def chart_prefetch(patient_id: str) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == patient_id)
    return {k: as_prefetch_value(k, v) for k, v in patient_resources(patient).items()}


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def topics(body: dict[str, Any]) -> list[str]:
    return scenario_topics(body)


# -- discovery ---------------------------------------------------------------------------------------------


@pytest.mark.req("I-4")
@pytest.mark.req("I-7")
@pytest.mark.req("I-55")
@pytest.mark.req("I-58")
def test_discovery_lists_patient_view_and_both_order_hooks(client: FlaskClient) -> None:
    resp = client.get("/cds-services")
    assert resp.status_code == 200
    body = resp.get_json()
    assert schema_errors("discovery", body) == []
    pairs = {(s["id"], s["hook"]) for s in body["services"]}
    assert pairs == {
        ("her2-pet-review", "patient-view"),
        ("her2-pet-tdxd-order-select", "order-select"),
        ("her2-pet-tdxd-order-sign", "order-sign"),
    }
    ids = [s["id"] for s in body["services"]]
    assert len(ids) == len(set(ids)), "a CDS Hooks client keys services by id: one hook per id"
    for service in body["services"]:
        assert set(service["prefetch"]) >= {"patient", "her2", "pathology", "imaging", "therapy"}
        for key, template in service["prefetch"].items():
            # One documented deviation from the recommended query subset, in an optional key only.
            expected = ["'_include' is outside the recommended query subset"] if key == "specimens" else []
            assert lint_template(template) == expected, key
            assert "draftOrders" not in template
        # CDS Hooks 3.0 (ballot) discovery members, ignored by 2.0 clients and allowed by the 2.0 schema.
        assert re.fullmatch(r"\d+\.\d+\.\d+", service["version"]), "a semantic version"
        assert service["hookVersion"] == "1.0"
        assert "Specimen" in service["usageRequirements"]
        assert service["prefetch"]["specimens"] == (
            service["prefetch"]["pathology"] + "&_include=DiagnosticReport:specimen"
        ), "the specimens key asks for the same reports as the pathology key"
        assert "http://loinc.org|85319-2" in service["prefetch"]["her2"]
        assert "DCM|PT" in service["prefetch"]["imaging"]
        assert service["prefetch"]["administrations"].startswith("MedicationAdministration?")


def test_discovery_requires_jwt_when_configured(tmp_path: Path) -> None:
    clients = tmp_path / "clients.json"
    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "alg": "ES384", "use": "sig"})
    clients.write_text(
        json.dumps([{"iss": "https://ehr.test", "jwks": {"keys": [jwk]}, "algorithms": ["ES384"]}])
    )
    app = make_app(
        tmp_path,
        auth=AuthMode.JWT,
        public_url="https://cds.test",
        trusted_clients_path=clients,
        discovery_requires_jwt=True,
        link_secret="k" * 43,
    )
    client = app.test_client()
    resp = client.get("/cds-services")
    assert resp.status_code == 401
    assert resp.get_json() == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "login"}],
    }

    now = int(dt.datetime.now(dt.UTC).timestamp())

    def token(aud: str, jti: str) -> str:
        claims = {"iss": "https://ehr.test", "aud": aud, "exp": now + 300, "iat": now, "jti": jti}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})

    ok = client.get(
        "/cds-services", headers={"Authorization": f"Bearer {token('https://cds.test/cds-services', 'a')}"}
    )
    assert ok.status_code == 200
    wrong_aud = token("https://cds.test/cds-services/her2-pet-review", "b")
    assert client.get("/cds-services", headers={"Authorization": f"Bearer {wrong_aud}"}).status_code == 401
    # the hook endpoint expects its own URL as aud; a forged or missing token gets a bare 401
    hook = client.post(
        PV, json=hook_request(prefetch=null_prefetch()), headers={"Authorization": "Bearer x.y.z"}
    )
    assert hook.status_code == 401
    assert "diagnostics" not in hook.get_json()["issue"][0]
    good = token("https://cds.test/cds-services/her2-pet-review", "c")
    resp = client.post(
        PV, json=hook_request(prefetch=null_prefetch()), headers={"Authorization": f"Bearer {good}"}
    )
    assert resp.status_code == 200
    replay = client.post(
        PV, json=hook_request(prefetch=null_prefetch()), headers={"Authorization": f"Bearer {good}"}
    )
    assert replay.status_code == 401


# -- patient-view ------------------------------------------------------------------------------------------


@pytest.mark.req("I-74")
@pytest.mark.req("I-80")
@pytest.mark.parametrize(
    ("patient_id", "expected"),
    [
        pytest.param("demo-her2-low", ["her2-low-no-pet"], id="HER2-low→(k)"),
        pytest.param("demo-her2-unscored", ["her2-unscored-negative"], id="unscored-negative→(l)"),
        pytest.param("demo-ihc2-ish-pending", ["ihc2-ish-pending"], id="IHC2+ ISH pending→(g)"),
        pytest.param("demo-her2-positive", [], id="HER2-positive, no PET→no card"),
    ],
)
def test_patient_view_pathology_scenarios(client: FlaskClient, patient_id: str, expected: list[str]) -> None:
    resp = client.post(PV, json=hook_request(patient_id=patient_id, prefetch=chart_prefetch(patient_id)))
    assert resp.status_code == 200
    body = resp.get_json()
    check_service_response(body)
    assert topics(body) == expected


def test_patient_view_card_detail_shows_the_basis(client: FlaskClient) -> None:
    body = client.post(
        PV, json=hook_request(patient_id="demo-her2-low", prefetch=chart_prefetch("demo-her2-low"))
    )
    card = body.get_json()["cards"][0]
    assert "2025-02-10" in card["detail"]  # specimen collection date
    assert "DiagnosticReport/demo-her2-low-path" in card["detail"]  # source of the score
    assert "- HER2 IHC 1+; assay" in card["detail"]
    assert {r["code"] for r in card["overrideReasons"]} == {
        "already-reviewed",
        "rereview-requested",
        "not-candidate",
        "not-relevant",
    }


@pytest.mark.req("I-76")
def test_all_null_prefetch_is_a_normal_request(client: FlaskClient) -> None:
    resp = client.post(PV, json=hook_request(prefetch=null_prefetch()))
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


@pytest.mark.req("I-52")
def test_string_or_operation_outcome_prefetch_is_treated_as_absent(client: FlaskClient) -> None:
    prefetch = null_prefetch()
    prefetch["her2"] = "123"
    resp = client.post(PV, json=hook_request(prefetch=prefetch))
    assert resp.status_code == 412
    check_operation_outcome(resp.get_json(), "incomplete")
    assert "her2" in resp.get_json()["issue"][0]["diagnostics"]
    prefetch["her2"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "forbidden"}],
    }
    assert client.post(PV, json=hook_request(prefetch=prefetch)).status_code == 412


@pytest.mark.req("I-54")
def test_missing_required_prefetch_without_fhir_access_is_412(client: FlaskClient) -> None:
    resp = client.post(PV, json=hook_request())
    assert resp.status_code == 412
    check_operation_outcome(resp.get_json(), "incomplete")


@pytest.mark.req("I-214")
def test_unknown_extension_members_are_tolerated(client: FlaskClient) -> None:
    body = hook_request(prefetch=null_prefetch(), extension={"org.example.x": {"a": 1}})
    body["futureField"] = True
    assert client.post(PV, json=body).status_code == 200


# -- errors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(lambda b: b.pop("hook"), "hook", id="no hook"),
        pytest.param(lambda b: b.pop("hookInstance"), "hookInstance", id="no hookInstance"),
        pytest.param(lambda b: b.update(hookInstance="not-a-uuid"), "hookInstance", id="bad hookInstance"),
        pytest.param(lambda b: b.pop("context"), "context", id="no context"),
        pytest.param(lambda b: b["context"].pop("patientId"), "context.patientId", id="no patientId"),
        pytest.param(lambda b: b["context"].update(userId="nobody"), "context.userId", id="bad userId"),
        pytest.param(
            lambda b: b.update(
                fhirAuthorization={
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "user/Patient.read",
                    "subject": "svc",
                }
            ),
            "fhirServer",
            id="fhirAuthorization without fhirServer",
        ),
        pytest.param(lambda b: b.update(hook="order-sign"), "order-sign", id="hook not registered for id"),
    ],
)
def test_malformed_requests_are_400_naming_the_field(client: FlaskClient, mutate: Any, field: str) -> None:
    body = hook_request(prefetch=null_prefetch())
    mutate(body)
    resp = client.post(PV, json=body)
    assert resp.status_code == 400
    outcome = resp.get_json()
    check_operation_outcome(outcome)
    assert field in outcome["issue"][0]["diagnostics"]
    assert outcome["issue"][0]["code"] in ("invalid", "required")


def test_invalid_json_is_400_and_wrong_content_type_415(client: FlaskClient) -> None:
    resp = client.post(PV, data="{not json", content_type="application/json")
    assert resp.status_code == 400
    check_operation_outcome(resp.get_json(), "invalid")
    resp = client.post(PV, data="[1, 2]", content_type="application/json")
    assert resp.status_code == 400
    resp = client.post(PV, data="hook=patient-view", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415
    check_operation_outcome(resp.get_json(), "not-supported")


@pytest.mark.parametrize("path", ["/cds-services/nope", "/cds-services/nope/feedback"])
def test_unknown_service_is_404(client: FlaskClient, path: str) -> None:
    resp = client.post(path, json=hook_request(prefetch=null_prefetch()))
    assert resp.status_code == 404
    check_operation_outcome(resp.get_json(), "not-found")


def test_wrong_method_is_405_operation_outcome(client: FlaskClient) -> None:
    resp = client.get(PV)
    assert resp.status_code == 405
    check_operation_outcome(resp.get_json(), "not-supported")


# -- order-select / order-sign -----------------------------------------------------------------------------

TDXD_POSITIVES = [
    pytest.param({"codings": [(RXNORM, "2267576")]}, id="RxNorm 2267576"),
    pytest.param({"codings": [(RXNORM, "2267581")]}, id="RxNorm 2267581"),
    pytest.param({"codings": [("http://hl7.org/fhir/sid/ndc", "65597-0406-01")]}, id="NDC 11-digit"),
    pytest.param({"codings": [("http://hl7.org/fhir/sid/ndc", "65597-406-01")]}, id="NDC 10-digit"),
    pytest.param(
        {"codings": [("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "J9358")]}, id="J9358"
    ),
    pytest.param({"codings": [("http://www.whocc.no/atc", "L01FD04")]}, id="ATC L01FD04"),
    pytest.param({"text": "fam-trastuzumab deruxtecan-nxki 100 mg"}, id="text generic"),
    pytest.param({"text": "ENHERTU IV"}, id="text brand"),
    pytest.param({"text": "DS-8201a"}, id="text DS-8201"),
    pytest.param({"text": "T-DXd 5.4 mg/kg"}, id="text T-DXd"),
]

TDXD_LOOKALIKES = [
    pytest.param({"text": "datopotamab deruxtecan"}, id="Dato-DXd text"),
    pytest.param({"text": "deruxtecan"}, id="bare deruxtecan"),
    pytest.param(
        {"codings": [("https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "J9011")]}, id="J9011"
    ),
    pytest.param({"text": "trastuzumab 440 mg"}, id="trastuzumab"),
    pytest.param(
        {"codings": [("http://www.whocc.no/atc", "L01FD03")], "text": "ado-trastuzumab emtansine"}, id="T-DM1"
    ),
    pytest.param(
        {"codings": [("http://www.whocc.no/atc", "L01FD02")], "text": "pertuzumab"}, id="pertuzumab"
    ),
]


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
@pytest.mark.parametrize("concept", TDXD_POSITIVES)
def test_order_hooks_fire_on_tdxd(client: FlaskClient, hook: str, concept: dict[str, Any]) -> None:
    order = medication_request("mr-1", **concept)
    body = hook_request(
        hook,
        patient_id="demo-her2-low",
        prefetch=chart_prefetch("demo-her2-low"),
        draft_orders=[order],
        selections=["MedicationRequest/mr-1"] if hook == "order-select" else None,
    )
    resp = client.post(order_url(body), json=body)
    assert resp.status_code == 200
    check_service_response(resp.get_json())
    assert topics(resp.get_json()) == ["tdxd-order-her2-basis"]


@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
@pytest.mark.parametrize("concept", TDXD_LOOKALIKES)
def test_order_hooks_ignore_lookalikes(client: FlaskClient, hook: str, concept: dict[str, Any]) -> None:
    body = hook_request(
        hook,
        patient_id="demo-her2-low",
        prefetch=chart_prefetch("demo-her2-low"),
        draft_orders=[medication_request("mr-1", **concept)],
        selections=["MedicationRequest/mr-1"] if hook == "order-select" else None,
    )
    resp = client.post(order_url(body), json=body)
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


@pytest.mark.parametrize(
    ("path", "hook", "status"),
    [
        ("/cds-services/her2-pet-tdxd-order-sign", "order-select", 400),
        ("/cds-services/her2-pet-tdxd-order-select", "order-sign", 400),
        ("/cds-services/her2-pet-review", "order-sign", 400),
        ("/cds-services/her2-pet-tdxd-order", "order-select", 200),
        ("/cds-services/her2-pet-tdxd-order", "order-sign", 200),
        ("/cds-services/her2-pet-tdxd-order", "patient-view", 400),
    ],
)
def test_each_service_answers_its_own_hook_and_the_earlier_order_id_both(
    client: FlaskClient, path: str, hook: str, status: int
) -> None:
    body = hook_request(
        hook,
        patient_id="demo-her2-low",
        prefetch=chart_prefetch("demo-her2-low"),
        draft_orders=None if hook == "patient-view" else [medication_request("mr-1", text="Enhertu")],
        selections=["MedicationRequest/mr-1"] if hook == "order-select" else None,
    )
    resp = client.post(path, json=body)
    assert resp.status_code == status
    if status == 200:
        expected = "her2-low-no-pet" if hook == "patient-view" else "tdxd-order-her2-basis"
        assert topics(resp.get_json()) == [expected]
    else:
        assert "is not registered for service" in resp.get_json()["issue"][0]["diagnostics"]


def test_order_select_only_counts_selected_orders(client: FlaskClient) -> None:
    tdxd = medication_request("mr-tdxd", text="Enhertu")
    other = medication_request("mr-other", text="paclitaxel")
    body = hook_request(
        "order-select",
        patient_id="demo-her2-low",
        prefetch=chart_prefetch("demo-her2-low"),
        draft_orders=[tdxd, other],
        selections=["MedicationRequest/mr-other"],
    )
    assert client.post(order_url(body), json=body).get_json() == {"cards": []}


def test_order_select_without_selections_is_400(client: FlaskClient) -> None:
    body = hook_request("order-select", prefetch=null_prefetch(), draft_orders=[])
    resp = client.post(order_url(body), json=body)
    assert resp.status_code == 400
    assert "context.selections" in resp.get_json()["issue"][0]["diagnostics"]


@pytest.mark.req("I-34")
@pytest.mark.parametrize(
    "name",
    ["order_select_hook_request.json", "order_sign_hook_request.json"],
)
def test_inferno_order_requests_without_tdxd_answer_no_cards(
    client: FlaskClient, testdata: Path, name: str
) -> None:
    body = json.loads((testdata / "cds-hooks" / "inferno-crd-test-kit" / name).read_text())
    resp = client.post(order_url(body), json=body)
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


@pytest.mark.parametrize("name", ["order-select-context-R4.json", "order-sign-context-R4.json"])
def test_hooks_library_r4_orders_answer_no_cards(client: FlaskClient, testdata: Path, name: str) -> None:
    context = json.loads((testdata / "cds-hooks" / "hooks-library-1.0.1" / name).read_text())["context"]
    body = hook_request("order-select" if "select" in name else "order-sign", prefetch=null_prefetch())
    body["context"] = context
    resp = client.post(order_url(body), json=body)
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


def test_tdxd_draft_from_published_synthetic_bundle_fires(client: FlaskClient, testdata: Path) -> None:
    bundle = json.loads(
        (testdata / "fhir" / "synthetic" / "bundle-context-metastatic-hr-pos.json").read_text()
    )
    drafts = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    body = hook_request("order-sign", patient_id="demo-her2-low", prefetch=chart_prefetch("demo-her2-low"))
    body["context"]["draftOrders"] = {"resourceType": "Bundle", "entry": [{"resource": r} for r in drafts]}
    resp = client.post(order_url(body), json=body)
    assert topics(resp.get_json()) == ["tdxd-order-her2-basis"]


@pytest.mark.parametrize(
    ("patient", "summary", "indicator"),
    [
        pytest.param(
            "demo-her2-null",
            "T-DXd order: HER2-null on pathology; no labelled breast indication on file. Consider IHC "
            "re-review (0 vs 1+/ultralow).",
            "warning",
            id="HER2-null",
        ),
        pytest.param(
            "demo-her2-positive",
            "T-DXd order: HER2-positive on pathology. Review against the HER2-positive labelled indications "
            "(rows A and B).",
            "info",
            id="HER2-positive",
        ),
    ],
)
@pytest.mark.parametrize("hook", ["order-sign", "order-select"])
def test_a_tdxd_order_always_gets_the_her2_basis(
    client: FlaskClient, hook: str, patient: str, summary: str, indicator: str
) -> None:
    """Patient-view shows no card for these charts; a T-DXd order does (issue 9)."""
    view = client.post(PV, json=hook_request(patient_id=patient, prefetch=chart_prefetch(patient)))
    assert view.get_json() == {"cards": []}
    body = hook_request(
        hook,
        patient_id=patient,
        prefetch=chart_prefetch(patient),
        draft_orders=[medication_request("mr-1", text="Enhertu")],
        selections=["MedicationRequest/mr-1"] if hook == "order-select" else None,
    )
    resp = client.post(order_url(body), json=body)
    check_service_response(resp.get_json())
    (card,) = resp.get_json()["cards"]
    assert card["summary"] == summary
    assert card["indicator"] == indicator
    assert "**FDA label rows" in card["detail"]


def test_patient_view_never_shows_the_order_card_for_a_draft_in_the_chart(client: FlaskClient) -> None:
    prefetch = chart_prefetch("demo-her2-null")
    draft = medication_request("mr-draft", text="Enhertu")
    prefetch["therapy"] = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": draft}]}
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-null", prefetch=prefetch))
    assert resp.get_json() == {"cards": []}


# -- feedback ----------------------------------------------------------------------------------------------


@pytest.mark.req("I-74")
def test_feedback_is_stored_then_acknowledged(app: Flask) -> None:
    client = app.test_client()
    card = client.post(
        PV, json=hook_request(patient_id="demo-her2-low", prefetch=chart_prefetch("demo-her2-low"))
    )
    card_uuid = card.get_json()["cards"][0]["uuid"]
    feedback = {
        "feedback": [
            {
                "card": card_uuid,
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {"system": "urn:her2-pet-cds:override-reason", "code": "already-reviewed"}
                },
                "outcomeTimestamp": "2026-01-02T03:04:05Z",
            }
        ]
    }
    assert schema_errors("feedback", feedback) == []
    resp = client.post(PV + "/feedback", json=feedback)
    assert resp.status_code == 200
    assert resp.data == b""
    assert "Content-Type" not in resp.headers  # an empty body has no type (never text/html)
    storage = app.extensions["her2cds"].storage
    stored = storage.feedback_for_card(card_uuid)
    assert [(r.outcome.value, r.override_code) for r in stored] == [("overridden", "already-reviewed")]


@pytest.mark.parametrize(
    ("stamp", "stored"),
    [
        pytest.param("0001-01-01T03:49:05+20:03", dt.datetime.min, id="before year 1 in UTC"),
        pytest.param("9999-12-31T23:59:59-05:00", dt.datetime.max, id="after year 9999 in UTC"),
    ],
)
def test_feedback_time_beyond_utc_range_is_kept_at_the_edge(
    app: Flask, stamp: str, stored: dt.datetime
) -> None:
    """A valid RFC 3339 time that UTC cannot hold here is stored as the first or last instant (not a 500)."""
    item = {"card": f"edge-{stored.year}", "outcome": "overridden", "outcomeTimestamp": stamp}
    resp = app.test_client().post(PV + "/feedback", json={"feedback": [item]})
    assert resp.status_code == 200
    (record,) = app.extensions["her2cds"].storage.feedback_for_card(item["card"])
    assert record.outcome_timestamp == stored.replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-02T03:04:05Z"},
            id="accepted no ids",
        ),
        pytest.param(
            {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-01-02T03:04:05Z"}, id="bad outcome"
        ),
        pytest.param({"card": "c", "outcome": "overridden"}, id="no timestamp"),
        pytest.param(
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-01-02T03:04:05"}, id="naive time"
        ),
    ],
)
def test_malformed_feedback_is_400(client: FlaskClient, item: dict[str, Any]) -> None:
    resp = client.post(PV + "/feedback", json={"feedback": [item]})
    assert resp.status_code == 400
    check_operation_outcome(resp.get_json())


# -- CORS, health, OpenAPI ---------------------------------------------------------------------------------


@pytest.mark.req("I-208")
def test_cors_preflight_for_allow_listed_origin_only(tmp_path: Path) -> None:
    client = make_app(tmp_path, cors_origins=("https://ehr.example.org",)).test_client()
    ok = client.options(
        PV, headers={"Origin": "https://ehr.example.org", "Access-Control-Request-Method": "POST"}
    )
    assert ok.status_code == 204
    assert "Content-Type" not in ok.headers  # no content, so no (text/html) type
    assert ok.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
    assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
    assert ok.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in ok.headers
    bad = client.options(
        PV, headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in bad.headers
    post = client.post(
        PV, json=hook_request(prefetch=null_prefetch()), headers={"Origin": "https://ehr.example.org"}
    )
    assert post.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"


def test_health_ready_metrics_openapi(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["database"] == "ok"
    client.post(PV, json=hook_request(prefetch=null_prefetch()))
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert b"her2cds_hook_requests_total" in metrics.data
    assert b"her2cds_hook_duration_seconds_bucket" in metrics.data
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    services = client.get("/cds-services").get_json()["services"]
    schemas = doc["components"]["schemas"]
    for service in services:
        call = doc["paths"][f"/cds-services/{service['id']}"]["post"]
        assert {"200", "400", "401", "412", "413"} <= set(call["responses"])
        body = schemas[call["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
        assert body["properties"]["hook"] == {"const": service["hook"]}
        context = schemas[body["properties"]["context"]["$ref"].split("/")[-1]]
        assert "patientId" in context["required"]
        if service["hook"] != "patient-view":
            assert "draftOrders" in context["required"]
        prefetch = body["properties"]["prefetch"]["anyOf"][0]["properties"]
        assert set(prefetch) == set(service["prefetch"])
        feedback = doc["paths"][f"/cds-services/{service['id']}/feedback"]["post"]
        assert {"200", "400", "401"} <= set(feedback["responses"])
    assert "CdsRequest" in schemas


def test_prefetch_keys_are_the_documented_ones() -> None:
    assert [k.name for k in PREFETCH_KEYS if k.required] == ["patient", "her2", "pathology"]
