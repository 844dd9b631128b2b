"""``her2-cds cohort``: the paired HER2 PET / biopsy analysis of Yeh et al. (J Nucl Med 2025;66:873) on a
site's own PACS and FHIR data.

Sources (one of each): pathology from ``--fhir-bundle-dir DIR`` (FHIR R4 JSON files) or ``--fhir URL`` (a
FHIR R4 server, optional bearer token in ``--fhir-auth-file``); PET from ``--dicom-dir DIR``, ``--dicomweb
URL`` (optional ``--auth-file``) or ``--dimse AET@host:port``. ``--window-days`` (default 60) bounds the
PET–biopsy interval; ``--tracer NAME ...`` keeps only those tracers. ``--demo`` runs the whole analysis on
the built-in synthetic cohort instead (written to a temporary folder and removed afterwards).

Writes ``lesions.csv``, ``excluded.csv``, ``summary.json``, ``summary.md`` and ``suvmax_by_category.png``
into ``--out`` (``docs/cohort.md``). No output names a patient: ``patient_key`` is an HMAC of the DICOM
PatientID under ``HER2CDS_COHORT_KEY`` (or the ``cohort-key`` file of ``HER2CDS_DATA_DIR``). A progress bar
on a terminal (stderr), then one summary line on stdout. Exit 0 when the outputs are written; 2 with one
line on stderr when a source or the settings cannot be used (nothing is written then).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from cds_service.cohort.collect import ProgressBar, collect_cases, pair_cases
from cds_service.cohort.keys import PatientKeyer
from cds_service.cohort.outputs import write_outputs
from cds_service.cohort.pathology import BundleDirPathology, FhirServerPathology, PathologyLookup
from cds_service.cohort.statistics import summarise
from cds_service.pet.jobs import worker_settings
from cds_service.settings import Settings, SettingsError
from connectors.dicom.factory import auth_from_text, pet_source_from_url
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import PetStudySource
from connectors.errors import ConnectorError
from connectors.fhir.client import FhirClient
from connectors.http import Timeouts, make_session
from rules.domain import Tracer
from rules.parameters import PAIRING_WINDOW_DAYS

EXIT_OK = 0
EXIT_UNUSABLE = 2
PROG = "her2-cds cohort"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "cohort",
        help="paired HER2 PET / biopsy analysis (SUVmax by HER2 category) on a site's own data",
        description="Pair biopsied lesions with HER2 PET lesions at the same coded site and compare SUVmax "
        "between HER2 categories (docs/cohort.md).",
    )
    fhir = parser.add_mutually_exclusive_group()
    fhir.add_argument("--fhir-bundle-dir", type=Path, metavar="DIR", help="folder of FHIR R4 JSON files")
    fhir.add_argument("--fhir", metavar="URL", help="FHIR R4 server base URL")
    pet = parser.add_mutually_exclusive_group()
    pet.add_argument("--dicom-dir", type=Path, metavar="DIR", help="folder of DICOM files")
    pet.add_argument("--dicomweb", metavar="URL", help="DICOMweb service root, e.g. https://pacs/dicom-web")
    pet.add_argument("--dimse", metavar="AET@HOST:PORT", help="DIMSE PACS (C-FIND, C-GET)")
    parser.add_argument("--demo", action="store_true", help="analyse the built-in synthetic cohort")
    parser.add_argument(
        "--window-days",
        type=int,
        default=PAIRING_WINDOW_DAYS,
        help=f"largest PET-biopsy interval in days (default {PAIRING_WINDOW_DAYS})",
    )
    parser.add_argument(
        "--tracer",
        nargs="+",
        metavar="NAME",
        choices=[t.value for t in Tracer],
        help="only these tracers (" + ", ".join(t.value for t in Tracer) + ")",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created when missing)")
    parser.add_argument("--auth-file", type=Path, help="DICOMweb credentials: user:password or a token")
    parser.add_argument("--fhir-auth-file", type=Path, help="FHIR server bearer token")
    parser.add_argument("--calling-aet", help="our AE title for DIMSE (default HER2CDS_DIMSE_AET)")
    parser.add_argument("--timeout", type=float, default=30.0, help="read timeout in seconds (default 30)")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> str | None:
    """A usage problem argparse cannot express, or None."""
    if args.window_days < 0:
        return "--window-days must be zero or more days"
    if args.demo:
        if any(
            getattr(args, n) is not None
            for n in ("fhir_bundle_dir", "fhir", "dicom_dir", "dicomweb", "dimse")
        ):
            return "--demo takes no sources"
        return None
    if args.fhir_bundle_dir is None and args.fhir is None:
        return "one pathology source is required: --fhir-bundle-dir DIR or --fhir URL"
    if args.dicom_dir is None and args.dicomweb is None and args.dimse is None:
        return "one PET source is required: --dicom-dir DIR, --dicomweb URL or --dimse AET@HOST:PORT"
    return None


def _timeouts(args: argparse.Namespace) -> Timeouts:
    return Timeouts(connect_s=min(5.0, args.timeout), read_s=args.timeout)


def pet_source(args: argparse.Namespace, settings: Settings) -> PetStudySource:
    """The PET source named on the command line."""
    if args.dicom_dir is not None:
        if not args.dicom_dir.is_dir():
            raise NotADirectoryError(f"DICOM folder {args.dicom_dir} does not exist")
        return FilePetSource(args.dicom_dir)
    if args.dicomweb is not None:
        auth = auth_from_text(args.auth_file.read_text(encoding="utf-8")) if args.auth_file else None
        return pet_source_from_url(args.dicomweb, timeouts=_timeouts(args), auth=auth)
    return pet_source_from_url(
        f"dimse://{args.dimse}",
        timeouts=_timeouts(args),
        calling_aet=args.calling_aet or settings.dimse_aet,
    )


def pathology_source(args: argparse.Namespace, settings: Settings) -> PathologyLookup:
    """The pathology source named on the command line."""
    if args.fhir_bundle_dir is not None:
        return BundleDirPathology(args.fhir_bundle_dir, settings.patient_id_system)
    token = args.fhir_auth_file.read_text(encoding="utf-8").strip() if args.fhir_auth_file else None
    client = FhirClient(args.fhir, make_session(), _timeouts(args), bearer_token=token or None)
    return FhirServerPathology(client, settings.patient_id_system)


def _progress(total: int) -> ProgressBar:
    """A progress bar on a terminal only; silent when stderr is not a terminal (logs, pipes, CI)."""
    return tqdm(
        total=total, unit="series", desc="PT series", file=sys.stderr, disable=not sys.stderr.isatty()
    )


def analyse(
    pet: PetStudySource,
    pathology: PathologyLookup,
    out: Path,
    *,
    keyer: PatientKeyer,
    window_days: int,
    tracers: Sequence[Tracer] | None,
) -> tuple[int, int, int]:
    """Collect, pair, summarise and write; returns (lesions, patients, exclusions)."""
    cases = collect_cases(pet, pathology, keyer=keyer, tracers=tracers, progress=_progress)
    result = pair_cases(cases, window_days=window_days)
    summary = summarise(result.rows, window_days=window_days, excluded=len(result.excluded))
    write_outputs(out, result, summary)
    return len(result.rows), summary["patients"], len(result.excluded)


def _demo(
    args: argparse.Namespace, keyer: PatientKeyer, tracers: Sequence[Tracer] | None
) -> tuple[int, int, int]:
    from cds_service.cohort.synthetic import synthetic_cohort, write_dicom
    from cds_service.cohort.synthetic_fhir import write_fhir

    cohort = synthetic_cohort()
    with tempfile.TemporaryDirectory(prefix="her2cds-cohort-demo-") as tmp:
        write_dicom(cohort, Path(tmp) / "dicom")
        write_fhir(cohort, Path(tmp) / "fhir")
        return analyse(
            FilePetSource(Path(tmp) / "dicom"),
            BundleDirPathology(Path(tmp) / "fhir"),
            args.out,
            keyer=keyer,
            window_days=args.window_days,
            tracers=tracers,
        )


def run(args: argparse.Namespace) -> int:
    problem = _check(args)
    if problem is not None:
        print(f"{PROG}: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    tracers = [Tracer(t) for t in args.tracer] if args.tracer else None
    try:
        settings = worker_settings(os.environ)
        keyer = PatientKeyer(settings.cohort_hash_key)
        if args.demo:
            counts = _demo(args, keyer, tracers)
        else:
            counts = analyse(
                pet_source(args, settings),
                pathology_source(args, settings),
                args.out,
                keyer=keyer,
                window_days=args.window_days,
                tracers=tracers,
            )
    except (SettingsError, ConnectorError, ValueError, OSError) as exc:
        print(f"{PROG}: {' '.join(str(exc).split()) or type(exc).__name__}", file=sys.stderr)
        return EXIT_UNUSABLE
    lesions, patients, excluded = counts
    print(
        f"{PROG}: {lesions} paired lesions of {patients} patients, {excluded} left out; outputs in {args.out}"
    )
    return EXIT_OK
