"""The end-to-end patient set: one synthetic patient per card scenario, as FHIR resources and PET series.

Each ``Scenario`` describes one invented metastatic breast-cancer chart and, where the scenario involves PET,
one synthetic 89Zr HER2 PET series (``connectors.dicom.phantom``, with the reader's TID 1500 SR and a SEG).
``expected`` is the set of card topics (``urn:her2-pet-cds:card-scenario``) that ``spec/clinical-logic.md``
§14 prescribes for that chart; it is derived here from the specification, never from the service.

FHIR (R4) per patient: Patient (identifier = the DICOM PatientID), Specimen, pathology DiagnosticReport with
HER2 IHC / HER2 status / ER Observations (or only report text where the scenario lives in the narrative:
ultralow, ISH pending), a metastatic Condition, prior chemotherapy (MedicationRequest), an ImagingStudy
(identifier ``urn:dicom:uid`` = StudyInstanceUID, modality PT) when a PET exists, and an anti-HER2
MedicationAdministration for the recent-anti-HER2 case.

Dates are fixed: specimens in spring 2025, PET injections on ``PET_INJECTED`` with 120 h uptake (within the
89Zr-trastuzumab window of 4–7 days) unless the scenario says otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.dicom.phantom import PhantomLesion, PhantomSeries, PhantomSpec, make_phantom

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"
"""An invented identifier system for the DICOM PatientID on Patient.identifier (type MR)."""

IHC_ANSWERS = {"0": "LA6111-4", "1+": "LA11841-6", "2+": "LA11842-4", "3+": "LA11843-2"}
STATUS_ANSWERS = {"positive": "LA6576-8", "negative": "LA6577-6"}

ORDER_CARD = "tdxd-order-her2-basis"
PATHOLOGY_ONLY = frozenset({"her2-low-no-pet", "her2-unscored-negative", "ihc2-ish-pending", "her2-ultralow"})

PET_INJECTED = dt.datetime(2025, 5, 20, 9, 0, 0)
SPECIMEN_DATE = dt.date(2025, 5, 2)

NODE_AVID = PhantomLesion(label="lesion-1", centre=(20, 20, 44), suv=6.0, suv_max=9.0)
NODE_NONAVID = PhantomLesion(label="lesion-1", centre=(20, 20, 44), suv=1.8, suv_max=2.2, avid=False)
LIVER_AVID = PhantomLesion(
    label="lesion-2",
    centre=(20, 30, 18),
    suv=10.0,
    suv_max=13.0,
    hepatic=True,
    site=("10200004", "SCT", "Liver"),
)
BREAST_NONAVID = PhantomLesion(
    label="lesion-3",
    centre=(10, 42, 48),
    suv=2.0,
    suv_max=2.4,
    avid=False,
    site=("76752008", "SCT", "Breast"),
)
AVID = (NODE_AVID, BREAST_NONAVID)
NON_AVID = (NODE_NONAVID, BREAST_NONAVID)
HEPATIC = (NODE_AVID, LIVER_AVID, BREAST_NONAVID)

SYNC_INJECTED = dt.datetime(2025, 6, 16, 9, 0, 0)
"""The one PET dated after every other (``her2-cds sync --since`` picks it alone)."""

BIG_SHAPE = (240, 64, 64)
"""A long PET series (240 slices): more than a hook can fetch and analyse within its budget."""


@dataclass(frozen=True)
class Pathology:
    """The HER2 part of the chart. ``ihc``/``status`` become coded Observations; ``narrative`` the report."""

    collected: dt.date
    narrative: str
    ihc: str | None = None
    status: str | None = None
    er_percent: float = 80.0


@dataclass(frozen=True)
class Pet:
    lesions: tuple[PhantomLesion, ...] = AVID
    injected: dt.datetime = PET_INJECTED
    uptake_h: float = 120.0
    shape: tuple[int, int, int] = (40, 64, 64)


@dataclass(frozen=True)
class Scenario:
    """One patient. ``key`` names the scenario (the main topic it demonstrates); ``expected`` the topics."""

    key: str
    expected: frozenset[str]
    pathology: Pathology | None
    pet: Pet | None = None
    anti_her2_days_before_pet: int | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    @property
    def order_expected(self) -> frozenset[str]:
        """The topics of order-sign with a T-DXd draft: card (o) always, in place of a main card that rests on
        pathology alone (this project's card (o), documented in docs/card-scenarios.md)."""
        return frozenset({ORDER_CARD}) | (self.expected - PATHOLOGY_ONLY)

    @property
    def patient_id(self) -> str:
        return f"e2e-{self.key}"

    @property
    def dicom_patient_id(self) -> str:
        return f"E2E-{self.key.upper()}"[:64]

    def phantom_spec(self) -> PhantomSpec:
        assert self.pet is not None
        return PhantomSpec(
            lesions=self.pet.lesions,
            uptake_h=self.pet.uptake_h,
            injected_at=self.pet.injected,
            shape=self.pet.shape,
            with_sr=True,
            with_seg=True,
            seed=f"e2e-{self.key}",
            patient_id=self.dicom_patient_id,
        )

    def phantom(self) -> PhantomSeries:
        return make_phantom(self.phantom_spec())


LOW = Pathology(
    collected=SPECIMEN_DATE,
    ihc="1+",
    status="negative",
    narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 1+ (faint incomplete membrane staining in 30% of "
    "invasive tumour cells). HER2 negative (HER2-low).",
)
ZERO = Pathology(
    collected=SPECIMEN_DATE,
    ihc="0",
    status="negative",
    narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0. HER2 negative.",
)
POSITIVE = Pathology(
    collected=SPECIMEN_DATE,
    ihc="3+",
    status="positive",
    er_percent=0.0,
    narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 3+ (complete, intense circumferential membrane "
    "staining in 90% of invasive tumour cells). HER2 positive.",
)
ULTRALOW = Pathology(
    collected=SPECIMEN_DATE,
    narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0, ultralow (faint, incomplete membrane staining "
    "in 5% of invasive tumour cells). HER2 negative.",
)
ISH_PENDING = Pathology(
    collected=SPECIMEN_DATE,
    ihc="2+",
    narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 2+ (equivocal). Reflex HER2 ISH is pending; an "
    "addendum will follow.",
)
UNSCORED = Pathology(
    collected=dt.date(2019, 6, 3),
    status="negative",
    narrative="Invasive lobular carcinoma. HER2: negative.",
)


def _s(
    key: str, expected: set[str], pathology: Pathology | None, pet: Pet | None = None, **kw: Any
) -> Scenario:
    return Scenario(key=key, expected=frozenset(expected), pathology=pathology, pet=pet, **kw)


SCENARIOS: tuple[Scenario, ...] = (
    _s("her2-low-pet-avid", {"her2-low-pet-avid"}, LOW, Pet()),
    _s("her2-zero-pet-avid", {"her2-zero-pet-avid"}, ZERO, Pet()),
    _s("her2-ultralow", {"her2-ultralow"}, ULTRALOW),
    _s("her2-positive-pet-avid", {"her2-positive-pet-avid"}, POSITIVE, Pet()),
    _s("her2-zero-pet-nonavid", {"her2-zero-pet-nonavid"}, ZERO, Pet(lesions=NON_AVID)),
    _s("pet-avid-no-pathology", {"pet-avid-no-pathology"}, None, Pet()),
    _s("ihc2-ish-pending", {"ihc2-ish-pending"}, ISH_PENDING),
    _s(
        "pairing-out-of-window",
        {"her2-low-pet-avid", "pairing-out-of-window"},
        replace(LOW, collected=dt.date(2024, 11, 4)),
        Pet(),
    ),
    _s("her2-low-no-pet", {"her2-low-no-pet"}, LOW),
    _s("her2-low-pet-nonavid", {"her2-low-pet-nonavid"}, LOW, Pet(lesions=NON_AVID)),
    _s("her2-unscored-negative", {"her2-unscored-negative"}, UNSCORED),
    _s("hepatic-lesion", {"her2-low-pet-avid", "hepatic-lesion"}, LOW, Pet(lesions=HEPATIC)),
    _s(
        "recent-anti-her2",
        {"her2-low-pet-avid", "recent-anti-her2"},
        LOW,
        Pet(),
        anti_her2_days_before_pet=10,
    ),
    _s("outside-uptake-window", {"her2-low-pet-avid", "outside-uptake-window"}, LOW, Pet(uptake_h=24.0)),
    _s(
        "pet-analysis-pending",
        {"her2-low-no-pet", "pet-analysis-pending"},
        LOW,
        Pet(shape=BIG_SHAPE),
        tags=frozenset({"first-hook-only"}),
    ),
    _s("data-unavailable", {"data-unavailable"}, LOW, tags=frozenset({"fhir-down"})),
)
"""One patient per scenario of issue 4/5 (``clinical-logic.md`` §14–15)."""

EXTRA_PATIENTS: tuple[Scenario, ...] = (
    _s("precompute-hook", {"her2-low-pet-avid"}, LOW, Pet(shape=BIG_SHAPE)),
    _s("precompute-sync", {"her2-low-pet-avid"}, LOW, Pet(shape=BIG_SHAPE, injected=SYNC_INJECTED)),
    _s("replica-race", {"her2-low-pet-avid"}, LOW, Pet()),
    _s("pacs-cached", {"her2-low-pet-avid"}, LOW, Pet()),
    _s("pacs-uncached", {"her2-low-no-pet", "data-unavailable"}, LOW, Pet()),
)
"""Patients for the precompute, multi-replica and PACS-outage tests (each needs a PET nobody hooked yet)."""

BY_KEY = {s.key: s for s in (*SCENARIOS, *EXTRA_PATIENTS)}


# ---------------------------------------------------------------------------------------------------------
# FHIR resources


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _observation(s: Scenario, p: Pathology, suffix: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"{s.patient_id}-{suffix}",
        "status": "final",
        "category": [_coded("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
        "code": _coded(LOINC, code),
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "effectiveDateTime": f"{p.collected.isoformat()}T10:00:00Z",
        "issued": f"{(p.collected + dt.timedelta(days=3)).isoformat()}T16:00:00Z",
        "specimen": {"reference": f"Specimen/{s.patient_id}-spec"},
        **value,
    }


def _pathology(s: Scenario, p: Pathology) -> list[dict[str, Any]]:
    observations = []
    if p.ihc is not None:
        value = {"valueCodeableConcept": _coded(LOINC, IHC_ANSWERS[p.ihc])}
        observations.append(_observation(s, p, "her2-ihc", "85319-2", value))
    if p.status is not None:
        value = {"valueCodeableConcept": _coded(LOINC, STATUS_ANSWERS[p.status])}
        observations.append(_observation(s, p, "her2-status", "48676-1", value))
    er = {
        "valueQuantity": {
            "value": p.er_percent,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        }
    }
    observations.append(_observation(s, p, "er-pct", "85329-1", er))
    specimen = {
        "resourceType": "Specimen",
        "id": f"{s.patient_id}-spec",
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "collection": {
            "collectedDateTime": f"{p.collected.isoformat()}T10:00:00Z",
            "bodySite": _coded(SNOMED, "76752008", "Breast structure"),
        },
    }
    report = {
        "resourceType": "DiagnosticReport",
        "id": f"{s.patient_id}-path",
        "status": "final",
        "category": [_coded(V2_0074, "SP", "Surgical Pathology")],
        "code": _coded(LOINC, "60568-3", "Pathology Synoptic report"),
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "effectiveDateTime": f"{p.collected.isoformat()}T10:00:00Z",
        "issued": f"{(p.collected + dt.timedelta(days=3)).isoformat()}T16:00:00Z",
        "specimen": [{"reference": f"Specimen/{s.patient_id}-spec"}],
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        "conclusion": p.narrative,
    }
    return [specimen, report, *observations]


def _imaging_study(s: Scenario, study_uid: str, series_uid: str) -> dict[str, Any]:
    assert s.pet is not None
    acquired = s.pet.injected + dt.timedelta(hours=s.pet.uptake_h)
    return {
        "resourceType": "ImagingStudy",
        "id": f"{s.patient_id}-pet",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{study_uid}"}],
        "status": "available",
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "started": acquired.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "modality": [{"system": DCM, "code": "PT"}],
        "description": "HER2 PET (89Zr-trastuzumab)",
        "numberOfSeries": 1,
        "series": [{"uid": series_uid, "modality": {"system": DCM, "code": "PT"}, "number": 1}],
    }


def _anti_her2(s: Scenario) -> dict[str, Any]:
    assert s.anti_her2_days_before_pet is not None
    assert s.pet is not None
    given = s.pet.injected - dt.timedelta(days=s.anti_her2_days_before_pet)
    return {
        "resourceType": "MedicationAdministration",
        "id": f"{s.patient_id}-trastuzumab",
        "status": "completed",
        "medicationCodeableConcept": {**_coded(RXNORM, "224905", "trastuzumab"), "text": "trastuzumab"},
        "subject": {"reference": f"Patient/{s.patient_id}"},
        "effectiveDateTime": given.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def fhir_resources(s: Scenario, pet_uids: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """The chart of ``s``; ``pet_uids`` = (StudyInstanceUID, SeriesInstanceUID) of its PET, if any."""
    pid = s.patient_id
    collected = s.pathology.collected if s.pathology else SPECIMEN_DATE
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [
                {
                    "type": _coded(V2_0074.replace("v2-0074", "v2-0203"), "MR"),
                    "system": MRN_SYSTEM,
                    "value": s.dicom_patient_id,
                }
            ],
            "name": [{"family": "E2e", "given": [s.key]}],
            "gender": "female",
            "birthDate": "1964-03-05",
        },
        {
            "resourceType": "Condition",
            "id": f"{pid}-mets",
            "clinicalStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            "code": _coded(SNOMED, "94222008", "Secondary malignant neoplasm of bone"),
            "subject": {"reference": f"Patient/{pid}"},
            "onsetDateTime": (collected - dt.timedelta(days=200)).isoformat(),
        },
        {
            "resourceType": "MedicationRequest",
            "id": f"{pid}-paclitaxel",
            "status": "completed",
            "intent": "order",
            "medicationCodeableConcept": {**_coded(RXNORM, "56946", "paclitaxel"), "text": "paclitaxel"},
            "subject": {"reference": f"Patient/{pid}"},
            "authoredOn": (collected - dt.timedelta(days=150)).isoformat(),
        },
    ]
    if s.pathology is not None:
        resources += _pathology(s, s.pathology)
    if pet_uids is not None:
        resources.append(_imaging_study(s, *pet_uids))
    if s.anti_her2_days_before_pet is not None:
        resources.append(_anti_her2(s))
    return resources
