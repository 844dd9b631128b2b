"""Filling the PET series index ahead of the hooks: one pass over a source, and the service's background loop.

A pass (:meth:`PetIndexer.run_pass`) lists PT series, triages the new ones by one header (HER2 tracer or not,
``spec/pet-dicom.md`` §8), writes them to the series index (``cds_service.storage.series_index``) and records
the source's state: the success with the watermark the next pass starts from, or the failure with its reason.
How a source is listed depends on what it can do:

- an embedded folder (``ScannedPetStudySource``) is rescanned (incrementally: only changed directories are
  listed) and, when anything changed, listed whole from its own file index; series that vanished leave the
  index. A series is written only once its listing has not changed for ``SETTLE_S`` seconds (a series still
  being copied is not indexed, nor analysed, half-written), except in the first pass over a source;
- a PACS that can poll (``PollingPetStudySource``: DICOMweb, DIMSE) lists the studies dated since the
  watermark minus ``WATERMARK_OVERLAP`` (StudyDate has day granularity);
- any other source lists every PT series.

The same pass serves ``her2-cds sync`` (which then analyses each new series itself), the C-STORE receiver,
and :class:`BackgroundIndexer`, the service's own loop: a first pass when the service starts (readiness
waits for it), then one every ``HER2CDS_PET_SCAN_INTERVAL_S`` (embedded folder) or
``HER2CDS_PET_SYNC_INTERVAL_S`` (PACS) seconds, with a full folder rescan every ``FULL_SCAN_EVERY_S``. The
workers and replicas of a service share the passes: each pass is leased in the database
(``SeriesIndex.claim_pass``), so one process runs it while the others wait for its end (a process that
starts while another's pass runs is ready when that pass has ended; otherwise it runs its own first pass
at once). New or changed HER2 series are handed
to ``on_new`` (the service queues their analysis) except in a source's very first pass, the backfill, whose
series are analysed when a hook first asks for them.

Nothing here logs patient data: counts, series UIDs are not logged either.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from cds_service.storage.series_index import IndexedSeries, SeriesIndex, SeriesTriage
from connectors.dicom.ports import PetStudySource, PollingPetStudySource, ScannedPetStudySource, SeriesRef
from connectors.errors import ConnectorError, InvalidSourceDataError, NotFoundError

log = logging.getLogger(__name__)

WATERMARK_OVERLAP = dt.timedelta(days=1)
"""StudyDate queries have day granularity: each incremental pass looks back this far behind the watermark."""

EPOCH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
"""``since`` of a source's first pass: everything."""

SETTLE_S = 5.0
"""A folder series is indexed once its listing (instances, SR/SEG) has not changed for this many seconds: a
series still being copied is neither indexed nor analysed half-written."""

FULL_SCAN_EVERY_S = 300.0
"""Seconds between full rescans of an embedded folder (which also notice files rewritten in place)."""

MAX_NOTE_CHARS = 200

LEASE_MIN_S = 300.0
"""Shortest lease of an index pass: a process that died holding it is replaced after this many seconds."""

WAIT_POLL_S = 0.2
"""How often a starting process looks whether another process's pass has ended."""

HEARTBEAT_S = 30.0
"""A folder pass that found nothing new records its success at most this often (a write every scan would
only add lock traffic; staleness is judged in minutes)."""

TRIAGE_WORKERS = 4
"""Headers fetched at once while a pass triages new series (network round trips overlap)."""

WRITE_BATCH = 20
"""Rows written per transaction while a pass triages: a long first pass shows its progress to the hooks."""

NewSeriesHandler = Callable[[IndexedSeries], None]


def source_key(url: str) -> str:
    """The name of a PET source in the index and its state: the source URL without credentials, query or
    fragment (``file:///abs/dir``, ``https://host:port/dicom-web``, ``dimse://AET@host:port``)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return f"file://{Path(unquote(parts.path)).absolute().as_posix()}"
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    if scheme == "dimse":
        netloc = f"{unquote(parts.username or '')}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def indexed_series(ref: SeriesRef, source: str, triage: SeriesTriage, **extra: object) -> IndexedSeries:
    """The index row of a listed series (``extra``: ``tracer``, ``triage_note``)."""
    return IndexedSeries(
        series_uid=ref.series_uid,
        study_uid=ref.study_uid,
        source=source,
        patient_id=ref.patient_id,
        issuer_of_patient_id=ref.issuer_of_patient_id,
        series_date=ref.series_date,
        series_time=ref.series_time,
        instance_count=ref.instance_count,
        related_sr=ref.related_sr,
        related_seg=ref.related_seg,
        triage=triage,
        **extra,  # type: ignore[arg-type]
    )


def series_ref(row: IndexedSeries) -> SeriesRef:
    """The ``SeriesRef`` of an index row (what the PET port needs to analyse it)."""
    return SeriesRef(
        study_uid=row.study_uid,
        series_uid=row.series_uid,
        patient_id=row.patient_id,
        issuer_of_patient_id=row.issuer_of_patient_id,
        series_date=row.series_date,
        series_time=row.series_time,
        instance_count=row.instance_count,
        related_sr=row.related_sr,
        related_seg=row.related_seg,
    )


def triaged(source: PetStudySource, ref: SeriesRef, source_name: str) -> IndexedSeries | None:
    """The index row of ``ref`` after its header triage; None when the series vanished meanwhile.

    An undecodable header makes the series ``other`` (never shown) with the reason; an outage raises.
    """
    try:
        recognition = source.triage(ref)
    except NotFoundError:
        return None
    except InvalidSourceDataError as exc:
        note = f"header unreadable: {' '.join(str(exc).split())}"[:MAX_NOTE_CHARS]
        return indexed_series(ref, source_name, SeriesTriage.OTHER, triage_note=note)
    if recognition.tracer is not None:
        return indexed_series(ref, source_name, SeriesTriage.HER2, tracer=recognition.tracer)
    note = (recognition.skip_reason or "not a HER2 PET series")[:MAX_NOTE_CHARS]
    return indexed_series(ref, source_name, SeriesTriage.OTHER, triage_note=note)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexPass:
    """What one pass did: ``listed`` holds the current rows of every series listed (empty when a folder had
    not changed), ``new`` those written because they were new or changed, ``removed`` how many rows of
    vanished series were deleted; ``backfill`` marks the first successful pass over the source."""

    listed: tuple[IndexedSeries, ...] = ()
    new: tuple[IndexedSeries, ...] = ()
    removed: int = 0
    backfill: bool = False


class PetIndexer:
    """One source's passes into the series index (see the module docstring). Not thread-safe: one caller
    (a loop, a command) runs its passes one after another."""

    def __init__(
        self,
        source: PetStudySource,
        index: SeriesIndex,
        *,
        name: str,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        settle_s: float = SETTLE_S,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.source = source
        self.index = index
        self.name = name
        self.settle_s = settle_s
        self.heartbeat_s = heartbeat_s
        self._clock = clock
        self._passes = 0
        self._seen: dict[str, tuple[IndexedSeries, float]] = {}
        self._unsettled = False

    def run_pass(self, since: dt.datetime | None = None, *, full: bool = False) -> IndexPass:
        """List, triage, write and record (see the module docstring). ``since`` overrides the watermark of a
        polling source; ``full`` rescans a whole folder. Raises ``ConnectorError`` after recording the
        failure."""
        started = self._clock()
        state = self.index.state(self.name)
        backfill = state is None or state.last_success_at is None
        try:
            if isinstance(self.source, ScannedPetStudySource):
                result = self._folder_pass(full=full or self._passes == 0, accept_all=backfill)
            else:
                if since is None:
                    watermark = state.watermark if state is not None else None
                    since = watermark - WATERMARK_OVERLAP if watermark is not None else EPOCH
                result = self._listing_pass(since)
        except ConnectorError as exc:
            self.index.record_failure(self.name, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._passes += 1
        quiet = not (result.listed or result.new or result.removed)
        recent = (
            state is not None
            and not state.failed
            and state.last_success_at is not None
            and (started - state.last_success_at).total_seconds() < self.heartbeat_s
        )
        if not (quiet and recent):
            self.index.record_success(self.name, started_at=started)
        return IndexPass(listed=result.listed, new=result.new, removed=result.removed, backfill=backfill)

    # -- listing strategies -------------------------------------------------------------------------------

    def _folder_pass(self, *, full: bool, accept_all: bool) -> IndexPass:
        assert isinstance(self.source, ScannedPetStudySource)
        changed = self.source.scan(incremental=not full)
        if not (changed or full or self._unsettled):
            return IndexPass()
        refs = self.source.list_pet_series()
        known = self.index.of_source(self.name)
        now = time.monotonic()
        listing = {ref.series_uid: indexed_series(ref, self.name, SeriesTriage.UNKNOWN) for ref in refs}
        seen: dict[str, tuple[IndexedSeries, float]] = {}
        for uid, row in listing.items():
            previous = self._seen.get(uid)
            same = previous is not None and previous[0].same_listing(row)
            seen[uid] = (row, previous[1] if same and previous is not None else now)
        settled = [ref for ref in refs if accept_all or now - seen[ref.series_uid][1] >= self.settle_s]
        self._unsettled = len(settled) < len(refs)
        self._seen = seen
        listed, new = self._write(settled, known)
        vanished = set(known) - set(listing)
        removed = self.index.remove(vanished)
        return IndexPass(listed=listed, new=new, removed=removed)

    def _listing_pass(self, since: dt.datetime) -> IndexPass:
        if isinstance(self.source, PollingPetStudySource):
            refs = self.source.find_new_series(since)
        else:
            refs = self.source.find_pet_series()
        known = self.index.get_many(ref.series_uid for ref in refs)
        listed, new = self._write(refs, known)
        return IndexPass(listed=listed, new=new)

    def _write(
        self, refs: Sequence[SeriesRef], known: dict[str, IndexedSeries]
    ) -> tuple[tuple[IndexedSeries, ...], tuple[IndexedSeries, ...]]:
        """Triage what is new (or was never triaged; ``TRIAGE_WORKERS`` headers at a time), keep the triage
        of the rest, write new and changed rows; returns (every current row, the rows written)."""
        listed: list[IndexedSeries] = []
        new: list[IndexedSeries] = []
        todo: list[SeriesRef] = []
        for ref in refs:
            old = known.get(ref.series_uid)
            if old is None or old.triage is SeriesTriage.UNKNOWN or old.study_uid != ref.study_uid:
                todo.append(ref)
                continue
            row = indexed_series(ref, self.name, old.triage, tracer=old.tracer, triage_note=old.triage_note)
            if old.same_listing(row) and old.source == self.name:
                listed.append(old)
            else:
                listed.append(row)
                new.append(row)
        self.index.upsert(new)
        unwritten: list[IndexedSeries] = []
        try:
            with ThreadPoolExecutor(max(1, min(TRIAGE_WORKERS, len(todo))), "pet-triage") as pool:
                # map yields in order and raises at the first outage; what came before it is written
                for found in pool.map(lambda ref: triaged(self.source, ref, self.name), todo):
                    if found is None:
                        continue
                    listed.append(found)
                    new.append(found)
                    unwritten.append(found)
                    if len(unwritten) >= WRITE_BATCH:
                        self.index.upsert(unwritten)
                        unwritten = []
        finally:
            self.index.upsert(unwritten)
        return tuple(listed), tuple(new)


class BackgroundIndexer:
    """The service's indexing loop over one source: a first pass at once, then one every ``interval_s``,
    leased between the processes that share the database (see the module docstring).

    ``on_new`` receives the new or changed HER2 rows of every pass except a backfill. The loop stops with
    :meth:`stop`, or by itself once this object is garbage-collected (an app dropped in tests).
    """

    def __init__(
        self,
        indexer: PetIndexer,
        *,
        interval_s: float,
        on_new: NewSeriesHandler | None = None,
        full_every_s: float = FULL_SCAN_EVERY_S,
        owner: str | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("BackgroundIndexer needs a positive interval in seconds")
        self.indexer = indexer
        self.interval_s = interval_s
        self.full_every_s = full_every_s
        self.lease_s = max(LEASE_MIN_S, 10 * interval_s)
        self.owner = owner or f"indexer:{uuid.uuid4().hex}"
        self._on_new = on_new
        self._started = dt.datetime.now(dt.UTC)
        self._first_pass = threading.Event()
        self._stop = threading.Event()
        self._last_full = float("-inf")
        self._thread: threading.Thread | None = None
        weakref.finalize(self, self._stop.set)

    @property
    def ready(self) -> bool:
        """Whether a pass over the source has ended since this process started (its own or another's)."""
        return self._first_pass.is_set()

    def start(self) -> None:
        """Start the loop (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=_loop, args=(weakref.ref(self), self._stop), name="pet-indexer", daemon=True
        )
        self._thread.start()

    def wait_first_pass(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds for the first pass; True when it finished."""
        return self._first_pass.wait(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop and wait for a running pass to end."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def next_wait_s(self) -> float:
        """Seconds until the next tick: short while waiting for another process's first pass to end."""
        return self.interval_s if self.ready else min(self.interval_s, WAIT_POLL_S)

    def tick(self) -> None:
        """One pass if this process gets the lease, with its outcome logged; never raises (the state records
        failures)."""
        name = self.indexer.name
        if not self._claim():
            return
        now = time.monotonic()
        full = now - self._last_full >= self.full_every_s
        try:
            result = self.indexer.run_pass(full=full)
        except ConnectorError as exc:
            log.warning("PET index pass failed: %s", type(exc).__name__)
            return
        except Exception:  # a bug must not end the loop; the index then goes stale and says so
            log.exception("PET index pass failed unexpectedly")
            return
        finally:
            self._finish(name)
        if full:
            self._last_full = now
        if result.new or result.removed:
            log.info(
                "PET index updated", extra={"pet_series_new": len(result.new), "removed": result.removed}
            )
        if self._on_new is not None and not result.backfill:
            for row in result.new:
                if row.triage is SeriesTriage.HER2:
                    self._on_new(row)

    def _claim(self) -> bool:
        """Take the lease of the next pass; without it, note whether another process's pass has ended."""
        index, name = self.indexer.index, self.indexer.name
        # A starting process runs its own first pass unless one is running now (then it waits for its end):
        # the first hook it answers must not rest on what the index said before it started.
        min_gap_s = 0.8 * self.interval_s if self.ready else 0.0
        try:
            if index.claim_pass(name, self.owner, min_gap_s=min_gap_s, lease_s=self.lease_s):
                return True
            if not self.ready and self._ended_since_start():
                self._first_pass.set()
        except Exception:  # the database may be briefly unreachable; the next tick tries again
            log.warning("PET index pass lease could not be taken")
        return False

    def _finish(self, name: str) -> None:
        try:
            self.indexer.index.finish_pass(name, self.owner)
        except Exception:  # the lease then expires by itself
            log.warning("PET index pass lease could not be released")
        self._first_pass.set()

    def _ended_since_start(self) -> bool:
        """Whether a pass (or a recorded outage) ended after this process started."""
        state = self.indexer.index.state(self.indexer.name)
        if state is None:
            return False
        moments = (state.pass_finished_at, state.last_success_at, state.last_failure_at)
        return any(moment is not None and moment >= self._started for moment in moments)


def _loop(ref: weakref.ref[BackgroundIndexer], stop: threading.Event) -> None:
    """The loop body, holding its indexer only weakly between passes."""
    while not stop.is_set():
        indexer = ref()
        if indexer is None:
            return
        indexer.tick()
        wait_s = indexer.next_wait_s()
        del indexer
        stop.wait(wait_s)
