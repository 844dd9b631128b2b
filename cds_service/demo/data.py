"""Synthetic demo patients (FHIR R4), generated deterministically, and the in-process prefetch source
serving them.

Each demo patient is one metastatic breast-cancer chart built from a small description (``DemoPatient``): a
Patient, a pathology DiagnosticReport with its Specimen, structured HER2/ER/PR Observations where the
scenario has them, or report text where the scenario lives in the narrative (ISH pending, ultralow
staining), a metastatic Condition and prior chemotherapy/endocrine therapy. Ids, names and dates are fixed,
so every run produces the same resources. All data is invented; no real person is described.

Patients with a HER2 PET (``DemoPet``, ``DEMO_PET_PATIENTS``) also carry the DICOM PatientID of their
synthetic PET series as a Patient.identifier and, unless they demonstrate linking by identifier alone, an
ImagingStudy whose ``urn:dicom:uid`` identifier is the StudyInstanceUID; the series itself is written by
``cds_service.demo.pet`` with ``connectors.dicom.phantom`` (reader SR and SEG included). An anti-HER2
MedicationAdministration dated before the PET demonstrates modifier (j). Two demo-only switches
(``DemoAnalysis``) stand for situations a live system meets by chance: an analysis still running, and a PACS
that cannot be reached.

``EmbeddedDemoPrefetch`` fills the prefetch keys a request leaves absent from these resources (the demo
needs no FHIR server); keys the client did send win, as in a real deployment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from connectors.dicom.phantom import DEFAULT_LESIONS, PhantomLesion, PhantomSpec, PhantomVariant, phantom_uids

LOINC: Final = "http://loinc.org"
V2_0074: Final = "http://terminology.hl7.org/CodeSystem/v2-0074"
SNOMED: Final = "http://snomed.info/sct"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
DCM: Final = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID_SYSTEM: Final = "urn:dicom:uid"
MRN_SYSTEM: Final = "urn:oid:2.16.840.1.113883.3.9999.7"
"""An invented identifier system for the demo medical record number, which is also the DICOM PatientID."""

ORDER_CARD: Final = "tdxd-order-her2-basis"
PATHOLOGY_ONLY_CARDS: Final = frozenset(
    {"her2-low-no-pet", "her2-unscored-negative", "ihc2-ish-pending", "her2-ultralow"}
)
_IHC_ANSWERS: Final = {"0": "LA6111-4", "1+": "LA11841-6", "2+": "LA11842-4", "3+": "LA11843-2"}
_STATUS_ANSWERS: Final = {"positive": "LA6576-8", "negative": "LA6577-6"}


class DemoAnalysis(StrEnum):
    """How the demo treats a patient's PET series (demo behaviour, labelled as such in the console).

    ``PRECOMPUTED``: analysed when the demo data is generated (as ``her2-cds receive``/``sync`` would).
    ``HELD_BACK``: deliberately not analysed, and the lookup reports it as still being analysed (card (p)).
    ``PACS_UNREACHABLE``: the lookup reports the PACS as unreachable for this patient (card (u)).
    """

    PRECOMPUTED = "precomputed"
    HELD_BACK = "held-back"
    PACS_UNREACHABLE = "pacs-unreachable"


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPet:
    """One synthetic HER2 PET series: acquired ``days_after_specimen`` days after the specimen was collected
    (negative: before), at 09:00 local time, ``uptake_h`` hours after injection, with ``lesions`` (the
    reader's calls go into the SR). ``link_imaging_study`` adds a FHIR ImagingStudy; without it the patient is
    linked to the series by Patient.identifier = DICOM PatientID only."""

    days_after_specimen: int
    lesions: tuple[PhantomLesion, ...]
    variant: PhantomVariant = PhantomVariant.TRASTUZUMAB
    uptake_h: float = 120.0
    link_imaging_study: bool = True
    analysis: DemoAnalysis = DemoAnalysis.PRECOMPUTED


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPatient:
    """One synthetic chart. ``ihc``/``status`` become coded Observations; ``narrative`` becomes the report
    text (no pathology at all when ``has_pathology`` is false).

    ``expected`` is the main card topic the demo is meant to show and ``extra`` the further cards (the
    pairing, pending, unavailable and modifier cards), in the order the service sends them; ``scenarios``
    joins them (documentation and tests; not used to build data). ``title`` is the console's one-line label.
    """

    id: str
    given: str
    family: str
    birth_date: str
    collected: dt.date
    ihc: str | None
    status: str | None
    er_percent: float
    narrative: str
    expected: str | None
    extra: tuple[str, ...] = ()
    title: str = ""
    has_pathology: bool = True
    pet: DemoPet | None = None
    anti_her2_days_before_pet: int | None = None

    @property
    def scenarios(self) -> tuple[str, ...]:
        """Every card topic this patient is expected to produce, in order."""
        return ((self.expected,) if self.expected else ()) + self.extra

    @property
    def order_scenarios(self) -> tuple[str, ...]:
        """The cards an order-sign or order-select with a T-DXd draft order produces: card (o) first, in place
        of a main card that rests on pathology alone (``rules.scenarios.ORDER_TABLE``)."""
        return (ORDER_CARD, *tuple(s for s in self.scenarios if s not in PATHOLOGY_ONLY_CARDS))

    @property
    def dicom_patient_id(self) -> str:
        """The medical record number, used as DICOM PatientID (VR LO: at most 64 characters)."""
        return f"MRN-{self.id.upper()}"[:64]

    def pet_spec(self) -> PhantomSpec | None:
        """The phantom of this patient's HER2 PET series (None without PET); deterministic."""
        if self.pet is None:
            return None
        acquired = dt.datetime.combine(
            self.collected + dt.timedelta(days=self.pet.days_after_specimen), dt.time(9, 0)
        )
        return PhantomSpec(
            variant=self.pet.variant,
            injected_at=acquired - dt.timedelta(hours=self.pet.uptake_h),
            uptake_h=self.pet.uptake_h,
            lesions=self.pet.lesions,
            with_sr=True,
            with_seg=True,
            seed=f"her2cds-demo-{self.id}",
            patient_id=self.dicom_patient_id,
        )

    @property
    def pet_date(self) -> dt.date | None:
        """The PET acquisition date (None without PET)."""
        return self.collected + dt.timedelta(days=self.pet.days_after_specimen) if self.pet else None


DEMO_PATIENTS: Final[tuple[DemoPatient, ...]] = (
    DemoPatient(
        id="demo-her2-low",
        given="Avery",
        family="Demo-Low",
        birth_date="1961-04-02",
        collected=dt.date(2025, 2, 10),
        ihc="1+",
        status="negative",
        er_percent=80.0,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 1+ (faint incomplete membrane staining in 40% "
        "of invasive tumour cells). HER2 negative (HER2-low).",
        expected="her2-low-no-pet",
        title="HER2-low (IHC 1+), no HER2 PET",
    ),
    DemoPatient(
        id="demo-her2-unscored",
        given="Blair",
        family="Demo-Unscored",
        birth_date="1958-11-20",
        collected=dt.date(2019, 6, 3),
        ihc=None,
        status="negative",
        er_percent=90.0,
        narrative="Invasive lobular carcinoma. HER2: negative.",
        expected="her2-unscored-negative",
        title="Legacy 'HER2-negative' report without an IHC score",
    ),
    DemoPatient(
        id="demo-ihc2-ish-pending",
        given="Casey",
        family="Demo-Pending",
        birth_date="1970-01-15",
        collected=dt.date(2025, 5, 22),
        ihc="2+",
        status=None,
        er_percent=60.0,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 2+ (equivocal). Reflex HER2 ISH is pending; an "
        "addendum will follow.",
        expected="ihc2-ish-pending",
        title="IHC 2+, reflex ISH pending",
    ),
    DemoPatient(
        id="demo-her2-ultralow",
        given="Dana",
        family="Demo-Ultralow",
        birth_date="1966-08-30",
        collected=dt.date(2025, 3, 18),
        ihc=None,
        status=None,
        er_percent=95.0,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0, ultralow (faint, incomplete membrane "
        "staining in 5% of invasive tumour cells). HER2 negative.",
        expected="her2-ultralow",
        title="HER2-ultralow (IHC 0 with faint staining), HR-positive",
    ),
    DemoPatient(
        id="demo-her2-null",
        given="Emery",
        family="Demo-Null",
        birth_date="1975-12-05",
        collected=dt.date(2025, 1, 9),
        ihc=None,
        status=None,
        er_percent=70.0,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0, null (no membrane staining in invasive "
        "tumour cells). HER2 negative.",
        expected=None,
        title="HER2-null, no HER2 PET: no card expected",
    ),
    DemoPatient(
        id="demo-her2-positive",
        given="Finley",
        family="Demo-Positive",
        birth_date="1968-07-21",
        collected=dt.date(2024, 11, 14),
        ihc="3+",
        status="positive",
        er_percent=0.0,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 3+ (complete, intense circumferential membrane "
        "staining in 90% of invasive tumour cells). HER2 positive.",
        expected=None,
        title="HER2-positive, no HER2 PET: no card expected",
    ),
)
"""The demo charts: the pathology-driven scenarios plus a HER2-null and a HER2-positive patient (no card).
"""

_NODE_AVID, _LIVER_AVID, _BREAST_NONAVID = DEFAULT_LESIONS
_NODE_NONAVID = PhantomLesion(label="lesion-1", centre=(20, 20, 44), suv=1.8, suv_max=2.2, avid=False)
AVID_NODE: Final = (_NODE_AVID, _BREAST_NONAVID)
"""An avid axillary lymph node and a non-avid breast lesion (no hepatic lesion)."""
NONE_AVID: Final = (_NODE_NONAVID, _BREAST_NONAVID)
"""Two lesions read as not avid."""
AVID_LIVER: Final = DEFAULT_LESIONS
"""An avid lymph node, an avid liver lesion and a non-avid breast lesion."""

_LOW_TEXT = (
    "Invasive ductal carcinoma. HER2 (4B5) IHC: 1+ (faint incomplete membrane staining in 30% of invasive "
    "tumour cells). HER2 negative (HER2-low)."
)
_POSITIVE_TEXT = (
    "Invasive ductal carcinoma. HER2 (4B5) IHC: 3+ (complete, intense circumferential membrane staining in "
    "90% of invasive tumour cells). HER2 positive."
)


def _pet_patient(
    key: str, given: str, title: str, pet: DemoPet, *, ihc: str | None = "1+", **extra: Any
) -> DemoPatient:
    values: dict[str, Any] = {
        "id": f"demo-pet-{key}",
        "given": given,
        "family": "Demo-PET",
        "birth_date": "1964-05-17",
        "collected": dt.date(2025, 4, 7),
        "ihc": ihc,
        "status": {"1+": "negative", "0": "negative", "3+": "positive"}.get(ihc or ""),
        "er_percent": 80.0,
        "narrative": _LOW_TEXT,
        "expected": None,
        "title": title,
        "pet": pet,
    }
    values.update(extra)
    return DemoPatient(**values)


DEMO_PET_PATIENTS: Final[tuple[DemoPatient, ...]] = (
    _pet_patient(
        "low-avid",
        "Gray",
        "HER2-low, avid lymph node on HER2 PET",
        DemoPet(days_after_specimen=21, lesions=AVID_NODE),
        expected="her2-low-pet-avid",
    ),
    _pet_patient(
        "zero-avid",
        "Harper",
        "IHC 0, avid lymph node on HER2 PET",
        DemoPet(days_after_specimen=18, lesions=AVID_NODE),
        ihc="0",
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0. HER2 negative.",
        expected="her2-zero-pet-avid",
    ),
    _pet_patient(
        "positive-avid",
        "Indigo",
        "HER2-positive, avid lymph node on HER2 PET",
        DemoPet(days_after_specimen=25, lesions=AVID_NODE),
        ihc="3+",
        er_percent=0.0,
        narrative=_POSITIVE_TEXT,
        expected="her2-positive-pet-avid",
    ),
    _pet_patient(
        "zero-nonavid",
        "Jordan",
        "HER2-null, no avid lesion on HER2 PET",
        DemoPet(days_after_specimen=14, lesions=NONE_AVID),
        ihc=None,
        narrative="Invasive ductal carcinoma. HER2 (4B5) IHC: 0, null (no membrane staining in invasive "
        "tumour cells). HER2 negative.",
        expected="her2-zero-pet-nonavid",
    ),
    _pet_patient(
        "no-pathology",
        "Kai",
        "Avid lesions on HER2 PET, no HER2 pathology on file",
        DemoPet(days_after_specimen=30, lesions=AVID_NODE),
        ihc=None,
        has_pathology=False,
        expected="pet-avid-no-pathology",
    ),
    _pet_patient(
        "low-nonavid",
        "Lane",
        "HER2-low, no avid lesion on HER2 PET",
        DemoPet(days_after_specimen=10, lesions=NONE_AVID, link_imaging_study=False),
        expected="her2-low-pet-nonavid",
    ),
    _pet_patient(
        "old-biopsy",
        "Morgan",
        "HER2-low biopsy 5 months before the HER2 PET",
        DemoPet(days_after_specimen=150, lesions=AVID_NODE),
        expected="her2-low-pet-avid",
        extra=("pairing-out-of-window",),
    ),
    _pet_patient(
        "liver",
        "Noel",
        "HER2-low, avid liver lesion on HER2 PET",
        DemoPet(days_after_specimen=20, lesions=AVID_LIVER),
        expected="her2-low-pet-avid",
        extra=("hepatic-lesion",),
    ),
    _pet_patient(
        "on-trastuzumab",
        "Oakley",
        "HER2-positive, trastuzumab 10 days before the HER2 PET",
        DemoPet(days_after_specimen=40, lesions=AVID_NODE),
        ihc="3+",
        er_percent=0.0,
        narrative=_POSITIVE_TEXT,
        anti_her2_days_before_pet=10,
        expected="her2-positive-pet-avid",
        extra=("recent-anti-her2",),
    ),
    _pet_patient(
        "early-scan",
        "Parker",
        "HER2-low, 89Zr-pertuzumab PET only 2 days after injection",
        DemoPet(days_after_specimen=16, lesions=AVID_NODE, variant=PhantomVariant.PERTUZUMAB, uptake_h=48.0),
        expected="her2-low-pet-avid",
        extra=("outside-uptake-window",),
    ),
    _pet_patient(
        "pending",
        "Quinn",
        "HER2-low, HER2 PET not analysed yet (demo: analysis held back)",
        DemoPet(days_after_specimen=12, lesions=AVID_NODE, analysis=DemoAnalysis.HELD_BACK),
        expected="her2-low-no-pet",
        extra=("pet-analysis-pending",),
    ),
    _pet_patient(
        "pacs-down",
        "Reese",
        "HER2-low, PACS unreachable (demo: PACS marked down)",
        DemoPet(days_after_specimen=12, lesions=AVID_NODE, analysis=DemoAnalysis.PACS_UNREACHABLE),
        expected="her2-low-no-pet",
        extra=("data-unavailable",),
    ),
)
"""Demo patients with a HER2 PET series: every PET scenario and every modifier of clinical-logic.md §14."""

ALL_DEMO_PATIENTS: Final[tuple[DemoPatient, ...]] = DEMO_PATIENTS + DEMO_PET_PATIENTS
"""Every demo chart, pathology-only ones first."""


def _coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def _observation(p: DemoPatient, suffix: str, code: str, value: dict[str, Any]) -> dict[str, Any]:
    when = f"{p.collected.isoformat()}T10:00:00Z"
    return {
        "resourceType": "Observation",
        "id": f"{p.id}-{suffix}",
        "status": "final",
        "category": [_coded("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
        "code": _coded(LOINC, code),
        "subject": {"reference": f"Patient/{p.id}"},
        "effectiveDateTime": when,
        "issued": f"{(p.collected + dt.timedelta(days=2)).isoformat()}T16:00:00Z",
        "specimen": {"reference": f"Specimen/{p.id}-spec"},
        **value,
    }


def _pathology(p: DemoPatient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    observations: list[dict[str, Any]] = []
    if p.ihc is not None:
        observations.append(
            _observation(
                p, "her2-ihc", "85319-2", {"valueCodeableConcept": _coded(LOINC, _IHC_ANSWERS[p.ihc])}
            )
        )
    if p.status is not None:
        answer = _coded(LOINC, _STATUS_ANSWERS[p.status])
        observations.append(_observation(p, "her2-status", "48676-1", {"valueCodeableConcept": answer}))
    er = {
        "valueQuantity": {
            "value": p.er_percent,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        }
    }
    observations.append(_observation(p, "er-pct", "85329-1", er))
    report = {
        "resourceType": "DiagnosticReport",
        "id": f"{p.id}-path",
        "status": "final",
        "category": [_coded(V2_0074, "SP", "Surgical Pathology")],
        "code": _coded(LOINC, "60568-3", "Pathology Synoptic report"),
        "subject": {"reference": f"Patient/{p.id}"},
        "effectiveDateTime": f"{p.collected.isoformat()}T10:00:00Z",
        "issued": f"{(p.collected + dt.timedelta(days=2)).isoformat()}T16:00:00Z",
        "specimen": [{"reference": f"Specimen/{p.id}-spec"}],
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        "conclusion": p.narrative,
    }
    return report, observations


def _imaging_study(p: DemoPatient) -> dict[str, Any] | None:
    spec = p.pet_spec()
    if spec is None or p.pet is None or not p.pet.link_imaging_study:
        return None
    study_uid, series_uid = phantom_uids(spec)
    started = spec.injected_at + dt.timedelta(hours=spec.uptake_h)
    pt = {"system": DCM, "code": "PT", "display": "Positron emission tomography"}
    return {
        "resourceType": "ImagingStudy",
        "id": f"{p.id}-pet",
        "status": "available",
        "identifier": [{"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{study_uid}"}],
        "subject": {"reference": f"Patient/{p.id}"},
        "started": started.isoformat(),
        "modality": [pt],
        "description": "HER2 PET (synthetic demo)",
        "numberOfSeries": 1,
        "series": [{"uid": series_uid, "number": 1, "modality": pt, "description": "HER2 PET"}],
    }


def _anti_her2(p: DemoPatient) -> list[dict[str, Any]]:
    if p.anti_her2_days_before_pet is None or p.pet_date is None:
        return []
    given = p.pet_date - dt.timedelta(days=p.anti_her2_days_before_pet)
    return [
        {
            "resourceType": "MedicationAdministration",
            "id": f"{p.id}-trastuzumab",
            "status": "completed",
            "medicationCodeableConcept": {**_coded(RXNORM, "224905", "trastuzumab"), "text": "trastuzumab"},
            "subject": {"reference": f"Patient/{p.id}"},
            "effectiveDateTime": f"{given.isoformat()}T10:00:00Z",
        }
    ]


def _patient(p: DemoPatient) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.id,
        "name": [{"family": p.family, "given": [p.given]}],
        "gender": "female",
        "birthDate": p.birth_date,
    }
    if p.pet is not None:
        mr = _coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")
        patient["identifier"] = [{"type": mr, "system": MRN_SYSTEM, "value": p.dicom_patient_id}]
    return patient


def patient_resources(p: DemoPatient) -> dict[str, list[dict[str, Any]]]:
    """The chart of ``p`` grouped by prefetch key (``prefetch.PREFETCH_KEYS`` names)."""
    report, observations = _pathology(p)
    specimen = {
        "resourceType": "Specimen",
        "id": f"{p.id}-spec",
        "subject": {"reference": f"Patient/{p.id}"},
        "collection": {
            "collectedDateTime": f"{p.collected.isoformat()}T10:00:00Z",
            "bodySite": _coded(SNOMED, "76752008", "Breast structure"),
        },
    }
    if not p.has_pathology:
        observations = []  # no report, no HER2, no ER/PR on file
    condition = {
        "resourceType": "Condition",
        "id": f"{p.id}-mets",
        "clinicalStatus": _coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "code": _coded(SNOMED, "94222008", "Secondary malignant neoplasm of bone"),
        "subject": {"reference": f"Patient/{p.id}"},
        "onsetDateTime": f"{(p.collected - dt.timedelta(days=200)).isoformat()}",
    }
    therapy = {
        "resourceType": "MedicationRequest",
        "id": f"{p.id}-paclitaxel",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {**_coded(RXNORM, "56946", "paclitaxel"), "text": "paclitaxel"},
        "subject": {"reference": f"Patient/{p.id}"},
        "authoredOn": (p.collected - dt.timedelta(days=150)).isoformat(),
    }
    imaging = _imaging_study(p)
    return {
        "patient": [_patient(p)],
        "her2": [o for o in observations if o["code"]["coding"][0]["code"] in ("85319-2", "48676-1")],
        "pathology": [report] if p.has_pathology else [],
        "hormone": [o for o in observations if o["code"]["coding"][0]["code"] == "85329-1"],
        "conditions": [condition],
        "imaging": [imaging] if imaging else [],
        "therapy": [therapy],
        "administrations": _anti_her2(p),
        "specimens": [report, specimen] if p.has_pathology else [],
    }


def as_prefetch_value(key: str, resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A prefetch value as an EHR sends it: a resource for a read (``patient``), a searchset Bundle
    otherwise (the Specimens of ``specimens`` as ``_include`` results, search mode ``include``)."""
    if key == "patient":
        return resources[0] if resources else None
    modes = [
        "include" if key == "specimens" and r["resourceType"] == "Specimen" else "match" for r in resources
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": modes.count("match"),
        "entry": [{"resource": r, "search": {"mode": m}} for r, m in zip(resources, modes, strict=True)],
    }


def transaction_bundle(p: DemoPatient) -> dict[str, Any]:
    """The chart of ``p`` as a FHIR transaction (``PUT type/id``), for loading into a FHIR server."""
    by_id = {f"{r['resourceType']}/{r['id']}": r for items in patient_resources(p).values() for r in items}
    resources = list(by_id.values())
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }


class EmbeddedDemoPrefetch:
    """``service.EmbeddedPrefetch`` over the demo charts: absent keys are filled, sent keys win; unknown
    patients get nothing (the request then follows the normal prefetch rules)."""

    def __init__(self, patients: tuple[DemoPatient, ...] = ALL_DEMO_PATIENTS) -> None:
        self._charts = {p.id: patient_resources(p) for p in patients}

    @property
    def patient_ids(self) -> tuple[str, ...]:
        return tuple(self._charts)

    def fill(self, prefetch: Mapping[str, Any] | None, patient_id: str) -> dict[str, Any]:
        filled = dict(prefetch or {})
        chart = self._charts.get(patient_id)
        if chart is None:
            return filled
        for key, resources in chart.items():
            if key not in filled:
                filled[key] = as_prefetch_value(key, resources)
        return filled
