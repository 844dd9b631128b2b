"""``her2-cds pet analyze``: analyse the PET series of a folder, a DICOMweb service or a DIMSE PACS.

Sources (exactly one): ``--dicom-dir DIR`` (embedded folder), ``--dicomweb URL`` (service root, optional
``--auth-file`` with ``user:password`` or a bearer token), ``--dimse AET@host:port`` (C-FIND + C-GET, calling
AE ``--calling-aet``). ``--study UID`` and ``--patient ID`` narrow the search. ``--patient`` is a DICOM
PatientID; with ``--fhir URL`` it is a FHIR Patient id instead, matched to PACS ids as the service does
(``cds_service.pet.link``): the identifiers of ``Patient/ID`` whose system is ``--id-system`` (default
``HER2CDS_PATIENT_ID_SYSTEM``; unset: the FHIR id and every identifier value). When nothing matches, one line
on stderr says which ids were tried and which identifier system applied. A folder is only read: its index
is kept in a temporary directory, never in the folder. Output is one JSON object on stdout::

    {"series": [{"studyInstanceUid", "seriesInstanceUid", "patientId", "tracer", "radionuclide",
                 "halfLifeSeconds", "injectionDateTime", "uptakeHours", "suvbwMax",
                 "lesions": [{"id", "source", "site", "suvMax", "suvPeak", "avid"}], "warnings", "error"}]}

A series whose SUV cannot be computed has ``suvbwMax: null`` and an ``error``; the others still come out; exit
0. Unreadable input (missing folder, no readable DICOM, unreachable source): exit 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cds_service.pet.link import dicom_patient_ids
from cds_service.settings import patient_id_system_from_env
from connectors.dicom.factory import auth_from_text, pet_source_from_url
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import PetStudySource, SeriesRef
from connectors.errors import ConnectorError, InvalidSourceDataError, NotFoundError
from connectors.fhir.client import FhirClient
from connectors.http import Timeouts, make_session

EXIT_OK = 0
EXIT_UNREADABLE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pet = subparsers.add_parser("pet", help="HER2 PET series: analysis")
    actions = pet.add_subparsers(dest="pet_command", required=True)
    parser = actions.add_parser(
        "analyze", help="analyse the PET series of a folder, DICOMweb service or PACS"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dicom-dir", type=Path, help="folder of DICOM files")
    source.add_argument(
        "--dicomweb", metavar="URL", help="DICOMweb service root, e.g. https://pacs/dicom-web"
    )
    source.add_argument("--dimse", metavar="AET@HOST:PORT", help="DIMSE PACS (C-FIND, C-GET)")
    parser.add_argument("--study", metavar="UID", help="only this StudyInstanceUID")
    parser.add_argument(
        "--patient", metavar="ID", help="only this DICOM PatientID (with --fhir: this FHIR Patient id)"
    )
    parser.add_argument(
        "--fhir", metavar="URL", help="FHIR base URL: --patient is a FHIR Patient id, matched to PACS ids"
    )
    parser.add_argument("--fhir-auth-file", type=Path, help="bearer token for --fhir")
    parser.add_argument(
        "--id-system",
        metavar="SYSTEM",
        help="Patient.identifier.system of the PACS PatientID (default HER2CDS_PATIENT_ID_SYSTEM)",
    )
    parser.add_argument(
        "--auth-file", type=Path, help="DICOMweb credentials: user:password or a bearer token"
    )
    parser.add_argument("--calling-aet", default="HER2CDS", help="our AE title for DIMSE (default HER2CDS)")
    parser.add_argument("--timeout", type=float, default=30.0, help="read timeout in seconds (default 30)")
    parser.set_defaults(func=run)


def source_from_args(args: argparse.Namespace, index_dir: Path | None = None) -> PetStudySource:
    """The source named on the command line; ``ConnectorError`` or ``ValueError`` when it is unusable.
    ``index_dir``: where a folder's index is kept (the folder itself is never written to)."""
    timeouts = Timeouts(connect_s=min(5.0, args.timeout), read_s=args.timeout)
    if args.dicom_dir is not None:
        index = index_dir / "index.sqlite" if index_dir is not None else None
        return FilePetSource(args.dicom_dir, index_path=index)
    if args.dicomweb is not None:
        auth = auth_from_text(args.auth_file.read_text()) if args.auth_file else None
        return pet_source_from_url(args.dicomweb, timeouts=timeouts, auth=auth)
    return pet_source_from_url(f"dimse://{args.dimse}", timeouts=timeouts, calling_aet=args.calling_aet)


def analyse_source(
    source: PetStudySource, *, patient_id: str | None, study_uid: str | None
) -> dict[str, Any]:
    """The ``{"series": [...]}`` document for every PT series of the source matching the filters."""
    return analyse_patients(source, patient_ids=(patient_id,), study_uid=study_uid)


def analyse_patients(
    source: PetStudySource, *, patient_ids: tuple[str | None, ...], study_uid: str | None
) -> dict[str, Any]:
    """The document for the PT series of any of ``patient_ids`` (``(None,)``: every patient)."""
    refs: dict[str, SeriesRef] = {}
    for patient_id in patient_ids:
        for ref in source.find_pet_series(patient_id=patient_id, study_uid=study_uid):
            refs.setdefault(ref.series_uid, ref)
    return {"series": [source.analyse(ref).to_json() for ref in refs.values()]}


def pacs_ids(args: argparse.Namespace, system: str | None) -> tuple[tuple[str, ...], str]:
    """The PACS PatientIDs to search for ``--patient`` and, for the no-match message, how they were found."""
    if args.fhir is None:
        note = (
            f"--patient {args.patient!r} was searched as a DICOM PatientID; if it is a FHIR Patient id, add "
            "--fhir URL to match it to PACS ids through Patient.identifier"
        )
        return (args.patient,), note
    token = args.fhir_auth_file.read_text(encoding="utf-8").strip() if args.fhir_auth_file else None
    timeouts = Timeouts(connect_s=min(5.0, args.timeout), read_s=args.timeout)
    client = FhirClient(args.fhir, make_session(), timeouts, bearer_token=token or None)
    try:
        patient = client.read("Patient", args.patient)
    except NotFoundError:
        patient = None
    rule = (
        f"identifier system {system!r}"
        if system
        else "no identifier system configured (HER2CDS_PATIENT_ID_SYSTEM or --id-system), so the FHIR id "
        "and every identifier value"
    )
    ids = dicom_patient_ids(args.patient, [patient] if patient else [], system)
    if patient is None:
        found = f"FHIR Patient/{args.patient} was not found"
    elif not ids:
        found = f"FHIR Patient/{args.patient} has no identifier with system {system!r}"
    else:
        found = f"PACS PatientIDs tried: {', '.join(repr(i) for i in ids)}"
    return ids, f"{found} ({rule})"


def run(args: argparse.Namespace) -> int:
    if args.fhir is not None and args.patient is None:
        print("her2-cds pet analyze: --fhir needs --patient (a FHIR Patient id)", file=sys.stderr)
        return EXIT_UNREADABLE
    system = args.id_system or patient_id_system_from_env(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="her2cds-pet-") as index_dir:
            source = source_from_args(args, Path(index_dir))
            if isinstance(source, FilePetSource):
                _require_dicom(source)
            note = ""
            ids: tuple[str | None, ...] = (None,)
            if args.patient is not None:
                ids, note = pacs_ids(args, system)
            document = (
                analyse_patients(source, patient_ids=ids, study_uid=args.study) if ids else {"series": []}
            )
    except (ConnectorError, ValueError, OSError) as exc:
        print(f"her2-cds pet analyze: {_one_line(exc)}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.patient is not None and not document["series"]:
        print(f"her2-cds pet analyze: no PT series matched: {note}", file=sys.stderr)
    json.dump(document, sys.stdout)
    sys.stdout.write("\n")
    return EXIT_OK


def _require_dicom(source: FilePetSource) -> None:
    """A folder with files but no readable DICOM instance is unreadable input, not an empty result."""
    skipped = source.skipped()
    if skipped and not source.has_instances():
        path, reason = skipped[0]
        raise InvalidSourceDataError(f"no readable DICOM instance in {source.folder} ({path.name}: {reason})")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
