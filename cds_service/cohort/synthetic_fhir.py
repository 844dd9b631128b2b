"""The FHIR R4 charts of the synthetic cohort (``cds_service.cohort.synthetic``): one Bundle per patient.

Each chart holds the Patient (invented name, birth date and medical record number, the MRN also being the
DICOM PatientID), and per biopsy a Specimen (collection date, SNOMED CT ``bodySite``), a pathology
DiagnosticReport and its coded HER2 Observations (LOINC 85319-2 IHC with the IHC 0 staining statement in a
note, 49683-6 / 74860-8 / 74861-6 dual-probe ISH counts, 48676-1 interpretation) or, for the patient without
HER2, an ER result only. A biopsy flagged ``site_on_report`` codes its site on the DiagnosticReport (core
``bodySite`` extension) instead of the Specimen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

from cds_service.cohort.synthetic import (
    MRN_SYSTEM,
    Her2Spec,
    SyntheticBiopsy,
    SyntheticCohort,
    SyntheticPatient,
)
from connectors.fhir.mapping import BODY_SITE_EXTENSION

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
_IHC_ANSWERS: Final = {"0": "LA6111-4", "1+": "LA11841-6", "2+": "LA11842-4", "3+": "LA11843-2"}
_POSITIVE: Final = {"system": LOINC, "code": "LA6576-8", "display": "Positive"}
_NEGATIVE: Final = {"system": LOINC, "code": "LA6577-6", "display": "Negative"}


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": code}}


def _her2_values(spec: Her2Spec) -> list[tuple[str, dict[str, Any], str | None]]:
    """(LOINC code, value elements, note) of each HER2 Observation a report of ``spec`` carries."""
    ihc = {
        Her2Spec.IHC3: "3+",
        Her2Spec.IHC2_AMPLIFIED: "2+",
        Her2Spec.IHC1: "1+",
        Her2Spec.IHC2_NOT_AMPLIFIED: "2+",
        Her2Spec.IHC0_ULTRALOW: "0",
        Her2Spec.IHC0_NULL: "0",
        Her2Spec.IHC2_ISH_PENDING: "2+",
    }.get(spec)
    out: list[tuple[str, dict[str, Any], str | None]] = []
    if ihc is not None:
        note = {
            Her2Spec.IHC0_ULTRALOW: "Faint incomplete membrane staining in 5% of invasive tumor cells "
            "(>0% and <=10%): HER2-ultralow.",
            Her2Spec.IHC0_NULL: "No membrane staining in any invasive tumor cell: HER2-null.",
        }.get(spec)
        out.append(("85319-2", {"valueCodeableConcept": _coded(LOINC, _IHC_ANSWERS[ihc], ihc)}, note))
    counts = {Her2Spec.IHC2_AMPLIFIED: (2.6, 6.5, 2.5), Her2Spec.IHC2_NOT_AMPLIFIED: (1.3, 2.6, 2.0)}
    if spec in counts:
        ratio, her2, cep17 = counts[spec]
        out.append(("49683-6", _quantity(ratio, "{ratio}", "{ratio}"), None))
        out.append(("74860-8", _quantity(her2, "signals/cell", "{signals}/{cell}"), None))
        out.append(("74861-6", _quantity(cep17, "signals/cell", "{signals}/{cell}"), None))
    if spec is Her2Spec.NEGATIVE_UNSCORED:
        out.append(("48676-1", {"valueCodeableConcept": {"coding": [_NEGATIVE]}}, None))
    if spec is Her2Spec.NONE:
        out.append(("85337-4", {"valueCodeableConcept": {"coding": [_POSITIVE]}}, None))
    return out


def _biopsy_resources(p: SyntheticPatient, number: int, biopsy: SyntheticBiopsy) -> list[dict[str, Any]]:
    when = f"{biopsy.collected.isoformat()}T10:00:00Z"
    issued = f"{biopsy.collected.isoformat()}T17:00:00Z"
    subject = {"reference": f"Patient/{p.fhir_id}"}
    specimen_id = f"{p.fhir_id}-spec{number}"
    site = _coded(SNOMED, biopsy.site.code, biopsy.site.meaning) if biopsy.site is not None else None
    collection: dict[str, Any] = {"collectedDateTime": when}
    if site is not None and not biopsy.site_on_report:
        collection["bodySite"] = site
    specimen = {
        "resourceType": "Specimen",
        "id": specimen_id,
        "subject": subject,
        "type": _coded(SNOMED, "119376003", "Tissue specimen"),
        "collection": collection,
    }
    observations = []
    for index, (code, value, note) in enumerate(_her2_values(biopsy.her2), start=1):
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{p.fhir_id}-obs{number}-{index}",
            "status": "final",
            "code": _coded(LOINC, code),
            "subject": subject,
            "effectiveDateTime": when,
            "issued": issued,
            "specimen": {"reference": f"Specimen/{specimen_id}"},
            **value,
        }
        if note:
            observation["note"] = [{"text": note}]
        observations.append(observation)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": f"{p.fhir_id}-path{number}",
        "status": "final",
        "category": [_coded("http://terminology.hl7.org/CodeSystem/v2-0074", "SP", "Surgical Pathology")],
        "code": _coded(LOINC, "60568-3", "Pathology Synoptic report"),
        "subject": subject,
        "effectiveDateTime": when,
        "issued": issued,
        "specimen": [{"reference": f"Specimen/{specimen_id}"}],
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
    }
    if site is not None and biopsy.site_on_report:
        report["extension"] = [{"url": BODY_SITE_EXTENSION, "valueCodeableConcept": site}]
    return [specimen, report, *observations]


def patient_resources(p: SyntheticPatient) -> list[dict[str, Any]]:
    """Every FHIR resource of the chart of ``p``."""
    mr = _coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")
    patient = {
        "resourceType": "Patient",
        "id": p.fhir_id,
        "identifier": [{"type": mr, "system": MRN_SYSTEM, "value": p.mrn}],
        "name": [{"family": p.family, "given": [p.given]}],
        "gender": "female",
        "birthDate": p.birth_date.isoformat(),
    }
    resources: list[dict[str, Any]] = [patient]
    for number, biopsy in enumerate(p.biopsies, start=1):
        resources.extend(_biopsy_resources(p, number, biopsy))
    return resources


def patient_bundle(p: SyntheticPatient) -> dict[str, Any]:
    """The chart of ``p`` as a FHIR ``collection`` Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in patient_resources(p)],
    }


def write_fhir(cohort: SyntheticCohort, folder: Path) -> None:
    """One Bundle file per patient present in FHIR, ``<folder>/p<number>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    for patient in cohort.patients:
        if patient.in_fhir:
            (folder / f"{patient.folder}.json").write_text(
                json.dumps(patient_bundle(patient), indent=1), encoding="utf-8"
            )
