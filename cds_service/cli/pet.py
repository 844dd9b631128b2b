"""``her2-cds pet analyze``: analyse the PET series of a folder, a DICOMweb service or a DIMSE PACS.

Sources (exactly one): ``--dicom-dir DIR`` (embedded folder), ``--dicomweb URL`` (service root, optional
``--auth-file`` with ``user:password`` or a bearer token), ``--dimse AET@host:port`` (C-FIND + C-GET, calling
AE ``--calling-aet``). ``--study UID`` and ``--patient ID`` narrow the search. Output is one JSON object on
stdout::

    {"series": [{"studyInstanceUid", "seriesInstanceUid", "patientId", "tracer", "radionuclide",
                 "halfLifeSeconds", "injectionDateTime", "uptakeHours", "suvbwMax",
                 "lesions": [{"id", "source", "site", "suvMax", "suvPeak", "avid"}], "warnings", "error"}]}

A series whose SUV cannot be computed has ``suvbwMax: null`` and an ``error``; the others still come out; exit
0. Unreadable input (missing folder, no readable DICOM, unreachable source): exit 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from connectors.dicom.factory import auth_from_text, pet_source_from_url
from connectors.dicom.files import FilePetSource
from connectors.dicom.ports import PetStudySource
from connectors.errors import ConnectorError, InvalidSourceDataError
from connectors.http import Timeouts

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
    parser.add_argument("--patient", metavar="ID", help="only this DICOM PatientID")
    parser.add_argument(
        "--auth-file", type=Path, help="DICOMweb credentials: user:password or a bearer token"
    )
    parser.add_argument("--calling-aet", default="HER2CDS", help="our AE title for DIMSE (default HER2CDS)")
    parser.add_argument("--timeout", type=float, default=30.0, help="read timeout in seconds (default 30)")
    parser.set_defaults(func=run)


def source_from_args(args: argparse.Namespace) -> PetStudySource:
    """The source named on the command line; ``ConnectorError`` or ``ValueError`` when it is unusable."""
    timeouts = Timeouts(connect_s=min(5.0, args.timeout), read_s=args.timeout)
    if args.dicom_dir is not None:
        return FilePetSource(args.dicom_dir)
    if args.dicomweb is not None:
        auth = auth_from_text(args.auth_file.read_text()) if args.auth_file else None
        return pet_source_from_url(args.dicomweb, timeouts=timeouts, auth=auth)
    return pet_source_from_url(f"dimse://{args.dimse}", timeouts=timeouts, calling_aet=args.calling_aet)


def analyse_source(
    source: PetStudySource, *, patient_id: str | None, study_uid: str | None
) -> dict[str, Any]:
    """The ``{"series": [...]}`` document for every PT series of the source matching the filters."""
    refs = source.find_pet_series(patient_id=patient_id, study_uid=study_uid)
    return {"series": [source.analyse(ref).to_json() for ref in refs]}


def run(args: argparse.Namespace) -> int:
    try:
        source = source_from_args(args)
        if isinstance(source, FilePetSource):
            _require_dicom(source)
        document = analyse_source(source, patient_id=args.patient, study_uid=args.study)
    except (ConnectorError, ValueError, OSError) as exc:
        print(f"her2-cds pet analyze: {_one_line(exc)}", file=sys.stderr)
        return EXIT_UNREADABLE
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
