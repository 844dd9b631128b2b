"""Therapy exposures from medication resources: dates from what was given (administration, statement period,
dosage bounds), and status deciding whether an open period is ongoing or over."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.fhir.mapping import pathology_from_resources
from rules.domain import DrugClass, TherapyExposure

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
TRASTUZUMAB = {
    "coding": [{"system": RXNORM, "code": "224905", "display": "trastuzumab"}],
    "text": "trastuzumab",
}


def request(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr-1",
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": TRASTUZUMAB,
        **fields,
    }


def administration(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "ma-1",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": TRASTUZUMAB,
        **fields,
    }


def statement(status: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "ms-1",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": TRASTUZUMAB,
        **fields,
    }


def bounds(start: str, end: str | None = None) -> list[dict[str, Any]]:
    period = {"start": start} | ({"end": end} if end else {})
    return [{"text": "6 mg/kg every 3 weeks", "timing": {"repeat": {"boundsPeriod": period}}}]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("resource", "start", "end", "ended"),
    [
        pytest.param(
            request(
                "completed", authoredOn="2019-01-05", dosageInstruction=bounds("2019-01-10", "2019-11-30")
            ),
            d("2019-01-10"),
            d("2019-11-30"),
            True,
            id="request-completed-dosage-period",
        ),
        pytest.param(
            request("completed", authoredOn="2019-01-05"),
            d("2019-01-05"),
            None,
            True,
            id="request-completed-no-period→ended-end-not-recorded",
        ),
        pytest.param(
            request("stopped", authoredOn="2019-01-05", dosageInstruction=bounds("2019-01-10")),
            d("2019-01-10"),
            None,
            True,
            id="request-stopped",
        ),
        pytest.param(
            request("active", authoredOn="2025-01-05", dosageInstruction=bounds("2025-01-10")),
            d("2025-01-10"),
            None,
            False,
            id="request-active-open-period→ongoing",
        ),
        pytest.param(
            administration("completed", effectiveDateTime="2025-06-01T10:00:00Z"),
            d("2025-06-01"),
            d("2025-06-01"),
            True,
            id="administration-one-day",
        ),
        pytest.param(
            administration("in-progress", effectivePeriod={"start": "2025-06-01T10:00:00Z"}),
            d("2025-06-01"),
            None,
            False,
            id="administration-in-progress",
        ),
        pytest.param(
            statement("completed", effectivePeriod={"start": "2018-02-01", "end": "2019-02-01"}),
            d("2018-02-01"),
            d("2019-02-01"),
            True,
            id="statement-completed-period",
        ),
        pytest.param(
            statement("active", effectivePeriod={"start": "2024-02-01", "end": "2023-02-01"}),
            d("2024-02-01"),
            None,
            False,
            id="statement-end-before-start-dropped",
        ),
    ],
)
def test_exposure_dates_and_status(
    resource: dict[str, Any], start: dt.date, end: dt.date | None, ended: bool
) -> None:
    (therapy,) = pathology_from_resources([resource]).context.therapies
    assert therapy.drug_class is DrugClass.ANTI_HER2
    assert (therapy.start, therapy.end, therapy.ended) == (start, end, ended)


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(statement("intended", effectiveDateTime="2026-01-01"), id="statement-intended"),
        pytest.param(statement("not-taken", effectiveDateTime="2025-01-01"), id="statement-not-taken"),
        pytest.param(
            administration("not-done", effectiveDateTime="2025-01-01"), id="administration-not-done"
        ),
        pytest.param(request("cancelled", authoredOn="2025-01-01"), id="request-cancelled"),
    ],
)
def test_what_was_not_given_is_no_exposure(resource: dict[str, Any]) -> None:
    assert pathology_from_resources([resource]).context.therapies == ()


def test_a_completed_2019_course_is_not_read_as_lasting_to_a_2026_scan() -> None:
    """The case of issue 9: a trastuzumab course completed in 2019, a HER2 PET in 2026."""
    from rules.pairing import recent_anti_her2

    resource = request(
        "completed", authoredOn="2019-01-05", dosageInstruction=bounds("2019-01-10", "2019-11-30")
    )
    therapies: tuple[TherapyExposure, ...] = pathology_from_resources([resource]).context.therapies
    assert recent_anti_her2(dt.date(2026, 3, 2), therapies) is None
    undated = pathology_from_resources([request("completed", authoredOn="2019-01-05")]).context.therapies
    assert recent_anti_her2(dt.date(2026, 3, 2), undated) is None
