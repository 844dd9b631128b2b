"""``her2-cds cohort`` against a real Orthanc (DICOMweb and DIMSE) and the FHIR test server, on the synthetic
cohort: every PET series, reader SR and SEG stored in Orthanc, every chart in the FHIR server (next to the
published test bundles already there); the command runs once over DICOMweb with the FHIR server and once over
DIMSE (C-FIND, C-GET) with the charts as files.

Both runs must recover the generated truth exactly (``checks.check_outputs``: counts, lesion SUVmax,
Mann–Whitney figures computed from the generated values with scipy, every exclusion with its reason), write
no PHI, and agree with each other row for row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.cli import main
from cds_service.cohort.synthetic import SyntheticCohort, all_datasets, synthetic_cohort
from cds_service.cohort.synthetic_fhir import patient_bundle, write_fhir
from tests.integration.fhir_server import FhirServer
from tests.integration.orthanc import CDS_AET, OrthancServer
from tests.unit.cds_service.cohort.checks import COHORT_KEY, assert_no_phi, check_outputs

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cohort() -> SyntheticCohort:
    return synthetic_cohort()


@pytest.fixture(scope="module")
def loaded(orthanc: OrthancServer, fhir_server: FhirServer, cohort: SyntheticCohort) -> Iterator[None]:
    orthanc.clear()
    orthanc.upload(all_datasets(cohort))
    for patient in cohort.patients:
        if patient.in_fhir:
            fhir_server.load_bundle(patient_bundle(patient))
    try:
        yield
    finally:
        orthanc.clear()


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HER2CDS_COHORT_KEY", COHORT_KEY)
        patch.setenv("HER2CDS_DATA_DIR", str(tmp_path_factory.mktemp("cohort-data")))
        patch.delenv("HER2CDS_PATIENT_ID_SYSTEM", raising=False)
        patch.setenv("HER2CDS_DIMSE_AET", CDS_AET)
        yield


def run_cohort(out: Path, *sources: str) -> None:
    code = main(["cohort", *sources, "--out", str(out), "--timeout", "60"])
    assert code == 0


@pytest.fixture(scope="module")
def dicomweb_out(
    tmp_path_factory: pytest.TempPathFactory,
    loaded: None,
    environment: None,
    orthanc: OrthancServer,
    fhir_server: FhirServer,
) -> Path:
    out = tmp_path_factory.mktemp("cohort-dicomweb") / "out"
    run_cohort(out, "--dicomweb", orthanc.dicomweb_url, "--fhir", fhir_server.base_url)
    return out


def test_dicomweb_and_fhir_server_recover_the_truth(dicomweb_out: Path, cohort: SyntheticCohort) -> None:
    check_outputs(dicomweb_out, cohort)
    assert_no_phi(dicomweb_out, cohort)


def test_dimse_gives_the_same_rows(
    tmp_path: Path, dicomweb_out: Path, cohort: SyntheticCohort, orthanc: OrthancServer
) -> None:
    write_fhir(cohort, tmp_path / "fhir")  # the FHIR server was read by the DICOMweb run
    out = tmp_path / "out"
    dimse = f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}"
    run_cohort(out, "--dimse", dimse, "--fhir-bundle-dir", str(tmp_path / "fhir"))
    check_outputs(out, cohort)
    assert_no_phi(out, cohort)
    for name in ("lesions.csv", "excluded.csv"):
        dimse_lines = sorted((out / name).read_text().splitlines())
        dicomweb_lines = sorted((dicomweb_out / name).read_text().splitlines())
        assert dimse_lines == dicomweb_lines, (name, set(dimse_lines) ^ set(dicomweb_lines))
    assert json.loads((out / "summary.json").read_text()) == json.loads(
        (dicomweb_out / "summary.json").read_text()
    )
