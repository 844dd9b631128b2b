"""``her2-cds sync``: index the DICOM source's PET series, analyse the new HER2 ones and store the results.

``sync [--once] [--interval S] [--since YYYY-MM-DD]`` reads the deployment settings (``HER2CDS_DICOM_SOURCE``,
``HER2CDS_DATABASE_URL``, …). Each poll is one pass of the series index (``cds_service.pet.index``): a PACS
lists the studies dated (StudyDate) on or after the watermark the previous successful pass left in the
database (or ``--since`` for the first poll), an embedded folder is rescanned and listed whole; new series
are triaged by one header and written to the index, and the source's state is recorded (a failed poll makes
the hook name the source as unavailable). Then every listed series is analysed unless already analysed with
its present SR/SEG (series that are not HER2 PET are recorded as skipped), each claimed in the database so
that replicas, the receiver and the service never analyse a series twice.

Output: one plain line per series on stdout (``stored``, ``skipped``, ``busy``, ``failed`` with the
SeriesInstanceUID; never patient data) and a summary per poll; on stderr a progress bar with counts and the
time left when it is a terminal, else a JSON progress log line every 30 s, and at start a log line naming the
source and the database (its password hidden). Exit status with
``--once``: 0 when the poll completed, 2 when the source or database could not be used. Without ``--once`` it
polls every ``--interval`` seconds until SIGINT/SIGTERM, riding out source outages. Each completed poll is
recorded in the database (``Storage.record_heartbeat("sync")``), which ``/metrics`` exposes as
``her2cds_sync_last_success_timestamp_seconds`` for the staleness alert.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from cds_service.cli.receive import alert_trigger, database_label
from cds_service.pet.index import PetIndexer, series_ref, source_key
from cds_service.pet.jobs import (
    analyse_and_store,
    is_current,
    open_worker_storage,
    source_from_settings,
    store_not_her2,
    worker_identity,
    worker_settings,
)
from cds_service.settings import SettingsError
from cds_service.storage.series_index import IndexedSeries, SeriesIndex, SeriesTriage
from cds_service.storage.store import Storage
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import ConnectorError

EXIT_OK = 0
EXIT_UNUSABLE = 2

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sync", help="poll the DICOM source for new HER2 PET series and analyse them"
    )
    parser.add_argument("--once", action="store_true", help="poll once and exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls (default 60)")
    parser.add_argument(
        "--since",
        type=dt.date.fromisoformat,
        help="first poll: studies from this date (default: since the last successful poll, else all)",
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True, slots=True)
class PollResult:
    """Counts of one poll by outcome (``stored``, ``skipped``, ``current``, ``busy``, ``failed``)."""

    counts: Counter[str]


PROGRESS_EVERY_S = 30.0
"""Seconds between progress log lines when standard error is not a terminal."""


class Progress:
    """Progress of one poll: one plain line per series on ``out`` (unless ``out`` is a terminal), a bar with
    counts and the time left on ``err`` when it is a terminal, else a progress log line every
    :data:`PROGRESS_EVERY_S` seconds. Series UIDs only, never patient data."""

    def __init__(
        self,
        out: TextIO,
        total: int,
        *,
        err: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out, self.total, self.done = out, total, 0
        self.err = err if err is not None else out
        self.tty = self.err.isatty()
        self.counts: Counter[str] = Counter()
        self._clock = clock
        self._started = self._last_line = clock()

    def eta_s(self) -> float | None:
        """Seconds left at the pace so far (None before the first series)."""
        if not self.done:
            return None
        return (self._clock() - self._started) / self.done * (self.total - self.done)

    def status(self) -> str:
        """``12/40 series (10 stored, 2 skipped), about 1 min 20 s left``."""
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))
        text = f"{self.done}/{self.total} series" + (f" ({counts})" if counts else "")
        eta = self.eta_s()
        if eta is not None and self.done < self.total:
            text += f", about {_duration(eta)} left"
        return text

    def step(self, outcome: str, ref: SeriesRef | IndexedSeries, note: str = "") -> None:
        self.done += 1
        self.counts[outcome] += 1
        if not self.out.isatty():
            self.out.write(f"{outcome} {ref.series_uid}{': ' + note if note else ''}\n")
            self.out.flush()
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.err.write(f"\r\x1b[K[{bar}] {self.status()}")
            if self.done == self.total:
                self.err.write("\n")
            self.err.flush()
        elif self._clock() - self._last_line >= PROGRESS_EVERY_S and self.done < self.total:
            self._last_line = self._clock()
            log.info("sync progress: %s", self.status())


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"


def sync_series(
    source: PetStudySource,
    storage: Storage,
    row: IndexedSeries,
    worker_id: str,
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> tuple[str, str]:
    """Process one indexed series; returns (outcome, note). Raises ``ConnectorError`` for an outage.
    ``on_stored``: the review-alert trigger (``cds_service.alerts``)."""
    ref = series_ref(row)
    if is_current(storage.get_analysis(ref.series_uid), ref):
        return "current", ""
    if row.triage is not SeriesTriage.HER2:
        reason = row.triage_note or "not a HER2 PET series"
        store_not_her2(storage, ref, worker_id, reason)
        return "skipped", reason
    document = analyse_and_store(source, storage, ref, worker_id=worker_id, on_stored=on_stored)
    if document is None:
        return "busy", "analysed by another worker"
    facts = document.facts
    if facts is None:
        return "skipped", "not a HER2 PET series"
    note = f"{facts.tracer.value}, {len(facts.lesions)} lesion(s)"
    if not facts.suv_available:
        note += ", SUV not computable"
    return "stored", note


def poll(
    indexer: PetIndexer,
    storage: Storage,
    since: dt.datetime | None,
    worker_id: str,
    out: TextIO,
    on_stored: Callable[[SeriesRef], None] | None = None,
    err: TextIO | None = None,
) -> PollResult:
    """One poll: an index pass, then each listed series; an outage while listing raises ``ConnectorError``
    (recorded in the source's state)."""
    rows = indexer.run_pass(since).listed
    progress = Progress(out, len(rows), err=err)
    counts: Counter[str] = Counter()
    for row in rows:
        try:
            outcome, note = sync_series(indexer.source, storage, row, worker_id, on_stored)
        except ConnectorError as exc:
            outcome, note = "failed", type(exc).__name__
        counts[outcome] += 1
        progress.step(outcome, row, note)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no PT series"
    out.write(f"sync: {len(rows)} PT series: {summary}\n")
    out.flush()
    return PollResult(counts)


def sync_loop(
    source: PetStudySource,
    storage: Storage,
    *,
    name: str,
    once: bool,
    interval_s: float,
    since: dt.datetime | None,
    stop: threading.Event,
    out: TextIO,
    err: TextIO,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> int:
    """Poll until ``stop`` (or once); returns the exit status. ``name`` is the source's index name
    (``index.source_key``); ``since`` replaces the stored watermark for the first poll."""
    worker_id = worker_identity()
    indexer = PetIndexer(source, SeriesIndex(storage), name=name, clock=clock)
    first_since = since
    while True:
        try:
            poll(indexer, storage, first_since, worker_id, out, on_stored, err)
            storage.record_heartbeat("sync")
            first_since = None
        except ConnectorError as exc:
            err.write(f"her2-cds sync: DICOM source unavailable: {' '.join(str(exc).split())}\n")
            if once:
                return EXIT_UNUSABLE
        if once or stop.wait(interval_s):
            return EXIT_OK


def run(args: argparse.Namespace) -> int:
    if args.interval <= 0:
        print("her2-cds sync: --interval must be positive seconds", file=sys.stderr)
        return EXIT_UNUSABLE
    try:
        settings = worker_settings(os.environ)
        storage = open_worker_storage(settings)
        source = source_from_settings(settings)
        on_stored = alert_trigger(storage)
    except (SettingsError, ConnectorError, ValueError, OSError) as exc:
        print(f"her2-cds sync: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_UNUSABLE
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    log.info(
        "sync of %s %s, analyses into %s",
        source_key(settings.dicom_source),
        "once" if args.once else f"every {args.interval:g} s",
        database_label(settings.database_url),
    )
    since = dt.datetime.combine(args.since, dt.time(), dt.UTC) if args.since else None
    try:
        return sync_loop(
            source,
            storage,
            name=source_key(settings.dicom_source),
            once=args.once,
            interval_s=args.interval,
            since=since,
            stop=stop,
            out=sys.stdout,
            err=sys.stderr,
            on_stored=on_stored,
        )
    finally:
        storage.dispose()
