"""Where the cohort tool finds a PET patient's pathology: a folder of FHIR bundles or a FHIR R4 server.

A PET patient is linked to a FHIR Patient by its DICOM PatientID (0010,0020), as the service does
(``cds_service.pet_link``): with ``HER2CDS_PATIENT_ID_SYSTEM`` set, the Patient whose identifier of that
system has the PatientID as value; unset, a Patient with any identifier of that value, else the Patient
whose id is the PatientID. No Patient, or more than one, is an exclusion with that reason
(``PatientNotLinkedError``), never a guess. The linked patient's resources are mapped by the service's FHIR
mapping (``connectors.fhir.mapping.pathology_from_resources`` or ``FhirClient.fetch_patient_pathology``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from connectors.errors import NotFoundError
from connectors.fhir.client import FhirClient
from connectors.fhir.mapping import pathology_from_resources
from connectors.fhir.mapping_bundle import bundle_resources
from connectors.ports import PathologyData

NO_PATIENT = "no FHIR Patient whose identifier is the DICOM PatientID"
SEVERAL_PATIENTS = "several FHIR Patients carry the DICOM PatientID: which one is meant is not known"


class PatientNotLinkedError(LookupError):
    """No single FHIR Patient matches a DICOM PatientID; the message is the reason (no identifiers)."""


class PathologyLookup(Protocol):
    """The pathology of the FHIR patient linked to a DICOM PatientID."""

    def pathology(self, dicom_patient_id: str) -> PathologyData:
        """Raises ``PatientNotLinkedError``, or ``connectors.errors.ConnectorError`` for an outage."""
        ...


def _patient_of(resource: Mapping[str, Any]) -> str | None:
    """The Patient id a resource belongs to (itself, or its ``subject``/``patient`` reference)."""
    if resource.get("resourceType") == "Patient":
        value = resource.get("id")
        return value if isinstance(value, str) else None
    for name in ("subject", "patient"):
        ref = resource.get(name)
        text = ref.get("reference") if isinstance(ref, Mapping) else None
        if isinstance(text, str) and "Patient/" in text:
            return text.rsplit("Patient/", 1)[1].split("/", 1)[0] or None
    return None


def _identifier_values(patient: Mapping[str, Any], system: str | None) -> list[str]:
    values = []
    for identifier in patient.get("identifier") or ():
        if not isinstance(identifier, Mapping) or not isinstance(identifier.get("value"), str):
            continue
        if system is None or identifier.get("system") == system:
            values.append(identifier["value"].strip())
    return values


def _resources(document: Any) -> Iterable[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        return
    if document.get("resourceType") == "Bundle":
        # Transaction Bundles (Synthea, EHR exports) refer to their entries by urn:uuid full URLs.
        entries = document.get("entry")
        yield from bundle_resources(entries if isinstance(entries, list) else [])
    elif isinstance(document.get("resourceType"), str):
        yield document


class BundleDirPathology:
    """The FHIR R4 JSON files of a folder (and its sub-folders): Bundles of any type or single resources.

    Resources are grouped by the Patient they refer to (``subject``/``patient``); resources that refer to
    no patient (Binary, Medication) are offered to every patient's mapping, which follows references only.
    Files that are not FHIR JSON are counted in ``unreadable`` and otherwise ignored.
    """

    def __init__(self, folder: Path, id_system: str | None = None) -> None:
        if not folder.is_dir():
            raise NotADirectoryError(f"FHIR bundle folder {folder} does not exist")
        self.id_system = id_system
        self.unreadable = 0
        self._by_patient: dict[str, list[Mapping[str, Any]]] = {}
        self._shared: list[Mapping[str, Any]] = []
        self._patients: dict[str, Mapping[str, Any]] = {}
        for path in sorted(folder.rglob("*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                self.unreadable += 1
                continue
            for resource in _resources(document):
                self._add(resource)

    def _add(self, resource: Mapping[str, Any]) -> None:
        patient = _patient_of(resource)
        if patient is None:
            self._shared.append(resource)
            return
        self._by_patient.setdefault(patient, []).append(resource)
        if resource.get("resourceType") == "Patient":
            self._patients[patient] = resource

    def patient_ids(self, dicom_patient_id: str) -> list[str]:
        """FHIR Patient ids linked to ``dicom_patient_id`` (see the module docstring)."""
        wanted = dicom_patient_id.strip()
        found = [
            pid
            for pid, patient in self._patients.items()
            if wanted in _identifier_values(patient, self.id_system)
        ]
        if not found and self.id_system is None and wanted in self._patients:
            found = [wanted]
        return found

    def pathology(self, dicom_patient_id: str) -> PathologyData:
        found = self.patient_ids(dicom_patient_id)
        if not found:
            raise PatientNotLinkedError(NO_PATIENT)
        if len(found) > 1:
            raise PatientNotLinkedError(SEVERAL_PATIENTS)
        return pathology_from_resources([*self._by_patient.get(found[0], []), *self._shared])


class FhirServerPathology:
    """A FHIR R4 server through the service's ``FhirClient``: ``Patient?identifier=[system|]value`` (else,
    without a configured system, ``Patient/<PatientID>``), then the client's pathology searches (without the
    clinical-context searches, which the analysis does not use)."""

    def __init__(self, client: FhirClient, id_system: str | None = None) -> None:
        self.client = client
        self.id_system = id_system

    def patient_ids(self, dicom_patient_id: str) -> list[str]:
        value = dicom_patient_id.strip()
        token = f"{self.id_system}|{value}" if self.id_system else value
        found = self.client.search("Patient", {"identifier": token})
        ids = [
            r["id"]
            for r in found
            if r.get("resourceType") == "Patient"
            and isinstance(r.get("id"), str)
            and value in _identifier_values(r, self.id_system)
        ]
        if ids or self.id_system is not None:
            return list(dict.fromkeys(ids))
        try:
            patient = self.client.read("Patient", value)
        except (NotFoundError, ValueError):
            return []
        return [str(patient["id"])]

    def pathology(self, dicom_patient_id: str) -> PathologyData:
        found = self.patient_ids(dicom_patient_id)
        if not found:
            raise PatientNotLinkedError(NO_PATIENT)
        if len(found) > 1:
            raise PatientNotLinkedError(SEVERAL_PATIENTS)
        return self.client.fetch_patient_pathology(found[0], context=False)
