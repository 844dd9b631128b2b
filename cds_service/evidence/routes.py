"""The evidence page a card links to: what the card rests on, shown to a clinician (issue 5 item 5).

A card carries one absolute link, ``{HER2CDS_PUBLIC_URL}/evidence/{token}``. The token is a short-lived signed
value (itsdangerous ``URLSafeTimedSerializer``, HMAC-SHA1 over the payload and a timestamp, keyed by
``HER2CDS_LINK_SECRET``) whose only content is the opaque, random id of an evidence snapshot stored in the
database (``Storage.save_evidence``). So the URL holds no PHI, every replica can serve it (shared database and
secret), and it stops working after ``HER2CDS_EVIDENCE_TTL_S`` seconds (default one hour) both by the token's
age and by the snapshot's expiry. An expired or forged token gives 403, an unknown or expired snapshot 404,
each as a page that says nothing about why.

Routes: ``GET /evidence/<token>`` (server-rendered HTML, no JavaScript, no external assets) and
``GET /evidence/<token>/mip.png`` (the stored MIP picture of the PET series, ``Storage.get_picture``).

The snapshot is an ``EvidencePayload`` (JSON). ``build_payload`` makes one from the domain objects a hook
already holds; the page renders whatever parts are present and says "not available" for the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final, NotRequired, TypedDict, cast

from flask import Blueprint, Response, abort, current_app, render_template
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cds_service.hooks.registry import EXTENSION_KEY, Components
from rules.domain import (
    Assessment,
    Evidence,
    IhcResult,
    IndicationCheck,
    IshResult,
    PatientHer2,
    PetLesion,
    PetStudyFacts,
    SourceRef,
)

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage

__all__ = [
    "EvidencePayload",
    "LesionEntry",
    "PathologyEntry",
    "PetEntry",
    "ReferenceEntry",
    "bp",
    "build_payload",
    "evidence_link",
    "link_url",
    "read_token",
    "sign_token",
]

TOKEN_SALT: Final = "her2cds.evidence-link.v1"  # noqa: S105  # a public namespace, not a secret
"""Namespaces the signature: a token signed for another purpose with the same secret never verifies here."""

# ------------------------------------------------------------------------------------------------------------
# The snapshot (JSON); every member optional so that the page tolerates partial payloads.


class LesionEntry(TypedDict, total=False):
    """One PET lesion. SUVs are body-weight SUV (g/ml); ``volumeMl`` in millilitres.

    ``origin``: ``sr`` (reader's TID 1500 report), ``seg`` (segmentation), ``auto`` (automated candidate,
    unconfirmed). ``readerCall``: ``avid``, ``non_avid``, ``not_assessed``. ``site``: ``hepatic``,
    ``non_hepatic``, ``unknown``; ``siteText`` the reader's finding site. ``source``: the DICOM reference.
    """

    id: str
    site: str
    siteText: str | None
    origin: str
    readerCall: str
    suvMax: float | None
    suvPeak: float | None
    suvMean: float | None
    volumeMl: float | None
    source: str | None


class ReferenceEntry(TypedDict, total=False):
    """Reference-region SUVmean values (g/ml) and how each was obtained (e.g. ``reader SR``)."""

    bloodPoolSuvMean: float | None
    bloodPoolMethod: str | None
    liverSuvMean: float | None
    liverMethod: str | None


class PetEntry(TypedDict, total=False):
    """The PET facts of one series. Datetimes are ISO 8601 text; ``uptakeHours`` is acquisition minus
    injection in hours; ``source`` the DICOM reference ``study/<uid>/series/<uid>``."""

    studyInstanceUid: str
    seriesInstanceUid: str
    tracer: str
    injectedAt: str | None
    acquiredAt: str | None
    uptakeHours: float | None
    suvAvailable: bool
    lesions: list[LesionEntry]
    references: ReferenceEntry
    caveats: list[str]
    source: str | None


class PathologyEntry(TypedDict, total=False):
    """One HER2 test occasion (one specimen). ``collected`` ISO date; ``site`` ``primary``/``metastasis``/
    ``unknown``; ``ihcScore`` ``0``/``1+``/``2+``/``3+`` (with subtype when stated); ``category`` the
    T-DXd-relevant class (``TdxdCategory`` value); ``source`` the FHIR reference the score came from."""

    specimenId: str | None
    collected: str | None
    site: str
    siteText: str | None
    ihcScore: str | None
    assay: str | None
    staining: str | None
    ish: str | None
    category: str
    source: str | None


class CriterionEntry(TypedDict, total=False):
    """One criterion of a label row: ``status`` ``met``/``not_met``/``unknown`` and the reason."""

    name: str
    status: str
    reason: str


class LabelRowEntry(TypedDict, total=False):
    """One FDA label row with the label's wording, its status and every criterion."""

    row: str
    description: str
    status: str
    criteria: list[CriterionEntry]
    notes: list[str]


class SiteEntry(TypedDict, total=False):
    """The biopsied site against the PET read (``rules.pairing.compare_sites``)."""

    outcome: str
    explanation: str


class EvidenceLine(TypedDict, total=False):
    """One line of the rules' evidence trail: statement, value, unit and where the value came from."""

    statement: str
    value: str | float | None
    unit: str | None
    source: str | None


class EvidencePayload(TypedDict):
    """What one evidence page shows (stored as JSON by ``Storage.save_evidence``).

    ``patientRef`` is the opaque EHR patient id (shown on the page, never in the URL); ``pet`` None when the
    patient has no analysed HER2 PET; ``pairingGapDays`` the PET–specimen interval in days; ``cards`` the card
    scenarios (``urn:her2-pet-cds:card-scenario`` names); ``evidence`` the rules' evidence lines; ``caveats``,
    ``labelRows`` and ``site`` the parts of the basis that cards leave to this page (every caveat, each label
    row with every criterion, the biopsied site against the PET read).
    """

    patientRef: str | None
    pet: NotRequired[PetEntry | None]
    pathology: NotRequired[list[PathologyEntry]]
    pairingGapDays: NotRequired[int | None]
    cards: NotRequired[list[str]]
    rulesVersion: NotRequired[str | None]
    evidence: NotRequired[list[EvidenceLine]]
    caveats: NotRequired[list[str]]
    labelRows: NotRequired[list[LabelRowEntry]]
    site: NotRequired[SiteEntry | None]


def _ref(source: SourceRef | None) -> str | None:
    return source.reference if source is not None else None


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _lesion(lesion: PetLesion) -> LesionEntry:
    return LesionEntry(
        id=lesion.lesion_id,
        site=lesion.site.value,
        siteText=lesion.site_text,
        origin=lesion.origin.value,
        readerCall=lesion.reader_call.value,
        suvMax=lesion.suv_max,
        suvPeak=lesion.suv_peak,
        suvMean=lesion.suv_mean,
        volumeMl=lesion.volume_ml,
        source=_ref(lesion.source),
    )


def pet_entry(pet: PetStudyFacts) -> PetEntry:
    """The JSON form of ``pet`` for the evidence snapshot."""
    refs = pet.references
    return PetEntry(
        studyInstanceUid=pet.study,
        seriesInstanceUid=pet.series,
        tracer=pet.tracer.value,
        injectedAt=_iso(pet.injected_at),
        acquiredAt=_iso(pet.acquired_at),
        uptakeHours=pet.uptake_h,
        suvAvailable=pet.suv_available,
        lesions=[_lesion(lesion) for lesion in pet.lesions],
        references=ReferenceEntry(
            bloodPoolSuvMean=refs.blood_pool_suvmean,
            bloodPoolMethod=refs.blood_pool_method,
            liverSuvMean=refs.liver_suvmean,
            liverMethod=refs.liver_method,
        ),
        caveats=list(pet.caveats),
        source=_ref(pet.source),
    )


def pathology_entries(her2: PatientHer2) -> list[PathologyEntry]:
    """One entry per HER2 test occasion, newest first, as the rules ordered them."""
    entries: list[PathologyEntry] = []
    for occasion in her2.occasions:
        result = occasion.result
        ihc = result.ihc
        score = None
        if ihc is not None and ihc.score is not None:
            score = ihc.score.value
            if ihc.zero_subtype.value != "unspecified" and score == "0":
                score += f" ({ihc.zero_subtype.value})"
        ish = None
        if result.ish is not None:
            ish = "pending" if result.ish.pending else _ish_text(result.ish, occasion.ish_group)
        entries.append(
            PathologyEntry(
                specimenId=result.specimen.id,
                collected=_iso(result.specimen.collected),
                site=result.specimen.site.value,
                siteText=result.specimen.description,
                ihcScore=score,
                assay=ihc.assay if ihc is not None else None,
                staining=_staining_text(ihc),
                ish=ish,
                category=occasion.category.value,
                source=_ref(result.source),
            )
        )
    return entries


def _ish_text(ish: IshResult, group: int | None) -> str:
    parts = [f"{ish.probe.value}-probe"]
    for label, value in (
        ("ratio", ish.ratio),
        ("HER2/cell", ish.her2_per_cell),
        ("CEP17/cell", ish.cep17_per_cell),
    ):
        if value is not None:
            parts.append(f"{label} {value:g}")
    if group is not None:
        parts.append(f"group {group}")
    return ", ".join(parts)


def _staining_text(ihc: IhcResult | None) -> str | None:
    pct = ihc.percentages if ihc is not None else None
    if pct is None:
        return None
    parts = [
        f"{label} {value:g} %"
        for label, value in (
            ("complete intense", pct.complete_intense),
            ("complete", pct.complete_any),
            ("incomplete faint", pct.incomplete_faint),
        )
        if value is not None
    ]
    if pct.incomplete_moderate_intense:
        parts.append("incomplete moderate-to-intense staining present")
    return ", ".join(parts) or None


def label_row_entries(checks: Iterable[IndicationCheck]) -> list[LabelRowEntry]:
    """Every label row with its status and each criterion's verdict and reason."""
    entries: list[LabelRowEntry] = []
    for check in checks:
        reasons = {c.reason for c in check.criteria}
        entries.append(
            LabelRowEntry(
                row=check.row,
                description=check.description,
                status=check.status.value,
                criteria=[
                    CriterionEntry(name=c.name, status=c.status.value, reason=c.reason)
                    for c in check.criteria
                ],
                notes=[r for r in check.reasons if r not in reasons],
            )
        )
    return entries


def _evidence_lines(items: Iterable[Evidence]) -> list[EvidenceLine]:
    return [
        EvidenceLine(
            statement=item.statement,
            value=item.value,
            unit=item.unit,
            source=_ref(item.source),
        )
        for item in items
    ]


def build_payload(patient_ref: str | None, assessment: Assessment) -> EvidencePayload:
    """The snapshot of one hook answer: PET facts, pathology occasions, interval, card topics, evidence."""
    pet = assessment.pet
    return EvidencePayload(
        patientRef=patient_ref,
        pet=pet_entry(pet) if pet is not None else None,
        pathology=pathology_entries(assessment.her2),
        pairingGapDays=assessment.pairing_gap_days,
        cards=[t.value for t in assessment.cards],
        rulesVersion=assessment.rules_version or None,
        evidence=_evidence_lines(assessment.evidence),
        caveats=list(
            dict.fromkeys((*assessment.her2.caveats, *assessment.her2.discordance, *assessment.caveats))
        ),
        labelRows=label_row_entries(assessment.indications),
        site=(
            SiteEntry(outcome=assessment.site.outcome.value, explanation=assessment.site.explanation)
            if assessment.site is not None
            else None
        ),
    )


# ------------------------------------------------------------------------------------------------------------
# Signed links


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.link_signing_key, salt=TOKEN_SALT)


def sign_token(settings: Settings, snapshot_id: str) -> str:
    """A URL-safe token carrying ``snapshot_id`` and the signing time, signed with the link secret."""
    return _serializer(settings).dumps(snapshot_id)


def read_token(settings: Settings, token: str, *, now: dt.datetime | None = None) -> str | None:
    """The snapshot id in ``token``; None when forged, malformed or older than ``settings.evidence_ttl_s``.

    ``now`` (timezone-aware) replaces the clock in tests.
    """
    serializer = _serializer(settings)
    try:
        if now is None:
            value = serializer.loads(token, max_age=settings.evidence_ttl_s)
        else:
            value, signed_at = serializer.loads(token, return_timestamp=True)
            age_s = (now - signed_at).total_seconds()
            if age_s > settings.evidence_ttl_s or age_s < -60:
                return None
    except BadSignature:  # also SignatureExpired, a subclass
        return None
    return value if isinstance(value, str) and value else None


def link_url(settings: Settings, snapshot_id: str) -> str:
    """The absolute evidence-page URL opening snapshot ``snapshot_id``,
    ``{HER2CDS_PUBLIC_URL}/evidence/{token}`` (root-relative with no public URL configured, in development).
    Nothing in it identifies the patient."""
    return f"{settings.base_url}/evidence/{sign_token(settings, snapshot_id)}"


def evidence_link(storage: Storage, settings: Settings, payload: EvidencePayload | dict[str, Any]) -> str:
    """Store ``payload`` at once for ``settings.evidence_ttl_s`` seconds and return its evidence-page URL.

    A hook does not use this: it makes the snapshot with ``Storage.new_evidence`` and writes it in the call's
    one transaction (``Storage.record_call``).
    """
    snapshot_id = storage.save_evidence(dict(payload), settings.evidence_ttl_s)
    return link_url(settings, snapshot_id)


# ------------------------------------------------------------------------------------------------------------
# Routes

bp = Blueprint("evidence", __name__)


def capability_page_headers(*, form_action: str = "'none'") -> dict[str, str]:
    """Headers of a page opened by a capability link (evidence, feedback report, alert worklist).

    Clinical content: never cached or indexed; the token never leaks through a Referer; no inline code; never
    shown inside another site's frame (``frame-ancestors 'none'``, and ``X-Frame-Options`` for older
    browsers), so a page holding the link cannot overlay or capture it. ``form_action`` is ``'self'`` for a
    page that posts its own forms.
    """
    return {
        "Cache-Control": "no-store, private",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'none'; img-src 'self'; style-src 'self'; base-uri 'none'; "
            f"form-action {form_action}; frame-ancestors 'none'"
        ),
    }


_PAGE_HEADERS: Final = capability_page_headers()


def _components() -> Components:
    return cast(Components, current_app.extensions[EXTENSION_KEY])


def _denied(status: int) -> Response:
    html = render_template("evidence_error.html", status=status)
    return Response(html, status=status, mimetype="text/html", headers=_PAGE_HEADERS)


def _snapshot(token: str) -> dict[str, Any] | Response:
    parts = _components()
    snapshot_id = read_token(parts.settings, token)
    if snapshot_id is None:
        return _denied(403)
    if parts.storage is None:
        return _denied(404)
    payload = parts.storage.get_evidence(snapshot_id)
    return payload if payload is not None else _denied(404)


@bp.get("/evidence/<token>")
def evidence_page(token: str) -> Response:
    """The evidence page (HTML); 403 for a forged or expired link, 404 for a vanished snapshot."""
    from cds_service.evidence.view import page_model

    found = _snapshot(token)
    if isinstance(found, Response):
        return found
    page = page_model(found)
    storage = _components().storage
    has_picture = bool(
        page.pet and page.pet.series_uid and storage and storage.get_picture(page.pet.series_uid) is not None
    )
    html = render_template("evidence.html", page=page, token=token, has_picture=has_picture)
    return Response(html, mimetype="text/html", headers=_PAGE_HEADERS)


@bp.get("/evidence/<token>/mip.png")
def evidence_picture(token: str) -> Response:
    """The stored MIP PNG of the snapshot's PET series; 404 when there is none."""
    found = _snapshot(token)
    if isinstance(found, Response):
        return found
    pet = found.get("pet")
    series_uid = pet.get("seriesInstanceUid") if isinstance(pet, dict) else None
    storage = _components().storage
    png = storage.get_picture(series_uid) if storage is not None and isinstance(series_uid, str) else None
    if png is None:
        abort(404)
    headers = {k: v for k, v in _PAGE_HEADERS.items() if k != "Content-Security-Policy"}
    return Response(png, mimetype="image/png", headers=headers)


@bp.get("/clinical-basis")
def clinical_basis() -> Response:
    """What every card rests on (every card's ``source.url``): the reviewed card wording per scenario, the
    label rows and their criteria, and the complete references. Public: it holds no patient data."""
    from cds_service.evidence.view import clinical_basis_model

    html = render_template("clinical_basis.html", page=clinical_basis_model())
    headers = {**_PAGE_HEADERS, "Cache-Control": "public, max-age=3600"}
    headers.pop("X-Robots-Tag")
    return Response(html, mimetype="text/html", headers=headers)
