"""The single entry point of the rules: ``assess(inputs, now) → Assessment``.

Order of work (spec/clinical-logic.md §6, §9, §11, §13, §14):

1. HER2 synthesis over all test occasions and HR status from ER/PR (``rules.her2.synthesize``, which uses
   ``rules.hormone``); the newest specimen is ``current``.
2. When ER/PR decide nothing, the HR status stated in the chart (``ClinicalContext.hr_status``).
3. The uptake call on the HER2 PET facts, when an analysed study is at hand (``rules.uptake``).
4. Pairing: PET acquisition date against the current specimen's collection date; the most recent anti-HER2
   antibody before the PET (administration or dosage dates; a completed course ends when its period ends);
   a best-effort comparison of the biopsied site with the lesions read (``rules.pairing``), on which the
   cards' "concordant"/"consistent" wording depends.
5. The card scenario and extra cards, with card (o) on a T-DXd order (``rules.scenarios``).
6. The FDA label rows for the current category (``rules.indications``).

Missing or stale data yields caveats, never an exception. ``now`` is an argument: the rules read no clock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from rules import parameters
from rules.domain import (
    AssessInputs,
    Assessment,
    CardScenario,
    Evidence,
    HrStatus,
    PatientHer2,
    PetStatus,
    PetStudyFacts,
    RecentAntiHer2,
    SiteComparison,
    TdxdCategory,
    UptakeAssessment,
)
from rules.her2 import synthesize
from rules.indications import check_indications
from rules.pairing import compare_sites, ended_course_undated, pairing_gap_days, pet_date, recent_anti_her2
from rules.scenarios import ScenarioInputs, select_scenario
from rules.uptake import assess_uptake

S_RECENT = CardScenario.RECENT_ANTI_HER2


def _with_chart_hr(her2: PatientHer2, stated: HrStatus) -> tuple[PatientHer2, list[Evidence]]:
    """Fall back to the HR status stated in the chart when the ER/PR results decide nothing."""
    if her2.hr_status is not HrStatus.UNKNOWN or stated is HrStatus.UNKNOWN:
        return her2, []
    line = Evidence(statement=f"HR status {stated} as stated in the chart (no usable ER/PR result)")
    return dataclasses.replace(her2, hr_status=stated), [line]


def _pet_facts(inputs: AssessInputs) -> tuple[PetStatus, PetStudyFacts | None, list[str]]:
    """Reconcile ``pet_status`` with ``pet``.

    Facts given with the default status count as analysed; an "analysed" status without facts counts as none.
    """
    status, pet = inputs.pet_status, inputs.pet
    if status is PetStatus.NONE and pet is not None:
        return PetStatus.ANALYSED, pet, []
    if status is PetStatus.ANALYSED and pet is None:
        return PetStatus.NONE, None, ["HER2 PET reported as analysed but no PET facts were supplied"]
    if status is not PetStatus.ANALYSED:
        return status, None, []
    return status, pet, []


def _pairing_lines(
    her2: PatientHer2, pet: PetStudyFacts | None, uptake: UptakeAssessment | None
) -> tuple[int | None, SiteComparison | None, list[Evidence], list[str]]:
    """Gap between PET acquisition and the current specimen's collection, and the comparison of the biopsied
    site with the lesions read, with their evidence lines."""
    if pet is None or her2.current is None:
        return None, None, [], []
    specimen = her2.current.result.specimen
    pet_day = pet_date(pet)
    gap = pairing_gap_days(pet_day, specimen.collected)
    evidence: list[Evidence] = []
    caveats: list[str] = []
    if gap is None:
        missing = "PET acquisition date" if pet_day is None else "specimen collection date"
        caveats.append(f"{missing} unknown: the PET–pathology interval cannot be computed")
    else:
        within = gap <= parameters.PAIRING_WINDOW_DAYS
        evidence.append(
            Evidence(
                statement=f"HER2 PET and specimen {gap} days apart"
                + ("" if within else f", outside the {parameters.PAIRING_WINDOW_DAYS}-day window studied"),
                value=gap,
                unit="d",
                rule="PAIRING_WINDOW_DAYS (Yeh 2025: within 2 months)",
            )
        )
    site = None
    if uptake is not None and uptake.lesions_read:
        site = compare_sites(pet.lesions, uptake.avid_lesions, specimen)
        evidence.append(
            Evidence(
                statement=f"Biopsied site against the PET read: {site.explanation}",
                value=site.outcome.value,
                rule="rules.pairing.compare_sites (organ level, best effort)",
            )
        )
    return gap, site, evidence, caveats


def _anti_her2(
    pet: PetStudyFacts | None, inputs: AssessInputs
) -> tuple[RecentAntiHer2 | None, list[Evidence]]:
    """Days from the most recent anti-HER2 exposure to the PET (modifier (j)), with evidence lines; a course
    recorded as over without an end date is named, never counted as lasting up to the PET."""
    undated = [
        Evidence(
            statement=f"{t.display or t.code or 'anti-HER2 antibody'} from {t.start} recorded as completed "
            "without an end date: whether it reached the window before the HER2 PET is not known",
            source=t.source,
            rule=f"RECENT_ANTI_HER2_DAYS ({parameters.RECENT_ANTI_HER2_DAYS})",
        )
        for t in ended_course_undated(pet_date(pet), inputs.context.therapies)
    ]
    recent = recent_anti_her2(pet_date(pet), inputs.context.therapies)
    if recent is None:
        return None, undated
    what = recent.therapy.display or recent.therapy.code or "anti-HER2 antibody"
    line = Evidence(
        statement=f"{what} {recent.days_before_pet} day(s) before the HER2 PET",
        value=recent.days_before_pet,
        unit="d",
        source=recent.therapy.source,
        rule=f"RECENT_ANTI_HER2_DAYS ({parameters.RECENT_ANTI_HER2_DAYS})",
    )
    return recent, [line, *undated]


def _sources_caveats(inputs: AssessInputs, pet_status: PetStatus) -> tuple[bool, list[str]]:
    names = list(inputs.unavailable_sources)
    if pet_status is PetStatus.UNAVAILABLE and not names:
        names.append("PET source")
    caveats = [f"{name} could not be reached: its data are missing from this assessment" for name in names]
    return bool(names), caveats


def _pet_index_caveats(inputs: AssessInputs) -> list[str]:
    """A stale PET index is stated, never hidden: studies stored since its last update are not included."""
    if not inputs.pet_index_stale:
        return []
    updated = inputs.pet_index_updated_at
    if updated is None:
        return ["HER2 PET index not updated yet: HER2 PET studies may be missing from this assessment"]
    if updated.tzinfo is not None:
        updated = updated.astimezone(dt.UTC)
    when = f"{updated:%Y-%m-%d %H:%M}" + (" UTC" if updated.tzinfo is not None else "")
    return [f"HER2 PET index last updated {when}: HER2 PET studies stored since then are not included"]


def assess(inputs: AssessInputs, now: dt.datetime) -> Assessment:
    """Assess one patient: HER2 and HR status, PET uptake, pairing, card scenario, label rows, evidence,
    caveats.

    ``now`` is the time of the request (timezone-aware or naive, as the caller keeps it); it dates the
    label-row check (therapies that start later are planned, not prior) and flags data dated in the future.
    """
    her2 = synthesize(inputs.her2_results, inputs.receptors)
    her2, evidence = _with_chart_hr(her2, inputs.context.hr_status)
    context = dataclasses.replace(inputs.context, hr_status=her2.hr_status)
    evidence = list(her2.evidence) + evidence
    caveats = list(her2.caveats) + list(her2.discordance)

    pet_status, pet, pet_caveats = _pet_facts(inputs)
    caveats += pet_caveats
    uptake = assess_uptake(pet, therapies=context.therapies) if pet is not None else None
    if uptake is not None:
        evidence += uptake.evidence
        caveats += uptake.caveats
    gap, site, pairing_evidence, pairing_caveats = _pairing_lines(her2, pet, uptake)
    anti_her2, anti_her2_evidence = _anti_her2(pet, inputs)
    unavailable, source_caveats = _sources_caveats(inputs, pet_status)
    evidence += pairing_evidence + anti_her2_evidence
    caveats += pairing_caveats + source_caveats + _pet_index_caveats(inputs)
    caveats += _future_caveats(her2, pet, now.date())

    selection = select_scenario(
        ScenarioInputs(
            her2=her2,
            pet_status=pet_status,
            uptake=uptake,
            pairing_gap_days=gap,
            anti_her2_days_before_pet=anti_her2.days_before_pet if anti_her2 and uptake is not None else None,
            sources_unavailable=unavailable,
            pathology_cards_enabled=inputs.pathology_cards_enabled,
            tdxd_order=inputs.tdxd_order,
        )
    )
    evidence += selection.evidence
    caveats += selection.caveats
    current = her2.current
    indications = check_indications(
        current.category if current is not None else TdxdCategory.UNKNOWN,
        context,
        as_of=now.date(),
        ihc=current.result.ihc if current is not None else None,
    )
    return Assessment(
        her2=her2,
        uptake=uptake,
        pairing_gap_days=gap,
        scenario=selection.scenario,
        cards=selection.cards,
        indications=indications,
        evidence=tuple(evidence),
        caveats=tuple(dict.fromkeys(caveats)),
        rules_version=parameters.RULES_VERSION,
        pet=inputs.pet,
        pending_pet_date=inputs.pending_pet_date,
        unavailable_sources=inputs.unavailable_sources,
        site=site,
        order_basis=selection.order_basis,
        anti_her2=anti_her2 if S_RECENT in selection.cards else None,
        pet_index_stale=inputs.pet_index_stale,
        pet_index_updated_at=inputs.pet_index_updated_at,
    )


def _future_caveats(her2: PatientHer2, pet: PetStudyFacts | None, today: dt.date) -> list[str]:
    """Dates after ``today`` point to a data error (wrong year, time zone); say so rather than guess."""
    caveats = []
    current = her2.current
    collected = current.result.specimen.collected if current is not None else None
    if collected is not None and collected > today:
        caveats.append(
            f"Specimen collection date {collected.isoformat()} is in the future: check the pathology"
        )
    acquired = pet_date(pet)
    if acquired is not None and acquired > today:
        caveats.append(f"HER2 PET acquisition date {acquired.isoformat()} is in the future: check the study")
    return caveats
