"""Assessment → CDS Hooks cards (``clinical-logic.md`` §15, ``cds-hooks.md`` CH-20..CH-26).

One card per scenario in ``Assessment.cards``: card (o) first on a T-DXd order, the main card, then (h), (p),
(u) and the modifiers. Every line of a card is one template of ``card_texts`` filled with values; this module
chooses templates and values and adds no wording of its own.

Cards fit an EHR panel: a summary under 140 characters, a detail of at most ``DETAIL_MAX_CHARS`` characters
(when the full basis would not fit, the label rows and the lesion list move to the evidence page, which always
holds the full basis), no DICOM UIDs (the evidence page keeps them), and no repeated basis block: the extra
cards (h), (i), (j), (w) state their own finding and point to the main card, and a PET card that follows card
(o) points to (o) for the pathology basis. Each card has a uuid (feedback), ``source.label`` with the rules
version, ``source.url`` (the clinical-basis page or the site's own), ``source.topic`` with the scenario's
alphanumeric topic code (``rules.display.TOPIC_CODES``), the CH-26 override reasons, site links, the evidence
link, and only when the site enables them suggestions (one ``create`` action each, ``selectionBehavior``
``any``: the two Tasks are independent, and ``any`` is what Epic accepts). Never ``systemActions``, never
``critical``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cds_service.hooks import card_texts as texts
from cds_service.hooks.models import Action, Card, Coding, Indicator, Link, OverrideReason, Source, Suggestion
from cds_service.settings import SiteConfig
from rules.display import (
    MODIFIERS,
    NO_EVIDENCE_LINK,
    PET_SCENARIOS,
    category_description,
    category_name,
    topic_code,
)
from rules.domain import (
    Assessment,
    CardScenario,
    Her2Assessment,
    IhcResult,
    IhcScore,
    IndicationCheck,
    IndicationStatus,
    IshResult,
    LesionSite,
    OrderBasis,
    PetLesion,
    PetStudyFacts,
    ReaderCall,
    SiteConcordance,
)
from rules.parameters import PAIRING_WINDOW_DAYS, RECENT_ANTI_HER2_DAYS, RULES_VERSION
from rules.scenarios import f_variant_unclassifiable, scenario_e_escalated

S = CardScenario

TOPIC_SYSTEM: Final = "urn:her2-pet-cds:card-scenario"
SERVICE_LABEL: Final = "HER2 PET Review"
DETAIL_MAX_CHARS: Final = 2000
"""A card detail never exceeds this many characters (EHR panels); the evidence page holds the rest."""
MAX_AVID_LESIONS: Final = 4
"""Avid lesions listed on a card; the evidence page lists every lesion."""
EVIDENCE_LINK_LABEL: Final = "HER2 PET evidence: images, lesions, pathology timeline"

EXTRA_CARDS: Final = frozenset(
    {S.PAIRING_OUT_OF_WINDOW, S.PET_ANALYSIS_PENDING, S.DATA_UNAVAILABLE, *MODIFIERS}
)
"""Cards that come after a main card and state one finding (no basis block of their own)."""
NO_ROWS: Final = frozenset({S.PET_AVID_NO_PATHOLOGY, S.IHC2_ISH_PENDING}) | EXTRA_CARDS
"""Cards that list no label rows (no usable HER2 class, or not a main card)."""

_UID_LIKE: Final = re.compile(r"\d+(?:\.\d+){5,}")
"""A DICOM UID (dotted digits): never shown on a card."""


def _fmt(value: float | None) -> str:
    """A measured number as shown on a card: at most two decimals, or ``n/a``."""
    return "n/a" if value is None else f"{round(value, 2):g}"


MAX_DATA_CHARS: Final = 60
"""Text read from the chart (assay, specimen description, lesion site, FHIR reference) is cut to this length
on a card, so that no chart can push a card past ``DETAIL_MAX_CHARS``; the evidence page shows it whole."""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DATA_CHARS else text[: MAX_DATA_CHARS - 1].rstrip() + "…"


def _date(value: Any) -> str:
    return value.isoformat() if value is not None else "date unknown"


# ------------------------------------------------------------------------------------------------------------
# Basis lines


def _score(ihc: IhcResult) -> str:
    score = ihc.score.value if ihc.score is not None else texts.NOT_STATED
    if ihc.is_range and ihc.range_to is not None:
        score += f" to {ihc.range_to.value} (range)"
    if ihc.score is IhcScore.ZERO and ihc.zero_subtype.value != "unspecified":
        score += f" ({ihc.zero_subtype.value})"
    return score


def _staining(ihc: IhcResult) -> str | None:
    pct = ihc.percentages
    if pct is None:
        return None
    parts = texts.STAINING_PARTS
    items = [
        parts[name].render(count=f"{value:g}")
        for name, value in (
            ("complete_intense", pct.complete_intense),
            ("complete_any", pct.complete_any),
            ("incomplete_faint", pct.incomplete_faint),
        )
        if value is not None
    ]
    if pct.incomplete_moderate_intense:
        items.append(parts["incomplete_moderate_intense"].render())
    return ", ".join(items) or None


def _ish_lines(occasion: Her2Assessment, ish: IshResult) -> list[str]:
    if ish.pending:
        return [texts.ISH_PENDING_LINE.render()]
    group = f"; group {occasion.ish_group}" if occasion.ish_group else ""
    return [
        texts.ISH_LINE.render(
            probe=ish.probe.value,
            ratio=_fmt(ish.ratio),
            her2=_fmt(ish.her2_per_cell),
            cep17=_fmt(ish.cep17_per_cell),
            group=group,
        )
    ]


def _short_ref(reference: str) -> str:
    """A FHIR reference as shown; one that embeds a DICOM UID is left to the evidence page."""
    return "see the evidence page" if _UID_LIKE.search(reference) else _clip(reference)


def pathology_lines(occasion: Her2Assessment | None, *, show_category: bool) -> list[str]:
    """Specimen (date, site), IHC score with assay and staining percentages, ISH numbers, laboratory
    statement, T-DXd class and the report it came from."""
    if occasion is None:
        return [texts.NO_PATHOLOGY_LINE.render()]
    result = occasion.result
    specimen = result.specimen
    site = texts.SITE_WORDS[specimen.site.value]
    if specimen.description:
        site += f" ({_clip(specimen.description)})"
    lines = [texts.SPECIMEN_LINE.render(date=_date(specimen.collected), site=site)]
    if result.ihc is not None:
        ihc = result.ihc
        lines.append(texts.IHC_LINE.render(score=_score(ihc), assay=_clip(ihc.assay or texts.NOT_STATED)))
        staining = _staining(ihc)
        if staining:
            lines.append(texts.STAINING_LINE.render(staining=staining))
    if result.ish is not None:
        lines += _ish_lines(occasion, result.ish)
    if result.reported_status is not None:
        lines.append(texts.LAB_STATEMENT_LINE.render(status=result.reported_status.value))
    if show_category:
        lines.append(texts.CATEGORY_LINE.render(category=category_description(occasion.category)))
    if result.source is not None:
        ref = _short_ref(result.source.reference)
        if result.reported is not None:
            lines.append(texts.SOURCE_LINE.render(ref=ref, date=result.reported.isoformat()))
        else:
            lines.append(texts.SOURCE_UNDATED_LINE.render(ref=ref))
    return lines


def _lesion_label(lesion: PetLesion, position: int) -> str:
    if lesion.site_text:
        label = lesion.site_text
    elif lesion.site is LesionSite.HEPATIC:
        label = "liver"
    else:
        label = f"lesion {position}"
    return "see the evidence page" if _UID_LIKE.search(label) else _clip(label)


def _lesion_list(lesions: Sequence[PetLesion]) -> str:
    shown = [
        f"{_lesion_label(lesion, i)} (SUVmax {_fmt(lesion.suv_max)})"
        for i, lesion in enumerate(lesions[:MAX_AVID_LESIONS], start=1)
    ]
    if len(lesions) > MAX_AVID_LESIONS:
        shown.append(texts.AVID_MORE.render(count=len(lesions) - MAX_AVID_LESIONS))
    return "; ".join(shown)


def _uptake_lines(assessment: Assessment, *, lesions: bool) -> list[str]:
    """The avid lesions (or how many lesions were read, none avid) and unconfirmed automated candidates."""
    uptake = assessment.uptake
    if uptake is None:
        return []
    lines: list[str] = []
    if uptake.any_avid:
        avid = uptake.avid_lesions
        listed = _lesion_list(avid) if lesions else texts.AVID_COUNT.render(count=len(avid))
        lines.append(texts.AVID_LINE.render(lesions=listed))
    elif uptake.lesions_read:
        pet_lesions = assessment.pet.lesions if assessment.pet is not None else ()
        read = sum(1 for lesion in pet_lesions if lesion.reader_call is not ReaderCall.NOT_ASSESSED)
        lines.append(texts.NONAVID_LINE.render(count=read))
    if uptake.unconfirmed_candidates:
        lines.append(texts.UNCONFIRMED_LINE.render(count=uptake.unconfirmed_candidates))
    return lines


def pet_lines(assessment: Assessment, *, lesions: bool = True) -> list[str]:
    """HER2 PET date, tracer and uptake time, the avid lesions (or how many were read), reference regions and
    the PET–pathology interval. DICOM UIDs stay on the evidence page."""
    pet = assessment.pet
    lines: list[str] = []
    if pet is not None:
        when = _date(pet.acquired_at.date() if pet.acquired_at else None)
        if pet.uptake_h is not None:
            lines.append(
                texts.PET_LINE.render(date=when, tracer=pet.tracer.value, hours=f"{pet.uptake_h:.0f}")
            )
        else:
            lines.append(texts.PET_NO_UPTAKE_LINE.render(date=when, tracer=pet.tracer.value))
    lines += _uptake_lines(assessment, lesions=lesions)
    if pet is not None and not pet.suv_available:
        lines.append(texts.NO_SUV_LINE.render())
    if assessment.pairing_gap_days is not None:
        lines.append(texts.INTERVAL_LINE.render(days=assessment.pairing_gap_days))
    return lines


def site_line(assessment: Assessment) -> str | None:
    """The biopsied site against the PET read (None when there is no comparison)."""
    site = assessment.site
    uptake = assessment.uptake
    if site is None or uptake is None:
        return None
    unknown = texts.SITE_LINES[(SiteConcordance.UNKNOWN, uptake.any_avid)]
    template = texts.SITE_LINES.get((site.outcome, uptake.any_avid), unknown)
    if site.biopsied is None:
        template = unknown
    return template.render(biopsied=site.biopsied or "", avid_sites=", ".join(dict.fromkeys(site.avid_sites)))


def _row_line(check: IndicationCheck, basis: str) -> str:
    if check.status is IndicationStatus.MET:
        return texts.ROW_MET.render(row=check.row, short=check.short, basis=basis)
    wanted = (
        IndicationStatus.NOT_MET if check.status is IndicationStatus.NOT_MET else IndicationStatus.UNKNOWN
    )
    names = ", ".join(c.name for c in check.criteria if c.status is wanted)
    template = texts.ROW_NOT_MET if wanted is IndicationStatus.NOT_MET else texts.ROW_UNKNOWN
    return template.render(row=check.row, short=check.short, basis=basis, names=names)


def row_lines(assessment: Assessment) -> list[str]:
    """The label rows the patient's HER2 class leaves open, each with its status and, when not met, the
    criteria that fail or cannot be determined from the chart."""
    open_rows = [c for c in assessment.indications if c.category_open]
    if not open_rows:
        return [texts.ROWS_NONE_OPEN.render()]
    return [_row_line(c, c.basis or c.row) for c in open_rows]


# ------------------------------------------------------------------------------------------------------------
# Summary, indicator, paragraphs


SITE_CONSISTENT: Final = {
    S.HER2_LOW_PET_AVID: SiteConcordance.BIOPSIED_AVID,
    S.HER2_POSITIVE_PET_AVID: SiteConcordance.BIOPSIED_AVID,
    S.HER2_ZERO_PET_NONAVID: SiteConcordance.BIOPSIED_NON_AVID,
}
"""Cards whose spec summary says "consistent" or "concordant", and the only site comparison that allows it."""


def _site_variant(scenario: CardScenario, assessment: Assessment) -> str | None:
    required = SITE_CONSISTENT.get(scenario)
    if required is None:
        return None
    site = assessment.site
    if site is not None and site.outcome is required:
        return None
    if site is None or site.outcome is SiteConcordance.UNKNOWN:
        return texts.SITE_UNKNOWN
    return texts.SITE_MISMATCH


def summary_for(scenario: CardScenario, assessment: Assessment) -> str:
    """The summary: the spec's wording, or the variant the evidence supports (site comparison, a report that
    could not be classified, the order basis)."""
    if scenario is S.TDXD_ORDER:
        basis = assessment.order_basis or OrderBasis.NO_PATHOLOGY
        return _order_summary(basis, assessment)
    text = texts.TEXTS[scenario]
    template = text.summary
    variant = _site_variant(scenario, assessment)
    if scenario is S.PET_AVID_NO_PATHOLOGY and f_variant_unclassifiable(assessment.her2):
        variant = texts.UNCLASSIFIABLE
    if scenario is S.PET_ANALYSIS_PENDING and assessment.pending_pet_date is None:
        variant = texts.UNDATED
    if variant is not None:
        template = text.variants[variant]
    when = _date(assessment.pending_pet_date)
    sources = " and ".join(assessment.unavailable_sources) or "A source system"
    return template.render(window=PAIRING_WINDOW_DAYS, date=when, sources=sources[:1].upper() + sources[1:])


def _order_summary(basis: OrderBasis, assessment: Assessment) -> str:
    her2 = assessment.her2
    current = category_name(her2.current.category) if her2.current is not None else "not on file"
    highest = category_name(her2.highest.category) if her2.highest is not None else "not on file"
    return texts.ORDER_TEXTS[basis].summary.render(current=current, highest=highest)


def indicator_for(scenario: CardScenario, assessment: Assessment) -> Indicator:
    """The card indicator: (e) is raised to ``warning`` per ``rules.scenarios.E_INDICATOR_TABLE``; (o) follows
    its HER2 basis (``info`` for a labelled class, ``warning`` otherwise)."""
    if scenario is S.TDXD_ORDER:
        return texts.ORDER_TEXTS[assessment.order_basis or OrderBasis.NO_PATHOLOGY].indicator
    if scenario is S.HER2_ZERO_PET_NONAVID and scenario_e_escalated(assessment.her2):
        return Indicator.WARNING
    return texts.TEXTS[scenario].indicator


def _paragraphs(scenario: CardScenario, assessment: Assessment) -> list[str]:
    if scenario is S.TDXD_ORDER:
        order = texts.ORDER_TEXTS[assessment.order_basis or OrderBasis.NO_PATHOLOGY]
        return [p.render() for p in order.paragraphs]
    paragraphs = [p.render() for p in texts.TEXTS[scenario].paragraphs]
    if scenario is S.HER2_ULTRALOW and assessment.her2.hr_status.value == "negative":
        paragraphs.append(texts.HR_NEGATIVE_ULTRALOW.render())
    return paragraphs


def _references(scenario: CardScenario, assessment: Assessment) -> tuple[texts.Template, ...]:
    if scenario is S.TDXD_ORDER:
        return texts.ORDER_TEXTS[assessment.order_basis or OrderBasis.NO_PATHOLOGY].references
    return texts.TEXTS[scenario].references


# ------------------------------------------------------------------------------------------------------------
# Detail


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    """What a card needs to know about the other cards of the same answer."""

    main_title: str | None
    extras: tuple[CardScenario, ...]
    pathology_on_order_card: bool
    evidence_page: bool


def _title(scenario: CardScenario) -> str:
    return texts.TEXTS[scenario].title


def _extra_lines(scenario: CardScenario, assessment: Assessment) -> list[str]:
    """The one finding of an extra card."""
    pet = assessment.pet
    if scenario is S.PAIRING_OUT_OF_WINDOW:
        current = assessment.her2.current
        lines = [
            texts.PAIRING_DATES_LINE.render(
                pet_date=_date(pet.acquired_at.date() if pet is not None and pet.acquired_at else None),
                specimen_date=_date(current.result.specimen.collected if current is not None else None),
                days=assessment.pairing_gap_days if assessment.pairing_gap_days is not None else 0,
                window=PAIRING_WINDOW_DAYS,
            )
        ]
        site = site_line(assessment)
        return lines + ([site] if site else [])
    if scenario is S.HEPATIC_LESION and assessment.uptake is not None:
        hepatic = [lesion for lesion in assessment.uptake.avid_lesions if lesion.site is LesionSite.HEPATIC]
        return [texts.HEPATIC_LESIONS_LINE.render(lesions=_lesion_list(hepatic))] if hepatic else []
    if scenario is S.RECENT_ANTI_HER2 and assessment.anti_her2 is not None:
        recent = assessment.anti_her2
        drug = _clip(recent.therapy.display or recent.therapy.code or "anti-HER2 antibody")
        return [
            texts.ANTI_HER2_LINE.render(days=recent.days_before_pet, window=RECENT_ANTI_HER2_DAYS, drug=drug)
        ]
    if scenario is S.OUTSIDE_UPTAKE_WINDOW and pet is not None and pet.uptake_h is not None:
        return [texts.UPTAKE_LINE.render(hours=f"{pet.uptake_h:.0f}", tracer=pet.tracer.value)]
    if scenario is S.DATA_UNAVAILABLE:
        return [
            texts.UNREACHABLE_LINE.render(
                sources=", ".join(assessment.unavailable_sources) or "a source system"
            )
        ]
    return []


def _basis_lines(
    scenario: CardScenario, assessment: Assessment, ctx: _Context, *, lesions: bool
) -> list[str]:
    her2 = assessment.her2
    lines: list[str] = []
    if ctx.pathology_on_order_card and scenario is not S.TDXD_ORDER:
        lines.append(texts.PATHOLOGY_ON_ORDER_LINE.render(title=_title(S.TDXD_ORDER)))
    else:
        lines += pathology_lines(her2.current, show_category=scenario is not S.PET_AVID_NO_PATHOLOGY)
        highest = her2.highest
        if highest is not None and highest is not her2.current and scenario is not S.PET_AVID_NO_PATHOLOGY:
            lines.append(
                texts.EARLIER_LINE.render(
                    date=_date(highest.result.specimen.collected),
                    category=category_description(highest.category),
                )
            )
        lines.append(texts.HR_LINE.render(hr=her2.hr_status.value))
    if scenario in PET_SCENARIOS:
        lines += pet_lines(assessment, lesions=lesions)
        site = site_line(assessment) if her2.current is not None else None
        if site:
            lines.append(site)
    return lines


def basis_lines(assessment: Assessment, scenario: CardScenario) -> list[str]:
    """The card's basis as plain lines (without the list markers): pathology, HR status, PET and the biopsied
    site against it; the review alerts (``cds_service.alerts``) state the same basis as the card."""
    ctx = _Context(main_title=None, extras=(), pathology_on_order_card=False, evidence_page=False)
    return [line.removeprefix("- ") for line in _basis_lines(scenario, assessment, ctx, lesions=True)]


def _footer_lines(scenario: CardScenario, assessment: Assessment, ctx: _Context) -> list[str]:
    lines: list[str] = []
    her2 = assessment.her2
    if assessment.pet_index_stale:  # stated, never hidden: newer PET studies may be missing
        updated = assessment.pet_index_updated_at
        lines.append(
            texts.PET_INDEX_NEW_LINE.render()
            if updated is None
            else texts.PET_INDEX_STALE_LINE.render(date=_date(updated.astimezone(dt.UTC).date()))
        )
    caveats = len(dict.fromkeys((*her2.caveats, *her2.discordance, *assessment.caveats)))
    if caveats:
        lines.append(texts.CAVEATS_LINE.render(count=caveats))
    if ctx.extras:
        lines.append(texts.EXTRA_CARDS_LINE.render(titles="; ".join(_title(s) for s in ctx.extras)))
    if ctx.evidence_page:
        lines.append(texts.EVIDENCE_PAGE_LINE.render())
    return lines


def _bullets(heading: texts.Template, lines: list[str]) -> str:
    return "\n".join([heading.render(), "", *lines]) if lines else ""


@dataclass(frozen=True, slots=True)
class _Fit:
    """How much of the basis a detail carries: label rows, the lesion list, the secondary basis lines."""

    rows: bool = True
    lesions: bool = True
    secondary: bool = True


FITS: Final = (_Fit(), _Fit(rows=False), _Fit(rows=False, lesions=False), _Fit(False, False, False))
"""Tried in order until the detail fits ``DETAIL_MAX_CHARS``; what a step leaves out is on the evidence
page."""

SECONDARY_LINES: Final = (
    texts.SOURCE_LINE,
    texts.SOURCE_UNDATED_LINE,
    texts.LAB_STATEMENT_LINE,
    texts.NO_SUV_LINE,
    texts.UNCONFIRMED_LINE,
    texts.EXTRA_CARDS_LINE,
)
"""Basis lines dropped last, when nothing else makes the detail fit (all of them are on the evidence page)."""


def _primary(line: str) -> bool:
    return not any(template.pattern.fullmatch(line) for template in SECONDARY_LINES)


def _assemble(scenario: CardScenario, assessment: Assessment, ctx: _Context, fit: _Fit) -> str:
    blocks = list(_paragraphs(scenario, assessment))
    if scenario in EXTRA_CARDS:
        lines = _extra_lines(scenario, assessment)
        if ctx.main_title is not None and scenario not in (S.DATA_UNAVAILABLE, S.PET_ANALYSIS_PENDING):
            lines.append(texts.MAIN_CARD_LINE.render(title=ctx.main_title))
        blocks.append("\n".join(lines))
    else:
        basis = _basis_lines(scenario, assessment, ctx, lesions=fit.lesions)
        basis += _footer_lines(scenario, assessment, ctx)
        show_rows = scenario not in NO_ROWS and not (
            ctx.pathology_on_order_card and scenario is not S.TDXD_ORDER
        )
        if show_rows and not fit.rows:
            basis.append(texts.ROWS_ELSEWHERE.render())
        if not fit.secondary:
            basis = [line for line in basis if _primary(line)]
        blocks.append(_bullets(texts.HEADING_BASIS, basis))
        if show_rows and fit.rows:
            blocks.append(_bullets(texts.HEADING_ROWS, row_lines(assessment)))
    body = "\n\n".join(b for b in blocks if b)
    summary = summary_for(scenario, assessment)
    if scenario in PET_SCENARIOS or "PET" in body or "PET" in summary:
        body += "\n\n" + texts.INVESTIGATIONAL_LINE.render()
    references = _references(scenario, assessment)
    if references:
        body += "\n\n" + _bullets(texts.HEADING_REFERENCES, [f"- {r.render()}" for r in references])
    version = assessment.rules_version or RULES_VERSION
    return body + "\n\n" + texts.VERSION_LINE.render(version=version)


def detail_for(scenario: CardScenario, assessment: Assessment, ctx: _Context) -> str:
    """The card detail within ``DETAIL_MAX_CHARS``: the full version when it fits, else the label rows, then
    the lesion list, then the secondary basis lines move to the evidence page (``FITS``)."""
    for fit in FITS:
        detail = _assemble(scenario, assessment, ctx, fit)
        if len(detail) <= DETAIL_MAX_CHARS:
            break
    return detail


# ------------------------------------------------------------------------------------------------------------
# Card


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
    scenario: CardScenario, assessment: Assessment, patient_id: str | None, new_id: Callable[[], str]
) -> list[Suggestion]:
    options: list[tuple[str, str]] = []
    rereview = scenario in texts.RE_REVIEW_SCENARIOS or (
        scenario is S.TDXD_ORDER and assessment.order_basis in texts.RE_REVIEW_ORDER_BASES
    )
    if rereview:
        options.append(texts.SUGGESTION_REREVIEW)
    if scenario in texts.TUMOUR_BOARD_SCENARIOS:
        options.append(texts.SUGGESTION_TUMOUR_BOARD)
    return [
        Suggestion(
            label=label,
            uuid=new_id(),
            actions=[Action(type="create", description=label, resource=_task(patient_id, code, label))],
        )
        for code, label in options
    ]


def _links(
    scenario: CardScenario, site: SiteConfig, pet: PetStudyFacts | None, evidence_url: str | None
) -> list[Link]:
    links = [Link(label=link.label, url=link.url, type="absolute") for link in site.links]
    if evidence_url and scenario not in NO_EVIDENCE_LINK:
        links.append(Link(label=EVIDENCE_LINK_LABEL, url=evidence_url, type="absolute"))
    if site.smart_app is not None and pet is not None and scenario in PET_SCENARIOS:
        links.append(Link(label=site.smart_app.label, url=site.smart_app.url, type="smart"))
    return links


def _context(scenario: CardScenario, assessment: Assessment, evidence_url: str | None) -> _Context:
    cards = assessment.cards
    mains = [s for s in cards if s not in EXTRA_CARDS]
    # an extra card refers to the card that holds its basis: the PET main card when (o) precedes it
    main_title = _title(mains[-1]) if mains else None
    return _Context(
        main_title=main_title,
        extras=tuple(s for s in cards if s in EXTRA_CARDS) if scenario not in EXTRA_CARDS else (),
        pathology_on_order_card=S.TDXD_ORDER in cards,
        evidence_page=bool(evidence_url) and scenario not in NO_EVIDENCE_LINK,
    )


def render_card(
    scenario: CardScenario,
    assessment: Assessment,
    site: SiteConfig,
    *,
    patient_id: str | None = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    evidence_url: str | None = None,
    source_url: str | None = None,
) -> Card:
    """Render one scenario as a validated ``Card`` (raises ``pydantic.ValidationError`` on a broken template).

    ``evidence_url`` (absolute, no PHI) links the evidence page; ``source_url`` goes in ``source.url`` (the
    clinical-basis page); the site's SMART app (``smart_app``) is linked from cards that rest on a PET study.
    """
    title = texts.TEXTS[scenario].title
    suggestions = _suggestions(scenario, assessment, patient_id, new_id) if site.suggestions else []
    return Card(
        uuid=new_id(),
        summary=summary_for(scenario, assessment),
        detail=detail_for(scenario, assessment, _context(scenario, assessment, evidence_url)),
        indicator=indicator_for(scenario, assessment),
        source=Source(
            label=f"{SERVICE_LABEL} (rules {assessment.rules_version or RULES_VERSION})",
            url=source_url,
            topic=Coding(system=TOPIC_SYSTEM, code=topic_code(scenario), display=title),
        ),
        suggestions=suggestions or None,
        selectionBehavior="any" if suggestions else None,
        overrideReasons=[
            OverrideReason(system=texts.OVERRIDE_REASON_SYSTEM, code=code, display=display)
            for code, display in texts.OVERRIDE_REASONS
        ],
        links=_links(scenario, site, assessment.pet, evidence_url) or None,
    )


def render_cards(
    assessment: Assessment,
    site: SiteConfig,
    *,
    patient_id: str | None = None,
    evidence_url: str | None = None,
    source_url: str | None = None,
) -> list[Card]:
    """Render every scenario of ``assessment.cards`` in order; a modifier is never rendered alone.

    ``evidence_url`` is the absolute evidence-page link of this answer (``cds_service.evidence``), added
    to every card with a clinical basis; ``source_url`` is every card's ``source.url``."""
    if all(s in MODIFIERS for s in assessment.cards):
        return []
    return [
        render_card(
            s, assessment, site, patient_id=patient_id, evidence_url=evidence_url, source_url=source_url
        )
        for s in assessment.cards
    ]
