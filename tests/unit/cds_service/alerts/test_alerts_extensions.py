"""Review alerts: the loop's lease, the Task owner from the care team, the organisation cohort, the
Subscriptions' discovery and notification parsing, the digest's content, worklist outcomes in the feedback
report, and the retry message."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cds_service.alerts.config import (
    NUCC,
    SNOMED,
    AlertsConfig,
    CohortRule,
    EmailConfig,
    in_cohort,
    parse_alerts_config,
    treating_oncologist,
)
from cds_service.alerts.delivery import DeliveryError, OutboxWorker, duration, task_resource
from cds_service.alerts.digest import digest_message
from cds_service.alerts.subscriptions import (
    TOPIC_CANONICAL_EXT,
    offered_topics,
    parse_notification,
    subscription_resource,
)
from cds_service.analytics.measure import measure_report
from cds_service.analytics.render import report_json, to_table
from cds_service.analytics.report import Period, build_report
from cds_service.errors import BadRequestError
from cds_service.settings import SettingsError
from cds_service.storage.store import AlertRecord, AlertState, NewAlert, Storage
from tests.unit.cds_service.cds_support import make_settings


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

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


def _alert(key: str, scenario: str = "her2-zero-pet-avid", **extra: Any) -> NewAlert:
    return NewAlert(
        alert_key=key,
        patient_id=f"patient-{key[:4]}",
        scenario=scenario,
        reason="review-scenario",
        trigger="pet",
        title=f"Title of {scenario}",
        summary="summary",
        basis=("IHC 0",),
        evidence_id=None,
        rules_version="1",
        **extra,
    )


# -- the loop's lease ----------------------------------------------------------------------------------------


def test_one_pass_per_interval_between_processes_and_a_dead_holder_is_replaced(
    storage: Storage, clock: Clock
) -> None:
    assert storage.claim_lease("alerts-pass", "a", min_gap_s=48, lease_s=600)
    assert not storage.claim_lease("alerts-pass", "b", min_gap_s=48, lease_s=600)  # a runs it
    storage.finish_lease("alerts-pass", "a")
    assert not storage.claim_lease("alerts-pass", "b", min_gap_s=48, lease_s=600)  # one pass per interval
    clock.now += dt.timedelta(seconds=50)
    assert storage.claim_lease("alerts-pass", "b", min_gap_s=48, lease_s=600)
    clock.now += dt.timedelta(seconds=300)  # b is still running: nobody else
    assert not storage.claim_lease("alerts-pass", "a", min_gap_s=48, lease_s=600)
    clock.now += dt.timedelta(seconds=301)  # b died holding it: the lease expired
    assert storage.claim_lease("alerts-pass", "a", min_gap_s=48, lease_s=600)
    storage.finish_lease("alerts-pass", "b")  # a late finish of the lost lease changes nothing
    assert not storage.claim_lease("alerts-pass", "c", min_gap_s=0, lease_s=600)


# -- owner and cohort ----------------------------------------------------------------------------------------

ONCOLOGIST = {"coding": [{"system": SNOMED, "code": "309295000", "display": "Clinical oncologist"}]}
NURSE = {"coding": [{"system": SNOMED, "code": "224535009", "display": "Registered nurse"}]}
ROLES = ((SNOMED, "309295000"), (NUCC, "207RX0202X"))


def _team(*participants: dict[str, Any], status: str = "active", org: str | None = None) -> dict[str, Any]:
    team: dict[str, Any] = {"resourceType": "CareTeam", "status": status, "participant": list(participants)}
    if org:
        team["managingOrganization"] = [{"reference": org}]
    return team


@pytest.mark.parametrize(
    ("teams", "expected"),
    [
        pytest.param(
            [
                _team(
                    {"role": [NURSE], "member": {"reference": "Practitioner/n"}},
                    {"role": [ONCOLOGIST], "member": {"reference": "Practitioner/onc"}},
                )
            ],
            "Practitioner/onc",
            id="oncologist-role",
        ),
        pytest.param(
            [
                _team(
                    {
                        "role": [{"coding": [{"system": NUCC, "code": "207RX0202X"}]}],
                        "member": {"reference": "PractitionerRole/mo"},
                    }
                )
            ],
            "PractitionerRole/mo",
            id="nucc-medical-oncology",
        ),
        pytest.param(
            [
                _team(
                    {
                        "role": [ONCOLOGIST],
                        "member": {"reference": "Practitioner/old"},
                        "period": {"end": "2025-12-31"},
                    },
                    {
                        "role": [ONCOLOGIST],
                        "member": {"reference": "Practitioner/now"},
                        "period": {"start": "2026-01-01"},
                    },
                )
            ],
            "Practitioner/now",
            id="ended-participation-skipped",
        ),
        pytest.param(
            [_team({"role": [ONCOLOGIST], "member": {"reference": "Organization/clinic"}})],
            None,
            id="an-organisation-is-not-an-oncologist",
        ),
        pytest.param(
            [_team({"role": [ONCOLOGIST], "member": {"reference": "Practitioner/x"}}, status="inactive")],
            None,
            id="inactive-team",
        ),
        pytest.param([_team({"role": [NURSE], "member": {"reference": "Practitioner/n"}})], None, id="none"),
    ],
)
def test_treating_oncologist_from_the_care_team(teams: list[dict[str, Any]], expected: str | None) -> None:
    assert treating_oncologist(teams, ROLES, today="2026-03-02") == expected


def test_task_says_whose_it_is(storage: Storage) -> None:
    storage.record_assessment(
        "p",
        scenario="x",
        cards=[],
        alert=_alert("a" * 64, owner_ref="Practitioner/onc", owner_source="care-team"),
    )
    storage.record_assessment("q", scenario="x", cards=[], alert=_alert("b" * 64))
    mine, older = (storage.get_alert("a" * 64), storage.get_alert("b" * 64))
    assert mine is not None
    assert older is not None
    task = task_resource(mine, owner="Group/pool", evidence_url=None)
    assert task["owner"] == {"reference": "Practitioner/onc"}
    assert "treating oncologist" in task["note"][-1]["text"]
    pooled = task_resource(older, owner="Group/pool", evidence_url=None)
    assert pooled["owner"] == {"reference": "Group/pool"}
    assert "review pool" in pooled["note"][-1]["text"]
    assert "owner" not in task_resource(older, owner=None, evidence_url=None)


BREAST = {
    "resourceType": "Condition",
    "clinicalStatus": {"coding": [{"code": "active"}]},
    "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C50.911"}]},
}
CLINIC = "Organization/breast-clinic"


@pytest.mark.parametrize(
    ("patient", "teams", "expected"),
    [
        pytest.param({"managingOrganization": {"reference": CLINIC}}, [], True, id="managing-organization"),
        pytest.param(
            {"generalPractitioner": [{"reference": "Practitioner/gp"}, {"reference": CLINIC}]},
            [],
            True,
            id="general-practitioner-organization",
        ),
        pytest.param({}, [_team(org=CLINIC)], True, id="care-team-managing-organization"),
        pytest.param(
            {"managingOrganization": {"reference": "Organization/elsewhere"}}, [], False, id="elsewhere"
        ),
        pytest.param(None, [], False, id="no-patient-resource"),
    ],
)
def test_cohort_by_organisation(
    patient: dict[str, Any] | None, teams: list[dict[str, Any]], expected: bool
) -> None:
    rule = CohortRule(organizations=(CLINIC,))
    assert in_cohort(rule, [BREAST], teams, patient) is expected
    assert in_cohort(rule, [], teams, patient) is False  # the Condition is still required


def test_configuration_checks_owner_roles_organisations_and_email(tmp_path: Path) -> None:
    base = "https://fhir.example.org/r4"
    settings = make_settings(tmp_path, fhir_allowlist=(base,))
    config = parse_alerts_config(
        {
            "fhir_base_url": base,
            "task_owner_roles": ["http://nucc.org/provider-taxonomy|207RX0202X"],
            "cohort": {"organizations": [CLINIC]},
            "service_loop": {"interval_s": 60},
        },
        settings,
    )
    assert config.task_owner_roles == ((NUCC, "207RX0202X"),)
    assert config.cohort.organizations == (CLINIC,)
    assert (config.loop.interval_s, config.loop.deliver_interval_s) == (60.0, 15.0)
    for bad, member in (
        ({"task_owner_roles": ["309295000"]}, "system|code"),
        ({"cohort": {"organizations": ["Practitioner/x"]}}, "Organization references"),
        ({"task_owner": "onc-pool"}, "task_owner"),
        ({"channels": ["email"]}, "email settings"),
        ({"channels": ["email"], "email": {"host": "smtp", "from": "a@b", "to": []}}, "at least one"),
        (
            {"channels": ["email"], "email": {"host": "smtp", "from": "a@b", "to": ["c@d"], "security": "x"}},
            "security",
        ),
        ({"service_loop": {"interval_s": -1}}, "interval_s"),
    ):
        with pytest.raises(SettingsError, match=member):
            parse_alerts_config({"fhir_base_url": base, **bad}, settings)
    secret = tmp_path / "smtp-password"
    secret.write_text("pw\n", encoding="utf-8")
    plain = {"host": "smtp", "from": "a@b", "to": ["c@d"], "security": "none", "password_file": str(secret)}
    with pytest.raises(SettingsError, match="never sent without TLS"):
        parse_alerts_config(
            {"fhir_base_url": base, "channels": ["email"], "email": {**plain, "username": "u"}}, settings
        )


# -- Subscriptions -------------------------------------------------------------------------------------------


def test_topics_offered_for_watched_types() -> None:
    topic = {
        "resourceType": "SubscriptionTopic",
        "url": "https://ehr.test/topic/pathology",
        "resourceTrigger": [{"resource": "http://hl7.org/fhir/StructureDefinition/DiagnosticReport"}],
    }
    unrelated = {"url": "https://ehr.test/topic/admissions", "resourceTrigger": [{"resource": "Encounter"}]}
    assert offered_topics({}, [topic, unrelated]) == ["https://ehr.test/topic/pathology"]
    capability = {
        "rest": [
            {
                "resource": [
                    {
                        "type": "Subscription",
                        "extension": [
                            {
                                "url": TOPIC_CANONICAL_EXT,
                                "valueCanonical": "https://ehr.test/observation-changes",
                            },
                            {
                                "url": TOPIC_CANONICAL_EXT,
                                "valueCanonical": "https://ehr.test/encounter-start",
                            },
                        ],
                    }
                ]
            }
        ]
    }
    assert offered_topics(capability) == ["https://ehr.test/observation-changes"]
    assert offered_topics({"rest": [{"mode": "server"}]}) == []


def test_subscription_is_an_id_only_rest_hook_with_its_secret_header() -> None:
    sub = subscription_resource("https://ehr.test/topic", "https://cds.test/alerts/fhir-notify/x", "s3cret")
    assert (sub["criteria"], sub["status"], sub["channel"]["type"]) == (
        "https://ehr.test/topic",
        "requested",
        "rest-hook",
    )
    assert sub["channel"]["header"] == ["Authorization: Bearer s3cret"]
    assert sub["channel"]["_payload"]["extension"][0]["valueCode"] == "id-only"


def _backport(kind: str, *focus: str, included: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    parameter: list[dict[str, Any]] = [
        {"name": "subscription", "valueReference": {"reference": "https://ehr.test/fhir/Subscription/1"}},
        {"name": "type", "valueCode": kind},
    ]
    for number, ref in enumerate(focus, start=1):
        parameter.append(
            {
                "name": "notification-event",
                "part": [
                    {"name": "event-number", "valueString": str(number)},
                    {"name": "focus", "valueReference": {"reference": ref}},
                ],
            }
        )
    return {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [{"resource": {"resourceType": "Parameters", "parameter": parameter}}]
        + [
            {"fullUrl": f"https://ehr.test/fhir/{r['resourceType']}/{r['id']}", "resource": r}
            for r in included
        ],
    }


def test_notifications_backport_and_r4b() -> None:
    event = parse_notification(
        _backport(
            "event-notification",
            "https://ehr.test/fhir/DiagnosticReport/dr1/_history/2",
            "Observation/o1",
            "https://ehr.test/fhir/Encounter/e1",
            included=[{"resourceType": "Observation", "id": "o1", "subject": {"reference": "Patient/p9"}}],
        )
    )
    assert (event.kind, event.focus) == ("event-notification", ("DiagnosticReport/dr1", "Observation/o1"))
    assert event.subjects == {"Observation/o1": "p9"}
    assert parse_notification(_backport("handshake")).kind == "handshake"
    r4b = {
        "resourceType": "Bundle",
        "type": "subscription-notification",
        "entry": [
            {
                "resource": {
                    "resourceType": "SubscriptionStatus",
                    "type": "event-notification",
                    "notificationEvent": [
                        {"eventNumber": "3", "focus": {"reference": "MedicationRequest/m1"}}
                    ],
                }
            }
        ],
    }
    assert parse_notification(r4b).focus == ("MedicationRequest/m1",)
    for bad in (
        [],
        {"resourceType": "Bundle", "type": "searchset", "entry": []},
        {"resourceType": "Bundle", "type": "history", "entry": []},
        {"resourceType": "Bundle", "type": "history", "entry": [{"resource": {"resourceType": "Patient"}}]},
        _backport("surprise"),
    ):
        with pytest.raises(BadRequestError):
            parse_notification(bad)


# -- digest --------------------------------------------------------------------------------------------------


def test_digest_says_counts_and_link_only_unless_titles_are_allowed(storage: Storage, clock: Clock) -> None:
    storage.record_assessment("p", scenario="x", cards=[], alert=_alert("a" * 64))
    clock.now += dt.timedelta(days=8)
    storage.record_assessment("q", scenario="x", cards=[], alert=_alert("b" * 64, scenario="her2-ultralow"))
    storage.record_assessment("r", scenario="x", cards=[], alert=_alert("c" * 64))
    storage.set_alert_state("b" * 64, AlertState.ACKNOWLEDGED, by="dr")
    storage.set_alert_state("c" * 64, AlertState.DONE, by="dr")
    email = EmailConfig(host="smtp.test", sender="cds@site.test", recipients=("onc@site.test",))
    alerts = storage.list_alerts()
    message = digest_message(
        email, alerts, now=clock.now, worklist_link="https://cds.test/w/t", link_hours=12
    )
    assert message is not None
    body = message.get_content()
    assert "Open review alerts: 2" in body
    assert "- new: 1" in body
    assert "- acknowledged: 1" in body
    assert "open for more than 7 days: 1" in body
    assert "https://cds.test/w/t" in body
    for alert in alerts:
        assert alert.patient_id not in body
        assert alert.title not in body
        assert alert.alert_key not in body
    titled = digest_message(
        EmailConfig(
            host="smtp.test", sender="cds@site.test", recipients=("onc@site.test",), content="titles"
        ),
        alerts,
        now=clock.now,
        worklist_link=None,
        link_hours=12,
    )
    assert titled is not None
    assert "Title of her2-ultralow: 1" in titled.get_content()
    assert "patient-" not in titled.get_content()
    done_only = [a for a in alerts if a.state is AlertState.DONE]
    assert digest_message(email, done_only, now=clock.now, worklist_link=None, link_hours=12) is None


# -- analytics -----------------------------------------------------------------------------------------------


def test_worklist_actions_appear_in_the_feedback_report_by_scenario_and_source(
    storage: Storage, clock: Clock
) -> None:
    start = clock.now
    storage.record_assessment("p", scenario="x", cards=[], alert=_alert("a" * 64))
    storage.record_assessment("q", scenario="x", cards=[], alert=_alert("b" * 64))
    storage.record_assessment("r", scenario="x", cards=[], alert=_alert("c" * 64, scenario="her2-ultralow"))
    clock.now += dt.timedelta(hours=2)
    storage.set_alert_state("a" * 64, AlertState.ACKNOWLEDGED, by="dr")
    storage.set_alert_state("a" * 64, AlertState.DONE, by="dr", outcome="reviewed-action")
    storage.set_alert_state("b" * 64, AlertState.DONE, by="dr", outcome="not-applicable")
    storage.set_alert_state("c" * 64, AlertState.DONE, by="dr")
    report = build_report(storage.engine, Period(start=start, end=start + dt.timedelta(days=1)))
    by_topic = {a.topic: a for a in report.alerts}
    zero = by_topic["her2-zero-pet-avid"]
    assert (zero.source, zero.raised, zero.acknowledged, zero.done) == ("worklist", 2, 1, 2)
    assert dict(zero.outcomes) == {"reviewed-action": 1, "not-applicable": 1}
    assert report.alerts_total is not None
    assert (report.alerts_total.raised, report.alerts_total.done) == (3, 3)
    assert dict(report.alerts_total.outcomes)["none given"] == 1
    assert report_json(report)["alertsTotal"]["done"] == 3
    assert "reviewed-action 1" in to_table(report)
    measure = measure_report(report)  # validated against the FHIR model
    (group,) = [g for g in measure["group"] if g["code"]["coding"][0]["code"] == "alert-review"]
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}
    assert counts == {"initial-population": 3, "denominator": 3, "numerator": 1}
    assert group["measureScore"]["value"] == round(1 / 3, 4)
    before = build_report(storage.engine, Period(start=start - dt.timedelta(days=2), end=start))
    assert (before.alerts, before.alerts_total) == ((), None)


# -- small defects -------------------------------------------------------------------------------------------


class Failing:
    def deliver(self, alert: AlertRecord, evidence_url: str | None) -> str:
        raise DeliveryError("FHIR server unreachable (ConnectionError)")


def test_a_sub_second_retry_is_not_logged_as_zero_seconds(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    config = AlertsConfig(fhir_base_url="http://fhir.test/fhir", retry_base_s=0.2, retry_max_s=0.4)
    storage.record_assessment("p", scenario="x", cards=[], alert=_alert("a" * 64), channels=["fhir-task"])
    worker = OutboxWorker(
        storage, config, {"fhir-task": Failing()}, worker_id="w", evidence_url=lambda a: None
    )
    with caplog.at_level(logging.WARNING, logger="cds_service.alerts.delivery"):
        assert worker.run_once()["retry"] == 1
    assert "retried in 0.2 s" in caplog.text
    assert [duration(s) for s in (0.25, 30, 600, 7200)] == ["0.25 s", "30 s", "10 min", "2.0 h"]
