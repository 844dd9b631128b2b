"""Prefetch fallback against the real FHIR R4 test server (cds-hooks.md §14.4).

The demo charts and the published synthetic bundles are loaded into the server; hook calls without prefetch
make the service resolve its own templates (comma-separated codes, ``_sort``, ``_count``) against it with the
client's bearer token, follow ``next`` pages, and answer with the pathology-driven cards. A server that is not
allow-listed is never used (412).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cds_service.demo.data import DEMO_PATIENTS, transaction_bundle
from cds_service.hooks.prefetch import (
    PREFETCH_KEYS,
    FhirAccess,
    PrefetchKey,
    PrefetchResolver,
    fhir_client_factory,
)
from cds_service.settings import AuthMode, Settings, SiteConfig, normalise_base_url
from connectors.http import Deadline
from tests.integration.fhir_server import FhirServer
from tests.unit.cds_service.cds_support import check_service_response, hook_request, make_app, scenario_topics

pytestmark = pytest.mark.integration

PV = "/cds-services/her2-pet-review"


@pytest.fixture(scope="module")
def loaded(fhir_server: FhirServer) -> FhirServer:
    for patient in DEMO_PATIENTS:
        fhir_server.load_bundle(transaction_bundle(patient))
    return fhir_server


def authorization(base: str) -> dict[str, Any]:
    return {
        "fhirServer": base,
        "fhirAuthorization": {
            "access_token": "integration-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "user/Patient.rs user/Observation.rs user/DiagnosticReport.rs",
            "subject": "her2-cds",
        },
    }


@pytest.mark.req("I-34")
@pytest.mark.req("I-60")
@pytest.mark.parametrize(
    ("patient_id", "expected"),
    [pytest.param(p.id, [p.expected] if p.expected else [], id=p.id) for p in DEMO_PATIENTS]
    + [pytest.param("pt-her2-low1", ["her2-low-no-pet"], id="published synthetic HER2-low")],
)
def test_fallback_fetches_from_the_allow_listed_server(
    tmp_path: Path, loaded: FhirServer, patient_id: str, expected: list[str]
) -> None:
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(loaded.base_url),), hook_budget_ms=5000
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id=patient_id, **authorization(loaded.base_url)))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    check_service_response(body)
    assert scenario_topics(body) == expected


def test_narrative_in_a_binary_is_read_through_the_fallback(tmp_path: Path, loaded: FhirServer) -> None:
    """A report whose only HER2 statement is an HTML ``presentedForm`` Binary (category ``LAB``, so the site
    widens the pathology template): the fallback reads the report and then its Binary from the server."""
    site = SiteConfig(
        prefetch_templates={
            "pathology": "DiagnosticReport?patient={{context.patientId}}&_sort=-date&_count=10"
        }
    )
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(loaded.base_url),), hook_budget_ms=5000, site=site
    ).test_client()
    resp = client.post(
        PV, json=hook_request(patient_id="pt-narrative-only", **authorization(loaded.base_url))
    )
    assert resp.status_code == 200, resp.get_json()
    check_service_response(resp.get_json())
    assert scenario_topics(resp.get_json()) == ["her2-ultralow"]


@pytest.mark.req("I-54")
def test_off_list_server_is_not_used(tmp_path: Path, loaded: FhirServer) -> None:
    client = make_app(tmp_path, fhir_allowlist=("https://ehr.example.org/fhir",)).test_client()
    resp = client.post(PV, json=hook_request(patient_id="demo-her2-low", **authorization(loaded.base_url)))
    assert resp.status_code == 412


def test_unknown_patient_is_412(tmp_path: Path, loaded: FhirServer) -> None:
    client = make_app(
        tmp_path, fhir_allowlist=(normalise_base_url(loaded.base_url),), hook_budget_ms=5000
    ).test_client()
    resp = client.post(PV, json=hook_request(patient_id="nobody-here", **authorization(loaded.base_url)))
    assert resp.status_code == 412
    assert "patient" in resp.get_json()["issue"][0]["diagnostics"]


def test_paged_searches_are_followed(loaded: FhirServer) -> None:
    """With ``_count=1`` the HER2 search spans pages; the resolver follows ``next`` on the same base."""
    her2 = next(k for k in PREFETCH_KEYS if k.name == "her2")
    key = PrefetchKey("her2", her2.template.replace("_count=50", "_count=1"), True)
    factory = fhir_client_factory(Settings(auth=AuthMode.OFF, hook_budget_ms=10_000))
    access = FhirAccess(base_url=normalise_base_url(loaded.base_url), token="integration-token")
    result = PrefetchResolver(factory, (key,)).resolve(
        None, {"patientId": "demo-her2-low", "userId": "Practitioner/p"}, access, Deadline(10.0)
    )
    ids = sorted(r["id"] for r in result.resources["her2"])
    assert ids == ["demo-her2-low-her2-ihc", "demo-her2-low-her2-status"]
    assert result.status["her2"] == "fetched"
