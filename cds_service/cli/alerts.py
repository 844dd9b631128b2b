"""``her2-cds alerts``: review alerts from FHIR changes, their delivery, and worklist links.

- ``alerts sync [--once] [--interval S]``: poll the configured FHIR server for DiagnosticReports,
  Observations and MedicationRequests created or amended since the last completed poll
  (``_lastUpdated=gt…``, recorded as heartbeat ``alerts-fhir``, with a five-minute overlap), re-assess each
  patient and raise alerts (``cds_service.alerts``), then deliver the outbox.
  PET analyses stored since then count as triggers too (``cds_service.alerts.loop.poll_pass``); the e-mail
  digest is sent when due. The web service runs the same passes itself with ``service_loop``.
- ``alerts deliver [--once] [--interval S]``: deliver due outbox rows (FHIR Task, webhook) with back-off.
- ``alerts digest``: send the e-mail digest of open alerts now.
- ``alerts link --reviewer NAME``: print a signed worklist link for one reviewer.

Output: one summary line per pass (counts by outcome; never patient data). Exit status: 0, or 2 when alerts
are not configured or the FHIR server could not be polled with ``--once``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from cds_service.alerts.backend_auth import BackendAuthError
from cds_service.alerts.digest import DigestError
from cds_service.alerts.engine import task_status_counts
from cds_service.alerts.loop import HEARTBEAT, digest_pass, poll_pass
from cds_service.alerts.wiring import Alerts, build_alerts
from cds_service.alerts.worklist import worklist_url
from cds_service.pet.jobs import open_worker_storage, worker_identity, worker_settings
from cds_service.settings import Settings
from cds_service.storage.store import Storage
from connectors.errors import ConnectorError

EXIT_OK = 0
EXIT_UNUSABLE = 2
__all__ = ["HEARTBEAT", "register", "run", "sync_pass"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("alerts", help="review alerts: FHIR sync, delivery, worklist links")
    commands = parser.add_subparsers(dest="alerts_command", required=True)
    for name, text in (
        ("sync", "poll FHIR for changes, raise and deliver alerts"),
        ("deliver", "deliver alerts"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--once", action="store_true", help="one pass, then exit")
        sub.add_argument("--interval", type=float, default=60.0, help="seconds between passes (default 60)")
        sub.set_defaults(func=run)
    digest = commands.add_parser("digest", help="send the e-mail digest of open alerts now")
    digest.set_defaults(func=run)
    link = commands.add_parser("link", help="print a signed worklist link")
    link.add_argument("--reviewer", required=True, help="name or user id recorded with acknowledgements")
    link.set_defaults(func=run)


def _open() -> tuple[Settings, Storage, Alerts | None]:
    settings = worker_settings(os.environ)
    storage = open_worker_storage(settings)
    return settings, storage, build_alerts(settings, storage, worker_id=worker_identity())


def sync_pass(alerts: Alerts, storage: Storage, settings: Settings | None = None) -> str:
    """One trigger pass (FHIR poll and PET analyses stored since the last pass), one delivery pass, and the
    e-mail digest when due; the summary line. Raises FHIR errors of the listing."""
    counts = poll_pass(alerts, storage)
    delivered = alerts.worker.run_once()
    line = f"alerts sync: {task_status_counts(counts)}; delivery: {task_status_counts(delivered)}"
    if settings is not None and alerts.config.email is not None:
        try:
            if digest_pass(alerts, settings, storage):
                line += "; digest sent"
        except DigestError as exc:
            line += f"; digest not sent ({exc})"
    return line


def _digest(alerts: Alerts, settings: Settings, storage: Storage) -> int:
    try:
        sent = digest_pass(alerts, settings, storage, force=True)
    except DigestError as exc:
        print(f"her2-cds alerts: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"alerts digest: {'sent' if sent else 'no open alerts'}", flush=True)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    settings, storage, alerts = _open()
    try:
        if args.alerts_command == "link":
            print(worklist_url(settings, args.reviewer))
            return EXIT_OK
        if alerts is None:
            print("her2-cds alerts: HER2CDS_ALERTS_CONFIG is not set", file=sys.stderr)
            return EXIT_UNUSABLE
        if args.alerts_command == "digest":
            return _digest(alerts, settings, storage)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        while True:
            try:
                if args.alerts_command == "sync":
                    print(sync_pass(alerts, storage, settings), flush=True)
                else:
                    print(f"alerts deliver: {task_status_counts(alerts.worker.run_once())}", flush=True)
            except (ConnectorError, BackendAuthError) as exc:
                print(f"her2-cds alerts: FHIR server unavailable ({type(exc).__name__})", file=sys.stderr)
                if args.once:
                    return EXIT_UNUSABLE
            if args.once or stop.wait(args.interval):
                return EXIT_OK
    finally:
        storage.dispose()
