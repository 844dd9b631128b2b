"""FHIR Subscriptions as alert triggers: topic-based (R4B) or the R4 Subscriptions Backport IG, rest-hook.

Where the configured FHIR server offers a subscription topic on DiagnosticReport, Observation or
MedicationRequest, :func:`ensure_subscriptions` creates one rest-hook Subscription per such topic pointing
at this service (``POST {HER2CDS_PUBLIC_URL}/alerts/fhir-notify/<id>``), with ``id-only`` payload (the
notification names the changed resource, it does not carry it) and a random secret sent back in an
``Authorization: Bearer`` header (``channel.header``); the service keeps only the SHA-256 of the secret.
A notification is authenticated against that hash (constant-time), answered at once, and each focus
resource is read from the FHIR server with the service's backend token to find its patient, who is then
re-assessed (trigger ``subscription``) on a background thread; handshakes and heartbeats are accepted and
counted only. A Subscription the server reports ``off`` or in ``error`` is replaced at the next pass.

Topics are found, in order: ``subscriptions.topics`` of the alerts configuration; ``SubscriptionTopic``
resources (R4B, and R4 servers that expose them) whose ``resourceTrigger.resource`` is a watched type; the
Backport ``capabilitystatement-subscriptiontopic-canonical`` extensions of the CapabilityStatement whose
canonical names a watched type. No topic: nothing is created and the ``_lastUpdated`` poll is the trigger.
The poll keeps running beside Subscriptions as the safety net (a notification lost in transit or a
process that stopped while re-assessing is caught by the next poll).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, cast

import requests
from flask import Blueprint, Response, current_app, jsonify, request

from cds_service.alerts.backend_auth import BackendAuthError
from cds_service.errors import BadRequestError, NotFoundError, UnauthorizedError
from connectors.errors import ConnectorError
from connectors.http import Deadline

if TYPE_CHECKING:
    from cds_service.alerts.wiring import Alerts
    from cds_service.storage.store import Storage
    from connectors.fhir.client import FhirClient

__all__ = [
    "BACKPORT",
    "NotificationEvent",
    "SubscriptionTriggers",
    "bp",
    "ensure_subscriptions",
    "offered_topics",
    "parse_notification",
    "subscription_resource",
]

log = logging.getLogger(__name__)

BACKPORT: Final = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition"
TOPIC_CANONICAL_EXT: Final = f"{BACKPORT}/capabilitystatement-subscriptiontopic-canonical"
PAYLOAD_EXT: Final = f"{BACKPORT}/backport-payload-content"
WATCHED: Final = ("DiagnosticReport", "Observation", "MedicationRequest")
NOTIFY_PATH: Final = "/alerts/fhir-notify"
TRIGGERS_KEY: Final = "her2cds.alert-subscription-triggers"
TOPIC_BUDGET_S: Final = 30.0
MAX_FOCUS: Final = 200
"""Focus references read from one notification at most (a larger batch is left to the poll)."""


def _watched(value: str) -> str | None:
    """The watched type a resource URI or canonical names (``DiagnosticReport``, a full StructureDefinition
    URL, or a topic canonical containing the name), or None."""
    low = value.lower()
    for kind in WATCHED:
        if value == kind or value.endswith(f"/{kind}") or kind.lower() in low:
            return kind
    return None


def offered_topics(capability: Mapping[str, Any], topics: Iterable[Mapping[str, Any]] = ()) -> list[str]:
    """Topic canonicals for watched types: from ``SubscriptionTopic`` resources (``resourceTrigger``), else
    from the Backport CapabilityStatement extension (canonical names a watched type); sorted, unique."""
    found: set[str] = set()
    for topic in topics:
        url = topic.get("url")
        triggers = topic.get("resourceTrigger", []) or []
        if isinstance(url, str) and any(
            isinstance(t, dict) and isinstance(t.get("resource"), str) and _watched(t["resource"])
            for t in triggers
        ):
            found.add(url)
    if found:
        return sorted(found)
    for rest in capability.get("rest", []) or []:
        for resource in (rest.get("resource", []) or []) if isinstance(rest, dict) else []:
            if not isinstance(resource, dict) or resource.get("type") != "Subscription":
                continue
            for ext in resource.get("extension", []) or []:
                value = ext.get("valueCanonical") if isinstance(ext, dict) else None
                if ext.get("url") == TOPIC_CANONICAL_EXT and isinstance(value, str) and _watched(value):
                    found.add(value)
    return sorted(found)


def subscription_resource(topic: str, endpoint: str, secret: str) -> dict[str, Any]:
    """The R4 Backport rest-hook Subscription for ``topic`` (id-only payload, the secret as a header)."""
    return {
        "resourceType": "Subscription",
        "meta": {"profile": [f"{BACKPORT}/backport-subscription"]},
        "status": "requested",
        "reason": "HER2 PET CDS: re-assess patients for T-DXd eligibility review alerts",
        "criteria": topic,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_EXT, "valueCode": "id-only"}]},
            "header": [f"Authorization: Bearer {secret}"],
        },
    }


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def ensure_subscriptions(alerts: Alerts, storage: Storage, *, public_url: str) -> int:
    """Create the Subscriptions the server offers and this service lacks; the number now in place. Raises
    :class:`connectors.errors.ConnectorError` or ``BackendAuthError`` when discovery fails."""
    token = alerts.tokens.token() or ""
    client = alerts.fhir(alerts.config.fhir_base_url, token, Deadline(TOPIC_BUDGET_S))
    have = _live_topics(client, storage)
    for topic in _wanted_topics(alerts, client):
        if topic not in have and _subscribe(alerts, storage, token, topic, public_url):
            have.add(topic)
    return len(have)


def _live_topics(client: FhirClient, storage: Storage) -> set[str]:
    """Topics of the stored Subscriptions still alive on the server (ended ones are forgotten)."""
    have: set[str] = set()
    for record in storage.subscriptions():
        if record.remote_ref is None:
            continue
        if _ended(client, record.remote_ref):  # the server turned it off: make a new one
            log.warning("FHIR Subscription ended on the server; creating a new one")
            storage.delete_subscription(record.id)
            continue
        have.add(record.topic)
    return have


def _wanted_topics(alerts: Alerts, client: FhirClient) -> list[str]:
    if alerts.config.subscription_topics:
        return list(alerts.config.subscription_topics)
    capability = next(iter(client.fetch("metadata")), {})
    try:
        topic_resources = client.fetch("SubscriptionTopic?status=active")
    except ConnectorError:  # an R4 server without the SubscriptionTopic type
        topic_resources = []
    return offered_topics(capability, topic_resources)


def _subscribe(alerts: Alerts, storage: Storage, token: str, topic: str, public_url: str) -> bool:
    """Create one Subscription on ``topic``; True when the server accepted it."""
    for stale in storage.subscriptions():
        if stale.topic == topic:  # a creation that failed half-way: start again
            storage.delete_subscription(stale.id)
    sub_id, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    if not storage.save_subscription(sub_id, topic=topic, secret_hash=secret_hash(secret)):
        return False  # another process is creating it
    endpoint = f"{public_url}{NOTIFY_PATH}/{sub_id}"
    try:
        ref = _create(alerts, token, subscription_resource(topic, endpoint, secret))
    except (requests.RequestException, ValueError) as exc:
        log.warning("FHIR Subscription could not be created: %s", type(exc).__name__)
        storage.delete_subscription(sub_id)
        return False
    storage.set_subscription_remote(sub_id, ref)
    return True


def _ended(client: FhirClient, remote_ref: str) -> bool:
    """Whether the server says the Subscription is ``off`` or in ``error`` (an unreachable server or a
    read refused says nothing: the Subscription is kept)."""
    try:
        found = client.fetch(remote_ref)
    except ConnectorError:
        return False
    status = found[0].get("status") if found else None
    return status in ("off", "error")


def _create(alerts: Alerts, token: str, resource: dict[str, Any]) -> str:
    headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    resp = alerts.session.post(
        f"{alerts.config.fhir_base_url}/Subscription",
        json=resource,
        headers=headers,
        timeout=TOPIC_BUDGET_S,
        allow_redirects=False,
    )
    if resp.status_code >= 300:
        raise ValueError(f"FHIR server answered HTTP {resp.status_code} to POST Subscription")
    body = resp.json() if resp.content else {}
    sub_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(sub_id, str) or not sub_id:
        raise ValueError("FHIR server did not return the Subscription's id")
    return f"Subscription/{sub_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationEvent:
    """One notification: its type (``handshake``, ``heartbeat``, ``event-notification``, ``query-status``)
    and the focus references of its events, with the subjects of any included resources."""

    kind: str
    focus: tuple[str, ...]
    subjects: Mapping[str, str]


def _parameter_parts(parameters: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """Type and focus references of an R4 Backport ``Parameters`` status resource."""
    kind: str | None = None
    focus: list[str] = []
    for param in parameters.get("parameter", []) or []:
        if not isinstance(param, dict):
            continue
        if param.get("name") == "type":
            kind = param.get("valueCode")
        if param.get("name") == "notification-event":
            for part in param.get("part", []) or []:
                ref = part.get("valueReference") if isinstance(part, dict) else None
                if part.get("name") == "focus" and isinstance(ref, dict):
                    focus.append(str(ref.get("reference", "")))
    return kind, focus


def _status_parts(status: Mapping[str, Any]) -> tuple[str | None, list[str]]:
    """Type and focus references of an R4B/R5 ``SubscriptionStatus``."""
    focus = [
        str(e["focus"].get("reference", ""))
        for e in status.get("notificationEvent", []) or []
        if isinstance(e, dict) and isinstance(e.get("focus"), dict)
    ]
    kind = status.get("type")
    return kind if isinstance(kind, str) else None, focus


def _relative(ref: str) -> str | None:
    """``Type/id`` of a watched type from a relative or absolute reference, or None."""
    parts = ref.split("/_history")[0].rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] in WATCHED and parts[-1]:
        return f"{parts[-2]}/{parts[-1]}"
    return None


def _subject(resource: Mapping[str, Any]) -> str | None:
    for name in ("subject", "patient"):
        ref = resource.get(name)
        text = ref.get("reference") if isinstance(ref, dict) else None
        if isinstance(text, str) and text.startswith("Patient/"):
            return text.removeprefix("Patient/").split("/")[0]
    return None


def parse_notification(bundle: Any) -> NotificationEvent:
    """The notification in a Backport (Bundle ``history``, first entry ``Parameters``) or R4B (Bundle
    ``subscription-notification``, first entry ``SubscriptionStatus``) body. Raises ``BadRequestError``."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequestError("a notification is a Bundle")
    if bundle.get("type") not in ("history", "subscription-notification"):
        raise BadRequestError("a notification Bundle is of type history or subscription-notification")
    entries = [e for e in bundle.get("entry", []) or [] if isinstance(e, dict)]
    first = entries[0].get("resource") if entries else None
    if not isinstance(first, dict):
        raise BadRequestError("a notification starts with its status resource")
    if first.get("resourceType") == "Parameters":
        kind, focus = _parameter_parts(first)
    elif first.get("resourceType") == "SubscriptionStatus":
        kind, focus = _status_parts(first)
    else:
        raise BadRequestError("a notification starts with Parameters or SubscriptionStatus")
    if kind not in ("handshake", "heartbeat", "event-notification", "query-status", "query-event"):
        raise BadRequestError("unknown notification type")
    subjects: dict[str, str] = {}
    for entry in entries[1:]:
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") in WATCHED and resource.get("id"):
            patient = _subject(resource)
            if patient is not None:
                subjects[f"{resource['resourceType']}/{resource['id']}"] = patient
    relative = [r for r in map(_relative, focus) if r is not None]
    return NotificationEvent(kind=kind, focus=tuple(dict.fromkeys(relative)), subjects=subjects)


class SubscriptionTriggers:
    """Re-assesses the patients of notifications on one background thread (the notification is answered
    first); ``reassess`` is the engine's, ``read`` reads one focus resource from the FHIR server."""

    def __init__(
        self,
        reassess: Callable[[str], object],
        read: Callable[[str], Mapping[str, Any] | None],
        deliver: Callable[[], object],
    ) -> None:
        self._reassess = reassess
        self._read = read
        self._deliver = deliver
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="alert-subscription")

    def submit(self, event: NotificationEvent) -> None:
        self._pool.submit(self._run, event)

    def _run(self, event: NotificationEvent) -> None:
        patients: set[str] = set()
        for ref in event.focus[:MAX_FOCUS]:
            patient = event.subjects.get(ref)
            if patient is None:
                try:
                    resource = self._read(ref)
                except (ConnectorError, BackendAuthError) as exc:
                    log.warning("notification focus could not be read: %s", type(exc).__name__)
                    continue
                patient = _subject(resource) if resource is not None else None
            if patient is not None:
                patients.add(patient)
        for patient in sorted(patients):
            try:
                self._reassess(patient)
            except Exception as exc:  # the poll retries this patient later
                log.warning("alert re-assessment after a notification failed: %s", type(exc).__name__)
        if patients:
            try:
                self._deliver()
            except Exception as exc:  # the loop delivers later
                log.warning("alert delivery after a notification failed: %s", type(exc).__name__)

    def shutdown(self, *, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait)


bp = Blueprint("alert_subscriptions", __name__)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@bp.post(f"{NOTIFY_PATH}/<sub_id>")
def notify(sub_id: str) -> Response:
    """A rest-hook notification: 200 once accepted (events are re-assessed in the background), 401 without
    the Subscription's secret, 404 for an unknown Subscription, 400 for a body that is not a
    notification."""
    from cds_service.hooks.registry import EXTENSION_KEY, Components

    storage = cast(Components, current_app.extensions[EXTENSION_KEY]).storage
    triggers = cast(SubscriptionTriggers | None, current_app.extensions.get(TRIGGERS_KEY))
    record = storage.get_subscription(sub_id) if storage is not None and len(sub_id) <= 64 else None
    if record is None or triggers is None or storage is None:
        raise NotFoundError("unknown subscription")
    secret = _bearer()
    if secret is None or not hmac.compare_digest(secret_hash(secret), record.secret_hash):
        raise UnauthorizedError()
    body = request.get_json(silent=True, force=True)
    event = parse_notification(body)
    storage.record_subscription_event(sub_id)
    if event.kind in ("event-notification", "query-event") and event.focus:
        triggers.submit(event)
    return jsonify({})
