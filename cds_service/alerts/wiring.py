"""Build the alert engine, the outbox worker and the FHIR poll from the deployment settings.

:func:`build_alerts` returns None when ``HER2CDS_ALERTS_CONFIG`` is not set, so every caller (receiver,
sync, the ``alerts`` command, the web service) can wire alerts in with one ``if``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from cds_service.alerts.backend_auth import BackendTokenSource
from cds_service.alerts.config import AlertsConfig, load_alerts_config
from cds_service.alerts.delivery import Channel, FhirTaskChannel, OutboxWorker, WebhookChannel
from cds_service.alerts.engine import AlertEngine, AlertOutcome, PatientAssessor
from cds_service.alerts.worklist import evidence_url
from cds_service.hooks.prefetch import FhirClientFactory, PrefetchResolver, templates
from cds_service.hooks.service import PetLookup
from cds_service.settings import Settings
from cds_service.storage.store import Storage
from connectors.fhir.client import FhirClient
from connectors.fhir.mapping import pathology_from_resources
from connectors.http import Deadline, RetryPolicy, Timeouts, make_session
from rules.assess import assess

__all__ = ["Alerts", "build_alerts", "changed_patients"]

log = logging.getLogger(__name__)

WATCHED = ("DiagnosticReport", "Observation", "MedicationRequest")
"""Resource types whose new or amended versions trigger a re-assessment."""

POLL_PAGES = 100
"""Pages of 100 read per watched type and poll; beyond them the poll stops reading that type (logged)."""
POOL_SIZE = 32
"""Connections kept to the FHIR server. The session is shared by the hook's prefetch workers (16 at most,
``cds_service.hooks.prefetch``) and the alert threads of the process (loop, delivery, notifications,
receiver triggers); the pool blocks when they all are busy, so connections are reused, never opened and
discarded ("Connection pool is full")."""
POLL_BUDGET_S = 120.0
"""Time for listing one watched type, every page, retries and waits included, in seconds."""


@dataclass(slots=True, kw_only=True)
class Alerts:
    """The wired alert components of one process."""

    config: AlertsConfig
    engine: AlertEngine
    worker: OutboxWorker
    assessor: PatientAssessor
    fhir: FhirClientFactory
    tokens: BackendTokenSource
    outcomes: Counter[str]
    session: requests.Session


def build_alerts(
    settings: Settings, storage: Storage, *, pet_lookup: PetLookup | None = None, worker_id: str = "alerts"
) -> Alerts | None:
    """The alert components, or None when alerts are not configured. Raises ``SettingsError``."""
    config = load_alerts_config(settings)
    if config is None:
        return None
    if pet_lookup is None:
        from cds_service.pet.lookup import build_pet_lookup

        pet_lookup = build_pet_lookup(settings, storage)
    # FHIR reads go through the one FHIR client, retried twice inside their deadline; POSTs are never
    # retried (the outbox retries deliveries, ARCHITECTURE §7.8), so the session itself retries nothing.
    session = make_session(pool_maxsize=POOL_SIZE, pool_block=True)
    fhir = _fhir_client_factory(settings, session)
    tokens = BackendTokenSource(config.credentials, session, timeout_s=settings.http_read_timeout_s)
    assessor = PatientAssessor(
        config=config,
        fhir=fhir,
        resolver=PrefetchResolver(fhir, templates(settings.site.prefetch_templates)),
        tokens=tokens,
        map_pathology=pathology_from_resources,
        assess=assess,
        pet_lookup=pet_lookup,
        patient_id_system=settings.patient_id_system,
        pathology_cards=settings.site.pathology_cards,
    )
    outcomes: Counter[str] = Counter()
    engine = AlertEngine(
        storage=storage, config=config, assessor=assessor, on_outcome=lambda o: outcomes.update([o.value])
    )
    timeout_s = settings.http_connect_timeout_s + settings.http_read_timeout_s
    channels: dict[str, Channel] = {}
    if "fhir-task" in config.channels:
        channels["fhir-task"] = FhirTaskChannel(config, session, tokens, timeout_s=timeout_s)
    if "webhook" in config.channels and config.webhook_url:
        channels["webhook"] = WebhookChannel(config.webhook_url, session, timeout_s=timeout_s)
    worker = OutboxWorker(
        storage,
        config,
        channels,
        worker_id=worker_id,
        evidence_url=lambda alert: evidence_url(settings, alert.evidence_id),
    )
    return Alerts(
        config=config,
        engine=engine,
        worker=worker,
        assessor=assessor,
        fhir=fhir,
        tokens=tokens,
        outcomes=outcomes,
        session=session,
    )


def _subject(resource: dict[str, Any]) -> str | None:
    for name in ("subject", "patient"):
        ref = resource.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            ref_text: str = ref["reference"]
            if ref_text.startswith("Patient/"):
                return ref_text.removeprefix("Patient/").split("/")[0]
    return None


def _fhir_client_factory(settings: Settings, session: Any) -> FhirClientFactory:
    """The alerts' FHIR client: the hook's client (URLs kept under the base, bounded retries and waits
    inside one deadline), allowed more pages and entries because a poll lists every change."""
    timeouts = Timeouts(connect_s=settings.http_connect_timeout_s, read_s=settings.http_read_timeout_s)
    retry = RetryPolicy(total=2, connect=2, status=2, backoff_factor=0.2, max_wait_s=30.0)

    def build(base_url: str, token: str, deadline: Deadline) -> FhirClient:
        return FhirClient(
            base_url,
            session,
            timeouts,
            bearer_token=token or None,
            deadline=deadline,
            retry=retry,
            max_pages=POLL_PAGES + 1,  # the poll stops itself after POLL_PAGES
            max_entries=(POLL_PAGES + 1) * 100,
            max_bytes=settings.max_request_bytes,
        )

    return build


def changed_patients(alerts: Alerts, since: dt.datetime) -> set[str]:
    """FHIR patient ids with a DiagnosticReport, Observation or MedicationRequest created or amended after
    ``since`` (``_lastUpdated=gt…``, every page, never a page off the configured server). Raises
    :class:`connectors.errors.ConnectorError` and ``BackendAuthError``."""
    stamp = since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patients: set[str] = set()
    token = alerts.tokens.token() or ""
    for kind in WATCHED:
        client = alerts.fhir(alerts.config.fhir_base_url, token, Deadline(POLL_BUDGET_S))
        query = f"{kind}?_lastUpdated={quote('gt' + stamp)}&_count=100&_elements=subject"
        for number, page in enumerate(client.pages(query), start=1):
            patients.update(p for p in map(_subject, page) if p is not None)
            if number >= POLL_PAGES:
                log.warning(
                    "alerts poll: more than %d pages of %s changes; read the first ones", number, kind
                )
                break
    return patients


def reassess_changed(alerts: Alerts, since: dt.datetime) -> Counter[str]:
    """Re-assess every patient changed since ``since``; counts by outcome. Raises FHIR errors of the
    listing; one patient's failure is counted as ``unavailable`` and the others go on."""
    counts: Counter[str] = Counter()
    for patient in sorted(changed_patients(alerts, since)):
        try:
            counts[alerts.engine.reassess(patient, trigger="fhir").value] += 1
        except Exception as exc:  # one chart must not stop the poll; retried at the next one
            log.warning("alert re-assessment failed: %s", type(exc).__name__)
            counts[AlertOutcome.UNAVAILABLE.value] += 1
    return counts
