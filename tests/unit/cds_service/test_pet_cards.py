"""PET in the cards, end to end through the Flask app: a phantom series in the embedded folder (indexed by the
service's folder scanner), the demo HER2-low chart as prefetch, and the PET cards with their basis, evidence
link and "never claim" checks; an analysis still running gives (p) at once, an unreachable PACS (u) naming
the PACS, and a stale series index is stated on the card."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service import PET_EXTENSION_KEY
from cds_service.demo.data import DEMO_PATIENTS, as_prefetch_value, patient_resources
from cds_service.pet.index import source_key
from cds_service.pet.wiring import pet_side_for
from cds_service.settings import SiteConfig, SiteLink
from cds_service.storage.series_index import SeriesIndex
from cds_service.storage.store import Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.phantom import PhantomSpec, write_phantom
from tests.conftest import free_port
from tests.unit.cds_service.cds_support import check_service_response, hook_request, make_app, scenario_topics
from tests.unit.cds_service.test_card_wording import GLOBAL_NEVER
from tests.unit.cds_service.test_pet_jobs import WAIT_S, CountingSource

PV = "/cds-services/her2-pet-review"
PATIENT = "demo-her2-low"
SPEC = PhantomSpec(with_sr=True, with_seg=True, patient_id=PATIENT, seed="pet-cards-1")
PUBLIC = "https://cds.test"


def chart(patient_id: str) -> dict[str, Any]:
    patient = next(p for p in DEMO_PATIENTS if p.id == patient_id)
    prefetch = {k: as_prefetch_value(k, v) for k, v in patient_resources(patient).items()}
    prefetch["imaging"] = None  # linked by PatientID only
    return prefetch


def topics(body: dict[str, Any]) -> list[str]:
    return scenario_topics(body)


@pytest.fixture
def dicom_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "dicom"
    write_phantom(folder / "pet", SPEC)
    return folder


@pytest.fixture
def app(tmp_path: Path, dicom_dir: Path) -> Flask:
    site = SiteConfig(smart_app=SiteLink(label="HER2 PET viewer", url="https://viewer.example/launch"))
    return make_app(tmp_path, dicom_source=dicom_dir.as_uri(), public_url=PUBLIC, site=site)


def hook_until_analysed(client: FlaskClient, patient_id: str) -> dict[str, Any]:
    """Hooks (each answering at once) until the background analysis is stored; the last answer."""
    deadline = time.monotonic() + WAIT_S
    while True:
        body = client.post(
            PV, json=hook_request(patient_id=patient_id, prefetch=chart(patient_id))
        ).get_json()
        check_service_response(body)
        if "pet-analysis-pending" not in topics(body) or time.monotonic() > deadline:
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)


def test_first_hook_after_start_is_pending_then_the_pet_cards(app: Flask) -> None:
    client = app.test_client()
    first = client.post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT))).get_json()
    check_service_response(first)
    assert topics(first) == ["her2-low-no-pet", "pet-analysis-pending"]  # indexed at start, not analysed
    assert topics(hook_until_analysed(client, PATIENT))[0] == "her2-low-pet-avid"


def test_pet_cards_show_the_pet_basis_with_sources(app: Flask) -> None:
    client = app.test_client()
    body = hook_until_analysed(client, PATIENT)
    codes = topics(body)
    assert codes[0] == "her2-low-pet-avid"
    assert "hepatic-lesion" in codes  # lesion-2 of the phantom is an avid liver lesion
    main = body["cards"][0]
    detail = main["detail"]
    for expected in (
        ", 89Zr-trastuzumab, 120 h after injection.",
        "- Avid lesions (reader call): ",
        "(SUVmax 9)",
        "- PET–pathology interval:",
        "HER2 PET tracers are investigational radiopharmaceuticals.",
    ):
        assert expected in detail, expected
    assert not re.search(r"\d+(?:\.\d+){5,}", detail), "no DICOM UID on a card"
    assert len(detail) <= 2000
    for card in body["cards"]:
        text = f"{card['summary']}\n{card.get('detail', '')}".lower()
        for pattern in GLOBAL_NEVER:
            assert not re.search(pattern, text), (card["source"]["topic"]["code"], pattern)
    links = {link["type"]: link for link in main["links"]}
    assert links["smart"]["url"] == "https://viewer.example/launch"
    evidence = links["absolute"]["url"]
    assert evidence.startswith(f"{PUBLIC}/evidence/")
    assert PATIENT not in evidence
    page = client.get(evidence.removeprefix(PUBLIC))
    assert page.status_code == 200
    assert b"lesion-1" in page.data
    assert re.search(rb"study/[0-9.]+/series/[0-9.]+/instances/[0-9.]+", page.data)  # UIDs stay here
    assert b"Row C" in page.data
    assert b"FDA-approved test" in page.data


def test_an_analysis_in_progress_gives_the_pending_card_at_once(tmp_path: Path, dicom_dir: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'cds.sqlite'}")
    storage.migrate()
    source = CountingSource(FilePetSource(dicom_dir), hold=True)
    side = pet_side_for(source, storage, name="test://held", interval_s=60.0, max_age_s=900.0)
    try:
        app = make_app(tmp_path, pet_lookup=side.lookup)
        resp = app.test_client().post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT)))
        body = resp.get_json()  # answered while the analysis it queued is held
        check_service_response(body)
        assert topics(body) == ["her2-low-no-pet", "pet-analysis-pending"]
        assert "2024-03-09" in body["cards"][1]["summary"]
    finally:
        source.release.set()
        side.shutdown()
        storage.dispose()


def test_unreachable_pacs_gives_data_unavailable_naming_the_pacs(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/dicom-web"
    app = make_app(tmp_path, dicom_source=dead, hook_budget_ms=800)  # its first sync fails at start
    body = (
        app.test_client().post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT))).get_json()
    )
    check_service_response(body)
    assert "data-unavailable" in topics(body)
    unavailable = next(c for c in body["cards"] if c["source"]["topic"]["code"] == "dataUnavailable")
    assert "PACS" in unavailable["summary"]


def test_a_stale_index_is_stated_on_the_card(tmp_path: Path, dicom_dir: Path) -> None:
    app = make_app(tmp_path, dicom_source=dicom_dir.as_uri(), pet_index_max_age_s=900.0)
    client = app.test_client()
    assert "PET index" not in str(hook_until_analysed(client, PATIENT))  # current: nothing to state
    app.extensions[PET_EXTENSION_KEY].shutdown()  # the scanner stops: nothing keeps the index current
    long_ago = dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)
    storage = Storage(f"sqlite:///{tmp_path / 'cds.sqlite'}")
    try:
        SeriesIndex(storage, clock=lambda: long_ago).record_success(
            source_key(dicom_dir.as_uri()), started_at=long_ago
        )
    finally:
        storage.dispose()
    body = client.post(PV, json=hook_request(patient_id=PATIENT, prefetch=chart(PATIENT))).get_json()
    check_service_response(body)
    assert topics(body)[0] == "her2-low-pet-avid"  # what the index holds still counts
    assert "data-unavailable" not in topics(body)  # old, not failed
    assert (
        "- HER2 PET index last updated 2026-01-05: PET studies stored since then are not included."
        in body["cards"][0]["detail"]
    )
