"""Synthetic demo patients (FHIR R4), generated deterministically, and the in-process prefetch source
serving them.

Each demo patient is one metastatic breast-cancer chart built from a small description (``DemoPatient``): a
Patient, a pathology DiagnosticReport with its Specimen, structured HER2/ER/PR Observations where the
scenario has them, or report text where the scenario lives in the narrative (ISH pending, ultralow
staining), a metastatic Condition and prior chemotherapy/endocrine therapy. Ids, names and dates are fixed,
so every run produces the same resources. All data is invented; no real person is described.

``EmbeddedDemoPrefetch`` fills the prefetch keys a request leaves absent from these resources (the demo
needs no FHIR server); keys the client did send win, as in a real deployment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

LOINC: Final = "http://loinc.org"
V2_0074: Final = "http://terminology.hl7.org/CodeSystem/v2-0074"
SNOMED: Final = "http://snomed.info/sct"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"

_IHC_ANSWERS: Final = {"0": "LA6111-4", "1+": "LA11841-6", "2+": "LA11842-4", "3+": "LA11843-2"}
_STATUS_ANSWERS: Final = {"positive": "LA6576-8", "negative": "LA6577-6"}


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoPatient:
    """One synthetic chart. ``ihc``/``status`` become coded Observations; ``narrative`` becomes the report
    text.

    ``expected`` is the card topic the demo is meant to show (documentation and tests; not used to build
    data).
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
    ),
)
"""The demo charts: the pathology-driven scenarios plus a HER2-null and a HER2-positive patient (no card).
"""


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
    patient = {
        "resourceType": "Patient",
        "id": p.id,
        "name": [{"family": p.family, "given": [p.given]}],
        "gender": "female",
        "birthDate": p.birth_date,
    }
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
    return {
        "patient": [patient],
        "her2": [o for o in observations if o["code"]["coding"][0]["code"] in ("85319-2", "48676-1")],
        "pathology": [report, specimen],
        "hormone": [o for o in observations if o["code"]["coding"][0]["code"] == "85329-1"],
        "conditions": [condition],
        "imaging": [],
        "therapy": [therapy],
        "administrations": [],
    }


def as_prefetch_value(key: str, resources: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A prefetch value as an EHR sends it: a resource for a read (``patient``), a searchset Bundle
    otherwise."""
    if key == "patient":
        return resources[0] if resources else None
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
    }


def transaction_bundle(p: DemoPatient) -> dict[str, Any]:
    """The chart of ``p`` as a FHIR transaction (``PUT type/id``), for loading into a FHIR server."""
    resources = [r for items in patient_resources(p).values() for r in items]
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

    def __init__(self, patients: tuple[DemoPatient, ...] = DEMO_PATIENTS) -> None:
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
