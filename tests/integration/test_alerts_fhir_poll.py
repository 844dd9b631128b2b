"""The FHIR poll of ``her2-cds alerts sync`` (``changed_patients``) against the FHIR test server: only
resources created or amended after ``since`` count, of the three watched types, every page followed."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.alerts.wiring import Alerts, build_alerts, changed_patients
from cds_service.settings import AuthMode, Settings
from cds_service.storage.store import Storage
from tests.integration.fhir_server import FhirServer

pytestmark = pytest.mark.integration


@pytest.fixture
def alerts(tmp_path: Path, fhir_server: FhirServer) -> Iterator[Alerts]:
    config = tmp_path / "alerts.json"
    config.write_text(json.dumps({"fhir_base_url": fhir_server.base_url}), encoding="utf-8")
    settings = Settings(
        auth=AuthMode.OFF,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'cds.sqlite'}",
        dicom_source=(tmp_path / "dicom").as_uri(),
        fhir_allowlist=(fhir_server.base_url,),
        alerts_config=config,
    )
    storage = Storage(settings.database_url)
    storage.migrate()
    try:
        built = build_alerts(settings, storage)
        assert built is not None
        yield built
    finally:
        storage.dispose()


def _put(server: FhirServer, *resources: dict[str, Any]) -> None:
    server.load_bundle({"entry": [{"resource": r} for r in resources]})


def _last_updated(server: FhirServer, kind: str, rid: str) -> dt.datetime:
    response = requests.get(f"{server.base_url}/{kind}/{rid}", timeout=10)
    response.raise_for_status()
    return dt.datetime.fromisoformat(response.json()["meta"]["lastUpdated"].replace("Z", "+00:00"))


def _observation(rid: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85319-2"}]},
        "subject": {"reference": f"Patient/{patient}"},
    }


def _after(server: FhirServer, marker: str) -> dt.datetime:
    """Write a marker and wait until the server's clock has moved past its second (the poll's resolution)."""
    _put(server, {"resourceType": "Basic", "id": marker, "code": {"text": "poll marker"}})
    since = _last_updated(server, "Basic", marker)
    time.sleep(max(0.0, 1.1 - (dt.datetime.now(dt.UTC) - since).total_seconds()))
    return since


def test_only_watched_resources_changed_after_since_name_their_patients(
    fhir_server: FhirServer, alerts: Alerts
) -> None:
    _put(fhir_server, _observation("poll-before", "poll-old"))
    since = _after(fhir_server, "poll-marker-1")
    _put(
        fhir_server,
        {
            "resourceType": "DiagnosticReport",
            "id": "poll-report",
            "status": "amended",
            "code": {"text": "pathology"},
            "subject": {"reference": "Patient/poll-a"},
        },
        _observation("poll-obs", "poll-b"),
        {
            "resourceType": "MedicationRequest",
            "id": "poll-med",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": "trastuzumab deruxtecan"},
            "subject": {"reference": "Patient/poll-c"},
        },
        {
            "resourceType": "Condition",
            "id": "poll-condition",
            "code": {"text": "not watched"},
            "subject": {"reference": "Patient/poll-d"},
        },
    )
    assert changed_patients(alerts, since) == {"poll-a", "poll-b", "poll-c"}
    # an amendment of an older resource counts again; nothing newer than now
    later = _after(fhir_server, "poll-marker-2")
    _put(fhir_server, {**_observation("poll-before", "poll-old"), "status": "amended"})
    assert changed_patients(alerts, later) == {"poll-old"}
    assert changed_patients(alerts, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == set()


def test_every_page_is_followed(fhir_server: FhirServer, alerts: Alerts) -> None:
    since = _after(fhir_server, "poll-marker-3")
    patients = {f"poll-page-{n:03d}" for n in range(230)}
    ordered = sorted(patients)
    for start in range(0, len(ordered), 50):  # the test server takes modest transactions
        _put(fhir_server, *(_observation(f"obs-{p}", p) for p in ordered[start : start + 50]))
    assert changed_patients(alerts, since) == patients
