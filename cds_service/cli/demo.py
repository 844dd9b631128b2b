"""``her2-cds demo [--port P]``: the service with synthetic demo patients, no EHR, FHIR server or PACS
needed.

Demo mode turns client authentication OFF (``HER2CDS_AUTH=off``, announced by a loud warning) and serves
the deterministic demo charts of ``cds_service.demo.data`` as prefetch from inside the process. On the first
run it writes the demo patients' synthetic HER2 PET series (with reader SR and SEG) into the embedded DICOM
folder and stores their analyses (``cds_service.demo.pet``); later runs reuse them. It binds 127.0.0.1 only
and prints the demo console URL (``/demo``: pick a patient, fire a hook, see the cards and follow the
evidence link) and curl examples. Never use demo mode with real patient data.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cds_service.cli.serve import ServiceApplication, gunicorn_options
from cds_service.settings import AuthMode, Settings, SettingsError

BANNER = "\n".join(
    (
        "!" * 104,
        "!!  DEMO MODE: client authentication is OFF and every patient is synthetic.",
        "!!  Listening on 127.0.0.1 only. Never expose this process to a network or give it real patient "
        "data.",
        "!" * 104,
    )
)


def demo_settings(port: int, environ: dict[str, str] | None = None) -> Settings:
    """Settings for the demo: the environment's data dir and database, with auth off and demo on."""
    env = dict(environ if environ is not None else os.environ)
    env.update(
        {
            "HER2CDS_AUTH": AuthMode.OFF.value,
            "HER2CDS_DEMO": "true",
            "HER2CDS_DISCOVERY_REQUIRES_JWT": "false",
            "HER2CDS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    return Settings.from_env(env)


def usage_text(port: int, patient_ids: tuple[str, ...]) -> str:
    """How to call the demo (printed at start-up and in the README)."""
    base = f"http://127.0.0.1:{port}"
    first = patient_ids[0] if patient_ids else "demo-her2-low"
    body = (
        '{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",'
        f'"context":{{"userId":"Practitioner/demo","patientId":"{first}"}}}}'
    )
    return "\n".join(
        [
            f"HER2 PET CDS demo on {base}",
            f"Demo console (open in a browser): {base}/demo",
            f"Demo patients: {', '.join(patient_ids)}",
            "",
            "Discovery:",
            f"  curl -s {base}/cds-services",
            "Patient-view hook (change patientId to any demo patient):",
            f"  curl -s -X POST {base}/cds-services/her2-pet-review -H 'Content-Type: application/json' \\",
            f"       -d '{body}'",
            "OpenAPI description:",
            f"  curl -s {base}/openapi.json",
        ]
    )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run the service with synthetic demo patients (auth off)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (default 8080)")
    parser.set_defaults(func=run)


def _progress(message: str) -> None:
    print(f"her2-cds demo: {message}", file=sys.stderr, flush=True)


def migrate_database(settings: Settings) -> None:
    """Bring the demo database to this release's schema (the demo is its own single host)."""
    from cds_service import prepare_directories
    from cds_service.storage.store import Storage

    prepare_directories(settings)
    storage = Storage(settings.database_url)
    try:
        storage.migrate()
    finally:
        storage.dispose()


def run(args: argparse.Namespace) -> int:
    from cds_service.demo.data import EmbeddedDemoPrefetch
    from cds_service.demo.pet import prepare_demo

    try:
        settings = demo_settings(args.port)
    except SettingsError as exc:
        print(f"her2-cds demo: configuration error: {exc}", file=sys.stderr)
        return 2
    embedded = EmbeddedDemoPrefetch()
    print(BANNER, file=sys.stderr)
    migrate_database(settings)
    prepared = prepare_demo(settings, progress=_progress)
    if prepared.folder is not None:
        state = "written" if prepared.generated else "already in place"
        _progress(
            f"demo HER2 PET series {state}; {prepared.analysed} analyses stored now; "
            f"{prepared.switched} series indexed under a demo switch"
        )
    print(usage_text(args.port, embedded.patient_ids), flush=True)

    def factory() -> Any:
        from cds_service import create_app

        return create_app(settings, embedded_prefetch=embedded)

    options = gunicorn_options("127.0.0.1", args.port, {"workers": 1, "accesslog": None})
    ServiceApplication(factory, options).run()
    return 0
