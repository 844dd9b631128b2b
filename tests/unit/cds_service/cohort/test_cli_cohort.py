"""``her2-cds cohort`` end to end on files: the synthetic cohort written to a DICOM folder and a folder of
FHIR bundles (a cohort kept outside the project), analysed through the command line.

The tool must recover the generated counts per tracer and category exactly, every lesion's SUVmax, and the
Mann–Whitney figures scipy gives on the generated values (``checks.independent_tests``), list every
distractor with its reason, and write no name, MRN, birth date or FHIR id anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.cohort.synthetic import SyntheticCohort, synthetic_cohort, write_dicom
from cds_service.cohort.synthetic_fhir import write_fhir
from tests.unit.cds_service.cohort.checks import COHORT_KEY, assert_no_phi, check_outputs, read_csv


@pytest.fixture(scope="module")
def cohort() -> SyntheticCohort:
    return synthetic_cohort()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, cohort: SyntheticCohort) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cohort-input")
    write_dicom(cohort, root / "dicom")
    write_fhir(cohort, root / "fhir")
    return root / "dicom", root / "fhir"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("cohort-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HER2CDS_COHORT_KEY", COHORT_KEY)
        patch.setenv("HER2CDS_DATA_DIR", str(data_dir))
        patch.delenv("HER2CDS_PATIENT_ID_SYSTEM", raising=False)
        yield data_dir


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, inputs: tuple[Path, Path], environment: Path) -> Path:
    target = tmp_path_factory.mktemp("cohort-out") / "out"
    dicom, fhir = inputs
    code = main(["cohort", "--dicom-dir", str(dicom), "--fhir-bundle-dir", str(fhir), "--out", str(target)])
    assert code == 0
    return target


def test_counts_lesions_and_statistics_match_the_generated_truth(out: Path, cohort: SyntheticCohort) -> None:
    summary = check_outputs(out, cohort)
    assert summary["lesions"] == 24
    assert summary["parameters"]["window_days"] == 60


def test_no_output_contains_phi(out: Path, cohort: SyntheticCohort) -> None:
    assert_no_phi(out, cohort)


def test_summary_markdown_marks_pooled_figures(out: Path) -> None:
    text = (out / "summary.md").read_text(encoding="utf-8")
    assert "| 89Zr-ss-pertuzumab | 1 | 5 | 2 | 8 |" in text
    assert "All tracers (pooled)\\*" in text
    assert "\\* Pooled:" in text
    assert "![Lesion SUVmax by HER2 category](suvmax_by_category.png)" in text


def test_the_figure_is_a_png(out: Path) -> None:
    from PIL import Image

    with Image.open(out / "suvmax_by_category.png") as image:
        assert image.format == "PNG"
        assert image.width > 800
        assert image.height > 300


def test_a_narrower_window_moves_lesions_to_the_excluded_list(
    tmp_path: Path, inputs: tuple[Path, Path], environment: Path, cohort: SyntheticCohort
) -> None:
    dicom, fhir = inputs
    target = tmp_path / "narrow"
    code = main(
        [
            "cohort",
            "--dicom-dir",
            str(dicom),
            "--fhir-bundle-dir",
            str(fhir),
            "--out",
            str(target),
            "--window-days",
            "30",
        ]
    )
    assert code == 0
    _, rows = read_csv(target / "lesions.csv")
    inside = [r for r in cohort.expected if abs((r.biopsy_date - r.pet_date).days) <= 30]
    assert len(rows) == len(inside)
    assert all(abs(int(row["interval_days"])) <= 30 for row in rows)
    _, excluded = read_csv(target / "excluded.csv")
    assert len(excluded) == len(cohort.exclusions) + len(cohort.expected) - len(inside)


def test_one_tracer_only_and_quiet_without_a_terminal(
    tmp_path: Path,
    inputs: tuple[Path, Path],
    environment: Path,
    cohort: SyntheticCohort,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dicom, fhir = inputs
    target = tmp_path / "one"
    code = main(
        [
            "cohort",
            "--dicom-dir",
            str(dicom),
            "--fhir-bundle-dir",
            str(fhir),
            "--out",
            str(target),
            "--tracer",
            "89Zr-pertuzumab",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    paired = sum(cohort.counts()["89Zr-pertuzumab"].values())
    left_out = len(cohort.patients) - paired  # every other patient once (other tracer, or a distractor)
    assert captured.out == (
        f"her2-cds cohort: {paired} paired lesions of {paired} patients, {left_out} left out; "
        f"outputs in {target}\n"
    )
    _, rows = read_csv(target / "lesions.csv")
    assert {row["tracer"] for row in rows} == {"89Zr-pertuzumab"}
    assert len(rows) == sum(cohort.counts()["89Zr-pertuzumab"].values())
    _, excluded = read_csv(target / "excluded.csv")
    assert any("tracer 89Zr-trastuzumab not selected" in row["reason"] for row in excluded)


def test_the_same_secret_gives_the_same_keys_and_another_secret_other_keys(
    tmp_path: Path, inputs: tuple[Path, Path], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dicom, fhir = inputs
    monkeypatch.setenv("HER2CDS_COHORT_KEY", "another-secret-" + "x" * 40)
    target = tmp_path / "other"
    code = main(["cohort", "--dicom-dir", str(dicom), "--fhir-bundle-dir", str(fhir), "--out", str(target)])
    assert code == 0
    first = {row["patient_key"] for row in read_csv(out / "lesions.csv")[1]}
    second = {row["patient_key"] for row in read_csv(target / "lesions.csv")[1]}
    assert len(second) == len(first) == 24
    assert not first & second


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--dicom-dir", "x"], "pathology source is required", id="no-fhir"),
        pytest.param(["--fhir-bundle-dir", "x"], "PET source is required", id="no-pet"),
        pytest.param(["--demo", "--dicom-dir", "x"], "--demo takes no sources", id="demo-with-source"),
        pytest.param(["--demo", "--window-days", "-1"], "--window-days", id="negative-window"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(["cohort", *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_a_missing_folder_exits_2_and_writes_nothing(
    tmp_path: Path, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "cohort",
            "--dicom-dir",
            str(tmp_path / "none"),
            "--fhir-bundle-dir",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_an_unknown_tracer_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["cohort", "--demo", "--tracer", "FDG", "--out", str(tmp_path)])
    assert stopped.value.code == 2
