"""One patient per card scenario, end to end: FHIR fallback against the real FHIR server, PET from Orthanc
(DICOMweb or DIMSE), the service under gunicorn, a signed JWT per call.

For each scenario: the exact set of card scenarios (``clinical-logic.md`` §14, read from each card's
``source.topic``), every card passing the response linter (``tests/cds_lint.py``: CDS Hooks 2.0, Epic's rules,
the project's card rules), the basis in the main card's detail (pathology date, score and FHIR source; PET
date, tracer, SUVmax of the avid lesions; no DICOM UID on the card), and the response within the hook budget
plus a fixed allowance. PET analyses are stored first (``analysed``), except for ``pet-analysis-pending``,
whose first hook is the one under test.
"""

from __future__ import annotations

import pytest

from tests.e2e.checks import (
    PATHOLOGY_TOPICS,
    PET_TOPICS,
    check_hook_ok,
    check_pathology_basis,
    check_pet_basis,
)
from tests.e2e.conftest import Dataset, Deployment, EhrPrefetch, ensure_analysed
from tests.e2e.harness import (
    ORDER,
    PATIENT_VIEW,
    RecordingProxy,
    fhir_access,
    order_sign,
    patient_view,
    tdxd_draft,
)
from tests.e2e.scenarios import ORDER_CARD, SCENARIOS, Scenario

pytestmark = pytest.mark.e2e

TOKEN = "e2e-fhir-token"


def _fhir_base(scenario: Scenario, fhir_proxy: RecordingProxy, dead_fhir_base: str) -> str:
    return dead_fhir_base if "fhir-down" in scenario.tags else fhir_proxy.base()


def _check_basis(exchange_cards: dict[str, dict[str, object]], scenario: Scenario, dataset: Dataset) -> None:
    """The pathology basis on the card that holds it (card (o) on an order), the PET basis on the PET card."""
    order = exchange_cards.get(ORDER_CARD)
    if order is not None and scenario.pathology is not None:
        check_pathology_basis(str(order["detail"]), scenario)
    main = [t for t in exchange_cards if t in PET_TOPICS | PATHOLOGY_TOPICS]
    for topic in main:
        detail = str(exchange_cards[topic]["detail"])
        if scenario.pathology is not None and order is None:
            check_pathology_basis(detail, scenario)
        if topic in PET_TOPICS:
            uids = dataset.uids(scenario)
            check_pet_basis(detail, scenario, uids.study, uids.series)


@pytest.mark.parametrize("scenario", [pytest.param(s, id=s.key) for s in SCENARIOS])
def test_patient_view_per_scenario(
    scenario: Scenario,
    deployment: Deployment,
    dataset: Dataset,
    fhir_proxy: RecordingProxy,
    dead_fhir_base: str,
    ehr_prefetch: EhrPrefetch,
    request: pytest.FixtureRequest,
) -> None:
    """patient-view as EHRs send it: prefetch resolved by the EHR, plus FHIR access for anything missing."""
    if "first-hook-only" not in scenario.tags:
        request.getfixturevalue("analysed")
    fhir_base = _fhir_base(scenario, fhir_proxy, dead_fhir_base)
    prefetch = None if "fhir-down" in scenario.tags else ehr_prefetch(deployment, scenario.patient_id)
    body = patient_view(scenario.patient_id, prefetch=prefetch, **fhir_access(fhir_base, TOKEN))
    exchange = deployment.hook(deployment.client(), PATIENT_VIEW, body, f"patient-view {scenario.key}")
    assert check_hook_ok(exchange, deployment.limit_ms) == scenario.expected
    _check_basis(exchange.cards_by_topic(), scenario, dataset)


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(s, id=s.key)
        for s in SCENARIOS
        if "first-hook-only" not in s.tags and "fhir-down" not in s.tags
    ],
)
def test_order_sign_per_scenario(
    scenario: Scenario,
    postgres_deployment: Deployment,
    dataset: Dataset,
    fhir_proxy: RecordingProxy,
) -> None:
    """A draft T-DXd order always shows card (o) with the HER2 basis, first, then the chart's PET cards; no
    prefetch, so everything comes through the FHIR fallback (order-sign replaces order-select guidance). Sent
    to the second PostgreSQL replica: both replicas read the analyses stored through either."""
    deployment = postgres_deployment
    if scenario.pet is not None:
        ensure_analysed(deployment, fhir_proxy.base())
    replica = 1
    body = order_sign(
        scenario.patient_id, [tdxd_draft(scenario.patient_id)], **fhir_access(fhir_proxy.base(), TOKEN)
    )
    exchange = deployment.hook(deployment.client(replica), ORDER, body, f"order-sign {scenario.key}")
    assert check_hook_ok(exchange, deployment.limit_ms) == scenario.order_expected
    _check_basis(exchange.cards_by_topic(), scenario, dataset)
