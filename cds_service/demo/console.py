"""The demo console at ``/demo`` (registered only in demo mode): an EHR stand-in for trying the service.

Pick a synthetic patient, fire ``patient-view`` or ``order-sign`` (with a draft order for
fam-trastuzumab deruxtecan), and see the cards as an EHR shows them: indicator colour, summary, the detail
markdown rendered to HTML, source and topic, links (the evidence page among them) and the override reasons.

The browser plays the EHR: ``static/demo.js`` fetches the hook request built here (``/demo/request.json``),
posts it to the real CDS Hooks endpoint exactly as a client would, and posts the answer to ``/demo/cards``,
which renders the cards server-side. Card detail is GitHub-flavoured markdown from the service; it is
rendered with markdown-it-py in CommonMark mode with raw HTML disabled (tags are escaped, ``javascript:`` and
similar link targets are refused), so nothing in a card can inject markup or script.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, render_template, request
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic import ValidationError

from cds_service.demo.data import ALL_DEMO_PATIENTS, DemoAnalysis, DemoPatient
from cds_service.hooks.models import Card, Hook
from cds_service.hooks.registry import ORDER_SIGN_ID, PATIENT_VIEW_ID
from rules.display import scenario_for_topic

bp = Blueprint("demo_console", __name__)

DEMO_USER: Final = "Practitioner/demo-clinician"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
TDXD_RXNORM: Final = "2267576"
"""fam-trastuzumab deruxtecan-nxki (one of the codes ``cds_service.hooks.orders`` recognises)."""

HOOK_SERVICES: Final = {Hook.PATIENT_VIEW: PATIENT_VIEW_ID, Hook.ORDER_SIGN: ORDER_SIGN_ID}

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_SWITCH_LABELS: Final = {
    DemoAnalysis.HELD_BACK: "demo behaviour: PET analysis deliberately held back",
    DemoAnalysis.PACS_UNREACHABLE: "demo behaviour: PACS marked unreachable",
}

_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'"
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientChoice:
    """One row of the console's patient list."""

    id: str
    name: str
    title: str
    scenarios: tuple[str, ...]
    switch: str | None


def patient_choices(patients: Sequence[DemoPatient] = ALL_DEMO_PATIENTS) -> list[PatientChoice]:
    """The console's patient list: name, one-line description, expected card topics, demo switch if any."""
    out = []
    for p in patients:
        switch = _SWITCH_LABELS.get(p.pet.analysis) if p.pet is not None else None
        title = p.title or (f"Pathology only: {p.scenarios[0]}" if p.scenarios else "Pathology only: no card")
        out.append(
            PatientChoice(
                id=p.id, name=f"{p.given} {p.family}", title=title, scenarios=p.scenarios, switch=switch
            )
        )
    return out


def draft_tdxd_order(patient_id: str) -> dict[str, Any]:
    """A draft MedicationRequest for T-DXd, as an EHR sends it in ``order-sign`` ``draftOrders``."""
    return {
        "resourceType": "MedicationRequest",
        "id": "demo-draft-tdxd",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{patient_id}"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": TDXD_RXNORM, "display": "fam-trastuzumab deruxtecan-nxki"}],
            "text": "fam-trastuzumab deruxtecan-nxki (Enhertu)",
        },
        "dosageInstruction": [{"text": "5.4 mg/kg intravenously every 3 weeks"}],
    }


def hook_request(hook: Hook, patient_id: str) -> dict[str, Any]:
    """The CDS Hooks request the console sends (no prefetch: the demo fills it from its charts)."""
    context: dict[str, Any] = {"userId": DEMO_USER, "patientId": patient_id}
    if hook is Hook.ORDER_SIGN:
        context["draftOrders"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft_tdxd_order(patient_id)}],
        }
    return {"hook": hook.value, "hookInstance": str(uuid.uuid4()), "context": context}


def render_markdown(text: str | None) -> Markup:
    """Card detail markdown as HTML, raw HTML escaped and unsafe link targets refused."""
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704  # markdown-it with html disabled escapes input


def _safe_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    return url if not parts.scheme and url.startswith("/") and not url.startswith("//") else None


def _with_page(html: str, status: int = 200) -> Response:
    return Response(html, status=status, mimetype="text/html", headers=_HEADERS)


@bp.get("/demo")
def console() -> Response:
    """The console page."""
    html = render_template(
        "demo.html",
        patients=patient_choices(),
        hooks=[(h.value, s) for h, s in HOOK_SERVICES.items()],
    )
    return _with_page(html)


@bp.get("/demo/request.json")
def request_json() -> Response:
    """The hook request for ``?patient=<demo id>&hook=patient-view|order-sign`` and the service path."""
    patient_id = request.args.get("patient", "")
    try:
        hook = Hook(request.args.get("hook", Hook.PATIENT_VIEW.value))
    except ValueError:
        abort(400)
    if hook not in HOOK_SERVICES or patient_id not in {p.id for p in ALL_DEMO_PATIENTS}:
        abort(400)
    return jsonify(
        {"service": f"/cds-services/{HOOK_SERVICES[hook]}", "body": hook_request(hook, patient_id)}
    )


def _scenario_name(card: Card) -> str:
    """The scenario a card stands for (``her2-low-pet-avid``), from its alphanumeric topic code."""
    code = card.source.topic.code if card.source.topic is not None else ""
    scenario = scenario_for_topic(code)
    return scenario.value if scenario is not None else code


@bp.post("/demo/cards")
def cards_html() -> Response:
    """Render a CDS Hooks response (``{"cards": [...]}``) as an EHR shows it; 400 for anything else."""
    body = request.get_json(silent=True)
    raw = body.get("cards") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        abort(400)
    try:
        cards = [Card.model_validate(item) for item in raw]
    except ValidationError:
        abort(400)
    views = [
        {
            "card": card,
            "scenario": _scenario_name(card),
            "detail": render_markdown(card.detail),
            "links": [(link.label, url) for link in card.links or () if (url := _safe_url(link.url))],
        }
        for card in cards
    ]
    return _with_page(render_template("demo_cards.html", cards=views))
