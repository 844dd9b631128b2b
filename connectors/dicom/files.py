"""``FilePetSource``: PET studies in an embedded folder of DICOM files (default source; the receiver's store).

The folder holds DICOM Part 10 files anywhere below it and an SQLite index, ``.her2cds-index.sqlite``, keyed
by SOPInstanceUID with the study, series, modality, patient and referenced series of each instance. The index
is brought up to date by :meth:`FilePetSource.refresh`:

- a **full** refresh stats every file: files whose size or modification time changed are re-read (header
  only), vanished files are dropped;
- an **incremental** refresh (:meth:`FilePetSource.scan`, what the service's folder scanner runs every few
  seconds) stats every directory and lists only those whose modification time changed since the last
  refresh. Adding, renaming or deleting a file changes its directory's modification time (POSIX); a file
  rewritten in place under the same name does not, and waits for the next full refresh. A directory modified
  within the file system's timestamp granularity of the listing is listed again next time.

Files that pydicom cannot read as DICOM are recorded with the reason and skipped (``skipped()`` lists them).
``store(dataset)`` writes one instance as ``<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``
(written under a temporary name, then renamed) and indexes it at once. The index is a cache: an index of
another layout version is dropped and rebuilt.

Thread-safe: the receiver stores from its association threads while analyses read.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian

from connectors.dicom.ports import Modality, SeriesRef, is_uid
from connectors.dicom.series_refs import series_references
from connectors.dicom.transport import DicomTransport, in_instance_order, modality_of
from connectors.dicom.values import parse_da, parse_tm
from connectors.errors import InvalidSourceDataError, NotFoundError, SourceUnavailableError

log = logging.getLogger(__name__)

INDEX_NAME = ".her2cds-index.sqlite"
"""File name of the index inside the folder; dot-prefixed so directory walks and the index skip it."""

INDEX_LAYOUT = 2
"""Layout version of the index (SQLite ``user_version``); an index of another version is rebuilt."""

RACY_MTIME_NS = 2_000_000_000
"""A directory modified less than this long (ns) before it was listed is listed again at the next
incremental refresh: a file added within the same timestamp tick would not change its recorded time."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
CREATE TABLE IF NOT EXISTS dirs (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, subdirs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, dir TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sop_uid TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS files_dir ON files (dir);
CREATE TABLE IF NOT EXISTS instances (
    sop_uid TEXT PRIMARY KEY, path TEXT NOT NULL, study_uid TEXT NOT NULL, series_uid TEXT NOT NULL,
    modality TEXT NOT NULL, patient_id TEXT, issuer TEXT, series_date TEXT, series_time TEXT,
    description TEXT, instance_number INTEGER, refs TEXT, indexed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_series ON instances (study_uid, series_uid);
CREATE INDEX IF NOT EXISTS instances_patient ON instances (patient_id);
CREATE INDEX IF NOT EXISTS instances_path ON instances (path);
"""


_SERIES_QUERY = """
SELECT study_uid, series_uid, MAX(patient_id), MAX(issuer), MAX(modality), MAX(series_date),
       MAX(series_time), MAX(description), COUNT(*)
FROM instances
WHERE (? IS NULL OR modality = ?) AND (? IS NULL OR patient_id = ?) AND (? IS NULL OR study_uid = ?)
  AND (? IS NULL OR series_uid = ?)
  AND (? IS NULL OR study_uid IN (SELECT study_uid FROM instances WHERE indexed_at >= ?))
GROUP BY study_uid, series_uid
ORDER BY MAX(series_date), MAX(series_time), series_uid
"""
"""Series of the index; every filter is optional (a NULL parameter disables it). ``indexed_since`` keeps the
series of studies with an instance indexed since then, so a reader's SR arriving later lists its PT series."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Dir:
    """A directory as recorded: its modification time (-1: list again) and its subdirectories."""

    mtime_ns: int
    subdirs: tuple[str, ...]


class FilePetSource(DicomTransport):
    """A ``PollingPetStudySource`` and ``ScannedPetStudySource`` over a folder of DICOM files, with its own
    incremental SQLite index."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        create: bool = False,
        index_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Open the folder; ``create`` makes it (the receiver's store), otherwise it must exist.

        ``index_path``: where the SQLite index lives instead of ``folder/.her2cds-index.sqlite``, so that a
        folder that is only read (``her2-cds pet analyze``) is never written to.
        """
        self.folder = Path(folder)
        if create:
            self.folder.mkdir(parents=True, exist_ok=True)
        if not self.folder.is_dir():
            raise SourceUnavailableError(f"DICOM folder {self.folder} does not exist or is not a directory")
        self._index = Path(index_path) if index_path is not None else self.folder / INDEX_NAME
        self._lock = threading.RLock()
        self._seen_generation: int | None = None
        with self._connect() as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != INDEX_LAYOUT:
                for table in ("meta", "dirs", "files", "instances"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute(f"PRAGMA user_version = {INDEX_LAYOUT}")
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"FilePetSource({str(self.folder)!r})"

    # -- index -----------------------------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self._index, timeout=10.0)) as db:
                # A persistent rollback journal: creating and deleting it on every write would change the
                # folder's modification time, and every incremental scan would list the folder again.
                db.execute("PRAGMA journal_mode = PERSIST")
                with db:
                    yield db
        except sqlite3.Error as exc:
            raise SourceUnavailableError(f"DICOM folder index {self._index.name} is unusable: {exc}") from exc

    def refresh(self, *, incremental: bool = False) -> bool:
        """Bring the index up to date with the folder; True when an instance or unreadable file was added,
        changed or dropped. ``incremental`` lists only directories whose modification time changed (see the
        module docstring); the default stats every file."""
        with self._lock, self._connect() as db:
            known = {
                path: _Dir(mtime_ns=mtime, subdirs=tuple(json.loads(subdirs)))
                for path, mtime, subdirs in db.execute("SELECT path, mtime_ns, subdirs FROM dirs")
            }
            changed = False
            pending = [""]
            while pending:
                rel = pending.pop()
                try:
                    mtime_ns = (self.folder / rel).stat().st_mtime_ns
                except OSError:
                    continue  # vanished meanwhile: its parent's listing drops it
                recorded = known.get(rel)
                if incremental and recorded is not None and recorded.mtime_ns == mtime_ns:
                    pending.extend(recorded.subdirs)
                    continue
                subdirs, dir_changed = self._list_dir(db, rel, recorded, mtime_ns)
                changed |= dir_changed
                pending.extend(subdirs)
            if changed:
                _bump_generation(db)
        return changed

    def scan(self, *, incremental: bool = True) -> bool:
        """``ScannedPetStudySource.scan``: an incremental (default) or full :meth:`refresh`; True when the
        index changed since this object's previous scan, whoever changed it (another process refreshing
        the same folder, the receiver storing into it)."""
        self.refresh(incremental=incremental)
        with self._connect() as db:
            generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
        changed, self._seen_generation = generation != self._seen_generation, generation
        return changed

    def _list_dir(
        self, db: sqlite3.Connection, rel: str, recorded: _Dir | None, mtime_ns: int
    ) -> tuple[tuple[str, ...], bool]:
        """Index one directory's files (new, changed, vanished) and record it; returns its subdirectories
        and whether anything changed."""
        base = self.folder / rel
        files: dict[str, os.stat_result] = {}
        subdirs: list[str] = []
        try:
            with os.scandir(base) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    with suppress(OSError):
                        if entry.is_dir(follow_symlinks=True):
                            subdirs.append(child)
                        elif entry.is_file(follow_symlinks=True):
                            files[child] = entry.stat(follow_symlinks=True)
        except OSError:
            return (), False
        changed = False
        rows = db.execute("SELECT path, size, mtime_ns FROM files WHERE dir = ?", (rel,))
        indexed = {path: (size, mtime) for path, size, mtime in rows}
        for path in indexed.keys() - files.keys():
            db.execute("DELETE FROM files WHERE path = ?", (path,))
            db.execute("DELETE FROM instances WHERE path = ?", (path,))
            changed = True
        for path, stat in files.items():
            if indexed.get(path) != (stat.st_size, stat.st_mtime_ns):
                self._index_file(db, path, rel, stat.st_size, stat.st_mtime_ns)
                changed = True
        for gone in set(recorded.subdirs if recorded else ()) - set(subdirs):
            changed |= self._drop_tree(db, gone)
        racy = time.time_ns() - mtime_ns < RACY_MTIME_NS
        db.execute(
            "INSERT OR REPLACE INTO dirs VALUES (?, ?, ?)",
            (rel, -1 if racy else mtime_ns, json.dumps(sorted(subdirs))),
        )
        return tuple(subdirs), changed

    @staticmethod
    def _drop_tree(db: sqlite3.Connection, rel: str) -> bool:
        """Forget a vanished directory and everything indexed below it; True when files were indexed there."""
        below = rel.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
        paths = [
            row[0]
            for row in db.execute(
                "SELECT path FROM files WHERE dir = ? OR dir LIKE ? ESCAPE '\\'", (rel, below)
            )
        ]
        for path in paths:
            db.execute("DELETE FROM files WHERE path = ?", (path,))
            db.execute("DELETE FROM instances WHERE path = ?", (path,))
        db.execute("DELETE FROM dirs WHERE path = ? OR path LIKE ? ESCAPE '\\'", (rel, below))
        return bool(paths)

    def _index_file(self, db: sqlite3.Connection, rel: str, parent: str, size: int, mtime_ns: int) -> None:
        db.execute("DELETE FROM instances WHERE path = ?", (rel,))
        try:
            ds = dcmread(self.folder / rel, stop_before_pixels=True)
            row = _instance_row(ds, rel)
        except (InvalidDicomError, InvalidSourceDataError, OSError, ValueError, TypeError, KeyError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.info("skipping unreadable DICOM file %s: %s", rel, reason)
            row_error = (rel, parent, size, mtime_ns, reason)
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, NULL, ?)", row_error)
            return
        db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, NULL)", (rel, parent, size, mtime_ns, row[0])
        )
        # The first file seen for a SOPInstanceUID wins; a second copy elsewhere is ignored.
        db.execute("INSERT OR IGNORE INTO instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

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
        rel = target.relative_to(self.folder).as_posix()
        with self._lock, self._connect() as db:
            self._index_file(db, rel, rel.rpartition("/")[0], stat.st_size, stat.st_mtime_ns)
            _bump_generation(db)
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

    def list_pet_series(self) -> list[SeriesRef]:
        """``ScannedPetStudySource.list_pet_series``: every PT series of the index, without a refresh."""
        return self._series_refs(modality=Modality.PT.value)

    def find_new_series(self, since: dt.datetime) -> list[SeriesRef]:
        """PT series of studies with an instance indexed at or after ``since`` (compared in UTC; naive means
        UTC), so a series whose SR or SEG arrived later is listed again."""
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
        return in_instance_order(self._read(path) for path in self._paths(ref.study_uid, ref.series_uid, ref))

    def fetch_header(self, ref: SeriesRef) -> Dataset:
        """The header of the series' first instance (by InstanceNumber), without pixel data."""
        paths = self._paths(ref.study_uid, ref.series_uid, ref, first_only=True)
        return self._read(paths[0], stop_before_pixels=True)

    def fetch_related(self, ref: SeriesRef) -> tuple[list[Dataset], list[Dataset]]:
        """SR and SEG instances of the related series that may describe ``ref``."""
        out: tuple[list[Dataset], list[Dataset]] = ([], [])
        for target, uids in zip(out, (ref.related_sr, ref.related_seg), strict=True):
            for series_uid in uids:
                for path in self._paths(ref.study_uid, series_uid, ref):
                    ds = self._read(path)
                    if series_references(ds).may_describe(ref.series_uid):
                        target.append(ds)
        return in_instance_order(out[0]), in_instance_order(out[1])

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
            related = self._related(db, {row[0] for row in rows})
            refs = []
            for study, series, patient, issuer, modality_, date, time_, description, count in rows:
                related_sr, related_seg = (
                    tuple(sorted(other for other, refs in related.get((study, kind), ()) if series in refs))
                    for kind in (Modality.SR.value, Modality.SEG.value)
                )
                refs.append(
                    SeriesRef(
                        study_uid=study,
                        series_uid=series,
                        patient_id=patient,
                        issuer_of_patient_id=issuer,
                        modality=modality_,
                        series_date=parse_da(date),
                        series_time=parse_tm(time_),
                        description=description,
                        instance_count=count,
                        related_sr=related_sr,
                        related_seg=related_seg,
                    )
                )
        return refs

    @staticmethod
    def _related(db: sqlite3.Connection, studies: set[str]) -> dict[tuple[str, str], set[tuple[str, _Refs]]]:
        """Per (study, SR|SEG): the series of that modality and what each instance may describe."""
        found: dict[tuple[str, str], set[tuple[str, _Refs]]] = {}
        for study in studies:
            rows = db.execute(
                "SELECT series_uid, modality, refs FROM instances WHERE study_uid = ? AND modality IN (?, ?)",
                (study, Modality.SR.value, Modality.SEG.value),
            )
            for other, modality, refs in rows:
                described = _Refs(None if refs is None else frozenset(json.loads(refs)))
                found.setdefault((study, modality), set()).add((other, described))
        return found

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


@dataclass(frozen=True, slots=True)
class _Refs:
    """The series an indexed SR/SEG instance names (None: it states none, so it may describe any)."""

    named: frozenset[str] | None

    def __contains__(self, series_uid: object) -> bool:
        return self.named is None or series_uid in self.named


def _instance_row(ds: Dataset, rel: str) -> tuple[object, ...]:
    """The ``instances`` row of one header; ``InvalidSourceDataError`` without the UIDs an index needs."""
    keys = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
    sop, study, series = (str(ds.get(k, "")) for k in keys)
    if not (is_uid(sop) and is_uid(study) and is_uid(series)):
        raise InvalidSourceDataError("not a DICOM instance with SOP, Study and Series Instance UIDs")
    modality = modality_of(ds)
    refs = series_references(ds) if modality in (Modality.SR.value, Modality.SEG.value) else None
    number = ds.get("InstanceNumber")
    with suppress(TypeError, ValueError):
        number = int(number) if number not in (None, "") else None
    return (
        sop,
        rel,
        study,
        series,
        modality,
        str(ds.get("PatientID", "")) or None,
        str(ds.get("IssuerOfPatientID", "")) or None,
        str(ds.get("SeriesDate", "")) or None,
        str(ds.get("SeriesTime", "")) or None,
        str(ds.get("SeriesDescription", "")) or None,
        number if isinstance(number, int) else None,
        json.dumps(sorted(refs.series)) if refs is not None and refs.stated else None,
        dt.datetime.now(dt.UTC).isoformat(),
    )


def _bump_generation(db: sqlite3.Connection) -> None:
    """Count one change of the index, so every scanner of the folder notices it (``FilePetSource.scan``)."""
    db.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")


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
