"""Review alerts inside the web service, against the Node FHIR test server and a local SMTP server.

1. Two apps over one database (two workers), each with the alert loop on: a HER2-ultralow patient of the
   configured organisation with an oncologist on her care team gets one Task owned by that oncologist; one
   of the organisation without a care-team oncologist gets one Task owned by the configured pool; one of
   another organisation gets none. The e-mail digest arrives at the SMTP server (aiosmtpd) over STARTTLS
   with login, says counts and the worklist link, and names no patient. Stopping the apps ends the loops.
2. One app served over HTTP with Subscriptions enabled: the test server offers a topic (SubscriptionTopic
   and the Backport CapabilityStatement extension), the service creates its rest-hook Subscription, the
   server's handshake and then its notification of a new pathology report reach the service, which
   re-assesses that patient and writes one Task (trigger ``subscription``). A notification without the
   secret, for an unknown Subscription, or that is not a notification is refused (401, 404, 400).

The FHIR server's notifications come from ``tests/fhir_server/server.mjs``'s own minimal Backport sender:
how a real EHR's Subscription implementation behaves is not tested here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from cds_service import PET_EXTENSION_KEY
from cds_service.alerts.delivery import ALERT_SYSTEM
from cds_service.alerts.service import ALERTS_KEY, AlertsService, stop_alerts
from cds_service.alerts.subscriptions import ensure_subscriptions
from cds_service.cohort.synthetic import Her2Spec, SyntheticBiopsy, SyntheticPatient, synthetic_cohort
from cds_service.cohort.synthetic_fhir import patient_bundle
from cds_service.storage.store import AlertRecord, Storage
from connectors.dicom.phantom import PhantomSpec, write_phantom
from tests.conftest import free_port
from tests.integration.fhir_server import FhirServer, start_fhir_server
from tests.unit.cds_service.cds_support import make_app

pytestmark = pytest.mark.integration

SNOMED = "http://snomed.info/sct"
WAIT_S = 90.0
CLINIC = "Organization/breast-clinic"
POOL = "Group/oncology-t-dxd-review"
ONCOLOGIST = "Practitioner/onc-a"
LINK_SECRET = "alerts-service-link-secret-of-32-characters"
SMTP_USER, SMTP_PASSWORD = "her2cds", "smtp-password-for-tests"
ULTRALOW = SyntheticBiopsy(collected=dt.date(2024, 3, 7), site=None, her2=Her2Spec.IHC0_ULTRALOW)
NULL = SyntheticBiopsy(collected=dt.date(2024, 2, 20), site=None, her2=Her2Spec.IHC0_NULL)


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def breast_cancer(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": f"{patient_id}-breast-cancer",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": {"coding": [{"system": SNOMED, "code": "254837009"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def chart(
    fhir: FhirServer,
    patient: SyntheticPatient,
    *biopsies: SyntheticBiopsy,
    patient_fields: dict[str, Any],
    oncologist: str | None = None,
) -> None:
    """Load the patient's chart: these biopsies, an active breast-cancer Condition, the Patient's
    organisation fields, and a CareTeam naming ``oncologist`` as clinical oncologist."""
    bundle = patient_bundle(dataclasses.replace(patient, biopsies=biopsies, pet=None))
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"].update(patient_fields)
    bundle["entry"].append({"resource": breast_cancer(patient.fhir_id)})
    if oncologist is not None:
        role = {"coding": [{"system": SNOMED, "code": "309295000", "display": "Clinical oncologist"}]}
        nurse = {"coding": [{"system": SNOMED, "code": "224535009", "display": "Registered nurse"}]}
        team = {
            "resourceType": "CareTeam",
            "id": f"{patient.fhir_id}-team",
            "status": "active",
            "subject": {"reference": f"Patient/{patient.fhir_id}"},
            "participant": [
                {"role": [nurse], "member": {"reference": "Practitioner/nurse-b"}},
                {"role": [role], "member": {"reference": oncologist}},
            ],
        }
        bundle["entry"].append({"resource": team})
    fhir.load_bundle(bundle)


def tasks(fhir: FhirServer, alert_key: str) -> list[dict[str, Any]]:
    response = requests.get(
        f"{fhir.base_url}/Task", params={"identifier": f"{ALERT_SYSTEM}|{alert_key}"}, timeout=10
    )
    response.raise_for_status()
    return [e["resource"] for e in response.json().get("entry", [])]


def alerts_for(database: str, patient_id: str) -> list[AlertRecord]:
    storage = Storage(database)
    try:
        return [a for a in storage.list_alerts() if a.patient_id == patient_id]
    finally:
        storage.dispose()


@pytest.fixture(scope="module")
def fhir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    server = start_fhir_server(tmp_path_factory.mktemp("alerts-service-fhir"))
    try:
        yield server
    finally:
        server.stop()


# -- a real SMTP server with STARTTLS and login -------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.tls: list[bool] = []
        self.authenticated: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.tls.append(session.ssl is not None)
        self.authenticated.append(bool(session.authenticated))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok)


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    import ssl

    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


def _config(path: Path, fhir: FhirServer, **extra: Any) -> Path:
    path.write_text(
        json.dumps(
            {
                "fhir_base_url": fhir.base_url,
                "channels": ["fhir-task", "worklist", *extra.pop("channels", [])],
                "task_owner": POOL,
                "cohort": {"organizations": [CLINIC]},
                "retry_base_s": 0.5,
                "retry_max_s": 1,
                **extra,
            }
        ),
        encoding="utf-8",
    )
    return path


def _app(tmp_path: Path, fhir: FhirServer, config: Path, public_url: str) -> Flask:
    return make_app(
        tmp_path,
        public_url=public_url,
        link_secret=LINK_SECRET,
        fhir_allowlist=(fhir.base_url,),
        alerts_config=config,
    )


def test_two_workers_alert_by_care_team_owner_and_organisation_and_send_the_digest(
    fhir: FhirServer, smtp: tuple[Inbox, int, Path], tmp_path: Path
) -> None:
    inbox, smtp_port, ca_file = smtp
    password = tmp_path / "smtp-password"
    password.write_text(SMTP_PASSWORD, encoding="utf-8")
    members = synthetic_cohort().patients
    with_oncologist, pooled, elsewhere = members[1], members[2], members[3]
    chart(
        fhir,
        with_oncologist,
        ULTRALOW,
        patient_fields={"managingOrganization": {"reference": CLINIC}},
        oncologist=ONCOLOGIST,
    )
    chart(fhir, pooled, ULTRALOW, patient_fields={"generalPractitioner": [{"reference": CLINIC}]})
    chart(
        fhir,
        elsewhere,
        ULTRALOW,
        patient_fields={"managingOrganization": {"reference": "Organization/elsewhere"}},
        oncologist=ONCOLOGIST,
    )
    config = _config(
        tmp_path / "alerts.json",
        fhir,
        channels=["email"],
        service_loop={"interval_s": 1, "deliver_interval_s": 0.5},
        email={
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "starttls",
            "username": SMTP_USER,
            "password_file": str(password),
            "ca_file": str(ca_file),
            "from": "her2cds@site.test",
            "to": ["onc-review@site.test"],
            "worklist_reviewer": "oncology review team",
        },
    )
    first = _app(tmp_path, fhir, config, "https://cds.example.org")
    second = _app(tmp_path, fhir, config, "https://cds.example.org")
    database = f"sqlite:///{tmp_path / 'cds.sqlite'}"
    try:
        services = [app.extensions[ALERTS_KEY] for app in (first, second)]
        assert all(isinstance(s, AlertsService) and s.loop is not None and s.loop.running for s in services)

        def delivered(patient: SyntheticPatient) -> bool:
            found = alerts_for(database, patient.fhir_id)
            return len(found) == 1 and len(tasks(fhir, found[0].alert_key)) == 1

        wait_for(lambda: delivered(with_oncologist) and delivered(pooled), "both Tasks")
        (mine,) = alerts_for(database, with_oncologist.fhir_id)
        (task,) = tasks(fhir, mine.alert_key)
        assert (mine.scenario, mine.owner_ref, mine.owner_source) == (
            "her2-ultralow",
            ONCOLOGIST,
            "care-team",
        )
        assert task["owner"] == {"reference": ONCOLOGIST}
        assert any("treating oncologist" in note["text"] for note in task["note"])
        (theirs,) = alerts_for(database, pooled.fhir_id)
        (pool_task,) = tasks(fhir, theirs.alert_key)
        assert pool_task["owner"] == {"reference": POOL}
        assert any("review pool" in note["text"] for note in pool_task["note"])
        assert alerts_for(database, elsewhere.fhir_id) == []

        wait_for(lambda: inbox.messages, "the e-mail digest")
        message = inbox.messages[0]
        assert (inbox.tls[0], inbox.authenticated[0]) == (True, True)
        assert message["To"] == "onc-review@site.test"
        body = message.get_payload(decode=True).decode()
        assert "Open review alerts: " in body
        assert "https://cds.example.org/alerts/worklist/" in body
        for member in (with_oncologist, pooled):
            for secret in (member.fhir_id, member.mrn, member.family, member.given):
                assert secret not in body
        # later passes of both workers raise nothing more and write no second Task
        time.sleep(3)
        assert len(alerts_for(database, with_oncologist.fhir_id)) == 1
        assert len(tasks(fhir, mine.alert_key)) == 1
        assert len(tasks(fhir, theirs.alert_key)) == 1
    finally:
        for app in (first, second):
            stop_alerts(app)
    assert not any(s.loop is not None and s.loop.running for s in services)


@pytest.fixture
def served(fhir: FhirServer, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    config = _config(
        tmp_path / "alerts.json",
        fhir,
        service_loop={"interval_s": 3600, "deliver_interval_s": 3600},
        subscriptions={"enabled": True},
    )
    app = _app(tmp_path, fhir, config, public)
    server: BaseWSGIServer = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield app, public
    finally:
        stop_alerts(app)
        server.shutdown()
        thread.join(10)


def test_a_subscription_notification_reassesses_the_patient(
    fhir: FhirServer, served: tuple[Flask, str], tmp_path: Path
) -> None:
    app, public = served
    database = f"sqlite:///{tmp_path / 'cds.sqlite'}"
    patient = synthetic_cohort().patients[4]
    fields = {"managingOrganization": {"reference": CLINIC}}
    chart(fhir, patient, NULL, patient_fields=fields, oncologist=ONCOLOGIST)

    def subscribed() -> bool:
        storage = Storage(database)
        try:
            return any(s.remote_ref and s.events >= 1 for s in storage.subscriptions())
        finally:
            storage.dispose()

    wait_for(subscribed, "the Subscription and its handshake")
    storage = Storage(database)
    try:
        (record,) = storage.subscriptions()
    finally:
        storage.dispose()
    (created,) = requests.get(f"{fhir.base_url}/{record.remote_ref}", timeout=10).json()["channel"]["header"]
    assert created.startswith("Authorization: Bearer ")
    assert alerts_for(database, patient.fhir_id) == []  # HER2-0 without PET asks for no review

    chart(fhir, patient, NULL, ULTRALOW, patient_fields=fields, oncologist=ONCOLOGIST)
    wait_for(lambda: alerts_for(database, patient.fhir_id), "the alert after the notification")
    (alert,) = alerts_for(database, patient.fhir_id)
    assert (alert.trigger, alert.scenario, alert.owner_ref) == ("subscription", "her2-ultralow", ONCOLOGIST)
    wait_for(lambda: tasks(fhir, alert.alert_key), "the Task after the notification")
    assert len(tasks(fhir, alert.alert_key)) == 1

    url = f"{public}/alerts/fhir-notify/{record.id}"
    notification = {
        "resourceType": "Bundle",
        "type": "history",
        "entry": [
            {
                "resource": {
                    "resourceType": "Parameters",
                    "parameter": [{"name": "type", "valueCode": "heartbeat"}],
                }
            }
        ],
    }
    assert requests.post(url, json=notification, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert requests.post(url, json=notification, headers=wrong, timeout=10).status_code == 401
    bearer = {"Authorization": created.partition(": ")[2]}
    assert requests.post(url, json=notification, headers=bearer, timeout=10).status_code == 200
    answer = requests.post(url, json={"resourceType": "Patient"}, headers=bearer, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["resourceType"] == "OperationOutcome"
    unknown = requests.post(
        f"{public}/alerts/fhir-notify/unknown", json=notification, headers=bearer, timeout=10
    )
    assert unknown.status_code == 404
    assert app.extensions[ALERTS_KEY].loop.passes["run"] == 1

    # the server turns the Subscription off: the next pass replaces it (and the handshake reaches us)
    remote = requests.get(f"{fhir.base_url}/{record.remote_ref}", timeout=10).json()
    remote["status"] = "off"
    requests.put(f"{fhir.base_url}/{record.remote_ref}", json=remote, timeout=10).raise_for_status()
    storage = Storage(database)
    try:
        assert ensure_subscriptions(app.extensions[ALERTS_KEY].alerts, storage, public_url=public) == 1
        (replacement,) = storage.subscriptions()
        assert replacement.id != record.id
        assert replacement.remote_ref != record.remote_ref
    finally:
        storage.dispose()
    wait_for(subscribed, "the new Subscription's handshake")
    assert requests.post(url, json=notification, headers=bearer, timeout=10).status_code == 404


def test_a_pet_series_found_by_the_services_own_scanner_becomes_one_task(
    fhir: FhirServer, tmp_path: Path
) -> None:
    """The web service's folder scanner indexes a new HER2 PET series, its background job analyses it, and
    the next alert pass of the service's loop raises the alert and writes the Task: no other process."""
    member = synthetic_cohort().patients[5]
    chart(fhir, member, NULL, patient_fields={"managingOrganization": {"reference": CLINIC}})
    config = _config(
        tmp_path / "alerts.json", fhir, service_loop={"interval_s": 1, "deliver_interval_s": 0.5}
    )
    app = make_app(
        tmp_path,
        public_url="https://cds.example.org",
        link_secret=LINK_SECRET,
        fhir_allowlist=(fhir.base_url,),
        alerts_config=config,
        pet_scan_interval_s=1.0,
    )
    database = f"sqlite:///{tmp_path / 'cds.sqlite'}"
    try:
        spec = PhantomSpec(
            with_sr=True,
            patient_id=member.mrn,
            patient_name=f"{member.family}^{member.given}",
            birth_date=member.birth_date.strftime("%Y%m%d"),
            seed="alerts-service-scanner",
        )
        write_phantom(tmp_path / "dicom" / "incoming", spec)  # after the first index pass: a new series
        wait_for(lambda: alerts_for(database, member.fhir_id), "the alert of the scanned series")
        (alert,) = alerts_for(database, member.fhir_id)
        assert alert.scenario == "her2-zero-pet-avid"
        # the pass re-assesses the patients of FHIR changes, then those of PET analyses ("pet"); the FHIR
        # poll's five-minute overlap still lists this chart, so it may see the analysis first ("fhir")
        assert alert.trigger in ("pet", "fhir")
        wait_for(lambda: tasks(fhir, alert.alert_key), "its Task")
        time.sleep(2)  # later passes see the same analysis again and raise nothing
        assert len(alerts_for(database, member.fhir_id)) == 1
        assert len(tasks(fhir, alert.alert_key)) == 1
    finally:
        stop_alerts(app)
        app.extensions[PET_EXTENSION_KEY].shutdown()


def test_concurrent_reassessments_share_the_connection_pool_without_dropping_connections(
    fhir: FhirServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The alert components of one process (loop, delivery, notification thread, receiver triggers) share
    one HTTP session: as many threads as it serves at once never overflow its pool ("pool is full")."""
    member = synthetic_cohort().patients[1]
    chart(fhir, member, ULTRALOW, patient_fields={"managingOrganization": {"reference": CLINIC}})
    config = _config(tmp_path / "alerts.json", fhir)
    app = _app(tmp_path, fhir, config, "https://cds.example.org")
    service = app.extensions[ALERTS_KEY]
    errors: list[BaseException] = []

    def reassess() -> None:
        try:
            service.alerts.assessor.reassess(member.fhir_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
        threads = [threading.Thread(target=reassess) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    stop_alerts(app)
    assert errors == []
    assert "Connection pool is full" not in caplog.text
