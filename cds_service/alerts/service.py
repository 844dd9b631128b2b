"""Alerts inside the web service: the Subscription notification endpoint's triggers and the alert loop.

:func:`attach_alerts` is called by ``create_app`` when ``HER2CDS_ALERTS_CONFIG`` is set. It builds the alert
components over the app's storage and PET lookup, keeps the notification triggers for
``POST /alerts/fhir-notify/<id>`` (``cds_service.alerts.subscriptions``) and, with
``service_loop.interval_s``, starts the :class:`~cds_service.alerts.loop.AlertLoop`, stopped at
interpreter exit (a gunicorn worker leaving) or by :func:`stop_alerts`.
"""

from __future__ import annotations

import atexit
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from cds_service.alerts.loop import AlertLoop
from cds_service.alerts.subscriptions import TRIGGERS_KEY, SubscriptionTriggers
from cds_service.alerts.wiring import Alerts, build_alerts
from connectors.http import Deadline

if TYPE_CHECKING:
    from flask import Flask

    from cds_service.hooks.service import PetLookup
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage

__all__ = ["ALERTS_KEY", "AlertsService", "attach_alerts", "stop_alerts"]

ALERTS_KEY: Final = "her2cds.alerts"
READ_BUDGET_S: Final = 30.0


@dataclass(slots=True, kw_only=True, weakref_slot=True)
class AlertsService:
    """What the app keeps of the alerts: the components, the notification triggers and the loop."""

    alerts: Alerts
    triggers: SubscriptionTriggers
    loop: AlertLoop | None

    def stop(self) -> None:
        """Stop the loop and the notification thread (tests, orderly exit)."""
        if self.loop is not None:
            self.loop.stop()
        self.triggers.shutdown(wait=False)


def _reader(alerts: Alerts) -> Any:
    def read(ref: str) -> dict[str, Any] | None:
        client = alerts.fhir(
            alerts.config.fhir_base_url, alerts.tokens.token() or "", Deadline(READ_BUDGET_S)
        )
        found = client.fetch(ref)
        return found[0] if found else None

    return read


def attach_alerts(
    app: Flask, settings: Settings, storage: Storage, pet_lookup: PetLookup
) -> AlertsService | None:
    """Build and start the alerts of the web service (None when not configured). Raises ``SettingsError``."""
    from cds_service.pet.jobs import worker_identity

    alerts = build_alerts(settings, storage, pet_lookup=pet_lookup, worker_id=worker_identity())
    if alerts is None:
        return None
    triggers = SubscriptionTriggers(
        reassess=lambda patient: alerts.engine.reassess(patient, trigger="subscription"),
        read=_reader(alerts),
        deliver=alerts.worker.run_once,
    )
    loop = AlertLoop(alerts, settings, storage).start() if alerts.config.loop.interval_s > 0 else None
    service = AlertsService(alerts=alerts, triggers=triggers, loop=loop)
    app.extensions[ALERTS_KEY] = service
    app.extensions[TRIGGERS_KEY] = triggers
    atexit.register(_stop_at_exit, weakref.ref(service))
    return service


def _stop_at_exit(ref: weakref.ref[AlertsService]) -> None:
    service = ref()
    if service is not None:
        service.stop()


def stop_alerts(app: Flask) -> None:
    """Stop the alerts of ``app`` (no-op without)."""
    service = app.extensions.get(ALERTS_KEY)
    if isinstance(service, AlertsService):
        service.stop()
