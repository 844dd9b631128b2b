"""CDS Hooks 2.0 wire models (pydantic v2): discovery, request, hook contexts, response, card, feedback.

Field names follow the specification (``hookInstance``, ``fhirServer``…), hence camelCase. Requests
tolerate unknown members (``extension`` and future fields, CH-3); response models forbid them so that the
service can only emit what the specification defines. Serialise responses with ``dump()`` so that absent
optional fields are omitted (CH-2). Invariants cds-resp-1..6 of the 3.0 logical model (``cds-hooks.md``
CH-25) are checked by validators.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_mod
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

SUMMARY_MAX_CHARS = 139
"""A card summary must be shorter than 140 characters (CH-20; Inferno fails at ≥ 140)."""


class Hook(StrEnum):
    """Hooks this service implements (CDS Hooks Library 1.0.1)."""

    PATIENT_VIEW = "patient-view"
    ORDER_SELECT = "order-select"
    ORDER_SIGN = "order-sign"


class Indicator(StrEnum):
    """Card urgency (CH-20). This service emits ``info`` and ``warning`` only (CH-26)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class _Request(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> dict[str, Any]:
        """JSON-ready dict without absent optional fields (CH-2)."""
        return self.model_dump(mode="json", exclude_none=True)


def _absolute_http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    return value


# ----------------------------------------------------------------------------------------------------------
# Request


class FhirAuthorization(_Request):
    """OAuth 2.0 access token the client grants for FHIR calls (CH-9). Transient: never stored, logged or
    shared; ``SecretStr`` keeps it out of ``repr`` and log lines."""

    access_token: SecretStr = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    patient: str | None = None


class CdsRequest(_Request):
    """A hook call body (CH-8). ``context`` is validated by its hook handler (``registry.parse_context``)."""

    hook: str = Field(min_length=1)
    hookInstance: uuid_mod.UUID  # noqa: N815 - spec field name
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _server_url(cls, value: str | None) -> str | None:
        return None if value is None else _absolute_http_url(value)

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> CdsRequest:
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        return self


_USER_ID = r"^(Practitioner|PractitionerRole|Patient|RelatedPerson)/[A-Za-z0-9\-.]{1,64}$"


class PatientViewContext(_Request):
    """``patient-view`` context (CDS Hooks Library 1.0.1)."""

    userId: str = Field(pattern=_USER_ID)  # noqa: N815
    patientId: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")  # noqa: N815
    encounterId: str | None = None  # noqa: N815


class DraftOrders(_Request):
    """The ``draftOrders`` Bundle: only its entries' resources are read (R4 MedicationRequest for T-DXd)."""

    resourceType: Literal["Bundle"]  # noqa: N815
    entry: list[dict[str, Any]] = Field(default_factory=list)

    def resources(self) -> list[dict[str, Any]]:
        return [e["resource"] for e in self.entry if isinstance(e.get("resource"), dict)]


class OrderSignContext(PatientViewContext):
    """``order-sign`` context: all unsigned orders in ``draftOrders``."""

    draftOrders: DraftOrders  # noqa: N815


class OrderSelectContext(OrderSignContext):
    """``order-select`` context: ``selections`` names the newly selected orders
    (``MedicationRequest/103``)."""

    selections: list[str] = Field(min_length=1)


def describe_validation_error(exc: ValidationError, prefix: str = "") -> tuple[bool, str]:
    """Return (all errors are 'missing', a message naming each failing field) for a 400 body.

    Input values are never echoed (they may carry PHI or tokens), only field paths and pydantic's message.
    """
    parts: list[str] = []
    missing = True
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(p) for p in err["loc"])
        location = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        parts.append(f"{location}: {err['msg']}")
        missing = missing and err["type"] == "missing"
    return missing, "; ".join(parts)


# ----------------------------------------------------------------------------------------------------------
# Discovery


class ServiceDefinition(_Response):
    """One entry of the discovery document (CH-5)."""

    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None  # noqa: N815
    version: str | None = None
    """CDS Hooks 3.0 (ballot): the semantic version of the CDS Hooks specification the service implements."""
    hookVersion: str | None = None  # noqa: N815
    """CDS Hooks 3.0 (ballot): the ``hookVersion`` of the published hook definition the service supports."""
    extension: dict[str, Any] | None = None


class DiscoveryResponse(_Response):
    services: list[ServiceDefinition]
    extension: dict[str, Any] | None = None


# ----------------------------------------------------------------------------------------------------------
# Response and card


class Coding(_Response):
    """A FHIR Coding as CDS Hooks uses it (CH-24): ``system`` and ``code`` required."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class OverrideReason(Coding):
    """An override reason offered on a card: ``display`` is required (cds-resp-4)."""

    display: str = Field(min_length=1)


class Source(_Response):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Response):
    """A suggestion action (CH-22): delete ⇒ ``resourceId`` and no ``resource`` (cds-resp-2)."""

    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: dict[str, Any] | None = None
    resourceId: str | None = None  # noqa: N815

    @model_validator(mode="after")
    def _shape(self) -> Action:
        if self.type == "delete" and (self.resourceId is None or self.resource is not None):
            raise ValueError("a delete action needs resourceId and no resource")
        if self.type != "delete" and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        return self


class Suggestion(_Response):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None  # noqa: N815
    actions: list[Action] | None = None
    extension: dict[str, Any] | None = None


class Link(_Response):
    """A card link (CH-23): ``appContext`` only on ``smart`` links (cds-resp-3)."""

    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = None  # noqa: N815
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _app_context(self) -> Link:
        if self.appContext is not None and self.type != "smart":
            raise ValueError("appContext is only allowed on smart links")
        return self


class Card(_Response):
    """A CDS Hooks card (CH-20), with invariants cds-resp-1 and cds-resp-6."""

    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)
    detail: str | None = None
    indicator: Indicator
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None  # noqa: N815
    overrideReasons: list[OverrideReason] | None = None  # noqa: N815
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _suggestions(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        recommended = sum(1 for s in self.suggestions or () if s.isRecommended)
        if self.selectionBehavior == "at-most-one" and recommended > 1:
            raise ValueError("at-most-one allows at most one recommended suggestion")
        return self


class CdsResponse(_Response):
    """A hook response (CH-19). This service never sends ``systemActions``; the field exists for
    validation."""

    cards: list[Card]
    systemActions: list[Action] | None = None  # noqa: N815
    extension: dict[str, Any] | None = None


# ----------------------------------------------------------------------------------------------------------
# Feedback


class FeedbackCoding(_Request):
    """``overrideReason.reason``: ``display`` is not required here (CH-28; the public sandbox omits it)."""

    system: str = Field(min_length=1)
    code: str = Field(min_length=1)
    display: str | None = None


class FeedbackOverrideReason(_Request):
    reason: FeedbackCoding | None = None
    userComment: str | None = None  # noqa: N815


class AcceptedSuggestion(_Request):
    id: str = Field(min_length=1)


EPIC_REASON_CATEGORY_SYSTEM = "urn:com.epic.cdshooks.feedback.overrideReason.reasonCategory"
"""System given to an acknowledgement reason built in Epic (its category number is the code)."""
_EPIC_CATEGORY = "com.epic.cdshooks.feedback.overrideReason.reasonCategory"
_EPIC_DISPLAY = "com.epic.cdshooks.feedback.overrideReason.reasonDisplay"


class FeedbackItem(_Request):
    """One feedback entry (CH-27; 3.0 cds-fb-1..3): accepted ⇒ ``acceptedSuggestions``; ``overrideReason``
    only with ``overridden``. The JSON Schema states the same rules (``if``/``then``) for clients and
    fuzzers."""

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        json_schema_extra={
            "allOf": [
                {
                    "if": {"properties": {"outcome": {"const": "accepted"}}},
                    "then": {
                        "required": ["acceptedSuggestions"],
                        "properties": {
                            "acceptedSuggestions": {"type": "array", "minItems": 1},
                            "overrideReason": {"type": "null"},
                        },
                    },
                },
                {
                    "if": {"properties": {"outcome": {"const": "overridden"}}},
                    "then": {
                        "properties": {
                            "acceptedSuggestions": {
                                "anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]
                            }
                        }
                    },
                },
            ]
        },
    )

    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None  # noqa: N815
    overrideReason: FeedbackOverrideReason | None = None  # noqa: N815
    outcomeTimestamp: AwareDatetime  # noqa: N815

    @model_validator(mode="before")
    @classmethod
    def _epic_override_reasons(cls, data: Any) -> Any:
        """Read the override reason of an overridden card as Epic's CDS Hooks tutorial shows it: under
        ``overrideReasons`` (plural) rather than ``overrideReason``, either as ``reason`` (a reason the
        service offered, mapped by the health system) or as Epic's own reason in the extension
        ``com.epic.cdshooks.feedback.overrideReason.reasonCategory`` (with ``…reasonDisplay``), recorded as a
        Coding of system :data:`EPIC_REASON_CATEGORY_SYSTEM`. ``overrideReason`` wins when both are sent."""
        if not isinstance(data, dict) or "overrideReason" in data or data.get("outcome") != "overridden":
            return data
        epic = data.get("overrideReasons")
        if not isinstance(epic, dict):
            return data
        reason = epic.get("reason")
        extension = epic.get("extension")
        if reason is None and isinstance(extension, dict) and extension.get(_EPIC_CATEGORY) is not None:
            display = extension.get(_EPIC_DISPLAY)
            reason = {"system": EPIC_REASON_CATEGORY_SYSTEM, "code": str(extension[_EPIC_CATEGORY])}
            if isinstance(display, str) and display:
                reason["display"] = display
        found = {"reason": reason, "userComment": epic.get("userComment")}
        return {**data, "overrideReason": {k: v for k, v in found.items() if v is not None}}

    @model_validator(mode="after")
    def _outcome_rules(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is accepted")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only allowed when outcome is accepted")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason is only allowed when outcome is overridden")
        return self

    @property
    def timestamp_utc(self) -> dt.datetime:
        """``outcomeTimestamp`` in UTC. A valid RFC 3339 time within a day of year 1 or 9999 may fall outside
        what UTC can hold here (``0001-01-01T03:00:00+05:00``): it is kept as the first or last instant."""
        try:
            return self.outcomeTimestamp.astimezone(dt.UTC)
        except OverflowError:
            edge = dt.datetime.min if self.outcomeTimestamp.year == dt.MINYEAR else dt.datetime.max
            return edge.replace(tzinfo=dt.UTC)


class FeedbackRequest(_Request):
    feedback: list[FeedbackItem] = Field(min_length=1)
