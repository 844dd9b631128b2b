"""``her2-cds sync``: poll the DICOM source for new HER2 PET series, analyse them and store the results.

``sync [--once] [--interval S] [--since YYYY-MM-DD]`` reads the deployment settings (``HER2CDS_DICOM_SOURCE``,
``HER2CDS_DATABASE_URL``, …). Each poll lists PT series that arrived (embedded folder: indexed) or are dated
(PACS: StudyDate) on or after the watermark, falling back to every PT series for a source that cannot list
new ones (DIMSE). Series already analysed with their present SR/SEG are skipped; the others are triaged by
one header (only HER2 PET series are analysed, others recorded as skipped) and analysed, each claimed in the
database so that replicas, the receiver and hooks never analyse a series twice.

Output: a progress bar on a terminal, else one plain line per series (``stored``, ``skipped``, ``busy``,
``failed`` with the SeriesInstanceUID; never patient data) and a summary per poll. Exit status with
``--once``: 0 when the poll completed, 2 when the source or database could not be used. Without ``--once`` it
polls every ``--interval`` seconds until SIGINT/SIGTERM, riding out source outages. Each completed poll is
recorded in the database (``Storage.record_heartbeat("sync")``), which ``/metrics`` exposes as
``her2cds_sync_last_success_timestamp_seconds`` for the staleness alert.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from cds_service.cli.receive import alert_trigger
from cds_service.pet.jobs import (
    analyse_and_store,
    is_current,
    source_from_settings,
    store_not_her2,
    triage,
    worker_identity,
    worker_settings,
)
from cds_service.settings import SettingsError
from cds_service.storage.store import Storage
from connectors.dicom.ports import PetStudySource, PollingPetStudySource, SeriesRef
from connectors.errors import ConnectorError

EXIT_OK = 0
EXIT_UNUSABLE = 2

#: StudyDate queries have day granularity: each poll looks back this far behind the previous start.
WATERMARK_OVERLAP = dt.timedelta(days=1)
EPOCH = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sync", help="poll the DICOM source for new HER2 PET series and analyse them"
    )
    parser.add_argument("--once", action="store_true", help="poll once and exit")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls (default 60)")
    parser.add_argument(
        "--since", type=dt.date.fromisoformat, help="first poll: series from this date (default: all)"
    )
    parser.set_defaults(func=run)


@dataclass(frozen=True, slots=True)
class PollResult:
    """Counts of one poll by outcome (``stored``, ``skipped``, ``current``, ``busy``, ``failed``)."""

    counts: Counter[str]


class Progress:
    """A progress bar on a terminal, plain lines otherwise."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out, self.total, self.done = out, total, 0
        self.tty = out.isatty()

    def step(self, outcome: str, ref: SeriesRef, note: str = "") -> None:
        self.done += 1
        if self.tty:
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.out.write(f"\r[{bar}] {self.done}/{self.total} series")
            if self.done == self.total:
                self.out.write("\n")
        else:
            self.out.write(f"{outcome} {ref.series_uid}{': ' + note if note else ''}\n")
        self.out.flush()


def list_series(source: PetStudySource, since: dt.datetime) -> list[SeriesRef]:
    """New PT series when the source can tell, else every PT series."""
    if isinstance(source, PollingPetStudySource):
        return source.find_new_series(since)
    return source.find_pet_series()


def sync_series(
    source: PetStudySource,
    storage: Storage,
    ref: SeriesRef,
    worker_id: str,
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> tuple[str, str]:
    """Process one series; returns (outcome, note). Raises ``ConnectorError`` for an outage.
    ``on_stored``: the review-alert trigger (``cds_service.alerts``)."""
    if is_current(storage.get_analysis(ref.series_uid), ref):
        return "current", ""
    tracer, reason = triage(source, ref)
    if tracer is None:
        store_not_her2(storage, ref, worker_id, reason)
        return "skipped", reason or "not a HER2 PET series"
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
    source: PetStudySource,
    storage: Storage,
    since: dt.datetime,
    worker_id: str,
    out: TextIO,
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> PollResult:
    """One poll over the source; an outage while listing raises ``ConnectorError``."""
    refs = list_series(source, since)
    progress = Progress(out, len(refs))
    counts: Counter[str] = Counter()
    for ref in refs:
        try:
            outcome, note = sync_series(source, storage, ref, worker_id, on_stored)
        except ConnectorError as exc:
            outcome, note = "failed", type(exc).__name__
        counts[outcome] += 1
        progress.step(outcome, ref, note)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no PT series"
    out.write(f"sync: {len(refs)} PT series: {summary}\n")
    out.flush()
    return PollResult(counts)


def sync_loop(
    source: PetStudySource,
    storage: Storage,
    *,
    once: bool,
    interval_s: float,
    since: dt.datetime,
    stop: threading.Event,
    out: TextIO,
    err: TextIO,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> int:
    """Poll until ``stop`` (or once); returns the exit status."""
    worker_id = worker_identity()
    watermark = since
    while True:
        started = clock()
        try:
            poll(source, storage, watermark, worker_id, out, on_stored)
            storage.record_heartbeat("sync")
            watermark = started - WATERMARK_OVERLAP
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
        if settings.database_url.startswith("sqlite:"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        storage = Storage(settings.database_url)
        storage.migrate()
        source = source_from_settings(settings)
        on_stored = alert_trigger(storage)
    except (SettingsError, ConnectorError, ValueError, OSError) as exc:
        print(f"her2-cds sync: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_UNUSABLE
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    since = dt.datetime.combine(args.since, dt.time(), dt.UTC) if args.since else EPOCH
    try:
        return sync_loop(
            source,
            storage,
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
