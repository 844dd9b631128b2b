"""``her2-cds pet analyze --dicom-dir``: the command-line contract on phantom series (issue 3, item 6).

Several series in one folder: a HER2 PET with reader SR and SEG, one whose injection time is missing (SUV
refused, the other series still come out), and an FDG series (skipped with a stated reason).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cds_service.cli import main
from connectors.dicom.phantom import PhantomSpec, PhantomVariant, make_phantom, write_phantom
from tests.unit.cds_service.test_prefetch import serve
from tests.unit.connectors.dicom.test_analysis import LESION_KEYS, SERIES_KEYS

__all__ = ["serve"]  # the loopback FHIR server fixture

GOOD = PhantomSpec(with_sr=True, with_seg=True, seed="cli-good", patient_id="CLI-1")
REFUSED = PhantomSpec(
    variant=PhantomVariant.MISSING_INJECTION_DATETIME, seed="cli-refused", patient_id="CLI-2"
)
FDG = PhantomSpec(variant=PhantomVariant.FDG, seed="cli-fdg", patient_id="CLI-3")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pet-cli")
    for name, spec in (("good", GOOD), ("refused", REFUSED), ("fdg", FDG)):
        write_phantom(root / name, spec)
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["pet", "analyze", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


def by_patient(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["patientId"]: s for s in document["series"]}


def test_every_series_comes_out_with_the_contract_keys(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--dicom-dir", str(folder))
    assert code == 0
    assert out is not None
    assert set(out) == {"series"}
    assert set(by_patient(out)) == {"CLI-1", "CLI-2", "CLI-3"}
    for series in out["series"]:
        assert set(series) == SERIES_KEYS
        for lesion in series["lesions"]:
            assert set(lesion) == LESION_KEYS
            assert lesion["source"] in ("sr", "seg", "auto")
            assert lesion["avid"] in (True, False, None)


def test_her2_series_values_match_the_phantom(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = make_phantom(GOOD).expected
    _, out, _ = run(capsys, "--dicom-dir", str(folder))
    assert out is not None
    good = by_patient(out)["CLI-1"]
    assert good["error"] is None
    assert good["tracer"] == "89Zr-trastuzumab"
    assert good["halfLifeSeconds"] == pytest.approx(expected.half_life_s, rel=1e-3)
    assert good["uptakeHours"] == pytest.approx(expected.uptake_h, abs=0.01)
    assert good["suvbwMax"] == pytest.approx(expected.suvbw_max, rel=0.005)
    reader = [lesion for lesion in good["lesions"] if lesion["source"] == "sr"]
    assert len(reader) == len(expected.lesions)
    assert sorted(lesion["suvMax"] for lesion in reader) == pytest.approx(
        sorted(lesion.suv_max for lesion in expected.lesions), rel=0.005
    )
    assert {lesion["avid"] for lesion in reader} == {lesion.avid for lesion in expected.lesions}


def test_a_refused_series_names_what_is_missing(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--dicom-dir", str(folder))
    assert out is not None
    refused = by_patient(out)["CLI-2"]
    assert refused["suvbwMax"] is None
    assert refused["error"]
    assert "RadiopharmaceuticalStartDateTime" in refused["error"] or "injection" in refused["error"].lower()
    assert all(lesion["suvMax"] is None for lesion in refused["lesions"])


def test_a_non_her2_series_is_skipped_with_a_reason(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--dicom-dir", str(folder))
    assert out is not None
    fdg = by_patient(out)["CLI-3"]
    assert fdg["error"] is not None
    assert "FDG" in fdg["error"] or "not a HER2" in fdg["error"]
    assert fdg["lesions"] == []


def test_study_filter(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = str(make_phantom(GOOD).pet[0].StudyInstanceUID)
    code, out, _ = run(capsys, "--dicom-dir", str(folder), "--study", study)
    assert code == 0
    assert out is not None
    assert [s["studyInstanceUid"] for s in out["series"]] == [study]


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param("missing", id="no_such_folder"),
        pytest.param("garbage", id="no_readable_dicom"),
    ],
)
def test_unreadable_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str
) -> None:
    target = tmp_path / "input"
    if setup == "garbage":
        target.mkdir()
        (target / "a.dcm").write_bytes(b"not a dicom file")
    code, out, err = run(capsys, "--dicom-dir", str(target))
    assert code == 2
    assert out is None
    *records, message = err.strip().splitlines()
    assert message.startswith("her2-cds pet analyze: ")  # one line says why
    assert all(json.loads(line)["logger"] for line in records)  # the file skipped, as a JSON log record


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in [root, *root.rglob("*")]
    }


def test_the_input_folder_is_never_written(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(folder)
    code, out, _ = run(capsys, "--dicom-dir", str(folder))
    assert code == 0
    assert out is not None
    assert len(out["series"]) == 3
    assert _snapshot(folder) == before  # no index, journal or picture left behind, nothing touched


FHIR_ID = "fhir-patient-77"
MRN = "urn:oid:1.2.3.4.5.mrn"


def _patient_route(path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    if path == f"/fhir/Patient/{FHIR_ID}":
        return (
            200,
            {
                "resourceType": "Patient",
                "id": FHIR_ID,
                "identifier": [
                    {"system": "urn:oid:9.9.9", "value": "CLI-3"},
                    {"system": MRN, "value": "CLI-1"},
                ],
            },
            {},
        )
    return 404, {"resourceType": "OperationOutcome", "issue": []}, {}


def test_a_fhir_patient_id_is_matched_to_the_pacs_id_of_the_configured_system(
    folder: Path, capsys: pytest.CaptureFixture[str], serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fhir = serve(_patient_route)
    monkeypatch.setenv("HER2CDS_PATIENT_ID_SYSTEM", MRN)
    code, out, err = run(capsys, "--dicom-dir", str(folder), "--fhir", fhir.base, "--patient", FHIR_ID)
    assert code == 0
    assert out is not None
    assert set(by_patient(out)) == {"CLI-1"}  # not CLI-3, the value of another identifier system
    assert err == ""
    # --id-system overrides the setting.
    code, out, _ = run(
        capsys,
        "--dicom-dir",
        str(folder),
        "--fhir",
        fhir.base,
        "--patient",
        FHIR_ID,
        "--id-system",
        "urn:oid:9.9.9",
    )
    assert out is not None
    assert set(by_patient(out)) == {"CLI-3"}


def test_without_a_system_every_identifier_value_is_tried(
    folder: Path, capsys: pytest.CaptureFixture[str], serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fhir = serve(_patient_route)
    monkeypatch.delenv("HER2CDS_PATIENT_ID_SYSTEM", raising=False)
    code, out, _ = run(capsys, "--dicom-dir", str(folder), "--fhir", fhir.base, "--patient", FHIR_ID)
    assert code == 0
    assert out is not None
    assert set(by_patient(out)) == {"CLI-1", "CLI-3"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ["--patient", FHIR_ID],
            [f"'{FHIR_ID}' was searched as a DICOM PatientID", "add --fhir URL"],
            id="fhir_id_without_fhir",
        ),
        pytest.param(
            ["--patient", FHIR_ID, "--fhir", "{fhir}", "--id-system", "urn:nope"],
            [f"Patient/{FHIR_ID} has no identifier with system 'urn:nope'"],
            id="system_not_on_the_patient",
        ),
        pytest.param(
            ["--patient", "someone-else", "--fhir", "{fhir}", "--id-system", MRN],
            ["Patient/someone-else was not found"],
            id="unknown_fhir_patient",
        ),
        pytest.param(
            ["--patient", FHIR_ID, "--fhir", "{fhir}"],
            ["PACS PatientIDs tried: 'fhir-patient-77', 'CLI-3', 'CLI-1'", "no identifier system configured"],
            id="ids_tried_without_a_match",
        ),
    ],
)
def test_no_match_says_which_ids_were_tried_and_why(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    serve: Any,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    expected: list[str],
) -> None:
    only_fdg = tmp_path / "other"
    write_phantom(only_fdg, PhantomSpec(variant=PhantomVariant.FDG, seed="cli-other", patient_id="OTHER-9"))
    fhir = serve(_patient_route)
    monkeypatch.delenv("HER2CDS_PATIENT_ID_SYSTEM", raising=False)
    code, out, err = run(capsys, "--dicom-dir", str(only_fdg), *[a.format(fhir=fhir.base) for a in args])
    assert code == 0
    assert out == {"series": []}
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("her2-cds pet analyze: no PT series matched: ")
    for text in expected:
        assert text in err
