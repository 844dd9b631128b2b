"""The demo's PET side: every scenario and modifier covered, deterministic generation written once, analyses
stored ahead, the demo-only switches as series-index rows and source states, and each demo patient's exact
cards through the real app (whose scanner indexes the embedded folder at start)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from flask import Flask

from cds_service import PET_EXTENSION_KEY, create_app
from cds_service.demo.data import (
    ALL_DEMO_PATIENTS,
    DEMO_PET_PATIENTS,
    DemoAnalysis,
    DemoPatient,
    EmbeddedDemoPrefetch,
    patient_resources,
)
from cds_service.demo.pet import (
    DEMO_SUBFOLDER,
    ELSEWHERE_FOLDER,
    MARKER_NAME,
    SWITCH_SOURCES,
    fingerprint,
    generate_series,
    prepare_demo,
)
from cds_service.settings import Settings
from cds_service.storage.series_index import SeriesIndex, SeriesTriage
from cds_service.storage.store import Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.phantom import phantom_uids
from rules.domain import CardScenario
from tests.unit.cds_service.cds_support import (
    check_service_response,
    hook_request,
    make_settings,
    medication_request,
    scenario_topics,
)

PV = "/cds-services/her2-pet-review"


@dataclass
class DemoEnv:
    settings: Settings
    app: Flask
    storage: Storage
    first: bool
    second: bool


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoEnv]:
    root = tmp_path_factory.mktemp("demo")
    settings = make_settings(root, demo=True)
    first = prepare_demo(settings)
    second = prepare_demo(settings)
    storage = Storage(settings.database_url)
    storage.check_schema()  # prepare_demo migrated the embedded-folder database
    app = create_app(settings, embedded_prefetch=EmbeddedDemoPrefetch())
    app.testing = True
    assert first.analysed == sum(
        1 for p in DEMO_PET_PATIENTS if p.pet and p.pet.analysis is DemoAnalysis.PRECOMPUTED
    )
    assert first.switched == second.switched == len(SWITCH_SOURCES)
    yield DemoEnv(settings, app, storage, first.generated, second.generated or second.analysed > 0)
    app.extensions[PET_EXTENSION_KEY].shutdown()
    storage.dispose()


def test_demo_covers_every_scenario_and_modifier() -> None:
    produced = {code for p in ALL_DEMO_PATIENTS for code in (*p.scenarios, *p.order_scenarios)}
    assert produced == {s.value for s in CardScenario}
    ids = [p.id for p in ALL_DEMO_PATIENTS]
    assert len(ids) == len(set(ids))
    assert len({p.dicom_patient_id for p in DEMO_PET_PATIENTS}) == len(DEMO_PET_PATIENTS)


def test_pet_patients_link_by_imaging_study_or_identifier() -> None:
    for p in DEMO_PET_PATIENTS:
        chart = patient_resources(p)
        identifiers = {i["value"] for i in chart["patient"][0]["identifier"]}
        assert p.dicom_patient_id in identifiers
        spec = p.pet_spec()
        assert spec is not None
        assert spec.patient_id == p.dicom_patient_id
        assert p.pet is not None
        if p.pet.link_imaging_study:
            (study,) = chart["imaging"]
            assert study["identifier"] == [
                {"system": "urn:dicom:uid", "value": f"urn:oid:{phantom_uids(spec)[0]}"}
            ]
            assert study["series"][0]["uid"] == phantom_uids(spec)[1]
        else:
            assert chart["imaging"] == []
    assert any(p.pet and not p.pet.link_imaging_study for p in DEMO_PET_PATIENTS)


_WRITER_STAMPS = frozenset(
    {
        "InstanceCreationDate",
        "InstanceCreationTime",
        "ContentDate",
        "ContentTime",
        "ContributionDateTime",
        "DimensionOrganizationUID",
    }
)
"""What highdicom stamps on an SR/SEG at writing time (clock, random dimension-organisation UID)."""


def _strip(ds: pydicom.Dataset) -> None:
    for element in list(ds):
        if element.keyword in _WRITER_STAMPS:
            del ds[element.tag]
        elif element.VR == "SQ":
            for item in element.value:
                _strip(item)


def _content(path: Path) -> bytes:
    """The file's dataset without the SR/SEG writer stamps, as bytes (PET images are compared whole)."""
    ds = pydicom.dcmread(path)
    if ds.Modality in ("SR", "SEG"):
        _strip(ds)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_generation_is_deterministic_and_written_once(demo: DemoEnv, tmp_path: Path) -> None:
    assert demo.first is True
    assert demo.second is False  # same fingerprint: nothing written, nothing analysed again
    root = demo.settings.data_dir / "dicom"
    precomputed = [p for p in ALL_DEMO_PATIENTS if p.pet and p.pet.analysis is DemoAnalysis.PRECOMPUTED]
    switched = [p for p in ALL_DEMO_PATIENTS if p.pet and p.pet.analysis is not DemoAnalysis.PRECOMPUTED]
    marker = json.loads((root / DEMO_SUBFOLDER / MARKER_NAME).read_text())
    assert marker["fingerprint"] == fingerprint(precomputed)
    elsewhere = demo.settings.data_dir / ELSEWHERE_FOLDER / DEMO_SUBFOLDER / MARKER_NAME
    assert json.loads(elsewhere.read_text())["fingerprint"] == fingerprint(switched)
    assert not list(root.glob(".*partial"))
    one = (DEMO_PET_PATIENTS[0],)
    assert generate_series(tmp_path, one) is True
    again = tmp_path / "again"
    assert generate_series(again, one) is True
    names = sorted(p.name for p in (tmp_path / DEMO_SUBFOLDER / one[0].id).iterdir())
    for name in names:
        first = _content(tmp_path / DEMO_SUBFOLDER / one[0].id / name)
        assert first == _content(again / DEMO_SUBFOLDER / one[0].id / name), name
    assert any(n.startswith("sr_") for n in names)
    assert any(n.startswith("seg_") for n in names)
    changed = (DEMO_PET_PATIENTS[1],)
    assert fingerprint(changed) != fingerprint(one)
    assert generate_series(tmp_path, changed) is True  # another generation replaces the demo folder
    assert not (tmp_path / DEMO_SUBFOLDER / one[0].id).exists()


def test_series_and_analyses_are_in_place(demo: DemoEnv) -> None:
    embedded = FilePetSource(demo.settings.data_dir / "dicom")
    elsewhere = FilePetSource(demo.settings.data_dir / ELSEWHERE_FOLDER)
    for p in DEMO_PET_PATIENTS:
        assert p.pet is not None
        precomputed = p.pet.analysis is DemoAnalysis.PRECOMPUTED
        refs = embedded.find_pet_series(patient_id=p.dicom_patient_id)
        assert len(refs) == (1 if precomputed else 0), p.id
        refs = refs or elsewhere.find_pet_series(patient_id=p.dicom_patient_id)
        assert len(refs) == 1, p.id
        record = demo.storage.get_analysis(refs[0].series_uid)
        if precomputed:
            assert record is not None, p.id
            assert record.status.value == "done"
            assert demo.storage.get_picture(refs[0].series_uid) is not None
        else:
            assert record is None, p.id


def test_demo_switches_are_index_rows_of_their_own_sources(demo: DemoEnv) -> None:
    """The pending and PACS-down patients go through the same series index and source states as every
    source: a HER2 series under a source the service does not analyse, and one under a failed source."""
    index = SeriesIndex(demo.storage)
    for p in DEMO_PET_PATIENTS:
        assert p.pet is not None
        if p.pet.analysis is DemoAnalysis.PRECOMPUTED:
            continue
        name = SWITCH_SOURCES[p.pet.analysis]
        (row,) = index.of_source(name).values()
        assert row.patient_id == p.dicom_patient_id
        assert row.triage is SeriesTriage.HER2
        assert row.series_date == p.pet_date
        state = index.state(name)
        assert state is not None
        assert state.failed is (p.pet.analysis is DemoAnalysis.PACS_UNREACHABLE)


@pytest.mark.parametrize("patient", ALL_DEMO_PATIENTS, ids=lambda p: p.id)
def test_each_demo_patient_yields_exactly_its_cards(demo: DemoEnv, patient: DemoPatient) -> None:
    client = demo.app.test_client()
    resp = client.post(PV, json=hook_request(patient_id=patient.id))
    assert resp.status_code == 200
    body = resp.get_json()
    check_service_response(body)
    assert tuple(scenario_topics(body)) == patient.scenarios
    links = [link["url"] for c in body["cards"] for link in c.get("links", [])]
    evidence = [u for u in links if "/evidence/" in u]
    if patient.pet is not None and patient.pet.analysis is DemoAnalysis.PRECOMPUTED:
        assert evidence, "a PET-based card links its evidence page"
        page = client.get(evidence[0][evidence[0].index("/evidence/") :])
        assert page.status_code == 200
        assert 'id="lesion-table"' in page.get_data(as_text=True)
        picture = client.get(evidence[0][evidence[0].index("/evidence/") :] + "/mip.png")
        assert picture.status_code == 200
        assert picture.mimetype == "image/png"
    for url in evidence:
        assert patient.id not in url
        assert patient.dicom_patient_id not in url


@pytest.mark.parametrize("patient", ALL_DEMO_PATIENTS, ids=lambda p: p.id)
def test_each_demo_patient_gets_the_order_card_on_a_tdxd_order(demo: DemoEnv, patient: DemoPatient) -> None:
    """Order-sign with a T-DXd draft order: card (o) first, with the HER2 basis, for every chart (issue 9)."""
    body = hook_request(
        "order-sign", patient_id=patient.id, draft_orders=[medication_request("mr-1", text="Enhertu")]
    )
    resp = demo.app.test_client().post("/cds-services/her2-pet-tdxd-order-sign", json=body)
    assert resp.status_code == 200
    answer = resp.get_json()
    check_service_response(answer)
    assert tuple(scenario_topics(answer)) == patient.order_scenarios
    details = [card["detail"] for card in answer["cards"]]
    assert sum("- Specimen: collected" in d for d in details) <= 1  # the basis is never repeated


def test_demo_low_avid_card_says_the_avid_node_was_not_biopsied(demo: DemoEnv) -> None:
    """The demo's biopsy is of the primary tumour (breast, read not avid); the avid lesion is a lymph node, so
    the card does not call the pairing consistent and names both sites (issue 9)."""
    body = demo.app.test_client().post(PV, json=hook_request(patient_id="demo-pet-low-avid")).get_json()
    card = body["cards"][0]
    assert "consistent" not in card["summary"]
    assert card["summary"].startswith(
        "HER2-low on pathology; the avid lesion(s) on HER2 PET were not biopsied."
    )
    assert (
        "- Biopsied site (breast) was read not avid; the avid lesion(s) (lymph node) were not biopsied."
        in card["detail"]
    )
