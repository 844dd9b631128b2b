"""Draft-order inspection for the order-select and order-sign hooks: does an order contain T-DXd?

The code list is data (``TDXD_CODES``, ``TDXD_TEXT`` in ``connectors.fhir.codes``, shared with the therapy
mapping) from ``clinical-logic.md`` §11 "Order detection". The inspection lives in ``cds_service`` rather than
``rules`` because it reads FHIR JSON (``draftOrders`` is a Bundle of
R4 resources), which ``rules`` never sees. Matching is deliberately narrow: fam-trastuzumab deruxtecan
only, never bare "deruxtecan" (datopotamab deruxtecan, HCPCS J9011, is a TROP2 drug), trastuzumab,
ado-trastuzumab emtansine (ATC L01FD03) or pertuzumab (ATC L01FD02).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from connectors.fhir.codes import ATC, HCPCS, TDXD_CODES, TDXD_TEXT

TDXD_CODES_ANY_SYSTEM: Final[frozenset[str]] = frozenset(
    {"J9358", "L01FD04", "65597-0406-01", "65597-406-01"}
)
"""Codes specific enough to match under a local or missing system (EHRs often send HCPCS/NDC with local
URIs).
"""

PERTUZUMAB_CODES: Final[frozenset[tuple[str, str]]] = frozenset({(ATC, "L01FD02"), (HCPCS, "J9306")})
PERTUZUMAB_TEXT: Final = re.compile(r"\bpertuzumab\b|\bperjeta\b|\bphesgo\b", re.IGNORECASE)
"""Pertuzumab co-order (label row A, first line with pertuzumab, clinical-logic.md §11)."""

MEDICATION_ORDER_TYPES: Final = frozenset({"MedicationRequest"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DraftOrderFindings:
    """What the draft orders say: T-DXd present (and which order ids), pertuzumab co-ordered."""

    tdxd_order_ids: tuple[str, ...] = ()
    pertuzumab_co_order: bool = False

    @property
    def tdxd(self) -> bool:
        return bool(self.tdxd_order_ids)


def _concepts(resource: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        yield concept
    contained = {
        f"#{c.get('id')}": c for c in resource.get("contained", []) if isinstance(c, dict) and c.get("id")
    }
    reference = resource.get("medicationReference")
    if isinstance(reference, dict):
        if isinstance(reference.get("display"), str):
            yield {"text": reference["display"]}
        medication = contained.get(str(reference.get("reference")))
        if medication is not None and isinstance(medication.get("code"), dict):
            yield medication["code"]


def _matches(concept: Mapping[str, Any], codes: frozenset[tuple[str, str]], text: re.Pattern[str]) -> bool:
    for coding in concept.get("coding", []) or []:
        if not isinstance(coding, dict):
            continue
        system, code = str(coding.get("system", "")), str(coding.get("code", ""))
        if (system, code) in codes:
            return True
        if codes is TDXD_CODES and code in TDXD_CODES_ANY_SYSTEM:
            return True
        if isinstance(coding.get("display"), str) and text.search(coding["display"]):
            return True
    return isinstance(concept.get("text"), str) and bool(text.search(concept["text"]))


def is_tdxd_order(resource: Mapping[str, Any]) -> bool:
    """True when an R4 MedicationRequest orders fam-trastuzumab deruxtecan (by code or name)."""
    if resource.get("resourceType") not in MEDICATION_ORDER_TYPES:
        return False
    return any(_matches(c, TDXD_CODES, TDXD_TEXT) for c in _concepts(resource))


def is_pertuzumab_order(resource: Mapping[str, Any]) -> bool:
    if resource.get("resourceType") not in MEDICATION_ORDER_TYPES:
        return False
    return any(_matches(c, PERTUZUMAB_CODES, PERTUZUMAB_TEXT) for c in _concepts(resource))


def inspect_draft_orders(
    resources: Iterable[Mapping[str, Any]], selections: Iterable[str] | None = None
) -> DraftOrderFindings:
    """Find T-DXd among draft orders.

    For order-select only the orders named in ``selections`` (``MedicationRequest/<id>``) count as T-DXd
    triggers (the newly selected ones); every draft counts for the pertuzumab co-order. For order-sign pass
    ``None``.
    """
    chosen = None if selections is None else {s.strip() for s in selections}
    ids: list[str] = []
    pertuzumab = False
    for resource in resources:
        ref = f"{resource.get('resourceType')}/{resource.get('id')}"
        pertuzumab = pertuzumab or is_pertuzumab_order(resource)
        if (chosen is None or ref in chosen) and is_tdxd_order(resource):
            ids.append(ref)
    return DraftOrderFindings(tdxd_order_ids=tuple(ids), pertuzumab_co_order=pertuzumab)
