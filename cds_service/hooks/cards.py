"""Assessment → CDS Hooks cards (``clinical-logic.md`` §15, ``cds-hooks.md`` CH-20..CH-26).

One card per scenario in ``Assessment.cards`` (main scenario first, then (h), (p), (u) and the modifiers).
Each card: a summary from ``card_texts`` (< 140 characters, enforced by the ``Card`` model), the indicator
(``info`` or ``warning``; scenario (e) is raised to ``warning`` when HR-positive and the only IHC 0 result
is legacy or unscored), a GitHub-markdown detail with the basis (specimen date and site, score and its FHIR
source, assay, ISH numbers, discordance, HR status, PET facts, evidence, caveats, citations), ``source``
with the rules version and the scenario topic, a uuid, the CH-26 override reasons, site links, and (only
when the site enables them) suggestions to create a Task for IHC re-review or tumour-board review. Never
``systemActions``, never ``critical``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

from cds_service.hooks import card_texts as texts
from cds_service.hooks.models import Action, Card, Coding, Indicator, Link, OverrideReason, Source, Suggestion
from cds_service.settings import SiteConfig
from rules.display import MODIFIERS, NO_EVIDENCE_LINK, PET_SCENARIOS, category_description
from rules.domain import (
    Assessment,
    CardScenario,
    Evidence,
    Her2Assessment,
    HrStatus,
    IhcScore,
    IndicationStatus,
    LesionOrigin,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    TdxdCategory,
)
from rules.parameters import LEGACY_IHC0_BEFORE, RULES_VERSION
from rules.uptake import CALLED_BY

TOPIC_SYSTEM: Final = "urn:her2-pet-cds:card-scenario"
SERVICE_LABEL: Final = "HER2 PET Review"

_ZERO_CATEGORIES: Final = frozenset(
    {TdxdCategory.HER2_NULL, TdxdCategory.HER2_ZERO_UNSPECIFIED, TdxdCategory.NEGATIVE_UNSCORED}
)


def _fmt(value: float | None, unit: str = "") -> str:
    """A measured number as shown on a card: at most two decimals (SUVs are stored as float32)."""
    return "n/a" if value is None else f"{round(value, 2):g}{unit}"


def _evidence_value(item: Evidence) -> str:
    """The value behind an evidence statement, unless the statement already states it."""
    if item.value is None:
        return ""
    shown = _fmt(item.value) if isinstance(item.value, float) else str(item.value)
    if shown in item.statement:
        return ""
    return f": {shown}{' ' + item.unit if item.unit else ''}"


def _pathology_lines(occasion: Her2Assessment | None, category_hidden: bool) -> list[str]:
    if occasion is None:
        return ["- Pathology: no HER2 IHC/ISH result on file."]
    result = occasion.result
    specimen = result.specimen
    collected = specimen.collected.isoformat() if specimen.collected else "date unknown"
    lines = [f"- Specimen: collected {collected}, site {specimen.site.value}"]
    if result.ihc is not None:
        ihc = result.ihc
        score = ihc.score.value if ihc.score else "not stated"
        if ihc.is_range and ihc.range_to is not None:
            score = f"{score} to {ihc.range_to.value} (range)"
        if ihc.score is IhcScore.ZERO and ihc.zero_subtype.value != "unspecified":
            score += f" ({ihc.zero_subtype.value})"
        lines.append(f"- HER2 IHC: {score}; assay {ihc.assay or 'not stated'}")
    if result.ish is not None:
        ish = result.ish
        if ish.pending:
            lines.append("- HER2 ISH: pending")
        else:
            group = f"; group {occasion.ish_group}" if occasion.ish_group else ""
            lines.append(
                f"- HER2 ISH ({ish.probe.value}-probe): HER2/CEP17 ratio {_fmt(ish.ratio)}, "
                f"HER2 {_fmt(ish.her2_per_cell)} and CEP17 {_fmt(ish.cep17_per_cell)} signals/cell{group}"
            )
    if result.reported_status is not None:
        lines.append(f"- Laboratory statement: {result.reported_status.value}")
    if not category_hidden:
        lines.append(f"- T-DXd-relevant HER2 class: {category_description(occasion.category)}")
    source = result.source.reference if result.source else "not recorded"
    reported = f", reported {result.reported.isoformat()}" if result.reported else ""
    lines.append(f"- Source: {source}{reported}")
    return lines


MAX_LESION_LINES: Final = 10
"""Lesions listed in a card detail; the evidence page lists all."""

EVIDENCE_LINK_LABEL: Final = "HER2 PET evidence: images, lesions, pathology timeline"


def _called_by(lesion: PetLesion, avid_ids: frozenset[str]) -> str:
    """Who made the uptake call of a lesion (clinical-logic.md §13: reader first; automated never avid)."""
    if lesion.reader_call is ReaderCall.AVID:
        return f"avid, called by the reader ({CALLED_BY[lesion.origin]})"
    if lesion.reader_call is ReaderCall.NON_AVID:
        return f"not avid, called by the reader ({CALLED_BY[lesion.origin]})"
    if lesion.lesion_id in avid_ids:
        return f"avid by the labelled SUVmax rule, no reader call ({CALLED_BY[lesion.origin]})"
    if lesion.origin is LesionOrigin.AUTOMATED:
        return "automated candidate, unconfirmed: not counted as avid"
    return f"no reader call ({CALLED_BY[lesion.origin]}): not counted as avid"


def _lesion_line(lesion: PetLesion, avid_ids: frozenset[str]) -> str:
    site = lesion.site_text or lesion.site.value.replace("_", "-")
    source = f"; source {lesion.source.reference}" if lesion.source else ""
    return (
        f"- Lesion {lesion.lesion_id} ({site}): SUVmax {_fmt(lesion.suv_max)}, "
        f"SUVpeak {_fmt(lesion.suv_peak)} (SUVbw, g/ml); {_called_by(lesion, avid_ids)}{source}"
    )


def _reference_line(pet: PetStudyFacts) -> str:
    refs = pet.references
    parts = []
    for name, value, method in (
        ("blood pool", refs.blood_pool_suvmean, refs.blood_pool_method),
        ("liver", refs.liver_suvmean, refs.liver_method),
    ):
        if value is None:
            parts.append(f"{name} not recorded")
        else:
            parts.append(f"{name} SUVmean {_fmt(round(value, 2))} ({method or 'method not stated'})")
    return "- Reference regions: " + "; ".join(parts)


def _pet_lines(assessment: Assessment, pet: PetStudyFacts | None) -> list[str]:
    lines: list[str] = []
    uptake_call = assessment.uptake
    avid = uptake_call.avid_lesions if uptake_call is not None else ()
    avid_ids = frozenset(lesion.lesion_id for lesion in avid)
    if pet is not None:
        when = pet.acquired_at.date().isoformat() if pet.acquired_at else "date unknown"
        uptake = f", {pet.uptake_h:.0f} h after injection" if pet.uptake_h is not None else ""
        lines.append(f"- HER2 PET: {when}, tracer {pet.tracer.value}{uptake}")
    lesions = pet.lesions if pet is not None and pet.lesions else avid
    lines += [_lesion_line(lesion, avid_ids) for lesion in lesions[:MAX_LESION_LINES]]
    if len(lesions) > MAX_LESION_LINES:
        lines.append(f"- {len(lesions) - MAX_LESION_LINES} further lesion(s) on the evidence page")
    if uptake_call is not None:
        if uptake_call.lesions_read and not uptake_call.any_avid:
            lines.append("- PET read: no lesion called avid")
        if uptake_call.unconfirmed_candidates:
            lines.append(f"- Unconfirmed automated candidates: {uptake_call.unconfirmed_candidates}")
    if pet is not None:
        lines.append(_reference_line(pet))
        if not pet.suv_available:
            lines.append("- SUV: not computable from this series (see caveats)")
    if assessment.pairing_gap_days is not None:
        lines.append(f"- PET–pathology interval: {assessment.pairing_gap_days} days")
    if pet is not None:
        source = pet.source.reference if pet.source else f"study/{pet.study}/series/{pet.series}"
        lines.append(f"- PET source: DICOM {source}")
    return lines


def _basis(assessment: Assessment, scenario: CardScenario) -> list[str]:
    pet = assessment.pet
    her2 = assessment.her2
    hide_category = scenario is CardScenario.PET_AVID_NO_PATHOLOGY
    lines = ["**Basis**", ""]
    lines += _pathology_lines(her2.current, hide_category)
    if her2.highest is not None and her2.highest is not her2.current and not hide_category:
        other = her2.highest.result.specimen
        when = other.collected.isoformat() if other.collected else "date unknown"
        lines.append(
            f"- Highest HER2 class on file: {category_description(her2.highest.category)} (specimen {when})"
        )
    lines += [f"- Discordance: {d}" for d in her2.discordance]
    lines.append(f"- HR status: {her2.hr_status.value}")
    if scenario in PET_SCENARIOS or pet is not None:
        lines += _pet_lines(assessment, pet)
    return lines


def basis_lines(assessment: Assessment, scenario: CardScenario) -> list[str]:
    """The card's basis as plain lines (without the list markers): pathology, HR status, PET; the review
    alerts (``cds_service.alerts``) state the same basis as the card."""
    return [line.removeprefix("- ") for line in _basis(assessment, scenario)[2:]]


def _evidence(assessment: Assessment, scenario: CardScenario) -> list[str]:
    lines: list[str] = []
    if scenario is not CardScenario.PET_AVID_NO_PATHOLOGY:
        for item in assessment.evidence:
            value = _evidence_value(item)
            source = f" ({item.source.reference})" if item.source else ""
            lines.append(f"- {item.statement.rstrip('.')}{value}{source}")
        for check in assessment.indications:
            status = {
                IndicationStatus.MET: "criteria on file met",
                IndicationStatus.NOT_MET: "criteria on file not met",
            }
            label = status.get(check.status, "not determinable")
            lines.append(f"- Label row {check.row} ({check.description}): {label}")
    caveats = (*assessment.her2.caveats, *assessment.caveats)
    lines += [f"- Caveat: {c}" for c in dict.fromkeys(caveats)]
    return ["", "**Evidence**", "", *lines] if lines else []


def indicator_for(scenario: CardScenario, assessment: Assessment) -> Indicator:
    """The card indicator; (e) is raised to ``warning`` when HR-positive and every IHC 0 result on file is
    dated before ``LEGACY_IHC0_BEFORE`` or has no numeric score (``clinical-logic.md`` §15 (e))."""
    base = texts.TEXTS[scenario].indicator
    if (
        scenario is not CardScenario.HER2_ZERO_PET_NONAVID
        or assessment.her2.hr_status is not HrStatus.POSITIVE
    ):
        return base
    zeros = [o for o in assessment.her2.occasions if o.category in _ZERO_CATEGORIES] or (
        [assessment.her2.current] if assessment.her2.current else []
    )

    def legacy(occasion: Her2Assessment) -> bool:
        result = occasion.result
        when = result.specimen.collected or result.reported
        unscored = result.ihc is None or result.ihc.score is None
        return unscored or (when is not None and when < LEGACY_IHC0_BEFORE)

    return Indicator.WARNING if zeros and all(legacy(o) for o in zeros) else base


def summary_for(scenario: CardScenario, assessment: Assessment) -> str:
    """Render the summary template of ``scenario`` (variant (f) when a report exists but is
    unclassifiable)."""
    text = texts.TEXTS[scenario]
    template = text.summary
    if scenario is CardScenario.PET_AVID_NO_PATHOLOGY and assessment.her2.current is not None:
        template = text.variant_summary or template
    when = assessment.pending_pet_date.isoformat() if assessment.pending_pet_date else "an earlier date"
    sources = " and ".join(assessment.unavailable_sources) or "A source system"
    return template.format(
        window=texts.SUMMARY_FIELDS["window"], date=when, sources=sources[:1].upper() + sources[1:]
    )


def _detail(scenario: CardScenario, assessment: Assessment) -> str:
    text = texts.TEXTS[scenario]
    parts: list[str] = list(text.paragraphs)
    if scenario is CardScenario.HER2_ULTRALOW and assessment.her2.hr_status is HrStatus.NEGATIVE:
        parts.append(
            "HR status on file is negative: the HER2-ultralow labelled setting (HR-positive disease) does "
            "not apply."
        )
    if scenario is not CardScenario.DATA_UNAVAILABLE:
        parts.append("\n".join(_basis(assessment, scenario) + _evidence(assessment, scenario)))
    else:
        # (u) names the unreachable source and makes no clinical statement (clinical-logic.md §15)
        parts.append(f"Unreachable: {', '.join(assessment.unavailable_sources) or 'a source system'}.")
    body = "\n\n".join(parts)
    if "PET" in body or "PET" in text.summary:
        body += "\n\n" + texts.INVESTIGATIONAL
    if text.references:
        body += "\n\n**References**\n\n" + "\n".join(f"- {r}" for r in text.references)
    version = assessment.rules_version or RULES_VERSION
    return body + f"\n\n_Rules version {version}. Supports review; the decision remains with the clinician._"


def _task(patient_id: str | None, code: str, text: str) -> dict[str, Any]:
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "requested",
        "intent": "proposal",
        "code": {
            "coding": [{"system": "urn:her2-pet-cds:task", "code": code, "display": text}],
            "text": text,
        },
        "description": text,
    }
    if patient_id:
        task["for"] = {"reference": f"Patient/{patient_id}"}
    return task


def _suggestions(
    scenario: CardScenario, patient_id: str | None, new_id: Callable[[], str]
) -> list[Suggestion]:
    options: list[tuple[str, str]] = []
    if scenario in texts.RE_REVIEW_SCENARIOS:
        options.append(("her2-ihc-rereview", "Request HER2 IHC re-review (0 vs 1+/ultralow)"))
    if scenario in texts.TUMOUR_BOARD_SCENARIOS:
        options.append(("tumour-board-review", "Request tumour-board review"))
    return [
        Suggestion(
            label=label,
            uuid=new_id(),
            actions=[Action(type="create", description=label, resource=_task(patient_id, code, label))],
        )
        for code, label in options
    ]


def render_card(
    scenario: CardScenario,
    assessment: Assessment,
    site: SiteConfig,
    *,
    patient_id: str | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    evidence_url: str | None = None,
) -> Card:
    """Render one scenario as a validated ``Card`` (raises ``pydantic.ValidationError`` on a broken
    template).

    ``evidence_url`` (absolute, no PHI) links the evidence page; the site's SMART app (``smart_app``) is
    linked from cards that rest on a PET study.
    """
    text = texts.TEXTS[scenario]
    suggestions = _suggestions(scenario, patient_id, new_id) if site.suggestions else []
    links = _links(scenario, site, assessment.pet, evidence_url)
    return Card(
        uuid=new_id(),
        summary=summary_for(scenario, assessment),
        detail=_detail(scenario, assessment),
        indicator=indicator_for(scenario, assessment),
        source=Source(
            label=f"{SERVICE_LABEL} (rules {assessment.rules_version or RULES_VERSION})",
            topic=Coding(system=TOPIC_SYSTEM, code=scenario.value, display=text.title),
        ),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=[
            OverrideReason(system=texts.OVERRIDE_REASON_SYSTEM, code=code, display=display)
            for code, display in texts.OVERRIDE_REASONS
        ],
        links=links or None,
    )


def _links(
    scenario: CardScenario, site: SiteConfig, pet: PetStudyFacts | None, evidence_url: str | None
) -> list[Link]:
    links = [Link(label=link.label, url=link.url, type="absolute") for link in site.links]
    if evidence_url and scenario not in NO_EVIDENCE_LINK:
        links.append(Link(label=EVIDENCE_LINK_LABEL, url=evidence_url, type="absolute"))
    if site.smart_app is not None and pet is not None and scenario in PET_SCENARIOS:
        links.append(Link(label=site.smart_app.label, url=site.smart_app.url, type="smart"))
    return links


def render_cards(
    assessment: Assessment,
    site: SiteConfig,
    *,
    patient_id: str | None = None,
    evidence_url: str | None = None,
) -> list[Card]:
    """Render every scenario of ``assessment.cards`` in order; a modifier is never rendered alone.

    ``evidence_url`` is the absolute evidence-page link of this answer (``cds_service.evidence``), added
    to every card with a clinical basis."""
    scenarios: Iterable[CardScenario] = assessment.cards
    if all(s in MODIFIERS for s in assessment.cards):
        scenarios = ()
    return [
        render_card(s, assessment, site, patient_id=patient_id, evidence_url=evidence_url) for s in scenarios
    ]
