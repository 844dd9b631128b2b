"""PET analyses computed off the hook path and cached in the database by SeriesInstanceUID.

``spec/cds-hooks.md`` §13: PET quantification does not block a hook. Analyses are computed when a series
arrives (``her2-cds receive``), when ``her2-cds sync`` or the service's background indexer lists a new series
(``cds_service.pet.index``), or, for an indexed series a hook meets first, in the background; each is stored
once (``Storage.claim_analysis``/``save_analysis``: exactly one worker of all replicas analyses a series, the
others see it as running) as a JSON document (``cds_service.pet.codec``) plus the MIP picture
(``Storage.save_picture``).

- :func:`analyse_and_store` is the synchronous unit of work (receive, sync, background jobs): claim, analyse
  through the PET port (``PetStudySource.analyse``), store. Data problems become the stored analysis'
  ``error``/caveats (the analysis never raises for them); a source outage is stored as ``failed`` (retried
  after the claim's back-off) and re-raised.
- :class:`PetJobs` runs that work on two bounded thread pools, one for quick PACS calls (one header for
  tracer triage) and one for analyses (CPU and bulk retrieval), de-duplicated per series within the process.
  Nobody waits for it on the hook path: the hook queues (:meth:`PetJobs.queue`) and answers at once.

The stored analysis version (:func:`analysis_version`) combines the analysis code version with a digest of
the SR and SEG series that referenced the PET series and its instance count when it was analysed: a reader's
report arriving later, or instances that were still arriving, make the stored result stale, and the next
sync, receive, index pass or hook analyses the series again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from cds_service.memo import Memo
from cds_service.observability import UpstreamTarget, default_metrics
from cds_service.pet.codec import (
    ANALYSIS_VERSION,
    AnalysisDocument,
    PetCodecError,
    document_from_json,
    document_to_json,
)
from cds_service.pet.metrics import timed_source
from cds_service.storage.tables import AnalysisStatus
from connectors.dicom.analysis import SeriesAnalysis
from connectors.dicom.factory import auth_from_text, pet_source_from_url
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import SourceUnavailableError
from connectors.http import Timeouts
from rules.domain import Tracer

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import PetAnalysisRecord, Storage

log = logging.getLogger(__name__)

STALE_AFTER_S = 300.0
"""A claim older than this (seconds) is presumed dead and may be taken over; a failed analysis is retried
after the same back-off."""

MAX_ERROR_CHARS = 500

REQUEUE_AFTER_S = 10.0
"""A series queued by a hook is not queued again by this process within this many seconds of its last job
finishing (hooks for a pending series would otherwise each start a claim attempt), unless the series changed
since that job (new instances, a reader's SR or a SEG arrived): then it is queued at once."""


def worker_identity() -> str:
    """A claim owner id unique to this process: host, pid and a random suffix (no PHI)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def analysis_version(ref: SeriesRef) -> str:
    """``ANALYSIS_VERSION`` plus a digest of the related SR/SEG series and the instance count (at most 32
    characters, the column)."""
    related = ",".join(sorted((*ref.related_sr, *ref.related_seg))) + f";instances={ref.instance_count}"
    digest = hashlib.sha256(related.encode("ascii", "replace")).hexdigest()[:10]
    return f"{ANALYSIS_VERSION}#{digest}"


def is_current(record: PetAnalysisRecord | None, ref: SeriesRef) -> bool:
    """Whether ``record`` holds a finished analysis of ``ref`` with its present SR/SEG (no work to do)."""
    return (
        record is not None
        and record.status is AnalysisStatus.DONE
        and record.analysis_version == analysis_version(ref)
    )


_DECODED: Memo[AnalysisDocument] = Memo(max_entries=512, ttl_s=3600.0)
"""Decoded stored analyses by the row's identity (series, analysis version, ``updated_at``, ``attempts``:
every write of the row changes ``updated_at``), so that a hook does not rebuild the same lesion objects from
the same row again."""


def stored_document(record: PetAnalysisRecord | None) -> AnalysisDocument | None:
    """The decoded document of a finished analysis, or None (not done, another analysis code version, or an
    undecodable row, which is then analysed again)."""
    if record is None or record.status is not AnalysisStatus.DONE or record.facts is None:
        return None
    if not (record.analysis_version or "").startswith(ANALYSIS_VERSION):
        return None
    try:
        facts = record.facts
        key = (record.series_instance_uid, record.analysis_version, record.updated_at, record.attempts)
        return _DECODED.get(key, lambda: document_from_json(facts))
    except PetCodecError:
        log.warning("a stored PET analysis could not be decoded; it will be analysed again")
        return None


def source_from_settings(settings: Settings) -> PetStudySource:
    """The PET source of ``HER2CDS_DICOM_SOURCE``: an embedded folder (created when missing), DICOMweb with
    the mounted credentials of ``HER2CDS_DICOM_AUTH_FILE``, or DIMSE with ``HER2CDS_DIMSE_AET``; every
    network call bounded by ``HER2CDS_HTTP_CONNECT_TIMEOUT_S``/``HER2CDS_HTTP_READ_TIMEOUT_S`` and measured
    (``her2cds_upstream_request_seconds{target=dicomweb|dimse}``)."""
    url = settings.dicom_source
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FilePetSource(unquote(parts.path), create=True)
    auth = None
    if settings.dicom_auth_file is not None:
        auth = auth_from_text(settings.dicom_auth_file.read_text(encoding="utf-8"))
    timeouts = Timeouts(connect_s=settings.http_connect_timeout_s, read_s=settings.http_read_timeout_s)
    source = pet_source_from_url(url, timeouts=timeouts, calling_aet=settings.dimse_aet, auth=auth)
    target = UpstreamTarget.DIMSE if parts.scheme == "dimse" else UpstreamTarget.DICOMWEB
    return timed_source(source, target, default_metrics())


def store_document(
    storage: Storage, ref: SeriesRef, worker_id: str, document: AnalysisDocument, png: bytes | None = None
) -> bool:
    """Save a claimed analysis (and its picture first, so a reader that sees ``done`` finds the picture);
    False when the claim was lost meanwhile."""
    if png is not None:
        storage.save_picture(ref.series_uid, png)
    return storage.save_analysis(
        ref.series_uid,
        worker_id=worker_id,
        status=AnalysisStatus.DONE,
        facts=document_to_json(document),
        analysis_version=analysis_version(ref),
    )


def _claim(storage: Storage, ref: SeriesRef, worker_id: str, stale_after_s: float) -> bool:
    return storage.claim_analysis(
        ref.series_uid,
        worker_id,
        stale_after_s,
        study_uid=ref.study_uid,
        patient_id=ref.patient_id,
        analysis_version=analysis_version(ref),
    )


def _fail(storage: Storage, ref: SeriesRef, worker_id: str, exc: BaseException) -> None:
    message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:MAX_ERROR_CHARS]
    storage.save_analysis(ref.series_uid, worker_id=worker_id, status=AnalysisStatus.FAILED, error=message)


def analyse_and_store(
    source: PetStudySource,
    storage: Storage,
    ref: SeriesRef,
    *,
    worker_id: str,
    stale_after_s: float = STALE_AFTER_S,
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> AnalysisDocument | None:
    """Claim, analyse and store one series; the stored document, or None when another worker holds the claim
    (or the analysis is already current). ``ConnectorError`` (outage, vanished series) is stored as
    ``failed`` and re-raised. ``on_stored`` is called with the series once HER2 PET facts are stored (the
    review alerts' trigger, ``cds_service.alerts``); it must not raise."""
    if not _claim(storage, ref, worker_id, stale_after_s):
        return None
    started = time.perf_counter()
    try:
        analysis = source.analyse(ref)
        facts = analysis.facts()
        png = analysis.picture() if facts is not None else None
    except Exception as exc:  # outages, and a bug in one series: never leave a claim running until stale
        default_metrics().observe_analysis("failed", time.perf_counter() - started)
        _fail(storage, ref, worker_id, exc)
        raise
    document = AnalysisDocument(facts=facts, analysis=analysis.to_json(), picture=png is not None)
    stored = store_document(storage, ref, worker_id, document, png)
    if stored and facts is not None and on_stored is not None:
        on_stored(ref)
    outcome = "stored" if facts is not None else "not_her2"
    default_metrics().observe_analysis(outcome, time.perf_counter() - started)
    return document


def store_not_her2(storage: Storage, ref: SeriesRef, worker_id: str, reason: str | None) -> None:
    """Record a PT series that is not HER2 PET (from its header alone), so later lookups skip it."""
    if not _claim(storage, ref, worker_id, STALE_AFTER_S):
        return
    analysis = SeriesAnalysis(
        study_uid=ref.study_uid,
        series_uid=ref.series_uid,
        patient_id=ref.patient_id,
        error=reason or "not a HER2 PET series",
    )
    store_document(storage, ref, worker_id, AnalysisDocument(facts=None, analysis=analysis.to_json()))


def triage(source: PetStudySource, ref: SeriesRef) -> tuple[Tracer | None, str | None]:
    """The HER2 tracer of a series from one header (``spec/pet-dicom.md`` §8), or None with the reason."""
    recognition = source.triage(ref)
    return recognition.tracer, recognition.skip_reason


@dataclass(slots=True)
class SeriesJob:
    """The background work on one series: ``tracer`` resolves after the header triage (None: not HER2 PET,
    or not triaged because the index knew the tracer), ``document`` after the analysis (None: claimed by
    another worker, or not HER2 PET)."""

    ref: SeriesRef
    tracer: Future[Tracer | None] = field(default_factory=Future)
    document: Future[AnalysisDocument | None] = field(default_factory=Future)


class PetJobs:
    """Bounded background work for one process: header triage on ``io_workers`` threads, analyses on
    ``analysis_workers`` threads, one job per series at a time (later requests share the running job).

    ``on_outage`` is told about every ``SourceUnavailableError`` a job meets, so the source's state records
    the outage (``SeriesIndex.record_failure``) without waiting for the next sync pass.
    """

    def __init__(
        self,
        source: PetStudySource,
        storage: Storage,
        *,
        io_workers: int = 4,
        analysis_workers: int = 1,
        worker_id: str | None = None,
        stale_after_s: float = STALE_AFTER_S,
        on_outage: Callable[[BaseException], None] | None = None,
    ) -> None:
        if io_workers < 1 or analysis_workers < 1:
            raise ValueError("PetJobs needs at least one I/O and one analysis worker")
        self.source = source
        self.storage = storage
        self.worker_id = worker_id or worker_identity()
        self.stale_after_s = stale_after_s
        self.on_outage = on_outage
        self._io = ThreadPoolExecutor(io_workers, thread_name_prefix="pet-io")
        self._cpu = ThreadPoolExecutor(analysis_workers, thread_name_prefix="pet-analysis")
        self._lock = threading.Lock()
        self._jobs: dict[str, SeriesJob] = {}
        self._finished: dict[str, tuple[float, SeriesRef]] = {}

    def process(self, ref: SeriesRef, *, her2_known: bool = False) -> SeriesJob:
        """Start (or join) the triage and analysis of ``ref``; returns at once. ``her2_known`` skips the
        triage (the series index already recognised a HER2 tracer)."""
        with self._lock:
            job = self._jobs.get(ref.series_uid)
            if job is not None:
                return job
            job = SeriesJob(ref=ref)
            self._jobs[ref.series_uid] = job
        job.document.add_done_callback(lambda _: self._forget(ref.series_uid, job))
        if her2_known:
            job.tracer.set_result(None)
            self._submit_analysis(job)
        else:
            self._io.submit(self._triage, job)
        return job

    def queue(self, ref: SeriesRef, *, her2_known: bool = False) -> None:
        """``process`` for callers that never wait (the hook): a series whose last job in this process
        finished less than ``REQUEUE_AFTER_S`` ago is left alone."""
        with self._lock:
            finished = self._finished.get(ref.series_uid)
            if (
                finished is not None
                and finished[1] == ref
                and time.monotonic() - finished[0] < REQUEUE_AFTER_S
            ):
                return
        try:
            self.process(ref, her2_known=her2_known)
        except RuntimeError:  # shut down meanwhile
            log.info("PET analysis not queued: background jobs are shut down")

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop accepting work; with ``wait`` finish what is running (tests, orderly exit)."""
        self._io.shutdown(wait=wait, cancel_futures=not wait)
        self._cpu.shutdown(wait=wait, cancel_futures=not wait)

    def _forget(self, series_uid: str, job: SeriesJob) -> None:
        with self._lock:
            if self._jobs.get(series_uid) is job:
                del self._jobs[series_uid]
            self._finished[series_uid] = (time.monotonic(), job.ref)
            if len(self._finished) > 10_000:  # bounded: drop the oldest half
                for uid in sorted(self._finished, key=lambda u: self._finished[u][0])[:5_000]:
                    del self._finished[uid]

    def _outage(self, exc: BaseException) -> None:
        if isinstance(exc, SourceUnavailableError) and self.on_outage is not None:
            try:
                self.on_outage(exc)
            except Exception:  # recording the outage must not hide it
                log.warning("could not record a PET source outage")

    def _triage(self, job: SeriesJob) -> None:
        try:
            tracer, reason = triage(self.source, job.ref)
        except BaseException as exc:
            self._outage(exc)
            job.tracer.set_exception(exc)
            job.document.set_exception(exc)
            return
        if tracer is None:  # remembered before anyone is told, so the next lookup skips it
            try:
                store_not_her2(self.storage, job.ref, self.worker_id, reason)
            finally:
                job.tracer.set_result(None)
                job.document.set_result(None)
            return
        job.tracer.set_result(tracer)
        self._submit_analysis(job)

    def _submit_analysis(self, job: SeriesJob) -> None:
        try:
            self._cpu.submit(self._run, job)
        except RuntimeError as exc:  # shut down meanwhile
            job.document.set_exception(exc)

    def _run(self, job: SeriesJob) -> None:
        try:
            document = analyse_and_store(
                self.source,
                self.storage,
                job.ref,
                worker_id=self.worker_id,
                stale_after_s=self.stale_after_s,
            )
        except BaseException as exc:
            log.warning("background PET analysis failed: %s", type(exc).__name__)
            self._outage(exc)
            job.document.set_exception(exc)
            return
        job.document.set_result(document)


def open_worker_storage(settings: Settings) -> Storage:
    """The service database for a worker command (``receive``, ``sync``, ``alerts``), migrated; every way it
    cannot be opened (an unwritable data directory, a bad URL, an unreachable server) is a ``SettingsError``
    naming what to fix, so the command ends with one line and exit status 2, never a traceback."""
    from cds_service.settings import SettingsError
    from cds_service.storage.store import open_storage

    storage = open_storage(settings.database_url, settings.data_dir)
    try:
        storage.migrate()
    except Exception as exc:  # driver errors: unreachable server, bad credentials, read-only file
        storage.dispose()
        raise SettingsError(f"cannot open {storage.describe()}: {' '.join(str(exc).split())[:300]}") from exc
    return storage


def worker_settings(environ: Mapping[str, str]) -> Settings:
    """Settings for the PET workers (``receive``, ``sync``): the deployment's ``HER2CDS_*`` values, without
    the HTTP client-authentication requirements that only the hook service needs."""
    from cds_service.settings import PREFIX, Settings

    return Settings.from_env({**environ, PREFIX + "AUTH": "off"})
