"""Pure mapping of Conditions and medication resources to :class:`ClinicalContext` facts.

- Metastatic disease (spec/clinical-logic.md §11): a Condition coded with SNOMED CT 128462008 or a listed
  descendant, ICD-10-CM C77–C79/C7B, or staged IV / cM1 / pM1. Refuted or entered-in-error Conditions are
  ignored. Absence of such a Condition leaves ``metastatic`` unknown (None), never False.
- Therapy history: MedicationRequest (not draft, cancelled or entered-in-error), MedicationAdministration and
  MedicationStatement (not "not-taken", "intended" or entered-in-error) classified as anti-HER2, endocrine or
  chemotherapy. Dates come from what was given, not from when it was ordered: an administration's or
  statement's ``effective[x]``; a request's dosage period (``dosageInstruction.timing.repeat.boundsPeriod``),
  else its ``authoredOn``. A single administration covers one day. Status decides whether an open period is
  ongoing: ``completed`` or ``stopped`` ends the course (at the end of its period, or on an unrecorded day
  that the rules never stretch up to today), while ``active``, ``in-progress`` and ``on-hold`` leave it open.
- Draft orders: a draft MedicationRequest for T-DXd sets ``tdxd_draft_order``; a draft pertuzumab request sets
  ``pertuzumab_co_order`` (the FDA row A co-order, spec §11).

``hr_status`` is left UNKNOWN: the rules derive it from the receptor results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connectors.fhir.codes import (
    ATC,
    ATC_PREFIXES,
    DRUG_NAMES,
    ICD10CM,
    METASTATIC_ICD10CM_PREFIXES,
    METASTATIC_SNOMED,
    RXNORM,
    RXNORM_CLASSES,
    SNOMED,
    STAGE_IV_PATTERN,
    TDXD_CODES,
    DrugKind,
)
from connectors.fhir.mapping_values import codings, concept_text, reference_id, to_date
from rules.domain import ClinicalContext, DrugClass, SourceRef, TherapyExposure

_IGNORED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_IGNORED_REQUEST_STATUS = frozenset({"cancelled", "entered-in-error", "draft"})
_IGNORED_STATEMENT_STATUS = frozenset({"not-taken", "entered-in-error", "intended"})
_ENDED_STATUS = frozenset({"completed", "stopped"})
"""FHIR statuses (of MedicationRequest, MedicationAdministration, MedicationStatement): the course is over."""
_IGNORED_ADMIN_STATUS = frozenset({"not-done", "entered-in-error"})
_DRUG_CLASS = {
    DrugKind.TDXD: DrugClass.ANTI_HER2,
    DrugKind.PERTUZUMAB: DrugClass.ANTI_HER2,
    DrugKind.ANTI_HER2: DrugClass.ANTI_HER2,
    DrugKind.ENDOCRINE: DrugClass.ENDOCRINE,
    DrugKind.CHEMO: DrugClass.CHEMO,
}


@dataclass(frozen=True, slots=True)
class ContextFacts:
    """Intermediate facts gathered from resources before they become one :class:`ClinicalContext`."""

    metastatic_dates: tuple[dt.date | None, ...] = ()
    therapies: tuple[TherapyExposure, ...] = ()
    tdxd_draft: bool = False
    pertuzumab_draft: bool = False


def is_metastatic_condition(condition: Any) -> bool:
    """True when a Condition documents metastatic disease (codes or stage IV / M1)."""
    if _status_code(getattr(condition, "verificationStatus", None)) in _IGNORED_VERIFICATION:
        return False
    for system, code, _display in codings(getattr(condition, "code", None)):
        if system == SNOMED and code in METASTATIC_SNOMED:
            return True
        if system == ICD10CM and code.upper().startswith(METASTATIC_ICD10CM_PREFIXES):
            return True
    for stage in getattr(condition, "stage", None) or ():
        if STAGE_IV_PATTERN.search(concept_text(getattr(stage, "summary", None))):
            return True
    return False


def condition_onset(condition: Any) -> dt.date | None:
    """Onset date (onsetDateTime, onsetPeriod.start), else the recorded date."""
    onset = to_date(getattr(condition, "onsetDateTime", None))
    period = getattr(condition, "onsetPeriod", None)
    if onset is None and period is not None:
        onset = to_date(period.start)
    return onset or to_date(getattr(condition, "recordedDate", None))


def drug_kind(concept: Any) -> DrugKind | None:
    """Classify a medication CodeableConcept by code (T-DXd, RxNorm, ATC) and then by ingredient name."""
    for system, code, _display in codings(concept):
        if (system, code) in TDXD_CODES:
            return DrugKind.TDXD
        if system == RXNORM and code in RXNORM_CLASSES:
            return RXNORM_CLASSES[code]
        if system == ATC:
            for prefix, kind in ATC_PREFIXES:
                if code.upper().startswith(prefix):
                    return kind
    text = concept_text(concept)
    for pattern, kind in DRUG_NAMES:
        if pattern.search(text):
            return kind
    return None


def medication_concept(resource: Any, medications: dict[str, Any]) -> Any:
    """The medication CodeableConcept, resolving ``medicationReference`` to a Medication in the same set."""
    concept = getattr(resource, "medicationCodeableConcept", None)
    if concept is not None:
        return concept
    med_id = reference_id(getattr(resource, "medicationReference", None), "Medication")
    medication = medications.get(med_id) if med_id else None
    return getattr(medication, "code", None)


def therapy_from_medication(resource: Any, medications: dict[str, Any]) -> tuple[DrugKind | None, Any]:
    """The drug kind of a medication resource and the concept it was read from."""
    concept = medication_concept(resource, medications)
    return (drug_kind(concept) if concept is not None else None), concept


def _bounds_period(resource: Any) -> Any:
    """The first ``dosageInstruction[].timing.repeat.boundsPeriod`` with a date (MedicationRequest)."""
    for dosage in getattr(resource, "dosageInstruction", None) or ():
        timing = getattr(dosage, "timing", None)
        repeat = getattr(timing, "repeat", None) if timing is not None else None
        period = getattr(repeat, "boundsPeriod", None) if repeat is not None else None
        if period is not None and (period.start is not None or period.end is not None):
            return period
    return None


def exposure_dates(resource: Any) -> tuple[dt.date | None, dt.date | None]:
    """(first, last) day of exposure of a medication resource.

    Statements and administrations: ``effectivePeriod`` (start, end), or ``effectiveDateTime`` (one day).
    Requests: the dosage period ``boundsPeriod``, else ``authoredOn`` as the start with the end open. An end
    before the start (a data error) is dropped rather than guessed.
    """
    period = getattr(resource, "effectivePeriod", None)
    if period is None and resource.get_resource_type() == "MedicationRequest":
        period = _bounds_period(resource)
    if period is not None:
        start, end = to_date(period.start), to_date(period.end)
    elif getattr(resource, "effectiveDateTime", None) is not None:
        start = to_date(resource.effectiveDateTime)
        end = start
    else:
        start, end = to_date(getattr(resource, "authoredOn", None)), None
    if start is not None and end is not None and end < start:
        end = None
    return start, end


def context_facts(resources: Iterable[Any], medications: dict[str, Any]) -> ContextFacts:
    """Gather metastatic evidence, therapy exposures and draft orders from parsed resources."""
    metastatic: list[dt.date | None] = []
    therapies: list[TherapyExposure] = []
    tdxd_draft = pertuzumab_draft = False
    for resource in resources:
        kind = resource.get_resource_type()
        if kind == "Condition":
            if is_metastatic_condition(resource):
                metastatic.append(condition_onset(resource))
            continue
        if kind not in ("MedicationRequest", "MedicationAdministration", "MedicationStatement"):
            continue
        drug, concept = therapy_from_medication(resource, medications)
        status = (getattr(resource, "status", None) or "").lower()
        if kind == "MedicationRequest" and status == "draft":
            tdxd_draft = tdxd_draft or drug is DrugKind.TDXD
            pertuzumab_draft = pertuzumab_draft or drug is DrugKind.PERTUZUMAB
            continue
        if drug is None or not _counts_as_exposure(kind, status):
            continue
        start, end = exposure_dates(resource)
        therapies.append(
            TherapyExposure(
                drug_class=_DRUG_CLASS[drug],
                code=_first_code(concept),
                display=concept_text(concept) or None,
                start=start,
                end=end,
                ended=status in _ENDED_STATUS,
                source=SourceRef(system="fhir", reference=f"{kind}/{resource.id}"),
            )
        )
    return ContextFacts(tuple(metastatic), tuple(therapies), tdxd_draft, pertuzumab_draft)


def clinical_context(facts: ContextFacts) -> ClinicalContext:
    """One :class:`ClinicalContext` from facts (``metastatic_since``: earliest metastatic onset)."""
    dates = [d for d in facts.metastatic_dates if d is not None]
    therapies = tuple(sorted(facts.therapies, key=lambda t: (t.start or dt.date.min, t.drug_class.value)))
    return ClinicalContext(
        metastatic=True if facts.metastatic_dates else None,
        metastatic_since=min(dates) if dates else None,
        therapies=therapies,
        tdxd_draft_order=facts.tdxd_draft,
        pertuzumab_co_order=facts.pertuzumab_draft,
    )


def _counts_as_exposure(kind: str, status: str) -> bool:
    if kind == "MedicationRequest":
        return status not in _IGNORED_REQUEST_STATUS
    if kind == "MedicationStatement":
        return status not in _IGNORED_STATEMENT_STATUS
    return status not in _IGNORED_ADMIN_STATUS


def _status_code(concept: Any) -> str:
    for _system, code, _display in codings(concept):
        return code.lower()
    return ""


def _first_code(concept: Any) -> str | None:
    for system, code, _display in codings(concept):
        if code:
            return f"{system}|{code}" if system else code
    return None
