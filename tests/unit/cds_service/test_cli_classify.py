"""``her2-cds classify``: the command-line contract on the published synthetic bundles and on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cds_service.cli import main

CATEGORIES = {
    "HER2-positive",
    "HER2-low",
    "HER2-ultralow",
    "HER2-null",
    "HER2-0",
    "HER2-negative-unscored",
    "HER2-equivocal",
    "indeterminate",
}

# Expected categories as published with the bundles (testdata/fhir/SOURCES.md, "Synthetic bundles").
EXPECTED = [
    pytest.param("bundle-her2-ihc3-positive.json", "HER2-positive", "3+", id="IHC3+→positive"),
    pytest.param("bundle-her2-low-ihc1.json", "HER2-low", "1+", id="IHC1+_with_TDXd_comment→low"),
    pytest.param("bundle-her2-ihc2-ish-group5.json", "HER2-low", "2+", id="IHC2+_ISH_group5→low"),
    pytest.param("bundle-her2-ish-group2-ihc1.json", "HER2-low", "1+", id="ISH_group2_IHC1+→low"),
    pytest.param(
        "bundle-her2-ish-group3-ihc2.json", "HER2-positive", "2+", id="ISH_group3_IHC2+_recount→positive"
    ),
    pytest.param("bundle-her2-ultralow.json", "HER2-ultralow", "0", id="IHC0_membrane_staining→ultralow"),
    pytest.param("bundle-her2-null.json", "HER2-null", "0", id="IHC0_no_staining→null"),
    pytest.param(
        "bundle-narrative-only-binary-html.json", "HER2-ultralow", "0", id="narrative_html_binary→ultralow"
    ),
]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["classify", *args])
    captured = capsys.readouterr()
    payload = json.loads(captured.out) if captured.out.strip() else None
    return code, payload, captured.err


@pytest.mark.parametrize(("name", "category", "score"), EXPECTED)
def test_synthetic_bundles(
    testdata: Path, capsys: pytest.CaptureFixture[str], name: str, category: str, score: str
) -> None:
    code, out, _ = run_cli(capsys, str(testdata / "fhir" / "synthetic" / name))
    assert code == 0
    assert out is not None
    assert set(out) == {"category", "rulesVersion", "results"}
    assert out["category"] == category
    newest = out["results"][0]
    assert newest["category"] == category
    assert newest["ihcScore"] == score
    assert newest["evidence"], "every result carries its evidence"
    assert newest["source"] is None or "/" in newest["source"]


def test_result_shape(testdata: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_cli(capsys, str(testdata / "fhir" / "synthetic" / "bundle-her2-ihc2-ish-group5.json"))
    assert out is not None
    for result in out["results"]:
        assert set(result) == {"category", "ihcScore", "ishGroup", "date", "source", "evidence"}
        assert result["category"] in CATEGORIES
        assert result["ihcScore"] in (None, "0", "1+", "2+", "3+")
        assert result["ishGroup"] in (None, 1, 2, 3, 4, 5)
        assert all(isinstance(line, str) and line for line in result["evidence"])
    assert out["results"][0]["ishGroup"] == 5
    dates = [r["date"] for r in out["results"] if r["date"] is not None]
    assert dates == sorted(dates, reverse=True), "newest first"


def test_single_diagnostic_report(testdata: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = json.loads((testdata / "fhir" / "synthetic" / "bundle-her2-null.json").read_text())
    report = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DiagnosticReport"
    )
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    code, out, _ = run_cli(capsys, str(path))
    assert code == 0
    assert out is not None
    # Only the report's own text is available: its narrative must still be read (null: no staining).
    assert out["category"] == "HER2-null"


def test_single_observation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "ihc-1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85319-2"}]},
        "effectiveDateTime": "2024-03-01",
        "valueCodeableConcept": {
            "coding": [{"system": "http://loinc.org", "code": "LA11841-6", "display": "1+"}]
        },
    }
    path = tmp_path / "obs.json"
    path.write_text(json.dumps(observation))
    code, out, _ = run_cli(capsys, str(path))
    assert code == 0
    assert out is not None
    assert out["category"] == "HER2-low"
    assert out["results"][0]["source"] == "Observation/ihc-1"


def test_nothing_to_classify_is_indeterminate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}))
    code, out, _ = run_cli(capsys, str(path))
    assert code == 0
    assert out == {
        "category": "indeterminate",
        "rulesVersion": out["rulesVersion"] if out else "",
        "results": [],
    }


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("{not json", id="not_json"),
        pytest.param('{"resourceType": "Patient", "id": "p"}', id="not_pathology"),
        pytest.param('{"resourceType": "Bundle", "entry": "nope"}', id="invalid_bundle"),
        pytest.param("[1, 2]", id="not_a_resource"),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run_cli(capsys, str(path))
    assert code == 2
    assert out is None
    assert len(err.strip().splitlines()) == 1


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, str(tmp_path / "absent.json"))
    assert code == 2
    assert out is None
    assert len(err.strip().splitlines()) == 1


def test_console_script_entry_point(testdata: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cds_service.cli",
            "classify",
            str(testdata / "fhir" / "synthetic" / "bundle-her2-null.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["category"] == "HER2-null"
