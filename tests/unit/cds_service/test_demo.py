"""The demo: deterministic synthetic charts, the embedded prefetch source, the serve/demo commands' wiring."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from cds_service.cli import demo, serve
from cds_service.demo.data import (
    DEMO_PATIENTS,
    DemoPatient,
    EmbeddedDemoPrefetch,
    patient_resources,
    transaction_bundle,
)
from cds_service.settings import AuthMode
from tests.unit.cds_service.cds_support import check_service_response, hook_request, make_app, scenario_topics


def test_charts_are_deterministic_and_cover_the_pathology_scenarios() -> None:
    first = json.dumps([transaction_bundle(p) for p in DEMO_PATIENTS], sort_keys=True)
    again = json.dumps([transaction_bundle(p) for p in DEMO_PATIENTS], sort_keys=True)
    assert first == again
    expected = {p.expected for p in DEMO_PATIENTS}
    assert {
        "her2-low-no-pet",
        "her2-unscored-negative",
        "ihc2-ish-pending",
        "her2-ultralow",
        None,
    } <= expected
    for p in DEMO_PATIENTS:
        chart = patient_resources(p)
        refs = {r["subject"]["reference"] for items in chart.values() for r in items if "subject" in r}
        assert refs == {f"Patient/{p.id}"}


def test_embedded_prefetch_fills_only_absent_keys() -> None:
    source = EmbeddedDemoPrefetch()
    filled = source.fill({"her2": None}, "demo-her2-low")
    assert filled["her2"] is None
    assert filled["patient"]["id"] == "demo-her2-low"
    assert filled["pathology"]["resourceType"] == "Bundle"
    assert source.fill(None, "someone-else") == {}


def test_demo_app_answers_without_prefetch_or_fhir_server(tmp_path: Path) -> None:
    client = make_app(tmp_path, demo=True, embedded_prefetch=EmbeddedDemoPrefetch()).test_client()
    resp = client.post("/cds-services/her2-pet-review", json=hook_request(patient_id="demo-her2-unscored"))
    assert resp.status_code == 200
    check_service_response(resp.get_json())
    assert scenario_topics(resp.get_json()) == ["her2-unscored-negative"]


def test_demo_settings_turn_auth_off(tmp_path: Path) -> None:
    settings = demo.demo_settings(8123, {"HER2CDS_DATA_DIR": str(tmp_path), "HER2CDS_AUTH": "jwt"})
    assert settings.auth is AuthMode.OFF
    assert settings.demo is True
    assert settings.public_url == "http://127.0.0.1:8123"
    text = demo.usage_text(8123, ("demo-her2-low",))
    assert "curl -s http://127.0.0.1:8123/cds-services" in text
    assert '"patientId":"demo-her2-low"' in text


def test_commands_register_and_gunicorn_options() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    serve.register(sub)
    demo.register(sub)
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (args.host, args.port, args.func) == ("0.0.0.0", 9000, serve.run)
    assert parser.parse_args(["demo", "--port", "9001"]).port == 9001
    options = serve.gunicorn_options("127.0.0.1", 9000)
    assert options["bind"] == "127.0.0.1:9000"
    # gunicorn's gthread worker, answering its own refusals (414, 431, 400) as OperationOutcome JSON
    assert options["worker_class"] == "cds_service.serving.JsonErrorWorker"
    from gunicorn.workers.gthread import ThreadWorker

    from cds_service.serving import JsonErrorWorker

    assert issubclass(JsonErrorWorker, ThreadWorker)
    assert options["threads"] == 8
    assert options["timeout"] == 30
    assert serve.gunicorn_options("::1", 9000)["bind"] == "[::1]:9000"


@pytest.mark.parametrize("patient", DEMO_PATIENTS, ids=lambda p: p.id)
def test_every_demo_patient_shows_its_scenario(tmp_path: Path, patient: DemoPatient) -> None:
    client = make_app(tmp_path, demo=True, embedded_prefetch=EmbeddedDemoPrefetch()).test_client()
    resp = client.post("/cds-services/her2-pet-review", json=hook_request(patient_id=patient.id))
    assert resp.status_code == 200
    topics = scenario_topics(resp.get_json())
    assert topics == ([patient.expected] if patient.expected else [])
