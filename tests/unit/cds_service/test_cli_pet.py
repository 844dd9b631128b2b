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
from tests.unit.connectors.dicom.test_analysis import LESION_KEYS, SERIES_KEYS

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
    assert len(err.strip().splitlines()) == 1
