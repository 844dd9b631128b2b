"""FilePetSource: index, incremental refresh, skipped files, PT filtering, SR/SEG relations, store()."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest

from connectors.dicom.files import INDEX_NAME, FilePetSource
from connectors.dicom.ports import PetStudySource, PollingPetStudySource, ScannedPetStudySource, SeriesRef
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
    assert isinstance(source, ScannedPetStudySource)


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


def _settle(folder: Path) -> None:
    """Date every directory a minute back, as if nothing had been written within a timestamp tick."""
    for directory in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
        stat = directory.stat()
        os.utime(directory, ns=(stat.st_atime_ns, stat.st_mtime_ns - 60_000_000_000))


def test_incremental_scan_lists_only_changed_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, pet_series(2), sub="a/one")
    _write(tmp_path, pet_series(1), sub="b/two")
    source = FilePetSource(tmp_path)
    assert source.scan(incremental=False) is True
    _settle(tmp_path)
    assert source.scan() is False  # new directory times, the same files: nothing changed
    listed: list[str] = []
    original = os.scandir
    import connectors.dicom.files as files

    monkeypatch.setattr(files.os, "scandir", lambda path: listed.append(str(path)) or original(path))
    assert source.scan() is False
    assert listed == []  # nothing changed: every directory stat'ed, none listed
    (path,) = _write(tmp_path, pet_series(1), sub="a/three")
    assert source.scan() is True
    assert {Path(p).relative_to(tmp_path).as_posix() for p in listed} == {"a", "a/three"}
    assert len(source.list_pet_series()) == 3
    import shutil

    shutil.rmtree(tmp_path / "b")
    assert source.scan() is True
    assert len(source.list_pet_series()) == 2
    assert path.exists()


def test_a_file_rewritten_in_place_waits_for_the_full_scan(tmp_path: Path) -> None:
    pet = pet_series(1, patient="OLD")
    (path,) = _write(tmp_path, pet)
    source = FilePetSource(tmp_path)
    source.scan(incremental=False)
    _settle(tmp_path)
    assert source.scan() is False
    directory = path.parent.stat()
    pet[0].PatientID = "NEW-ID"
    pet[0].save_as(path, enforce_file_format=True)  # same name: its directory's time does not move
    os.utime(path.parent, ns=(directory.st_atime_ns, directory.st_mtime_ns))
    assert source.scan() is False
    assert source.list_pet_series()[0].patient_id == "OLD"
    assert source.scan(incremental=False) is True
    assert source.list_pet_series()[0].patient_id == "NEW-ID"


def test_a_change_indexed_by_someone_else_is_still_news_to_each_scanner(tmp_path: Path) -> None:
    scanner = FilePetSource(tmp_path)
    assert scanner.scan() is True  # a new scanner has seen nothing yet
    assert scanner.scan() is False
    _write(tmp_path, pet_series(1))
    assert len(FilePetSource(tmp_path).find_pet_series()) == 1  # another process indexes the new file
    assert scanner.scan() is True
    FilePetSource(tmp_path).store(pet_series(1)[0])  # the receiver stores into the folder
    assert scanner.scan() is True
    assert len(scanner.list_pet_series()) == 2


def test_an_index_of_another_layout_is_rebuilt(tmp_path: Path) -> None:
    import sqlite3

    _write(tmp_path, pet_series(1))
    with sqlite3.connect(tmp_path / INDEX_NAME) as db:
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER)")
        db.execute("PRAGMA user_version = 1")
    assert len(FilePetSource(tmp_path).find_pet_series()) == 1


def test_the_port_triages_and_analyses_without_handing_out_datasets(tmp_path: Path) -> None:
    _write(tmp_path, pet_series(2))
    (tmp_path / "in" / "broken.dcm").write_bytes(b"")
    source = FilePetSource(tmp_path)
    (ref,) = source.find_pet_series()
    recognition = source.triage(ref)
    assert recognition.tracer is not None
    analysis = source.analyse(ref)
    assert analysis.series_uid == ref.series_uid
    gone = SeriesRef(study_uid=uid(), series_uid=uid())
    with pytest.raises(NotFoundError):
        source.analyse(gone)
