"""FilePetSource: index, incremental refresh, skipped files, PT filtering, SR/SEG relations, store()."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest

from connectors.dicom.files import INDEX_NAME, FilePetSource
from connectors.dicom.ports import PetStudySource, PollingPetStudySource, SeriesRef
from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError
from tests.unit.connectors.dicom.builders import pet_series, seg_header, sr_header, uid


def _write(folder: Path, datasets: list, sub: str = "in") -> list[Path]:
    paths = []
    for i, ds in enumerate(datasets):
        path = folder / sub / f"{ds.Modality}-{ds.SOPInstanceUID[-6:]}-{i}.dcm"
        path.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def test_is_a_polling_pet_study_source(tmp_path: Path) -> None:
    source = FilePetSource(tmp_path)
    assert isinstance(source, PetStudySource)
    assert isinstance(source, PollingPetStudySource)


def test_missing_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError, match="does not exist"):
        FilePetSource(tmp_path / "absent")


def test_finds_pt_series_with_related_sr_and_seg(tmp_path: Path) -> None:
    pet = pet_series(3, patient="P1")
    other_pet = pet_series(2, patient="P1", study=pet[0].StudyInstanceUID)
    sr = sr_header(pet[0])
    seg = seg_header(pet[0])
    seg_other = seg_header(other_pet[0])
    sr_unstated = sr_header(pet[0], references=[])
    del sr_unstated.CurrentRequestedProcedureEvidenceSequence
    _write(tmp_path, [*pet, *other_pet, sr, seg, seg_other, sr_unstated])

    refs = {ref.series_uid: ref for ref in FilePetSource(tmp_path).find_pet_series(patient_id="P1")}

    assert set(refs) == {pet[0].SeriesInstanceUID, other_pet[0].SeriesInstanceUID}
    ref = refs[pet[0].SeriesInstanceUID]
    assert ref.instance_count == 3
    assert ref.modality == "PT"
    assert ref.patient_id == "P1"
    assert ref.series_date == dt.date(2024, 3, 5)
    assert ref.series_time == dt.time(10, 15)
    assert ref.description == "PET 89Zr-trastuzumab"
    assert set(ref.related_sr) == {sr.SeriesInstanceUID, sr_unstated.SeriesInstanceUID}
    assert ref.related_seg == (seg.SeriesInstanceUID,)
    assert refs[other_pet[0].SeriesInstanceUID].related_seg == (seg_other.SeriesInstanceUID,)
    assert ref.source.reference == f"study/{ref.study_uid}/series/{ref.series_uid}"


def test_filters_by_patient_and_study(tmp_path: Path) -> None:
    a = pet_series(1, patient="A")
    b = pet_series(1, patient="B")
    _write(tmp_path, [*a, *b])
    source = FilePetSource(tmp_path)
    assert [r.patient_id for r in source.find_pet_series(patient_id="B")] == ["B"]
    assert [r.study_uid for r in source.find_pet_series(study_uid=a[0].StudyInstanceUID)] == [
        a[0].StudyInstanceUID
    ]
    assert source.find_pet_series(patient_id="A", study_uid=b[0].StudyInstanceUID) == []
    assert len(source.find_pet_series()) == 2


def test_fetch_series_returns_full_instances_in_instance_order(tmp_path: Path) -> None:
    pet = pet_series(4)
    _write(tmp_path, list(reversed(pet)))
    source = FilePetSource(tmp_path)
    (ref,) = source.find_pet_series()
    instances = source.fetch_series(ref)
    assert [int(ds.InstanceNumber) for ds in instances] == [1, 2, 3, 4]
    assert instances[2].pixel_array[0, 5] == 3 * 10 + 5
    header = source.fetch_header(ref)
    assert header.InstanceNumber == 1
    assert "PixelData" not in header


def test_fetch_related_keeps_instances_that_reference_the_series(tmp_path: Path) -> None:
    pet = pet_series(2)
    sr = sr_header(pet[0])
    seg = seg_header(pet[0])
    _write(tmp_path, [*pet, sr, seg])
    source = FilePetSource(tmp_path)
    (ref,) = source.find_pet_series()
    srs, segs = source.fetch_related(ref)
    assert [ds.SOPInstanceUID for ds in srs] == [sr.SOPInstanceUID]
    assert [ds.SOPInstanceUID for ds in segs] == [seg.SOPInstanceUID]


def test_unreadable_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    pet = pet_series(1)
    _write(tmp_path, pet)
    (tmp_path / "notes.txt").write_text("not dicom")
    (tmp_path / "in" / "truncated.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    source = FilePetSource(tmp_path)
    assert len(source.find_pet_series()) == 1
    skipped = dict(source.skipped())
    assert set(skipped) == {tmp_path / "notes.txt", tmp_path / "in" / "truncated.dcm"}
    assert all(reason for reason in skipped.values())


def test_refresh_is_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, pet_series(2))
    source = FilePetSource(tmp_path)
    source.refresh()
    reads: list[object] = []
    import connectors.dicom.files as files

    original = files.dcmread
    monkeypatch.setattr(files, "dcmread", lambda *a, **k: reads.append(a[0]) or original(*a, **k))
    source.refresh()
    assert reads == []
    new = pet_series(1)
    (path,) = _write(tmp_path, new, sub="later")
    assert len(source.find_pet_series()) == 2
    assert reads == [path]
    path.unlink()
    assert len(source.find_pet_series()) == 1


def test_changed_file_is_reindexed(tmp_path: Path) -> None:
    pet = pet_series(1, patient="OLD")
    (path,) = _write(tmp_path, pet)
    source = FilePetSource(tmp_path)
    assert source.find_pet_series()[0].patient_id == "OLD"
    pet[0].PatientID = "NEW-ID"
    pet[0].save_as(path, enforce_file_format=True)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert source.find_pet_series()[0].patient_id == "NEW-ID"


def test_store_writes_and_indexes_and_find_new_series(tmp_path: Path) -> None:
    source = FilePetSource(tmp_path / "store", create=True)
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    pet = pet_series(2)
    for ds in pet:
        del ds.file_meta  # as received over the network: no Part 10 meta yet
        path = source.store(ds)
        assert path.parent.name == ds.SeriesInstanceUID
    assert (tmp_path / "store" / INDEX_NAME).exists()
    (ref,) = source.find_new_series(before)
    assert ref.instance_count == 2
    assert source.find_new_series(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)) == []
    assert source.series_ref(ref.series_uid) == ref
    np.testing.assert_array_equal(source.fetch_series(ref)[1].pixel_array, pet[1].pixel_array)


def test_store_refuses_uids_that_could_escape_the_folder(tmp_path: Path) -> None:
    ds = pet_series(1)[0]
    ds.SeriesInstanceUID = "../../etc"
    with pytest.raises(InvalidSourceDataError, match="UIDs"):
        FilePetSource(tmp_path).store(ds)
    assert not any(p.suffix == ".dcm" for p in tmp_path.rglob("*"))


def test_unknown_series_is_not_found(tmp_path: Path) -> None:
    source = FilePetSource(tmp_path)
    ref = SeriesRef(study_uid=uid(), series_uid=uid())
    with pytest.raises(NotFoundError):
        source.fetch_series(ref)
    with pytest.raises(NotFoundError):
        source.series_ref(ref.series_uid)


def test_series_ref_rejects_non_uids() -> None:
    with pytest.raises(ValueError, match="not a DICOM UID"):
        SeriesRef(study_uid="1.2.3", series_uid="abc")
