"""Patient → HER2 PET linking: which DICOM studies and PatientIDs belong to the patient of a hook.

Two routes, used together (issue 5 item 1):

1. **ImagingStudy** (prefetch key ``imaging`` or the FHIR fallback): the DICOM StudyInstanceUID is the
   ``ImagingStudy.identifier`` with system ``urn:dicom:uid`` and a value ``urn:oid:<uid>`` (FHIR R4
   ImagingStudy, "DICOM Study Instance UID"); a bare ``<uid>`` value under that system, and a ``urn:oid:``
   value under any system, are accepted too. A study whose listed modalities do not include PT is ignored.
2. **Patient.identifier = DICOM PatientID** (0010,0020): with ``HER2CDS_PATIENT_ID_SYSTEM`` set, only the
   identifier values of that system; unset, the FHIR Patient id and every identifier value of the Patient
   resource (convenient for a demo or a site whose PACS uses the EHR id; a configured system is safer because
   identifiers of different systems may collide).

Pure functions over FHIR JSON (``dict``); nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.dicom.ports import is_uid

DICOM_UID_SYSTEM = "urn:dicom:uid"
"""FHIR identifier system of DICOM UIDs (RFC 3001 ``urn:oid:`` values)."""

MAX_PATIENT_KEYS = 4
"""At most this many DICOM PatientIDs are queried per hook (each may cost a PACS query)."""

MAX_STUDIES = 5
"""At most this many linked studies (most recent first) are queried per hook (the prefetch asks for 5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PetLink:
    """Where to look for a patient's PET: StudyInstanceUIDs (most recent first) and DICOM PatientIDs."""

    study_uids: tuple[str, ...] = ()
    patient_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.study_uids or self.patient_ids)


def _uid_from_identifier(identifier: Mapping[str, Any]) -> str | None:
    value = identifier.get("value")
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.lower().startswith("urn:oid:"):
        value = value[8:]
    elif identifier.get("system") != DICOM_UID_SYSTEM:
        return None
    return value if is_uid(value) else None


def _modalities(study: Mapping[str, Any]) -> set[str]:
    codes: set[str] = set()
    for coding in study.get("modality", []) or []:
        if isinstance(coding, Mapping) and isinstance(coding.get("code"), str):
            codes.add(coding["code"].upper())
    for series in study.get("series", []) or []:
        modality = series.get("modality") if isinstance(series, Mapping) else None
        if isinstance(modality, Mapping) and isinstance(modality.get("code"), str):
            codes.add(modality["code"].upper())
    return codes


def _started(study: Mapping[str, Any]) -> str:
    started = study.get("started")
    return started if isinstance(started, str) else ""


def study_uids_from_imaging(resources: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """StudyInstanceUIDs of the PET ImagingStudy resources, most recently started first, without repeats.

    Bundles are opened; resources of other types, studies without a UID identifier and studies whose coded
    modalities exclude PT are skipped.
    """
    studies: list[tuple[str, str]] = []
    for resource in _flatten(resources):
        if resource.get("resourceType") != "ImagingStudy":
            continue
        modalities = _modalities(resource)
        if modalities and "PT" not in modalities:
            continue
        for identifier in resource.get("identifier", []) or []:
            uid = _uid_from_identifier(identifier) if isinstance(identifier, Mapping) else None
            if uid is not None:
                studies.append((_started(resource), uid))
                break
    studies.sort(key=lambda item: item[0], reverse=True)
    return tuple(dict.fromkeys(uid for _, uid in studies))[:MAX_STUDIES]


def _flatten(resources: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for resource in resources:
        if not isinstance(resource, Mapping):
            continue
        if resource.get("resourceType") == "Bundle":
            for entry in resource.get("entry", []) or []:
                inner = entry.get("resource") if isinstance(entry, Mapping) else None
                if isinstance(inner, Mapping):
                    yield inner
        else:
            yield resource


def dicom_patient_ids(
    patient_id: str, patients: Iterable[Mapping[str, Any]], system: str | None
) -> tuple[str, ...]:
    """Candidate DICOM PatientIDs for the FHIR patient ``patient_id`` (see the module docstring).

    Only Patient resources whose ``id`` is ``patient_id`` are read (a prefetch naming another patient is
    ignored). DICOM PatientID is at most 64 characters (VR LO); longer values cannot match and are dropped.
    """
    values: list[str] = []
    if system is None and patient_id:
        values.append(patient_id)
    for resource in _flatten(patients):
        if resource.get("resourceType") != "Patient" or resource.get("id") not in (None, patient_id):
            continue
        for identifier in resource.get("identifier", []) or []:
            if not isinstance(identifier, Mapping) or not isinstance(identifier.get("value"), str):
                continue
            if system is None or identifier.get("system") == system:
                values.append(identifier["value"].strip())
    usable = (v for v in values if v and len(v) <= 64 and "\\" not in v)
    return tuple(dict.fromkeys(usable))[:MAX_PATIENT_KEYS]


def link_patient(
    patient_id: str,
    imaging: Sequence[Mapping[str, Any]],
    patients: Sequence[Mapping[str, Any]],
    system: str | None,
) -> PetLink:
    """Both routes at once: studies from ImagingStudy, PatientIDs from the Patient resource."""
    return PetLink(
        study_uids=study_uids_from_imaging(imaging),
        patient_ids=dicom_patient_ids(patient_id, patients, system),
    )


def sort_key(day: dt.date | None, moment: dt.datetime | dt.time | None, uid: str) -> tuple[str, str, str]:
    """A total order for "most recent" across naive and aware times: ISO date, then local time of day, then
    UID (dates and times without a zone are local DICOM times; comparing them as text avoids mixing naive and
    aware datetimes)."""
    day_text = day.isoformat() if day is not None else ""
    if isinstance(moment, dt.datetime):
        time_text = moment.time().isoformat()
    elif isinstance(moment, dt.time):
        time_text = moment.isoformat()
    else:
        time_text = ""
    return day_text, time_text, uid
