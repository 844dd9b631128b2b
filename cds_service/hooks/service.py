"""Hook orchestration: draft orders → prefetch/FHIR → connectors mapping → ``AssessInputs`` →
``rules.assess`` → cards.

Everything runs within the hook budget (``HER2CDS_HOOK_BUDGET_MS``): prefetch resolution shares one
``Deadline``; an upstream outage becomes ``unavailable_sources`` and a ``data-unavailable`` card, never an
error. PET comes in through the ``PetLookup`` seam (``cds_service.pet.lookup``). What differs between hooks
(whether to run, draft-order findings) is the hook handler's ``plan`` (``cds_service.hooks.handlers``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from cds_service.errors import UnprocessableError
from cds_service.hooks.cards import render_cards
from cds_service.hooks.handlers import HookHandler
from cds_service.hooks.models import Card, CdsRequest, PatientViewContext
from cds_service.hooks.orders import DraftOrderFindings
from cds_service.hooks.prefetch import FhirAccess, PrefetchResolver, PrefetchResult
from cds_service.observability import get_logger
from cds_service.settings import Settings, normalise_base_url
from connectors.errors import ConnectorError
from connectors.http import Deadline
from connectors.ports import PathologyData
from rules.display import MODIFIERS, NO_EVIDENCE_LINK
from rules.domain import (
    AssessInputs,
    Assessment,
    PetStatus,
    PetStudyFacts,
)

if TYPE_CHECKING:
    from cds_service.storage.artifacts import EvidenceSnapshot
    from cds_service.storage.replay import TokenUse

log = get_logger(__name__)

FHIR_SOURCE = "FHIR server"
PACS_SOURCE = "PACS"


MapFn = Callable[[Iterable[dict[str, Any]]], PathologyData]
AssessFn = Callable[[AssessInputs, dt.datetime], Assessment]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceLink:
    """The evidence page of one answer: its absolute URL (in the cards) and the snapshot it opens, which the
    call's one write stores before the answer leaves (``Storage.record_call``)."""

    url: str
    snapshot: EvidenceSnapshot


EvidenceLinkFn = Callable[[str, Assessment], EvidenceLink]
"""Makes the evidence snapshot of an answer and its link, without writing (``patient id, assessment``)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class PetLookupResult:
    """The PET side of a hook: the most recent analysed study, or why there is none.

    ``source_unavailable`` is set when a DICOM source failed although stored facts were found (they are
    used; the PACS is still named as unreachable, since a newer study may be missing). ``index_stale`` says
    the PET series index was not brought up to date within its maximum age (``index_updated_at``: when it
    last was; None: never yet), which the cards state.
    """

    pet: PetStudyFacts | None = None
    status: PetStatus = PetStatus.NONE
    pending_date: dt.date | None = None
    source_unavailable: bool = False
    index_stale: bool = False
    index_updated_at: dt.datetime | None = None


class PetLookup(Protocol):
    """Finds the patient's HER2 PET facts from what the service already holds
    (``cds_service.pet.lookup.HookPetLookup``: the series index and stored analyses; no PACS call).

    ``imaging`` holds the ImagingStudy resources and ``patient`` the Patient resource, from prefetch or the
    FHIR fallback. A failed DICOM source is reported as ``PetStatus.UNAVAILABLE``, never raised.
    """

    def lookup(
        self,
        patient_id: str,
        imaging: Sequence[dict[str, Any]],
        deadline: Deadline,
        *,
        patient: Sequence[dict[str, Any]] = (),
    ) -> PetLookupResult: ...


class EmbeddedPrefetch(Protocol):
    """In-process prefetch for the demo: fills keys the request left absent from local data (no FHIR
    server)."""

    def fill(self, prefetch: Mapping[str, Any] | None, patient_id: str) -> dict[str, Any]: ...


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdentity:
    """The verified calling EHR (from the JWT), or None with ``HER2CDS_AUTH=off``. No PHI, no token.

    ``token_use`` is the token id the call must still record in its one write (``Storage.record_call``,
    ``record_feedback``) before it answers; ``None`` when it was recorded at verification.
    """

    iss: str | None = None
    tenant: str | None = None
    jti: str | None = None
    fhir_servers: tuple[str, ...] = ()
    token_use: TokenUse | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HookResult:
    """Cards plus what the hook log and audit need: per-key prefetch status, orders found, the assessment,
    and the evidence link the cards carry (its snapshot still to be written)."""

    cards: list[Card]
    prefetch_status: dict[str, str] = dataclasses.field(default_factory=dict)
    orders: DraftOrderFindings | None = None
    assessment: Assessment | None = None
    evidence: EvidenceLink | None = None


CLINICAL_BASIS_PATH = "/clinical-basis"
"""The service's public page on what the cards rest on (``cds_service.evidence.routes``)."""


def source_url(settings: Settings) -> str | None:
    """Every card's ``source.url``: the site's own page (``source_url`` in the site configuration), else the
    service's clinical-basis page under ``HER2CDS_PUBLIC_URL``; None without either."""
    if settings.site.source_url:
        return settings.site.source_url
    return settings.base_url + CLINICAL_BASIS_PATH if settings.base_url else None


def fhir_access(request: CdsRequest, settings: Settings, caller: CallerIdentity | None) -> FhirAccess:
    """Decide whether the FHIR fallback may be used: exact allow-list match (and the client's own list),
    else the reason why not. The off-list server is never contacted."""
    if request.fhirServer is None:
        return FhirAccess(base_url=None, token=None, refusal="the request has no fhirServer")
    if not settings.fhir_server_allowed(request.fhirServer, caller.fhir_servers if caller else ()):
        return FhirAccess(base_url=None, token=None, refusal="fhirServer is not on the allow-list")
    if request.fhirAuthorization is None:
        return FhirAccess(base_url=None, token=None, refusal="the request has no fhirAuthorization")
    token = request.fhirAuthorization.access_token.get_secret_value()
    return FhirAccess(base_url=normalise_base_url(request.fhirServer), token=token)


class HookService:
    """Runs one hook call end to end. Thread-safe: holds only immutable configuration and injected
    callables."""

    def __init__(
        self,
        *,
        settings: Settings,
        resolver: PrefetchResolver,
        map_pathology: MapFn,
        assess: AssessFn,
        pet_lookup: PetLookup,
        embedded_prefetch: EmbeddedPrefetch | None = None,
        evidence_link: EvidenceLinkFn | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._map = map_pathology
        self._assess = assess
        self._pet = pet_lookup
        self._embedded = embedded_prefetch
        self._evidence_link = evidence_link
        self._clock = clock

    def handle(
        self,
        handler: HookHandler,
        request: CdsRequest,
        context: PatientViewContext,
        caller: CallerIdentity | None,
        *,
        started: float | None = None,
    ) -> HookResult:
        """Answer one validated hook call. Raises ``PreconditionFailedError`` (412) for unobtainable
        required data."""
        plan = handler.plan(context)
        orders = plan.orders
        if not plan.run:
            return HookResult(cards=[], orders=orders)
        deadline = Deadline(self._settings.budget_s, started=started)
        access = fhir_access(request, self._settings, caller)
        prefetch = request.prefetch
        if self._embedded is not None:
            prefetch = self._embedded.fill(prefetch, context.patientId)
        fetched = self._resolver.resolve(prefetch, context.model_dump(), access, deadline)
        inputs = self._inputs(fetched, context, orders, deadline)
        assessment = self._assess(inputs, self._clock())
        link = self._evidence(context.patientId, assessment)
        cards = render_cards(
            assessment,
            self._settings.site,
            patient_id=context.patientId,
            evidence_url=link.url if link is not None else None,
            source_url=source_url(self._settings),
        )
        return HookResult(
            cards=cards, prefetch_status=fetched.status, orders=orders, assessment=assessment, evidence=link
        )

    def _evidence(self, patient_id: str, assessment: Assessment) -> EvidenceLink | None:
        """The evidence-page link of this answer (one snapshot per hook answer with a clinical card); a
        failure costs the link, never the answer."""
        clinical = [c for c in assessment.cards if c not in NO_EVIDENCE_LINK | MODIFIERS]
        if self._evidence_link is None or not clinical:
            return None
        try:
            return self._evidence_link(patient_id, assessment)
        except Exception:  # the link is an extra; the cards must still go out
            log.warning("evidence snapshot could not be made; cards go out without the link")
            return None

    def _inputs(
        self,
        fetched: PrefetchResult,
        context: PatientViewContext,
        orders: DraftOrderFindings | None,
        deadline: Deadline,
    ) -> AssessInputs:
        return patient_inputs(
            fetched,
            context.patientId,
            map_pathology=self._map,
            pet_lookup=self._pet,
            deadline=deadline,
            orders=orders,
            pathology_cards=self._settings.site.pathology_cards,
        )


def patient_inputs(
    fetched: PrefetchResult,
    patient_id: str,
    *,
    map_pathology: MapFn,
    pet_lookup: PetLookup,
    deadline: Deadline,
    orders: DraftOrderFindings | None = None,
    pathology_cards: bool = True,
) -> AssessInputs:
    """The rules' inputs for one patient from resolved FHIR resources and the stored PET facts: the one
    way a patient is assessed, shared by the hook and the review alerts (``cds_service.alerts``).

    Raises ``UnprocessableError`` when the pathology cannot be interpreted.
    """
    resources = fetched.all_resources()
    try:
        pathology = map_pathology(resources)
    except ConnectorError as exc:
        raise UnprocessableError("pathology data could not be interpreted") from exc
    clinical = pathology.context
    if orders is not None:
        clinical = dataclasses.replace(
            clinical, tdxd_draft_order=orders.tdxd, pertuzumab_co_order=orders.pertuzumab_co_order
        )
    patient_ids = set(pathology.patient_ids)
    if patient_ids - {patient_id}:
        log.warning("prefetch refers to other patients", **{"other_patients": len(patient_ids) - 1})
    pet = pet_lookup.lookup(
        patient_id,
        fetched.resources.get("imaging", []),
        deadline,
        patient=fetched.resources.get("patient", []),
    )
    unavailable: list[str] = []
    if fetched.unavailable:
        unavailable.append(FHIR_SOURCE)
    if pet.status is PetStatus.UNAVAILABLE or pet.source_unavailable:
        unavailable.append(PACS_SOURCE)
    return AssessInputs(
        her2_results=tuple(pathology.her2),
        receptors=tuple(pathology.receptors),
        context=clinical,
        pet=pet.pet,
        pet_status=pet.status,
        pending_pet_date=pet.pending_date,
        pet_index_stale=pet.index_stale,
        pet_index_updated_at=pet.index_updated_at,
        unavailable_sources=tuple(unavailable),
        pathology_cards_enabled=pathology_cards,
        tdxd_order=orders is not None and orders.tdxd,
    )
