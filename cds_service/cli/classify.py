"""``her2-cds classify PATH``: the HER2 category of a FHIR R4 pathology file, with its evidence trail.

PATH is a FHIR R4 JSON file: a Bundle, or a single DiagnosticReport or Observation. Output is one JSON
object on stdout::

    {"category": CAT, "rulesVersion": str,
     "results": [{"category": CAT, "ihcScore": "0"|"1+"|"2+"|"3+"|null, "ishGroup": 1..5|null,
                  "date": "YYYY-MM-DD"|null, "source": "ResourceType/id"|null, "evidence": [str, ...]}]}

``results`` holds one entry per test occasion, newest first; the top-level category is the newest one's.
Exit 0 on success; exit 2 with one line on stderr for unreadable or invalid input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from connectors.errors import InvalidSourceDataError
from connectors.fhir.mapping import load_fhir_file
from rules.domain import Her2Assessment, PatientHer2
from rules.her2 import display_category, synthesize
from rules.parameters import RULES_VERSION


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify the HER2 status in a FHIR R4 pathology file (Bundle, DiagnosticReport or Observation)",
    )
    parser.add_argument("path", type=Path, help="FHIR R4 JSON file")
    parser.set_defaults(func=run)


def occasion_json(assessment: Her2Assessment) -> dict[str, Any]:
    """One test occasion in the CLI's JSON shape."""
    result = assessment.result
    ihc = result.ihc
    score = str(ihc.score) if ihc is not None and ihc.score is not None and not ihc.is_range else None
    when = result.specimen.collected or result.reported
    evidence = [line.statement for line in assessment.evidence] + list(assessment.caveats)
    return {
        "category": display_category(assessment),
        "ihcScore": score,
        "ishGroup": assessment.ish_group,
        "date": when.isoformat() if when is not None else None,
        "source": result.source.reference.split("#", 1)[0] if result.source is not None else None,
        "evidence": evidence,
    }


def patient_json(patient: PatientHer2) -> dict[str, Any]:
    """The whole classification in the CLI's JSON shape."""
    return {
        "category": display_category(patient.current),
        "rulesVersion": RULES_VERSION,
        "results": [occasion_json(a) for a in patient.occasions],
    }


def run(args: argparse.Namespace) -> int:
    path: Path = args.path
    try:
        data = load_fhir_file(path)
    except InvalidSourceDataError as exc:
        print(f"her2-cds classify: {exc}", file=sys.stderr)
        return 2
    for item in data.skipped:
        print(f"her2-cds classify: skipped {item.reference}: {item.reason}", file=sys.stderr)
    patient = synthesize(data.her2, data.receptors)
    json.dump(patient_json(patient), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
