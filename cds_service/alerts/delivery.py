"""Alert delivery through the outbox: FHIR Task, webhook; retried with back-off, never lost.

Each alert gets one outbox row per configured channel in the transaction that stores it
(``Storage.record_assessment``). :class:`OutboxWorker` claims due rows for a lease, delivers each and marks
it ``delivered`` (with the remote reference: the Task id) or reschedules it after
``AlertsConfig.backoff_s(attempts)`` (doubling from ``retry_base_s`` up to ``retry_max_s``). A row is never
given up, so an EHR outage of any length delays alerts but loses none; a worker that dies mid-delivery
loses its lease and another picks the row up.

**FHIR Task** (:class:`FhirTaskChannel`): ``status`` requested, ``intent`` order, ``code`` the card scenario
(``urn:her2-pet-cds:card-scenario``) with the card title as text, ``description`` the card summary, ``for``
the patient, ``owner`` the treating oncologist from the care team or the configured pool (a note says
which), ``reasonReference`` the pathology report the
scenario rests on (when it came from FHIR), ``input`` the evidence link, ``note`` the card basis, and
``identifier`` the alert key (system ``urn:her2-pet-cds:alert``). Delivery is idempotent: the worker searches
``Task?identifier=…`` first and creates with ``If-None-Exist`` (conditional create), so a retry after a lost
response never makes a second Task. POSTs are not retried by the HTTP layer (ARCHITECTURE §7.8); the
outbox retries.

**Webhook** (:class:`WebhookChannel`): a JSON POST with the alert key, scenario, title, summary and the
evidence link, no patient identifiers; the receiver de-duplicates on the key.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol
from urllib.parse import quote

import requests

from cds_service.alerts.backend_auth import BackendAuthError, BackendTokenSource
from cds_service.alerts.config import AlertsConfig
from cds_service.hooks.card_texts import INVESTIGATIONAL
from cds_service.storage.store import AlertRecord, Storage

__all__ = [
    "ALERT_SYSTEM",
    "DeliveryError",
    "FhirTaskChannel",
    "OutboxWorker",
    "WebhookChannel",
    "task_resource",
]

log = logging.getLogger(__name__)

ALERT_SYSTEM: Final = "urn:her2-pet-cds:alert"
SCENARIO_SYSTEM: Final = "urn:her2-pet-cds:card-scenario"
LEASE_S: Final = 120.0
BATCH: Final = 100
MAX_ERROR_CHARS: Final = 300


def duration(seconds: float) -> str:
    """``"0.5 s"``, ``"30 s"``, ``"2 min"``, ``"1.5 h"``: a wait as a person reads it (never "0 s")."""
    if seconds < 10:
        return f"{seconds:.2g} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class DeliveryError(Exception):
    """A channel did not accept the alert; retried later. The message holds no PHI or secret."""


class Channel(Protocol):
    """One delivery channel: returns a reference to what it created, or raises ``DeliveryError``."""

    def deliver(self, alert: AlertRecord, evidence_url: str | None) -> str: ...


OWNER_NOTES: Final = {
    "care-team": "Owner: the treating oncologist on the patient's care team.",
    "pool": "Owner: the site's review pool (no oncologist was found on the patient's active care team).",
}


def task_owner(alert: AlertRecord, pool: str | None) -> tuple[str | None, str | None]:
    """The Task owner of an alert and where it came from: the one chosen when the alert was raised, else
    (alerts raised before owners were recorded) the configured pool."""
    if alert.owner_ref:
        return alert.owner_ref, alert.owner_source
    return (pool, "pool") if pool else (None, None)


def task_resource(alert: AlertRecord, *, owner: str | None, evidence_url: str | None) -> dict[str, Any]:
    """The FHIR R4 Task of one alert (see the module docstring); ``owner`` is the configured pool, used
    when the alert has no owner of its own."""
    note = "\n".join(["Basis:", *(f"- {line}" for line in alert.basis)])
    if "PET" in note or "PET" in alert.summary:
        note += "\n" + INVESTIGATIONAL
    owner, source = task_owner(alert, owner)
    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": ALERT_SYSTEM, "value": alert.alert_key}],
        "status": "requested",
        "intent": "order",
        "priority": "routine",
        "code": {
            "coding": [{"system": SCENARIO_SYSTEM, "code": alert.scenario, "display": alert.title}],
            "text": alert.title,
        },
        "description": alert.summary,
        "for": {"reference": f"Patient/{alert.patient_id}"},
        "authoredOn": alert.created_at.astimezone(dt.UTC).isoformat(),
        "note": [{"text": note}],
    }
    if owner:
        task["owner"] = {"reference": owner}
        if source in OWNER_NOTES:
            task["note"].append({"text": OWNER_NOTES[source]})
    if alert.reason_ref:
        task["reasonReference"] = {"reference": alert.reason_ref, "display": "HER2 pathology report"}
    if evidence_url:
        task["input"] = [
            {"type": {"text": "Evidence page (HER2 PET and pathology basis)"}, "valueUrl": evidence_url}
        ]
    return task


class FhirTaskChannel:
    """Writes the Task to the EHR's FHIR server with the service's backend token, idempotently."""

    def __init__(
        self, config: AlertsConfig, session: requests.Session, tokens: BackendTokenSource, *, timeout_s: float
    ) -> None:
        self._config = config
        self._session = session
        self._tokens = tokens
        self._timeout_s = timeout_s

    def _headers(self) -> dict[str, str]:
        try:
            token = self._tokens.token()
        except BackendAuthError as exc:
            raise DeliveryError(str(exc)) from exc
        headers = {"Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _call(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            resp = self._session.request(
                method, url, timeout=self._timeout_s, allow_redirects=False, **kwargs
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"FHIR server unreachable ({type(exc).__name__})") from exc
        if resp.status_code >= 300:
            raise DeliveryError(f"FHIR server answered HTTP {resp.status_code} to {method} Task")
        return resp

    def deliver(self, alert: AlertRecord, evidence_url: str | None) -> str:
        base = self._config.fhir_base_url
        identifier = f"{ALERT_SYSTEM}|{alert.alert_key}"
        headers = self._headers()
        search = self._call("GET", f"{base}/Task?identifier={quote(identifier, safe='')}", headers=headers)
        existing = [
            e["resource"]["id"]
            for e in search.json().get("entry", []) or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("id")
        ]
        if existing:
            return f"Task/{existing[0]}"
        task = task_resource(alert, owner=self._config.task_owner, evidence_url=evidence_url)
        created = self._call(
            "POST",
            f"{base}/Task",
            json=task,
            headers={**headers, "If-None-Exist": f"identifier={identifier}"},
        )
        body = created.json() if created.content else {}
        task_id = body.get("id") if isinstance(body, dict) else None
        location = created.headers.get("Location", "")
        if isinstance(task_id, str) and task_id:
            return f"Task/{task_id}"
        return location.split("/_history")[0].removeprefix(f"{base}/") or "Task"


class WebhookChannel:
    """POSTs a PHI-free JSON notice to the site's webhook."""

    def __init__(self, url: str, session: requests.Session, *, timeout_s: float) -> None:
        self._url = url
        self._session = session
        self._timeout_s = timeout_s

    def deliver(self, alert: AlertRecord, evidence_url: str | None) -> str:
        body = {
            "alertKey": alert.alert_key,
            "scenario": alert.scenario,
            "title": alert.title,
            "summary": alert.summary,
            "createdAt": alert.created_at.isoformat(),
            "evidenceUrl": evidence_url,
        }
        try:
            resp = self._session.post(self._url, json=body, timeout=self._timeout_s, allow_redirects=False)
        except requests.RequestException as exc:
            raise DeliveryError(f"webhook unreachable ({type(exc).__name__})") from exc
        if resp.status_code >= 300:
            raise DeliveryError(f"webhook answered HTTP {resp.status_code}")
        return "webhook"


class OutboxWorker:
    """Delivers due outbox rows; ``run_once`` for a command or test, ``start`` for a background thread."""

    def __init__(
        self,
        storage: Storage,
        config: AlertsConfig,
        channels: Mapping[str, Channel],
        *,
        worker_id: str,
        evidence_url: Callable[[AlertRecord], str | None],
    ) -> None:
        self._storage = storage
        self._config = config
        self._channels = channels
        self._worker_id = worker_id
        self._evidence_url = evidence_url
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def run_once(self) -> Counter[str]:
        """One pass over the rows due now (at most ``BATCH``); counts by outcome (delivered, retry)."""
        counts: Counter[str] = Counter()
        batch = self._storage.claim_deliveries(self._worker_id, lease_s=LEASE_S, limit=BATCH)
        for row in batch:
            alert = self._storage.get_alert(row.alert_key)
            channel = self._channels.get(row.channel)
            try:
                if alert is None or channel is None:
                    raise DeliveryError(f"no alert or no channel {row.channel!r} configured")
                ref = channel.deliver(alert, self._evidence_url(alert))
            except DeliveryError as exc:
                message = " ".join(str(exc).split())[:MAX_ERROR_CHARS]
                wait = self._config.backoff_s(row.attempts + 1)
                self._storage.finish_delivery(
                    row.id, self._worker_id, delivered=False, error=message, retry_after_s=wait
                )
                log.warning(
                    "alert delivery over %s failed, retried in %s: %s", row.channel, duration(wait), message
                )
                counts["retry"] += 1
                continue
            self._storage.finish_delivery(row.id, self._worker_id, delivered=True, remote_ref=ref)
            counts["delivered"] += 1
        return counts

    def start(self, interval_s: float) -> OutboxWorker:
        """Deliver every ``interval_s`` seconds on a daemon thread until :meth:`stop`."""

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_once()
                except Exception as exc:  # a database hiccup must not end the worker
                    log.error("alert delivery pass failed: %s", type(exc).__name__)
                self._stop.wait(interval_s)

        self._thread = threading.Thread(target=loop, name="alert-delivery", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the thread (after its current pass)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
