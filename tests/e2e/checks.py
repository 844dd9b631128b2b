"""Assertions shared by the end-to-end tests: response structure, exact topics, the basis in the detail, the
deadline, and which FHIR servers were contacted.

The expected basis comes from the scenario data (``scenarios.py``) and the phantom's known answers, never
from the service's own code.
"""

from __future__ import annotations

import datetime as dt
import re

from tests.e2e.harness import Exchange, RecordingProxy
from tests.e2e.scenarios import Scenario
from tests.unit.cds_service.cds_support import check_operation_outcome, check_service_response

PET_TOPICS = frozenset(
    {
        "her2-low-pet-avid",
        "her2-zero-pet-avid",
        "her2-positive-pet-avid",
        "her2-zero-pet-nonavid",
        "pet-avid-no-pathology",
        "her2-low-pet-nonavid",
    }
)
"""Main cards whose basis is a HER2 PET read (``clinical-logic.md`` §14 steps 4–6)."""
PATHOLOGY_TOPICS = frozenset(
    {"her2-low-no-pet", "her2-unscored-negative", "ihc2-ish-pending", "her2-ultralow"}
)
"""Main cards from pathology alone (§14 step 1)."""
MODIFIER_TOPICS = frozenset(
    {"pairing-out-of-window", "hepatic-lesion", "recent-anti-her2", "outside-uptake-window"}
)


def check_within_deadline(exchange: Exchange, limit_ms: float) -> None:
    assert exchange.elapsed_ms < limit_ms, f"{exchange.elapsed_ms:.0f} ms > {limit_ms:.0f} ms"


def check_hook_ok(exchange: Exchange, limit_ms: float) -> set[str]:
    """200, a response the linter passes (``tests/cds_lint.py``: CDS Hooks 2.0 schema and invariants, Epic's
    rules, this service's card rules, through ``check_service_response``), within the deadline."""
    assert exchange.status == 200, (exchange.status, exchange.body)
    check_service_response(exchange.body)
    for card in exchange.body["cards"]:
        assert len(card["summary"]) < 140
    check_within_deadline(exchange, limit_ms)
    return exchange.topics()


def check_unauthorized(exchange: Exchange) -> None:
    """A bare 401: OperationOutcome ``login`` without diagnostics (CH-35)."""
    assert exchange.status == 401, (exchange.status, exchange.body)
    check_operation_outcome(exchange.body, "login")
    assert "diagnostics" not in exchange.body["issue"][0]


def pet_acquired(scenario: Scenario) -> dt.date:
    assert scenario.pet is not None
    return (scenario.pet.injected + dt.timedelta(hours=scenario.pet.uptake_h)).date()


def _numbers_after(label: str, text: str) -> list[float]:
    return [float(m) for m in re.findall(rf"{label}\D{{0,12}}?(\d+(?:\.\d+)?)", text)]


def check_pathology_basis(detail: str, scenario: Scenario) -> None:
    """Specimen date, the IHC score (when coded) and the FHIR source of the result."""
    pathology = scenario.pathology
    assert pathology is not None
    assert pathology.collected.isoformat() in detail, detail
    if pathology.ihc is not None:
        assert re.search(rf"IHC\D{{0,20}}{re.escape(pathology.ihc)}", detail), detail
    assert scenario.patient_id in detail, f"no FHIR source reference for {scenario.patient_id}: {detail}"


def check_pet_basis(detail: str, scenario: Scenario, study_uid: str, series_uid: str) -> None:
    """PET date, tracer and SUVmax of each avid lesion (the phantom's known value, ±2 %); the DICOM UIDs stay
    on the evidence page, never on the card."""
    assert scenario.pet is not None
    assert pet_acquired(scenario).isoformat() in detail, detail
    assert "trastuzumab" in detail.lower(), detail
    assert study_uid not in detail, f"a DICOM UID on the card: {detail}"
    assert series_uid not in detail, f"a DICOM UID on the card: {detail}"
    avid = [lesion for lesion in scenario.pet.lesions if lesion.avid]
    if avid:
        found = _numbers_after("SUVmax", detail)
        for lesion in avid:
            assert any(abs(v - lesion.suv_max) <= 0.02 * lesion.suv_max for v in found), (
                lesion,
                found,
                detail,
            )


def check_fhir_calls(proxy: RecordingProxy, token: str, *, expect_calls: bool) -> None:
    """Every FHIR request carried the client's bearer token; there were some (or none)."""
    hits = list(proxy.hits)
    if expect_calls:
        assert hits, "the service never queried the allow-listed FHIR server"
    else:
        assert hits == [], hits
    assert all(h.authorization == f"Bearer {token}" for h in hits), {h.authorization for h in hits}
    assert all(h.method == "GET" for h in hits)
