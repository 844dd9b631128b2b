"""Linking a PET patient to its FHIR chart (bundle folder, FHIR server) and collecting keyed cases from a PET
source: what is noted, what stops the run."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset

from cds_service.cli.cohort import _progress
from cds_service.cohort.collect import collect_cases, examine_series
from cds_service.cohort.keys import PatientKeyer
from cds_service.cohort.pathology import (
    NO_PATIENT,
    SEVERAL_PATIENTS,
    BundleDirPathology,
    FhirServerPathology,
    PatientNotLinkedError,
)
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom
from connectors.dicom.ports import SeriesRef
from connectors.dicom.transport import DicomTransport
from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError
from connectors.fhir.client import FhirClient
from connectors.http import Timeouts, make_session
from connectors.ports import PathologyData
from rules.domain import Tracer
from tests.unit.connectors.http_stub import Recorded, Reply, stub_server

SYSTEM = "urn:example:mrn"
IHC1 = {"coding": [{"system": "http://loinc.org", "code": "LA11841-6"}]}


def patient(pid: str, *identifiers: tuple[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": s, "value": v} for s, v in identifiers],
    }


def ihc(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{pid}-ihc",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85319-2"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2024-05-01",
        "valueCodeableConcept": IHC1,
    }


def write(folder: Path, name: str, *resources: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    (folder / name).write_text(json.dumps(bundle))


def test_bundle_folder_links_by_identifier_and_maps_only_that_patient(tmp_path: Path) -> None:
    write(tmp_path, "a.json", patient("a", (SYSTEM, "MRN-1")), ihc("a"))
    write(tmp_path / "sub", "b.json", patient("b", ("urn:other", "MRN-1")), ihc("b"))
    (tmp_path / "notes.json").write_text("not json")
    lookup = BundleDirPathology(tmp_path, SYSTEM)
    assert lookup.unreadable == 1
    assert lookup.patient_ids("MRN-1") == ["a"]
    data = lookup.pathology("MRN-1")
    assert data.patient_ids == ("a",)
    assert len(data.her2) == 1
    with pytest.raises(PatientNotLinkedError, match=SEVERAL_PATIENTS):
        BundleDirPathology(tmp_path).pathology("MRN-1")


def test_bundle_folder_falls_back_on_the_patient_id_only_without_a_system(tmp_path: Path) -> None:
    write(tmp_path, "a.json", patient("MRN-9"), ihc("MRN-9"))
    assert BundleDirPathology(tmp_path).patient_ids("MRN-9") == ["MRN-9"]
    with pytest.raises(PatientNotLinkedError, match=NO_PATIENT):
        BundleDirPathology(tmp_path, SYSTEM).pathology("MRN-9")


def test_bundle_folder_reads_transaction_bundles_with_urn_uuid_references(tmp_path: Path) -> None:
    """Synthea-style exports: entries without ids, refering to each other by ``urn:uuid:`` full URLs."""
    pid, oid = (
        "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        "urn:uuid:7c9e6679-7425-40de-944b-e07fc1f90ae7",
    )
    person = {k: v for k, v in patient("x", (SYSTEM, "MRN-7")).items() if k != "id"}
    result = {k: v for k, v in ihc("x").items() if k != "id"} | {"subject": {"reference": pid}}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": pid, "resource": person, "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": oid, "resource": result, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    (tmp_path / "synthea.json").write_text(json.dumps(bundle))
    lookup = BundleDirPathology(tmp_path, SYSTEM)
    assert lookup.patient_ids("MRN-7") == ["0f8fad5b-d9cb-469f-a165-70867728950e"]
    assert len(lookup.pathology("MRN-7").her2) == 1


def test_a_missing_bundle_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        BundleDirPathology(tmp_path / "none")


def _fhir_route(patients: list[dict[str, Any]]) -> Any:
    def route(request: Recorded) -> Reply:
        if request.path.endswith("/Patient"):
            entries = [{"resource": p} for p in patients]
            return Reply(200, {"resourceType": "Bundle", "type": "searchset", "entry": entries})
        if request.path.startswith("/fhir/Patient/"):
            return Reply(404, {"resourceType": "OperationOutcome"})
        return Reply(200, {"resourceType": "Bundle", "type": "searchset", "entry": []})

    return route


def _server_lookup(base: str, system: str | None) -> FhirServerPathology:
    client = FhirClient(f"{base}/fhir", make_session(), Timeouts(connect_s=1.0, read_s=2.0))
    return FhirServerPathology(client, system)


def test_fhir_server_searches_the_identifier_then_pathology_only() -> None:
    with stub_server(_fhir_route([patient("p1", (SYSTEM, "MRN-1"))])) as server:
        data = _server_lookup(server.base, SYSTEM).pathology("MRN-1")
    assert isinstance(data, PathologyData)
    first = server.requests[0]
    assert (first.path, first.query["identifier"]) == ("/fhir/Patient", [f"{SYSTEM}|MRN-1"])
    assert [r.path for r in server.requests[1:]] == [
        "/fhir/DiagnosticReport",
        "/fhir/Observation",
        "/fhir/Specimen",
    ]
    assert server.requests[1].query["patient"] == ["p1"]


def test_fhir_server_ignores_a_match_of_another_system_and_reads_the_id_without_a_system() -> None:
    other = [patient("p2", ("urn:other", "MRN-1"))]
    with stub_server(_fhir_route(other)) as server:
        with pytest.raises(PatientNotLinkedError, match=NO_PATIENT):
            _server_lookup(server.base, SYSTEM).pathology("MRN-1")
        assert _server_lookup(server.base, None).patient_ids("MRN-1") == ["p2"]
    with stub_server(_fhir_route([])) as server:
        assert _server_lookup(server.base, None).patient_ids("MRN-7") == []
    assert [r.path for r in server.requests] == ["/fhir/Patient", "/fhir/Patient/MRN-7"]


# ---------------------------------------------------------------------------------------------------------
# Collection from a PET source


class FakeSource(DicomTransport):
    """A ``PetStudySource`` over phantom series (the port's triage and analysis of ``DicomTransport`` on
    Dataset-level calls), with scripted failures per series."""

    def __init__(self, series: dict[str, tuple[PhantomSpec, Exception | None]]) -> None:
        self.series = {uid: (make_phantom(spec), spec, failure) for uid, (spec, failure) in series.items()}

    def find_pet_series(self, patient_id: str | None = None, study_uid: str | None = None) -> list[SeriesRef]:
        return [
            SeriesRef(
                study_uid=str(built.pet[0].StudyInstanceUID),
                series_uid=uid,
                patient_id=spec.patient_id or None,
                series_date=dt.date(2024, 3, 9),
            )
            for uid, (built, spec, _) in self.series.items()
        ]

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        return self.series[ref.series_uid][0].pet[0]

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        built, _, failure = self.series[ref.series_uid]
        if failure is not None:
            raise failure
        return list(built.pet)

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        built = self.series[ref.series_uid][0]
        return list(built.sr), list(built.seg)


class NoPathology:
    def pathology(self, dicom_patient_id: str) -> PathologyData:
        raise PatientNotLinkedError(NO_PATIENT)


KEYER = PatientKeyer("k" * 40)


def spec(pid: str, variant: PhantomVariant = PhantomVariant.TRASTUZUMAB) -> PhantomSpec:
    return PhantomSpec(variant=variant, patient_id=pid, seed=f"collect-{pid}-{variant}", with_sr=True)


def test_series_outcomes_become_exams_or_notes() -> None:
    source = FakeSource(
        {
            "1.1": (spec("A"), None),
            "1.2": (spec("B", PhantomVariant.FDG), None),
            "1.3": (spec("C"), InvalidSourceDataError("bad pixels")),
            "1.4": (spec("D"), NotFoundError("gone")),
            "1.5": (spec("E", PhantomVariant.PERTUZUMAB), None),
        }
    )
    refs = {ref.series_uid: ref for ref in source.find_pet_series()}
    good, _ = examine_series(source, refs["1.1"], None)
    assert good is not None
    assert good.tracer is Tracer.ZR89_TRASTUZUMAB
    assert good.pet_date == dt.date(2024, 3, 9)
    assert [lesion.site_code for lesion in good.lesions] == ["59441001", "10200004", "76752008"]
    assert examine_series(source, refs["1.2"], None)[1] == (
        "not a HER2 PET series (not a HER2-targeted tracer: FDG (18F))"
    )
    broken, _ = examine_series(source, refs["1.3"], None)
    assert broken is not None
    assert broken.error == "bad pixels"  # an undecodable series is an exam with its error, not an exclusion
    assert examine_series(source, refs["1.4"], None) == (
        None,
        "HER2 PET series no longer on the DICOM source",
    )
    assert examine_series(source, refs["1.5"], [Tracer.ZR89_TRASTUZUMAB]) == (
        None,
        "tracer 89Zr-pertuzumab not selected",
    )


def test_cases_are_keyed_and_an_outage_stops_the_collection() -> None:
    source = FakeSource({"1.1": (spec("A"), None), "1.2": (spec("B", PhantomVariant.FDG), None)})
    cases = collect_cases(source, NoPathology(), keyer=KEYER)
    by_key = {case.patient_key: case for case in cases}
    assert set(by_key) == {KEYER("A"), KEYER("B")}
    assert by_key[KEYER("A")].pathology_note == NO_PATIENT
    assert by_key[KEYER("B")].pet_note is not None
    assert by_key[KEYER("B")].pet_note.startswith("no HER2-targeted PET series: not a HER2 PET series")
    down = FakeSource({"1.1": (spec("A"), SourceUnavailableError("PACS down"))})
    with pytest.raises(SourceUnavailableError):
        collect_cases(down, NoPathology(), keyer=KEYER)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    bar = _progress(3)
    bar.update(3)
    bar.close()
    assert "PT series" in terminal.getvalue()
    assert "3/3" in terminal.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    quiet = _progress(3)
    quiet.update(3)
    quiet.close()
    assert piped.getvalue() == ""
