"""``her2-cds receive``: a C-STORE SCP that files PET/SR/SEG into the embedded store and analyses each series.

``receive --ae-title AET --port P [--host H] [--dicom-dir DIR] [--idle-timeout S] [--no-store]`` listens until
SIGINT or SIGTERM, storing into ``--dicom-dir`` (default: ``settings.receiver_dicom_dir``, the folder the
service reads). When a PT series has been idle for ``--idle-timeout`` seconds it is triaged by its header
and written to the PET series index of the service database (``HER2CDS_DATABASE_URL``; source
``file://<dicom dir>``), then analysed (with the SR and SEG of its study); the analysis and its MIP picture
are stored in the same database (keyed by SeriesInstanceUID, claimed so that a sync or the service running
elsewhere does not analyse it twice), and one JSON line, ``SeriesAnalysis.to_json()`` without ``patientId``
(standard output ends up in container logs), is printed per analysed series. A series analysed already
with the same SR/SEG is not analysed again; a reader's report arriving later triggers a new analysis.
``--no-store`` only prints.

What it does is logged (JSON lines on stderr, ``cds_service.cli``): at start "listening on HOST:PORT (AE title
…), storing into …" with the database (its password hidden), then one line per received series (its
SeriesInstanceUID and outcome, never patient data).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cds_service.pet.index import source_key, triaged
from cds_service.pet.jobs import analyse_and_store, open_worker_storage, worker_identity, worker_settings
from cds_service.settings import SettingsError, receiver_dicom_dir
from cds_service.storage.series_index import SeriesIndex
from cds_service.storage.store import Storage
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import SeriesRef
from connectors.dicom.receiver import Receiver
from connectors.errors import ConnectorError

log = logging.getLogger(__name__)


def database_label(url: str) -> str:
    """The database URL with its password hidden (for log lines)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL fails later with its own error; never log it raw
        return "(database)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "receive", help="C-STORE SCP: store incoming PET/SR/SEG and analyse series"
    )
    parser.add_argument("--ae-title", required=True, help="our AE title (the PACS sends to it)")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--dicom-dir",
        type=Path,
        help="embedded store folder (default: a file:// HER2CDS_DICOM_SOURCE, else $HER2CDS_DATA_DIR/dicom)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=5.0,
        help="idle seconds before a series is complete",
    )
    parser.add_argument(
        "--no-store", action="store_true", help="print analyses only; do not store them in the database"
    )
    parser.set_defaults(func=run)


def open_storage(args: argparse.Namespace) -> Storage | None:
    """The service database of ``HER2CDS_DATABASE_URL`` (migrated), or None with ``--no-store``."""
    if getattr(args, "no_store", False):
        return None
    return open_worker_storage(worker_settings(os.environ))


def _storage_label(storage: Storage | None) -> str:
    if storage is None:
        return "analyses printed only (--no-store)"
    return f"analyses into {storage.engine.url.render_as_string(hide_password=True)}"


def serve(args: argparse.Namespace, stop: threading.Event, storage: Storage | None = None) -> int:
    """Run the receiver until ``stop`` is set; 2 with one line on stderr if it cannot start.

    ``storage`` (tests) replaces the database named by the environment.
    """
    try:
        storage = storage or open_storage(args)
        dicom_dir = args.dicom_dir if args.dicom_dir is not None else receiver_dicom_dir(os.environ)
        store = FilePetSource(dicom_dir, create=True)
        worker = worker_identity()
        on_stored = alert_trigger(storage)
        receiver = Receiver(
            store,
            args.ae_title,
            args.port,
            host=args.host,
            idle_timeout_s=args.idle_timeout,
            on_series_complete=lambda ref: _report(store, ref, storage, worker, on_stored),
        )
        receiver.start()
    except (ConnectorError, SettingsError, ValueError, OSError) as exc:
        print(f"her2-cds receive: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    log.info(
        "listening on %s:%d (AE title %s), storing into %s, %s; a series is complete after %g s idle",
        args.host,
        args.port,
        args.ae_title,
        store.folder.absolute(),
        _storage_label(storage),
        args.idle_timeout,
    )
    try:
        stop.wait()
    finally:
        receiver.stop()
    return 0


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return serve(args, stop)


def alert_trigger(storage: Storage | None) -> Callable[[SeriesRef], None] | None:
    """The review-alert trigger for stored analyses (None without storage or ``HER2CDS_ALERTS_CONFIG``)."""
    if storage is None:
        return None
    from cds_service.alerts.wiring import build_alerts

    alerts = build_alerts(worker_settings(os.environ), storage)
    if alerts is None:
        return None

    def trigger(ref: SeriesRef) -> None:
        alerts.engine.on_pet_stored(ref.patient_id)
        alerts.worker.run_once()

    return trigger


def _report(
    store: FilePetSource,
    ref: SeriesRef,
    storage: Storage | None,
    worker: str,
    on_stored: Callable[[SeriesRef], None] | None = None,
) -> None:
    try:
        if storage is None:
            document = store.analyse(ref).to_json()
        else:
            row = triaged(store, ref, source_key(store.folder.absolute().as_uri()))
            if row is not None:
                SeriesIndex(storage).upsert([row])
            stored = analyse_and_store(store, storage, ref, worker_id=worker, on_stored=on_stored)
            if stored is None:
                log.info("received series %s: already analysed or claimed by another worker", ref.series_uid)
                return
            document = dict(stored.analysis)
    except ConnectorError as exc:
        log.error("received series %s: analysis failed (%s)", ref.series_uid, type(exc).__name__)
        return
    log.info("received series %s: %s", ref.series_uid, _summary(document, stored=storage is not None))
    # Standard output ends up in container logs: the patient id stays in the database.
    sys.stdout.write(json.dumps({k: v for k, v in document.items() if k != "patientId"}) + "\n")
    sys.stdout.flush()


def _summary(document: Mapping[str, Any], *, stored: bool) -> str:
    """What became of one series, without patient data: tracer and lesion count, or why not analysed."""
    verb = "analysed and stored" if stored else "analysed"
    if document.get("error"):
        return f"{verb}, no SUV: {' '.join(str(document['error']).split())[:200]}"
    lesions = document.get("lesions") or []
    return f"{verb}: {document.get('tracer') or 'unknown tracer'}, {len(lesions)} lesion(s)"
