"""TID 1500 reader reports written with highdicom, stored as Part 10 files and read back."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
import pytest
from pydicom.sr.codedict import codes

from connectors.dicom.phantom import PhantomSpec, make_phantom
from connectors.dicom.series_refs import series_references
from connectors.dicom.sr import is_measurement_report, read_measurement_reports
from connectors.pet.types import ReferenceRegion
from rules.domain import LesionSite, ReaderCall


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    series = make_phantom(PhantomSpec(with_seg=True, with_sr=True))
    path = tmp_path_factory.mktemp("sr") / "sr.dcm"
    series.sr[0].save_as(path, enforce_file_format=True)
    return path, str(series.pet[0].SeriesInstanceUID)


def test_highdicom_reads_the_report_as_tid_1500(report_file: tuple[Path, str]) -> None:
    report = hd.sr.srread(report_file[0])
    content: Any = report.content
    groups = content.get_volumetric_roi_measurement_groups()
    assert len(groups) == 5
    suv = groups[0].get_measurements(name=codes.DCM.Suvbw)
    assert suv[0].value == pytest.approx(9.0)


def test_reader_reads_lesions_calls_sites_and_segments(report_file: tuple[Path, str]) -> None:
    path, series_uid = report_file
    ds = pydicom.dcmread(path)
    assert is_measurement_report(ds)
    assert series_references(ds).names(series_uid)
    reads = read_measurement_reports([ds], series_uid)
    assert [r.tracking_id for r in reads.lesions] == ["lesion-1", "lesion-2", "lesion-3"]
    assert [r.reader_call for r in reads.lesions] == [ReaderCall.AVID, ReaderCall.AVID, ReaderCall.NON_AVID]
    assert [r.site for r in reads.lesions] == [
        LesionSite.NON_HEPATIC,
        LesionSite.HEPATIC,
        LesionSite.NON_HEPATIC,
    ]
    assert [r.suv_max for r in reads.lesions] == pytest.approx([9.0, 13.0, 2.4])
    assert all(r.segment is not None for r in reads.lesions)
    assert [r.segment[1] for r in reads.lesions if r.segment] == [1, 2, 3]
    assert all(r.tracking_uid for r in reads.lesions)
    assert {(r.region, r.suv_mean, r.method) for r in reads.references} == {
        (ReferenceRegion.LIVER, 4.0, "reader SR"),
        (ReferenceRegion.BLOOD_POOL, 2.5, "reader SR"),
    }
    assert reads.warnings == ()


def test_image_level_groups_without_segmentation_are_read() -> None:
    series = make_phantom(PhantomSpec(with_sr=True))
    reads = read_measurement_reports(series.sr, str(series.pet[0].SeriesInstanceUID))
    assert len(reads.lesions) == 3
    assert all(r.segment is None for r in reads.lesions)


def test_reports_of_another_series_are_ignored(report_file: tuple[Path, str]) -> None:
    ds = pydicom.dcmread(report_file[0])
    assert read_measurement_reports([ds], "1.2.3.4.5").lesions == ()


def _set_call(ds: pydicom.Dataset, value: str) -> pydicom.Dataset:
    changed = copy.deepcopy(ds)
    for item in changed.ContentSequence:
        for child in getattr(item, "ContentSequence", []):
            for grandchild in getattr(child, "ContentSequence", []):
                concept = grandchild.ConceptNameCodeSequence[0]
                if concept.CodeValue == "her2-uptake":
                    grandchild.ConceptCodeSequence[0].CodeValue = value
    return changed


def test_equivocal_and_unknown_calls_are_not_assessed(report_file: tuple[Path, str]) -> None:
    ds = pydicom.dcmread(report_file[0])
    equivocal = read_measurement_reports([_set_call(ds, "equivocal")])
    assert all(r.reader_call is ReaderCall.NOT_ASSESSED and r.equivocal for r in equivocal.lesions)
    unknown = read_measurement_reports([_set_call(ds, "maybe")])
    assert all(r.reader_call is ReaderCall.NOT_ASSESSED for r in unknown.lesions)
    assert any("unknown uptake call" in w for w in unknown.warnings)


def test_other_documents_are_ignored_with_a_warning() -> None:
    ds = pydicom.Dataset()
    ds.Modality = "SR"
    ds.SOPInstanceUID = "1.2.3"
    reads = read_measurement_reports([ds])
    assert reads.lesions == ()
    assert "not a TID 1500" in reads.warnings[0]
