"""``FilePetSource``: PET studies in an embedded folder of DICOM files (default source; the receiver's store).

The folder holds DICOM Part 10 files anywhere below it and an SQLite index, ``.her2cds-index.sqlite``, keyed
by SOPInstanceUID with the study, series, modality, patient and referenced series of each instance. The index
is refreshed incrementally before every query: files whose size or modification time changed are re-read
(header only), vanished files are dropped, and files that pydicom cannot read as DICOM are recorded with the
reason and skipped (``skipped()`` lists them). ``store(dataset)`` writes one instance as
``<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` and indexes it at once.

Thread-safe: the receiver stores from its association threads while analyses read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian

from connectors.dicom.ports import (
    Modality,
    SeriesRef,
    is_uid,
    modality_of,
    parse_da,
    parse_tm,
    referenced_series,
    references_series,
    sort_instances,
)
from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError

log = logging.getLogger(__name__)

INDEX_NAME = ".her2cds-index.sqlite"
"""File name of the index inside the folder; dot-prefixed so directory walks and the index skip it."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sop_uid TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY, path TEXT NOT NULL, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    modality TEXT NOT NULL, patient_id TEXT, series_date TEXT, series_time TEXT, description TEXT,
    instance_number INTEGER, refs TEXT, indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_series ON instances (study_uid, series_uid);
CREATE INDEX IF NOT EXISTS instances_patient ON instances (patient_id);
"""


_SERIES_QUERY = """
SELECT study_uid, series_uid, MAX(patient_id), MAX(modality), MAX(series_date), MAX(series_time),
       MAX(description), COUNT(*)
FROM instances
WHERE (? IS NULL OR modality = ?) AND (? IS NULL OR patient_id = ?) AND (? IS NULL OR study_uid = ?)
  AND (? IS NULL OR series_uid = ?)
  AND (? IS NULL OR series_uid IN (SELECT series_uid FROM instances WHERE indexed_at >= ?))
GROUP BY study_uid, series_uid
ORDER BY MAX(series_date), MAX(series_time), series_uid
"""
"""Series of the index; every filter is optional (a NULL parameter disables it)."""


class FilePetSource:
    """A ``PollingPetStudySource`` over a folder of DICOM files with its own incremental SQLite index."""

    def __init__(self, folder: str | os.PathLike[str], *, create: bool = False) -> None:
        """Open the folder; ``create`` makes it (the receiver's store), otherwise it must exist."""
        self.folder = Path(folder)
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        if not self.folder.is_dir():
            raise SourceUnavailableError(f"DICOM folder {self.folder} does not exist or is not a directory")
        self._index = self.folder / INDEX_NAME
        self._lock = threading.RLock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"FilePetSource({str(self.folder)!r})"

    # -- index -----------------------------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self._index, timeout=10.0)) as db, db:
                yield db
        except sqlite3.Error as exc:
            raise SourceUnavailableError(f"DICOM folder index {self._index.name} is unusable: {exc}") from exc

    def refresh(self) -> None:
        """Bring the index up to date with the folder (new, changed and vanished files)."""
        with self._lock, self._connect() as db:
            known = {row[0]: (row[1], row[2]) for row in db.execute("SELECT path, size, mtime_ns FROM files")}
            seen: set[str] = set()
            for path in self._walk():
                rel = path.relative_to(self.folder).as_posix()
                seen.add(rel)
                try:
                    stat = path.stat()
                except OSError:
                    continue
                if known.get(rel) == (stat.st_size, stat.st_mtime_ns):
                    continue
                self._index_file(db, rel, stat.st_size, stat.st_mtime_ns)
            for rel in set(known) - seen:
                db.execute("DELETE FROM files WHERE path = ?", (rel,))
                db.execute("DELETE FROM instances WHERE path = ?", (rel,))

    def _walk(self) -> Iterator[Path]:
        for root, dirs, names in os.walk(self.folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                if not name.startswith("."):
                    yield Path(root) / name

    def _index_file(self, db: sqlite3.Connection, rel: str, size: int, mtime_ns: int) -> None:
        db.execute("DELETE FROM instances WHERE path = ?", (rel,))
        try:
            ds = dcmread(self.folder / rel, stop_before_pixels=True)
            row = _instance_row(ds, rel)
        except (InvalidDicomError, InvalidSourceDataError, OSError, ValueError, TypeError, KeyError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.info("skipping unreadable DICOM file %s: %s", rel, reason)
            row_error = (rel, size, mtime_ns, reason)
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, NULL, ?)", row_error)
            return
        db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, NULL)", (rel, size, mtime_ns, row[0]))
        # The first file seen for a SOPInstanceUID wins; a second copy elsewhere is ignored.
        db.execute("INSERT OR IGNORE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

    def has_instances(self) -> bool:
        """True when the index holds at least one DICOM instance (call after a refresh)."""
        with self._connect() as db:
            return db.execute("SELECT 1 FROM instances LIMIT 1").fetchone() is not None

    def skipped(self) -> list[tuple[Path, str]]:
        """Files that are not usable DICOM instances, with the reason (after a refresh)."""
        self.refresh()
        with self._connect() as db:
            query = "SELECT path, error FROM files WHERE error IS NOT NULL ORDER BY path"
            rows = db.execute(query).fetchall()
        return [(self.folder / path, str(error)) for path, error in rows]

    # -- writing ---------------------------------------------------------------------------------------------

    def store(self, dataset: Dataset) -> Path:
        """Write one instance into the folder and index it; returns its path.

        UIDs are validated before they become path components (PS3.5 9.1), so a crafted UID cannot escape the
        folder. Raises ``InvalidSourceDataError`` for an instance without valid Study/Series/SOP Instance
        UIDs.
        """
        uids = [str(dataset.get(k, "")) for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")]
        if not all(is_uid(u) for u in uids):
            raise InvalidSourceDataError(f"instance without valid Study/Series/SOP Instance UIDs: {uids!r}")
        study, series, sop = uids
        target = self.folder / study / series / f"{sop}.dcm"
        target.parent.mkdir(parents=True, exist_ok=True)
        _ensure_file_meta(dataset)
        tmp = target.with_name(f".{sop}.tmp")
        dataset.save_as(tmp, enforce_file_format=True)
        os.replace(tmp, target)
        stat = target.stat()
        with self._lock, self._connect() as db:
            self._index_file(db, target.relative_to(self.folder).as_posix(), stat.st_size, stat.st_mtime_ns)
        return target

    # -- PetStudySource --------------------------------------------------------------------------------------

    def find_pet_series(
        self, patient_id: str | None = None, study_uid: str | None = None, *, refresh: bool = True
    ) -> list[SeriesRef]:
        """PT series in the folder, filtered by PatientID and/or StudyInstanceUID.

        ``refresh=False`` answers from the index alone (the receiver, which indexes what it stores itself).
        """
        if refresh:
            self.refresh()
        return self._series_refs(modality=Modality.PT.value, patient_id=patient_id, study_uid=study_uid)

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series with an instance indexed at or after ``since`` (compared in UTC; naive means UTC)."""
        self.refresh()
        stamp = (since if since.tzinfo else since.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
        return self._series_refs(modality=Modality.PT.value, indexed_since=stamp)

    def series_ref(self, series_uid: str) -> SeriesRef:
        """The ``SeriesRef`` of an indexed series of any modality; ``NotFoundError`` when absent."""
        refs = self._series_refs(series_uid=series_uid)
        if not refs:
            raise NotFoundError(f"series {series_uid} is not in {self.folder}")
        return refs[0]

    def fetch_series(self, ref: SeriesRef) -> list[Dataset]:
        """All instances of the series, read in full."""
        return sort_instances(self._read(path) for path in self._paths(ref.study_uid, ref.series_uid, ref))

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """The header of the series' first instance (by InstanceNumber), without pixel data."""
        paths = self._paths(ref.study_uid, ref.series_uid, ref, first_only=True)
        return self._read(paths[0], stop_before_pixels=True)

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """SR and SEG instances of the related series that reference ``ref`` (or state no references)."""
        out: tuple[list[Dataset], list[Dataset]] = ([], [])
        for target, uids in zip(out, (ref.related_sr, ref.related_seg), strict=True):
            for series_uid in uids:
                for path in self._paths(ref.study_uid, series_uid, ref):
                    ds = self._read(path)
                    if references_series(ds, ref.series_uid):
                        target.append(ds)
        return sort_instances(out[0]), sort_instances(out[1])

    # -- internals -------------------------------------------------------------------------------------------

    def _series_refs(
        self,
        *,
        modality: str | None = None,
        patient_id: str | None = None,
        study_uid: str | None = None,
        series_uid: str | None = None,
        indexed_since: str | None = None,
    ) -> list[SeriesRef]:
        filters = (modality, patient_id, study_uid, series_uid, indexed_since)
        params = [value for value in filters for _ in range(2)]
        with self._connect() as db:
            rows = db.execute(_SERIES_QUERY, params).fetchall()
            refs = []
            for study, series, patient, modality, date, time, description, count in rows:
                related_sr, related_seg = self._related(db, study, series)
                refs.append(
                    SeriesRef(
                        study_uid=study,
                        series_uid=series,
                        patient_id=patient,
                        modality=modality,
                        series_date=parse_da(date),
                        series_time=parse_tm(time),
                        description=description,
                        instance_count=count,
                        related_sr=related_sr,
                        related_seg=related_seg,
                    )
                )
        return refs

    @staticmethod
    def _related(db: sqlite3.Connection, study: str, series: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        found: dict[str, set[str]] = {Modality.SR.value: set(), Modality.SEG.value: set()}
        rows = db.execute(
            "SELECT series_uid, modality, refs FROM instances WHERE study_uid = ? AND modality IN (?, ?)",
            (study, Modality.SR.value, Modality.SEG.value),
        )
        for other, modality, refs in rows:
            if refs is None or series in json.loads(refs):
                found[modality].add(other)
        return tuple(sorted(found[Modality.SR.value])), tuple(sorted(found[Modality.SEG.value]))

    def _paths(self, study: str, series: str, ref: SeriesRef, *, first_only: bool = False) -> list[Path]:
        query = (
            "SELECT path FROM instances WHERE study_uid = ? AND series_uid = ? "
            "ORDER BY instance_number, sop_uid"
        )
        with self._connect() as db:
            rows = db.execute(query + (" LIMIT 1" if first_only else ""), (study, series)).fetchall()
        if not rows:
            raise NotFoundError(f"series {series} is not in {self.folder}", source=ref.source)
        return [self.folder / row[0] for row in rows]

    def _read(self, path: Path, *, stop_before_pixels: bool = False) -> Dataset:
        try:
            return dcmread(path, stop_before_pixels=stop_before_pixels)
        except FileNotFoundError as exc:
            raise NotFoundError(f"{path.name} vanished from {self.folder}; refresh and retry") from exc
        except (InvalidDicomError, OSError, ValueError) as exc:
            raise InvalidSourceDataError(f"cannot read {path.name}: {exc}") from exc


def _instance_row(ds: Dataset, rel: str) -> tuple[object, ...]:
    """The ``instances`` row of one header; ``InvalidSourceDataError`` without the UIDs an index needs."""
    keys = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
    sop, study, series = (str(ds.get(k, "")) for k in keys)
    if not (is_uid(sop) and is_uid(study) and is_uid(series)):
        raise InvalidSourceDataError("not a DICOM instance with SOP, Study and Series Instance UIDs")
    refs = referenced_series(ds)
    number = ds.get("InstanceNumber")
    with suppress(TypeError, ValueError):
        number = int(number) if number not in (None, "") else None
    return (
        sop,
        rel,
        study,
        series,
        modality_of(ds),
        str(ds.get("PatientID", "")) or None,
        str(ds.get("SeriesDate", "")) or None,
        str(ds.get("SeriesTime", "")) or None,
        str(ds.get("SeriesDescription", "")) or None,
        number if isinstance(number, int) else None,
        json.dumps(sorted(refs)) if refs is not None else None,
        dt.datetime.now(dt.UTC).isoformat(),
    )


def _ensure_file_meta(ds: Dataset) -> None:
    """Give a dataset received over the network the Part 10 file meta information it needs to be saved."""
    meta = ds.file_meta if hasattr(ds, "file_meta") else None
    if meta is None:
        meta = FileMetaDataset()
        ds.file_meta = meta
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
