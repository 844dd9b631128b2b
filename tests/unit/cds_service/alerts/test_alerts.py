"""Review alerts: the scenario-change state machine, the cohort rule, the outbox retry and the JWT
assertion of SMART Backend Services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cds_service.alerts.backend_auth import BackendCredentials, client_assertion
from cds_service.alerts.config import AlertsConfig, CohortRule, in_cohort
from cds_service.alerts.decide import AlertReason, PriorState, decide
from cds_service.alerts.delivery import DeliveryError, OutboxWorker, task_resource
from cds_service.storage.store import AlertRecord, DeliveryStatus, NewAlert, Storage
from rules.domain import Assessment, CardScenario, PatientHer2

S = CardScenario


def _assessment(scenario: CardScenario | None, *extra: CardScenario, unavailable: bool = False) -> Assessment:
    cards = ((scenario,) if scenario else ()) + extra
    return Assessment(
        her2=PatientHer2(current=None),
        uptake=None,
        pairing_gap_days=None,
        scenario=scenario,
        cards=cards,
        unavailable_sources=("FHIR server",) if unavailable else (),
    )


def _prior(scenario: CardScenario | None, *extra: CardScenario) -> PriorState:
    cards = ((scenario,) if scenario else ()) + extra
    return PriorState(scenario=scenario.value if scenario else None, cards=tuple(c.value for c in cards))


@pytest.mark.parametrize(
    ("prior", "now", "reason"),
    [
        pytest.param(
            None, _assessment(S.HER2_ZERO_PET_AVID), AlertReason.REVIEW_SCENARIO, id="first-seen-HER2-0+avid"
        ),
        pytest.param(
            _prior(S.HER2_ZERO_PET_NONAVID),
            _assessment(S.HER2_ZERO_PET_AVID),
            AlertReason.REVIEW_SCENARIO,
            id="→avid",
        ),
        pytest.param(
            _prior(S.HER2_ZERO_PET_AVID),
            _assessment(S.HER2_LOW_PET_AVID),
            AlertReason.REVIEW_SCENARIO,
            id="0→low",
        ),
        pytest.param(
            _prior(S.HER2_ZERO_PET_AVID), _assessment(S.HER2_ZERO_PET_AVID), None, id="same-scenario"
        ),
        pytest.param(
            _prior(S.HER2_LOW_PET_AVID, S.PAIRING_OUT_OF_WINDOW),
            _assessment(S.HER2_LOW_PET_AVID),
            AlertReason.PAIRING_IN_WINDOW,
            id="pairing-now-in-window",
        ),
        pytest.param(
            _prior(S.IHC2_ISH_PENDING),
            _assessment(S.HER2_LOW_NO_PET),
            AlertReason.ISH_RESOLVED,
            id="ISH-resolved",
        ),
        pytest.param(_prior(None), _assessment(S.HER2_ZERO_PET_NONAVID), None, id="no-review-scenario"),
        pytest.param(
            _prior(S.HER2_LOW_PET_AVID),
            _assessment(S.HER2_ULTRALOW),
            AlertReason.REVIEW_SCENARIO,
            id="→ultralow",
        ),
    ],
)
def test_scenario_change_decides_alerts(
    prior: PriorState | None, now: Assessment, reason: AlertReason | None
) -> None:
    decision = decide("p1", prior, now)
    assert decision.record
    assert decision.reason is reason
    assert (decision.key is not None) is (reason is not None)


def test_an_outage_or_pending_analysis_neither_alerts_nor_replaces_the_state() -> None:
    assert not decide("p1", None, _assessment(S.HER2_ZERO_PET_AVID, unavailable=True)).record
    assert not decide("p1", None, _assessment(S.PET_ANALYSIS_PENDING)).record


def test_the_key_is_stable_and_differs_by_patient() -> None:
    a = decide("p1", None, _assessment(S.HER2_ZERO_PET_AVID)).key
    assert a == decide("p1", None, _assessment(S.HER2_ZERO_PET_AVID)).key
    assert a != decide("p2", None, _assessment(S.HER2_ZERO_PET_AVID)).key
    assert a is not None
    assert "p1" not in a


# -- storage: one alert per change ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def storage(clock: Clock) -> Iterator[Storage]:
    store = Storage("sqlite:///:memory:", clock=clock)
    store.migrate()
    yield store
    store.dispose()


def _new_alert(key: str = "k" * 64) -> NewAlert:
    return NewAlert(
        alert_key=key,
        patient_id="p1",
        scenario=S.HER2_ZERO_PET_AVID.value,
        reason=AlertReason.REVIEW_SCENARIO.value,
        trigger="pet",
        title="HER2-0 with avid lesions",
        summary="summary",
        basis=("IHC 0",),
        evidence_id=None,
        rules_version="1",
    )


def test_the_same_change_twice_makes_one_alert_and_one_outbox_row(storage: Storage) -> None:
    first = storage.record_assessment(
        "p1", scenario="x", cards=["x"], alert=_new_alert(), channels=["fhir-task"]
    )
    second = storage.record_assessment(
        "p1", scenario="x", cards=["x"], alert=_new_alert(), channels=["fhir-task"]
    )
    assert (first, second) == (True, False)
    assert len(storage.list_alerts()) == 1
    assert len(storage.outbox_rows("k" * 64)) == 1


# -- cohort ------------------------------------------------------------------------------------------------

BREAST = {
    "resourceType": "Condition",
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C50.911"}]},
}


@pytest.mark.parametrize(
    ("conditions", "teams", "rule", "expected"),
    [
        pytest.param([BREAST], [], CohortRule(), True, id="breast-cancer"),
        pytest.param([], [], CohortRule(), False, id="no-condition→outside"),
        pytest.param(
            [{**BREAST, "clinicalStatus": {"coding": [{"code": "resolved"}]}}],
            [],
            CohortRule(),
            False,
            id="resolved",
        ),
        pytest.param(
            [BREAST], [], CohortRule(care_team_members=("Practitioner/onc",)), False, id="care-team-required"
        ),
        pytest.param(
            [BREAST],
            [{"participant": [{"member": {"reference": "Practitioner/onc"}}]}],
            CohortRule(care_team_members=("Practitioner/onc",)),
            True,
            id="care-team-member",
        ),
    ],
)
def test_cohort_rule(
    conditions: list[dict[str, Any]], teams: list[dict[str, Any]], rule: CohortRule, expected: bool
) -> None:
    assert in_cohort(rule, conditions, teams) is expected


# -- outbox ------------------------------------------------------------------------------------------------


class FlakyChannel:
    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def deliver(self, alert: AlertRecord, evidence_url: str | None) -> str:
        self.calls += 1
        if not self.up:
            raise DeliveryError("FHIR server unreachable (ConnectionError)")
        return "Task/1"


def test_a_failed_delivery_waits_with_back_off_and_is_delivered_when_the_server_returns(
    storage: Storage, clock: Clock
) -> None:
    config = AlertsConfig(fhir_base_url="http://fhir.test/fhir", retry_base_s=10, retry_max_s=40)
    storage.record_assessment("p1", scenario="x", cards=["x"], alert=_new_alert(), channels=["fhir-task"])
    channel = FlakyChannel()
    worker = OutboxWorker(storage, config, {"fhir-task": channel}, worker_id="w", evidence_url=lambda a: None)
    assert worker.run_once()["retry"] == 1
    assert worker.run_once() == {}  # not due before its back-off
    clock.now += dt.timedelta(seconds=10)
    assert worker.run_once()["retry"] == 1
    row = storage.outbox_rows("k" * 64)[0]
    assert row["attempts"] == 2
    assert row["status"] == DeliveryStatus.PENDING.value
    assert row["next_attempt_at"] == clock.now + dt.timedelta(seconds=20)  # doubled
    channel.up = True
    clock.now += dt.timedelta(seconds=20)
    assert worker.run_once()["delivered"] == 1
    row = storage.outbox_rows("k" * 64)[0]
    assert row["status"] == DeliveryStatus.DELIVERED.value
    assert row["remote_ref"] == "Task/1"
    assert worker.run_once() == {}
    assert channel.calls == 3


def test_backoff_is_capped() -> None:
    config = AlertsConfig(fhir_base_url="http://fhir.test/fhir", retry_base_s=10, retry_max_s=40)
    assert [config.backoff_s(n) for n in (1, 2, 3, 4, 9)] == [10, 20, 40, 40, 40]


def test_task_resource_is_an_idempotent_review_order(storage: Storage) -> None:
    storage.record_assessment("p1", scenario="x", cards=["x"], alert=_new_alert())
    alert = storage.list_alerts()[0]
    task = task_resource(alert, owner="Group/onc", evidence_url="https://cds.test/alerts/evidence/t")
    assert (task["status"], task["intent"], task["for"], task["owner"]) == (
        "requested",
        "order",
        {"reference": "Patient/p1"},
        {"reference": "Group/onc"},
    )
    assert task["identifier"] == [{"system": "urn:her2-pet-cds:alert", "value": "k" * 64}]
    assert task["input"][0]["valueUrl"] == "https://cds.test/alerts/evidence/t"


# -- SMART Backend Services --------------------------------------------------------------------------------


def test_client_assertion_is_an_es384_jwt_for_the_token_endpoint() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    creds = BackendCredentials(
        token_endpoint="https://ehr.test/token",
        client_id="her2cds",
        private_key_pem=pem,
        algorithm="ES384",
        key_id="k1",
    )
    token = client_assertion(creds, now=1_700_000_000, jti="j1")
    assert jwt.get_unverified_header(token)["kid"] == "k1"
    claims = jwt.decode(
        token,
        key.public_key(),
        algorithms=["ES384"],
        audience="https://ehr.test/token",
        options={"verify_exp": False},
    )
    assert claims["iss"] == claims["sub"] == "her2cds"
    assert claims["exp"] - claims["iat"] <= 300
    assert claims["jti"] == "j1"


def test_backend_credentials_refuse_other_algorithms() -> None:
    with pytest.raises(ValueError, match="RS384 or ES384"):
        BackendCredentials(
            token_endpoint="https://ehr.test/token", client_id="c", private_key_pem="x", algorithm="HS256"
        )
