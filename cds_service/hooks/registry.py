"""The CDS services this deployment offers (discovery, ``cds-hooks.md`` §13), each bound to its hook handler,
and the per-app component container.

One service per hook (CDS Hooks 2.0: a service definition has one ``hook``; clients key services by id and
URL): ``her2-pet-review`` answers ``patient-view``, ``her2-pet-tdxd-order-select`` ``order-select`` and
``her2-pet-tdxd-order-sign`` ``order-sign``; the two order services share one handler class. The id of
earlier releases, ``her2-pet-tdxd-order`` (listed for both order hooks), still answers calls of either
order hook but is no longer listed in discovery. Every service carries the same prefetch templates
(``prefetch.PREFETCH_KEYS``, with site overrides).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from cds_service.hooks.handlers import HookHandler, order, patient_view
from cds_service.hooks.models import DiscoveryResponse, Hook, PatientViewContext, ServiceDefinition
from cds_service.hooks.prefetch import PrefetchKey

if TYPE_CHECKING:
    from cds_service.hooks.access import ClientAuth
    from cds_service.hooks.service import HookService
    from cds_service.observability import Metrics
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage

PATIENT_VIEW_ID: Final = "her2-pet-review"
ORDER_SELECT_ID: Final = "her2-pet-tdxd-order-select"
ORDER_SIGN_ID: Final = "her2-pet-tdxd-order-sign"
LEGACY_ORDER_ID: Final = "her2-pet-tdxd-order"
"""The single id both order hooks shared before each hook had its own service; calls are still answered."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """One CDS service: its id, discovery texts and the handler of its hook."""

    id: str
    handler: HookHandler
    title: str
    description: str


_ORDER_TITLE: Final = "HER2 review for a T-DXd order"

SERVICES: Final[tuple[ServiceSpec, ...]] = (
    ServiceSpec(
        id=PATIENT_VIEW_ID,
        handler=patient_view.HANDLER,
        title="HER2 PET review",
        description="Reviews HER2 pathology (ASCO/CAP, HER2-low and HER2-ultralow) and HER2-targeted PET for "
        "patients with breast cancer and prompts a review of trastuzumab deruxtecan (T-DXd) eligibility "
        "per label.",
    ),
    ServiceSpec(
        id=ORDER_SELECT_ID,
        handler=order.ORDER_SELECT,
        title=_ORDER_TITLE,
        description="When fam-trastuzumab deruxtecan is selected, shows the HER2 basis for the labelled "
        "indications.",
    ),
    ServiceSpec(
        id=ORDER_SIGN_ID,
        handler=order.ORDER_SIGN,
        title=_ORDER_TITLE,
        description="When an order for fam-trastuzumab deruxtecan is signed, shows the HER2 basis for the "
        "labelled indications.",
    ),
)

_ALIASES: Final[dict[str, tuple[str, ...]]] = {LEGACY_ORDER_ID: (ORDER_SELECT_ID, ORDER_SIGN_ID)}


def services_for(service_id: str) -> tuple[ServiceSpec, ...]:
    """The services answering calls to ``service_id`` (empty for an unknown id; two for the legacy id)."""
    ids = _ALIASES.get(service_id, (service_id,))
    return tuple(s for s in SERVICES if s.id in ids)


def service_for(service_id: str, hook: str) -> ServiceSpec | None:
    """The service that answers ``hook`` at ``service_id``, or None when that id does not serve it."""
    return next((s for s in services_for(service_id) if s.handler.hook.value == hook), None)


def parse_context(hook: Hook, context: dict[str, Any]) -> PatientViewContext:
    """Validate ``context`` with the model of ``hook``'s handler; raises ``ValidationError`` with locations
    relative to ``context``."""
    handler = next(s.handler for s in SERVICES if s.handler.hook is hook)
    return handler.context_model.model_validate(context)


CDS_HOOKS_VERSION: Final = "2.0.1"
"""The CDS Hooks release this service implements, advertised as discovery ``version`` (semantic version, as
the 3.0 ballot asks; its logical model still says ``STU1 | STU2 | STU3``, its text and change log say semver).
2.0 clients ignore the member. Raised to 3.0.0 once 3.0 is published and the service is tested against it."""

HOOK_VERSIONS: Final[dict[Hook, str]] = {
    Hook.PATIENT_VIEW: "1.0",
    Hook.ORDER_SELECT: "1.0",
    Hook.ORDER_SIGN: "1.0",
}
"""``hookVersion`` per hook, as the hook definitions of CDS Hooks Library 1.0.1 state it in their metadata."""

_RELATED_TYPES: Final = ("Specimen", "Binary")
"""Read besides the template resource types: Specimens named by the reports (``_include``) and the Binary a
report's ``presentedForm`` points to."""


def usage_requirements(keys: tuple[PrefetchKey, ...]) -> str:
    """The discovery ``usageRequirements``: the resource types the service reads, from its templates."""
    types = list(dict.fromkeys(k.template.split("?", 1)[0].split("/", 1)[0] for k in keys))
    types += [t for t in _RELATED_TYPES if t not in types]
    required = [k.name for k in keys if k.required]
    return (
        "Needs prefetch or FHIR read access (SMART read or search scopes) to "
        + ", ".join(types[:-1])
        + f" and {types[-1]}. Without fhirServer and fhirAuthorization the keys "
        + ", ".join(required)
        + " must be prefetched."
    )


def discovery_document(keys: tuple[PrefetchKey, ...]) -> DiscoveryResponse:
    """The discovery response (CH-4, CH-5): one entry per service, each with every prefetch template; the
    3.0 ``version`` and ``hookVersion`` members are added for clients that read them."""
    prefetch = {k.name: k.template for k in keys}
    return DiscoveryResponse(
        services=[
            ServiceDefinition(
                hook=s.handler.hook.value,
                title=s.title,
                description=s.description,
                id=s.id,
                prefetch=prefetch,
                usageRequirements=usage_requirements(keys),
                version=CDS_HOOKS_VERSION,
                hookVersion=HOOK_VERSIONS[s.handler.hook],
            )
            for s in SERVICES
        ]
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Components:
    """Everything the blueprints need, built once by ``create_app`` and stored in ``app.extensions``."""

    settings: Settings
    hook_service: HookService
    storage: Storage | None
    client_auth: ClientAuth | None
    prefetch_keys: tuple[PrefetchKey, ...]
    readiness: Callable[[], bool] | None = None
    metrics: Metrics | None = None


EXTENSION_KEY: Final = "her2cds"
