"""Evidence snapshot (JSON) → what the evidence page template shows: formatted values, each with its source.

Pure and tolerant: a snapshot may miss any part (no PET, no pathology, a lesion without SUVs) or carry values
of an unexpected type; such values render as "not available" rather than failing the page. Numbers are
formatted here, once (SUVs to two decimals in g/ml, volumes in ml to one decimal, intervals in days), so the
template only places text.

The timeline places the pathology specimens (collection dates) and the PET (injection, acquisition) on one
date axis drawn as inline SVG, with the ±``PAIRING_WINDOW_DAYS`` window around the PET acquisition shaded
(Yeh 2025 paired studies within two months), and lists the same events below it with their sources.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from cds_service.hooks import card_texts
from rules.display import category_description, topic_code
from rules.domain import CardScenario, TdxdCategory, Tracer
from rules.indications import LABEL_ROWS
from rules.parameters import PAIRING_WINDOW_DAYS, RULES_VERSION, UPTAKE_WINDOWS_H

NOT_AVAILABLE: Final = "not available"

ORIGIN_LABELS: Final = {
    "sr": "Reader (structured report)",
    "seg": "Segmentation (SEG)",
    "auto": "Automated, unconfirmed",
}
CALL_LABELS: Final = {"avid": "Avid", "non_avid": "Not avid", "not_assessed": "Not assessed"}
SITE_LABELS: Final = {"hepatic": "Liver", "non_hepatic": "Outside the liver", "unknown": "Unknown"}

SVG_WIDTH: Final = 760
SVG_HEIGHT: Final = 128
_AXIS_Y: Final = 80
_PAD_X: Final = 36
_MARKER_GAP: Final = 20.0


def _text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key)
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def fmt(value: float | None, digits: int = 2, unit: str = "") -> str:
    """``value`` with ``digits`` decimals and a unit, or "not available"."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:.{digits}f}{' ' + unit if unit else ''}"


def fmt_datetime(text: str | None) -> str:
    """An ISO date or datetime as ``YYYY-MM-DD HH:MM`` (date only when no time), or "not available"."""
    if text is None:
        return NOT_AVAILABLE
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if len(text) <= 10:
        return moment.date().isoformat()
    zone = " UTC" if moment.utcoffset() == dt.timedelta(0) else ""
    return moment.strftime("%Y-%m-%d %H:%M") + zone


@dataclass(frozen=True, slots=True, kw_only=True)
class LesionRow:
    id: str
    site: str
    suv_max: str
    suv_peak: str
    suv_mean: str
    volume: str
    called_by: str
    call: str
    call_class: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReferenceRow:
    region: str
    suv_mean: str
    method: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PetView:
    tracer: str
    injected: str
    acquired: str
    uptake: str
    uptake_window: str
    series_source: str
    lesions: tuple[LesionRow, ...]
    references: tuple[ReferenceRow, ...]
    caveats: tuple[str, ...]
    series_uid: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PathologyRow:
    specimen: str
    collected: str
    site: str
    ihc: str
    assay: str
    staining: str
    ish: str
    category: str
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionView:
    name: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelRowView:
    row: str
    description: str
    status: str
    criteria: tuple[CriterionView, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineEvent:
    number: int
    date: str
    label: str
    kind: str
    source: str
    x: float
    y: float = _AXIS_Y


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    events: tuple[TimelineEvent, ...]
    ticks: tuple[Tick, ...]
    window: tuple[float, float] | None
    width: int = SVG_WIDTH
    height: int = SVG_HEIGHT
    axis_y: int = _AXIS_Y


@dataclass(frozen=True, slots=True, kw_only=True)
class CardTopic:
    code: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PageModel:
    patient_ref: str
    cards: tuple[CardTopic, ...]
    rules_version: str
    pet: PetView | None
    pathology: tuple[PathologyRow, ...]
    gap: str
    gap_outside: bool
    pairing_window_days: int
    timeline: Timeline | None
    evidence: tuple[str, ...]
    investigational: str
    caveats: tuple[str, ...] = ()
    label_rows: tuple[LabelRowView, ...] = ()
    site: str = NOT_AVAILABLE


def _lesion_row(item: Mapping[str, Any]) -> LesionRow:
    origin = _text(item, "origin") or "auto"
    call = _text(item, "readerCall") or "not_assessed"
    if origin == "auto":
        call = "not_assessed"  # automated candidates are never avid on their own (clinical-logic.md §13)
    site = _text(item, "siteText") or SITE_LABELS.get(_text(item, "site") or "unknown", NOT_AVAILABLE)
    return LesionRow(
        id=_text(item, "id") or NOT_AVAILABLE,
        site=site,
        suv_max=fmt(_number(item, "suvMax")),
        suv_peak=fmt(_number(item, "suvPeak")),
        suv_mean=fmt(_number(item, "suvMean")),
        volume=fmt(_number(item, "volumeMl"), 1, "ml"),
        called_by=ORIGIN_LABELS.get(origin, origin),
        call=CALL_LABELS.get(call, call),
        call_class={"avid": "call-avid", "non_avid": "call-nonavid"}.get(call, "call-unassessed"),
        source=_text(item, "source") or NOT_AVAILABLE,
    )


def _references(refs: Mapping[str, Any]) -> tuple[ReferenceRow, ...]:
    return (
        ReferenceRow(
            region="Blood pool",
            suv_mean=fmt(_number(refs, "bloodPoolSuvMean")),
            method=_text(refs, "bloodPoolMethod") or NOT_AVAILABLE,
        ),
        ReferenceRow(
            region="Liver",
            suv_mean=fmt(_number(refs, "liverSuvMean")),
            method=_text(refs, "liverMethod") or NOT_AVAILABLE,
        ),
    )


def _window_text(tracer: str | None) -> str:
    try:
        window = UPTAKE_WINDOWS_H.get(Tracer(tracer)) if tracer else None
    except ValueError:
        window = None
    if window is None:
        return "no usual window on record for this tracer"
    low, high = window
    return f"usual window {low:g}–{high:g} h ({low / 24:g}–{high / 24:g} d)"


def pet_view(pet: Mapping[str, Any]) -> PetView:
    """The PET part of the page."""
    tracer = _text(pet, "tracer")
    uptake = _number(pet, "uptakeHours")
    return PetView(
        tracer=tracer or NOT_AVAILABLE,
        injected=fmt_datetime(_text(pet, "injectedAt")),
        acquired=fmt_datetime(_text(pet, "acquiredAt")),
        uptake=NOT_AVAILABLE if uptake is None else f"{uptake:.1f} h ({uptake / 24:.1f} d)",
        uptake_window=_window_text(tracer),
        series_source=_text(pet, "source") or NOT_AVAILABLE,
        lesions=tuple(_lesion_row(item) for item in _items(pet, "lesions")),
        references=_references(_mapping(pet, "references")),
        caveats=tuple(c for c in pet.get("caveats") or () if isinstance(c, str)),
        series_uid=_text(pet, "seriesInstanceUid"),
    )


def _category(value: str | None) -> str:
    try:
        return category_description(TdxdCategory(value)) if value else NOT_AVAILABLE
    except ValueError:
        return value or NOT_AVAILABLE


def pathology_row(item: Mapping[str, Any]) -> PathologyRow:
    site = _text(item, "site") or "unknown"
    detail = _text(item, "siteText")
    return PathologyRow(
        specimen=_text(item, "specimenId") or NOT_AVAILABLE,
        collected=_text(item, "collected") or NOT_AVAILABLE,
        site=f"{site} ({detail})" if detail else site,
        ihc=_text(item, "ihcScore") or "not stated",
        assay=_text(item, "assay") or "not stated",
        staining=_text(item, "staining") or "not stated",
        ish=_text(item, "ish") or "not done or not stated",
        category=_category(_text(item, "category")),
        source=_text(item, "source") or NOT_AVAILABLE,
    )


def _scale(start: dt.date, end: dt.date) -> tuple[float, float]:
    span = max((end - start).days, 1)
    return (SVG_WIDTH - 2 * _PAD_X) / span, float(_PAD_X)


def _ticks(start: dt.date, end: dt.date, x_of: Any) -> tuple[Tick, ...]:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    step = max(1, math.ceil(months / 6))
    ticks: list[Tick] = []
    year, month = start.year, start.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = dt.date(year, month, 1)
        if day > end:
            break
        if (month - 1) % step == 0:
            ticks.append(Tick(x=x_of(day), label=day.strftime("%b %Y")))
    return tuple(ticks)


def timeline(pet: Mapping[str, Any] | None, pathology: Sequence[Mapping[str, Any]]) -> Timeline | None:
    """Specimen collection dates and PET dates on one axis; None when no event has a usable date."""
    raw: list[tuple[dt.date, str, str, str]] = []
    for item in pathology:
        when = _date(_text(item, "collected"))
        if when is not None:
            row = pathology_row(item)
            label = f"Specimen {row.specimen} ({row.site}): IHC {row.ihc}; {row.category}"
            raw.append((when, label, "pathology", row.source))
    acquired = None
    if pet is not None:
        injected = _date(_text(pet, "injectedAt"))
        acquired = _date(_text(pet, "acquiredAt"))
        tracer = _text(pet, "tracer") or "HER2 PET"
        source = _text(pet, "source") or NOT_AVAILABLE
        if injected is not None:
            raw.append((injected, f"{tracer} injected", "injection", source))
        if acquired is not None:
            raw.append((acquired, f"HER2 PET acquired ({tracer})", "pet", source))
    if not raw:
        return None
    raw.sort(key=lambda e: (e[0], e[2]))
    dates = [e[0] for e in raw]
    window_days = dt.timedelta(days=PAIRING_WINDOW_DAYS)
    if acquired is not None:
        dates += [acquired - window_days, acquired + window_days]
    start, end = min(dates) - dt.timedelta(days=10), max(dates) + dt.timedelta(days=10)
    per_day, offset = _scale(start, end)

    def x_of(day: dt.date) -> float:
        return round(offset + (day - start).days * per_day, 1)

    events: list[TimelineEvent] = []
    for i, (d, label, kind, source) in enumerate(raw):
        x = x_of(d)
        # markers closer than their width are lifted above the axis, one step per neighbour, to stay legible
        crowded = events and x - events[-1].x < _MARKER_GAP and events[-1].y > _AXIS_Y - 3 * _MARKER_GAP
        y = events[-1].y - _MARKER_GAP if crowded else float(_AXIS_Y)
        events.append(
            TimelineEvent(number=i + 1, date=d.isoformat(), label=label, kind=kind, source=source, x=x, y=y)
        )
    band = (x_of(acquired - window_days), x_of(acquired + window_days)) if acquired is not None else None
    return Timeline(events=tuple(events), ticks=_ticks(start, end, x_of), window=band)


def _topic(code: str) -> CardTopic:
    try:
        scenario = CardScenario(code)
    except ValueError:
        return CardTopic(code=code, title=code)
    return CardTopic(code=scenario.value, title=card_texts.TEXTS[scenario].title)


STATUS_WORDS: Final = {"met": "criteria on file met", "not_met": "not met", "unknown": "not determinable"}
"""How a label row or criterion status reads on the page (the cards' words)."""


def _label_row(item: Mapping[str, Any]) -> LabelRowView:
    status = _text(item, "status") or "unknown"
    return LabelRowView(
        row=_text(item, "row") or NOT_AVAILABLE,
        description=_text(item, "description") or NOT_AVAILABLE,
        status=STATUS_WORDS.get(status, status),
        criteria=tuple(
            CriterionView(
                name=_text(c, "name") or NOT_AVAILABLE,
                status=STATUS_WORDS.get(_text(c, "status") or "unknown", NOT_AVAILABLE),
                reason=_text(c, "reason") or NOT_AVAILABLE,
            )
            for c in _items(item, "criteria")
        ),
        notes=tuple(n for n in item.get("notes") or () if isinstance(n, str)),
    )


def _evidence_line(item: Mapping[str, Any]) -> str | None:
    statement = _text(item, "statement")
    if statement is None:
        return None
    raw = item.get("value")
    if isinstance(raw, float):
        raw = f"{raw:.2f}"
    value = "" if raw is None or isinstance(raw, dict | list) else f": {raw}"
    unit = _text(item, "unit")
    source = _text(item, "source") or "source not recorded"
    return f"{statement.rstrip('.')}{value}{' ' + unit if unit and value else ''} (source: {source})"


def page_model(payload: Mapping[str, Any]) -> PageModel:
    """Everything the evidence template shows, from a stored snapshot."""
    pet_raw = payload.get("pet")
    pet = pet_raw if isinstance(pet_raw, Mapping) else None
    pathology = _items(payload, "pathology")
    gap = _number(payload, "pairingGapDays")
    cards = payload.get("cards")
    evidence = (_evidence_line(item) for item in _items(payload, "evidence"))
    return PageModel(
        patient_ref=_text(payload, "patientRef") or NOT_AVAILABLE,
        cards=tuple(_topic(c) for c in cards if isinstance(c, str)) if isinstance(cards, list) else (),
        rules_version=_text(payload, "rulesVersion") or RULES_VERSION,
        pet=pet_view(pet) if pet is not None else None,
        pathology=tuple(pathology_row(item) for item in pathology),
        gap=NOT_AVAILABLE if gap is None else f"{abs(gap):.0f} days",
        gap_outside=gap is not None and abs(gap) > PAIRING_WINDOW_DAYS,
        pairing_window_days=PAIRING_WINDOW_DAYS,
        timeline=timeline(pet, pathology),
        evidence=tuple(line for line in evidence if line is not None),
        investigational=card_texts.INVESTIGATIONAL,
        caveats=tuple(c for c in payload.get("caveats") or () if isinstance(c, str)),
        label_rows=tuple(_label_row(item) for item in _items(payload, "labelRows")),
        site=_text(_mapping(payload, "site"), "explanation") or NOT_AVAILABLE,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class BasisRow:
    row: str
    description: str
    basis: str
    criteria: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BasisCard:
    code: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClinicalBasisPage:
    rules_version: str
    rows: tuple[BasisRow, ...]
    cards: tuple[BasisCard, ...]
    references: tuple[str, ...]
    investigational: str


def clinical_basis_model() -> ClinicalBasisPage:
    """The public clinical-basis page: label rows with their criteria, each card's reviewed wording, and the
    complete references (no patient data)."""
    cards = [
        BasisCard(
            code=topic_code(scenario),
            title=text.title,
            summary=text.summary.text,
            paragraphs=tuple(p.text for p in text.paragraphs),
        )
        for scenario, text in card_texts.TEXTS.items()
        if scenario is not CardScenario.TDXD_ORDER
    ]
    cards += [
        BasisCard(
            code=topic_code(CardScenario.TDXD_ORDER),
            title=f"{card_texts.TEXTS[CardScenario.TDXD_ORDER].title} ({basis.value.replace('_', ' ')})",
            summary=order.summary.text,
            paragraphs=tuple(p.text for p in order.paragraphs),
        )
        for basis, order in card_texts.ORDER_TEXTS.items()
    ]
    return ClinicalBasisPage(
        rules_version=RULES_VERSION,
        rows=tuple(
            BasisRow(
                row=row.row,
                description=row.description,
                basis=row.basis,
                criteria=tuple(c.name for c in row.criteria),
            )
            for row in LABEL_ROWS
        ),
        cards=tuple(cards),
        references=tuple(r.text for r in card_texts.REFERENCES),
        investigational=card_texts.INVESTIGATIONAL,
    )
