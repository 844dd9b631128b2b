"""The CDS services this deployment offers (discovery, ``cds-hooks.md`` §13) and the per-app component
container.

``her2-pet-review`` answers ``patient-view``; ``her2-pet-tdxd-order`` is listed twice, for ``order-select``
and ``order-sign`` (same id, so order-sign cards replace order-select cards, CH-6). Every service carries
the same prefetch templates (``prefetch.PREFETCH_KEYS``, with site overrides).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from cds_service.hooks.models import DiscoveryResponse, Hook, ServiceDefinition
from cds_service.hooks.prefetch import PrefetchKey

if TYPE_CHECKING:
    from cds_service.hooks.service import CallerIdentity, HookService
    from cds_service.observability import Metrics
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage

PATIENT_VIEW_ID: Final = "her2-pet-review"
ORDER_ID: Final = "her2-pet-tdxd-order"


@dataclasses.dataclass(frozen=True, slots=True)
class ServiceSpec:
    id: str
    hook: Hook
    title: str
    description: str


SERVICES: Final[tuple[ServiceSpec, ...]] = (
    ServiceSpec(
        PATIENT_VIEW_ID,
        Hook.PATIENT_VIEW,
        "HER2 PET review",
        "Reviews HER2 pathology (ASCO/CAP, HER2-low and HER2-ultralow) and HER2-targeted PET for patients "
        "with "
        "breast cancer and prompts a review of trastuzumab deruxtecan (T-DXd) eligibility per label.",
    ),
    ServiceSpec(
        ORDER_ID,
        Hook.ORDER_SELECT,
        "HER2 review for a T-DXd order",
        "When fam-trastuzumab deruxtecan is selected, shows the HER2 basis for the labelled indications.",
    ),
    ServiceSpec(
        ORDER_ID,
        Hook.ORDER_SIGN,
        "HER2 review for a T-DXd order",
        "When an order for fam-trastuzumab deruxtecan is signed, shows the HER2 basis for the labelled "
        "indications.",
    ),
)


def hooks_for(service_id: str) -> frozenset[Hook]:
    """The hooks registered for ``service_id`` (empty for an unknown id)."""
    return frozenset(s.hook for s in SERVICES if s.id == service_id)


def discovery_document(keys: tuple[PrefetchKey, ...]) -> DiscoveryResponse:
    prefetch = {k.name: k.template for k in keys}
    return DiscoveryResponse(
        services=[
            ServiceDefinition(
                hook=s.hook.value,
                title=s.title,
                description=s.description,
                id=s.id,
                prefetch=prefetch,
                usageRequirements="Needs prefetch or FHIR read access to Patient, Observation, "
                "DiagnosticReport, "
                "Condition, ImagingStudy, MedicationRequest and MedicationAdministration.",
            )
            for s in SERVICES
        ]
    )


Authenticator = Callable[[str | None, str], "CallerIdentity"]
"""``(Authorization header, expected audience URL) → CallerIdentity``; raises ``UnauthorizedError``."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Components:
    """Everything the blueprints need, built once by ``create_app`` and stored in ``app.extensions``."""

    settings: Settings
    hook_service: HookService
    storage: Storage | None
    authenticate: Authenticator | None
    prefetch_keys: tuple[PrefetchKey, ...]
    readiness: Callable[[], bool] | None = None
    metrics: Metrics | None = None


EXTENSION_KEY: Final = "her2cds"
