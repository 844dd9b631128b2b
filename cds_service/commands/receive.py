"""``her2-cds receive``: a C-STORE SCP that files PET/SR/SEG into the embedded store and analyses each series.

``receive --ae-title AET --port P [--host H] [--dicom-dir DIR] [--idle-timeout S]`` listens until SIGINT or
SIGTERM. When a PT series has been idle for ``--idle-timeout`` seconds it is analysed (with the SR and SEG of
its study) and one JSON line, ``SeriesAnalysis.to_json()``, is printed per analysed series.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from cds_service.commands.pet import analyse_ref
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import SeriesRef
from connectors.dicom.receiver import Receiver
from connectors.errors import ConnectorError

log = logging.getLogger(__name__)

DEFAULT_DICOM_DIR = Path(".var/dicom")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "receive", help="C-STORE SCP: store incoming PET/SR/SEG and analyse series"
    )
    parser.add_argument("--ae-title", required=True, help="our AE title (the PACS sends to it)")
    parser.add_argument("--port", type=int, required=True, help="TCP port to listen on")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--dicom-dir", type=Path, default=DEFAULT_DICOM_DIR, help="embedded store folder")
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=5.0,
        help="idle seconds before a series is complete",
    )
    parser.set_defaults(func=run)


def serve(args: argparse.Namespace, stop: threading.Event) -> int:
    """Run the receiver until ``stop`` is set; 2 with one line on stderr if it cannot start."""
    try:
        store = FilePetSource(args.dicom_dir, create=True)
        receiver = Receiver(
            store,
            args.ae_title,
            args.port,
            host=args.host,
            idle_timeout_s=args.idle_timeout,
            on_series_complete=lambda ref: _report(store, ref),
        )
        receiver.start()
    except (ConnectorError, ValueError, OSError) as exc:
        print(f"her2-cds receive: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
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


def _report(store: FilePetSource, ref: SeriesRef) -> None:
    try:
        analysis = analyse_ref(store, ref)
    except ConnectorError as exc:
        log.error("analysis of a received series failed: %s", exc)
        return
    sys.stdout.write(json.dumps(analysis.to_json()) + "\n")
    sys.stdout.flush()
