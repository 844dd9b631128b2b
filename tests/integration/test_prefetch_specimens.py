"""The ``specimens`` prefetch key against the real FHIR R4 test server (``docs/prefetch.md``).

A CDS client fills a prefetch key by running the template against its FHIR server: the CDS Hooks sandbox
first as ``POST {type}/_search`` with a form body, then as ``GET``; the service's own fallback as ``GET``.
Both forms of the ``specimens`` query (``_include=DiagnosticReport:specimen``) must bring the pathology
reports with the Specimens they name, so that the mapping knows where and when each specimen was taken,
which the ``pathology`` key alone cannot tell.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from cds_service.demo.data import DEMO_PATIENTS, transaction_bundle
from cds_service.hooks.prefetch import PREFETCH_KEYS, render_template
from connectors.fhir.mapping import pathology_from_resources
from rules.domain import SpecimenSite
from tests.integration.fhir_server import FhirServer

pytestmark = pytest.mark.integration

FHIR_JSON = {"Accept": "application/fhir+json"}
PATIENT = next(p for p in DEMO_PATIENTS if p.has_pathology)


@pytest.fixture(scope="module")
def loaded(fhir_server: FhirServer) -> FhirServer:
    fhir_server.load_bundle(transaction_bundle(PATIENT))
    return fhir_server


def _query(name: str) -> tuple[str, str]:
    key = next(k for k in PREFETCH_KEYS if k.name == name)
    rendered = render_template(key.template, {"patientId": PATIENT.id, "userId": "Practitioner/p"})
    assert rendered is not None
    path, _, query = rendered.partition("?")
    return path, query


def _entries(bundle: dict[str, Any]) -> list[tuple[str, str, str]]:
    return sorted(
        (e["resource"]["resourceType"], e["resource"]["id"], e.get("search", {}).get("mode", ""))
        for e in bundle.get("entry", [])
    )


def _site(bundle: dict[str, Any]) -> SpecimenSite:
    data = pathology_from_resources([e["resource"] for e in bundle.get("entry", [])])
    assert data.her2, "the demo report carries a HER2 result"
    return data.her2[0].specimen.site


def test_get_search_brings_each_report_with_its_specimen(loaded: FhirServer) -> None:
    path, query = _query("specimens")
    resp = requests.get(f"{loaded.base_url}/{path}?{query}", headers=FHIR_JSON, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert _entries(body) == [
        ("DiagnosticReport", f"{PATIENT.id}-path", "match"),
        ("Specimen", f"{PATIENT.id}-spec", "include"),
    ]
    assert _site(body) is SpecimenSite.PRIMARY


def test_post_search_as_the_sandbox_sends_it(loaded: FhirServer) -> None:
    path, query = _query("specimens")
    resp = requests.post(
        f"{loaded.base_url}/{path}/_search",
        data=query,
        headers={**FHIR_JSON, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert ("Specimen", f"{PATIENT.id}-spec", "include") in _entries(resp.json())


def test_pathology_key_alone_leaves_the_site_unknown(loaded: FhirServer) -> None:
    """Why the key exists: the same reports without ``_include`` name the specimen but do not carry it."""
    path, query = _query("pathology")
    resp = requests.get(f"{loaded.base_url}/{path}?{query}", headers=FHIR_JSON, timeout=10)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [kind for kind, _, _ in _entries(body)] == ["DiagnosticReport"]
    assert _site(body) is SpecimenSite.UNKNOWN
