"""FhirClient against the real FHIR R4 test server (Node, @medplum/fhir-router MemoryRepository)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from connectors.errors import NotFoundError, SourceUnavailableError
from connectors.fhir.client import FhirClient
from connectors.fhir.mapping import pathology_from_bundle
from connectors.http import Timeouts, make_session
from tests.integration.fhir_server import FhirServer, start_fhir_server

pytestmark = pytest.mark.integration

TIMEOUTS = Timeouts(connect_s=1.0, read_s=5.0)
PATHOLOGY_BUNDLES = [
    "bundle-her2-ihc3-positive.json",
    "bundle-her2-low-ihc1.json",
    "bundle-her2-ihc2-ish-group5.json",
    "bundle-her2-ish-group2-ihc1.json",
    "bundle-her2-ish-group3-ihc2.json",
    "bundle-her2-ultralow.json",
    "bundle-her2-null.json",
    "bundle-narrative-only-binary-html.json",
]


def _client(server: FhirServer) -> FhirClient:
    return FhirClient(server.base_url, make_session(), TIMEOUTS, bearer_token="integration-token")


@pytest.mark.parametrize("name", PATHOLOGY_BUNDLES)
def test_fetch_matches_bundle_mapping(fhir_server: FhirServer, testdata: Path, name: str) -> None:
    bundle = json.loads((testdata / "fhir/synthetic" / name).read_text(encoding="utf-8"))
    patient_id = next(
        e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    expected = pathology_from_bundle(bundle)
    data = _client(fhir_server).fetch_patient_pathology(patient_id)
    assert data.her2 == expected.her2
    assert sorted(data.receptors, key=repr) == sorted(expected.receptors, key=repr)
    assert data.patient_ids == (patient_id,)
    if name != "bundle-narrative-only-binary-html.json":
        assert data.her2, "every structured bundle yields a HER2 result"


def test_context_for_patient_with_two_bundles(fhir_server: FhirServer) -> None:
    data = _client(fhir_server).fetch_patient_pathology("pt-her2-low1")
    assert data.context.metastatic is True
    assert data.context.tdxd_draft_order is True
    assert data.her2[0].ihc is not None
    assert str(data.her2[0].ihc.score) == "1+"


def test_paging_through_next_links(fhir_server: FhirServer) -> None:
    client = _client(fhir_server)
    everything = client.search("Observation", {"patient": "pt-her2-g3"})
    paged = client.search("Observation", {"patient": "pt-her2-g3", "_count": "3"})
    assert len(everything) == 10
    assert sorted(r["id"] for r in paged) == sorted(r["id"] for r in everything)


def test_read_missing_resource_is_not_found(fhir_server: FhirServer) -> None:
    with pytest.raises(NotFoundError):
        _client(fhir_server).read("DiagnosticReport", "nope")


def test_stopped_server_fails_fast(tmp_path: Path) -> None:
    server = start_fhir_server(tmp_path)
    client = _client(server)
    with pytest.raises(NotFoundError):
        client.read("Patient", "not-there")  # the server answers before it is stopped
    server.stop()
    started = time.monotonic()
    with pytest.raises(SourceUnavailableError):
        client.fetch_patient_pathology("pt-her2-g3")
    assert time.monotonic() - started < 3.0
