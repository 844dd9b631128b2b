"""PET in the hook against a real Orthanc, over DICOMweb and DIMSE: the service's first sync at start indexes
the patient's HER2 PET, the first hook answers "analysis pending" and queues the analysis, a later hook the
PET card with lesion SUVs; a service started while Orthanc is stopped records its failed sync and answers
with stored facts where it has them and a data-unavailable card naming the PACS."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cds_service import PET_EXTENSION_KEY
from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from connectors.dicom.phantom import PhantomSpec, make_phantom
from tests.integration.orthanc import CDS_AET, OrthancServer
from tests.unit.cds_service.cds_support import check_service_response, hook_request, make_app, scenario_topics

pytestmark = pytest.mark.integration

PV = "/cds-services/her2-pet-review"
PATIENT = "demo-her2-low"
OTHER = "demo-her2-unscored"
SPEC = PhantomSpec(with_sr=True, with_seg=True, patient_id=PATIENT, seed="it-pet-hook")


def chart(patient_id: str) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == patient_id)
    prefetch = {k: as_prefetch_value(k, v) for k, v in patient_resources(patient).items()}
    prefetch["imaging"] = None
    return prefetch


def topics(body: dict[str, Any]) -> list[str]:
    return scenario_topics(body)


def _source_url(server: OrthancServer, transport: str) -> str:
    if transport == "dicomweb":
        return server.dicomweb_url
    return f"dimse://{server.aet}@127.0.0.1:{server.dicom_port}"


@pytest.mark.parametrize("transport", ["dicomweb", "dimse"])
def test_hook_with_pet_then_pacs_stopped(
    tmp_path: Path, orthanc_factory: Callable[..., OrthancServer], transport: str
) -> None:
    server = orthanc_factory()
    phantom = make_phantom(SPEC)
    server.upload([*phantom.pet, *phantom.seg, *phantom.sr])
    url = _source_url(server, transport)
    first = make_app(tmp_path, dicom_source=url, dimse_aet=CDS_AET)
    client = first.test_client()
    body = client.post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT))).get_json()
    check_service_response(body)
    assert topics(body) == ["her2-low-no-pet", "pet-analysis-pending"]  # indexed at start, analysis queued
    deadline = time.monotonic() + 120
    while "pet-analysis-pending" in topics(body) and time.monotonic() < deadline:
        time.sleep(0.5)
        body = client.post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT))).get_json()
    check_service_response(body)
    assert topics(body)[0] == "her2-low-pet-avid"
    assert "hepatic-lesion" in topics(body)
    detail = body["cards"][0]["detail"]
    shown = [float(v) for v in re.findall(r"\(SUVmax ([0-9.]+)\)", detail)]
    avid = [lesion for lesion in phantom.expected.lesions if lesion.avid]
    assert len(shown) == len(avid)
    for lesion in avid:
        assert any(v == pytest.approx(lesion.suv_max, rel=1e-2) for v in shown), (lesion.label, shown)
    assert phantom.pet[0].StudyInstanceUID not in detail  # DICOM UIDs stay on the evidence page

    first.extensions[PET_EXTENSION_KEY].shutdown()
    server.stop()
    second = make_app(tmp_path, dicom_source=url, dimse_aet=CDS_AET)  # its first sync fails
    client = second.test_client()
    for patient_id, main in ((PATIENT, "her2-low-pet-avid"), (OTHER, "her2-unscored-negative")):
        resp = client.post(PV, json=hook_request(patient_id=patient_id, prefetch=chart(patient_id)))
        assert resp.status_code == 200
        body = resp.get_json()
        check_service_response(body)
        assert topics(body)[0] == main  # stored facts for the analysed patient; pathology for the other
        unavailable = [c for c in body["cards"] if c["source"]["topic"]["code"] == "dataUnavailable"]
        assert len(unavailable) == 1
        assert "PACS" in unavailable[0]["summary"]
    second.extensions[PET_EXTENSION_KEY].shutdown()
