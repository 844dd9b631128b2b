"""The alert passes and the web service's own alert loop.

:func:`poll_pass` is one trigger pass: the FHIR ``_lastUpdated`` poll (DiagnosticReports, Observations,
MedicationRequests changed since the previous completed pass, five minutes of overlap; heartbeat
``alerts-fhir``) and the PET analyses stored since then (by the service's folder scanner or PACS sync, the
receiver or ``sync``), each patient re-assessed once. ``her2-cds alerts sync`` runs it, and so does
:class:`AlertLoop`.

:class:`AlertLoop` runs in the web service when the alerts configuration has ``service_loop.interval_s``:
a daemon thread that every ``deliver_interval_s`` delivers due outbox rows (each row claimed for a lease,
so several workers never deliver one twice) and every ``interval_s`` runs, under a lease in the database
(table ``leases``, as the PET index passes), one trigger pass, the FHIR Subscriptions set-up (where
enabled and offered) and the e-mail digest when due; so the workers and replicas of a service run one pass
per interval between them, and a worker that died holding the lease is replaced after the lease expires.
:meth:`AlertLoop.stop` ends it after the current step (``create_app`` registers it to run at exit).
Nothing here logs patient data: only counts and error class names.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
import weakref
from collections import Counter
from typing import TYPE_CHECKING, Final

from cds_service.alerts.backend_auth import BackendAuthError
from cds_service.alerts.digest import DigestError, digest_message, send_digest
from cds_service.alerts.engine import AlertOutcome
from cds_service.alerts.subscriptions import ensure_subscriptions
from cds_service.alerts.wiring import Alerts, reassess_changed
from cds_service.alerts.worklist import DEFAULT_LINK_HOURS, worklist_url
from cds_service.storage.store import AlertState
from connectors.errors import ConnectorError

if TYPE_CHECKING:
    from cds_service.settings import Settings
    from cds_service.storage.store import Storage

__all__ = ["AlertLoop", "digest_pass", "poll_pass"]

log = logging.getLogger(__name__)

HEARTBEAT: Final = "alerts-fhir"
DIGEST_HEARTBEAT: Final = "alerts-digest"
LEASE_NAME: Final = "alerts-pass"
OVERLAP: Final = dt.timedelta(minutes=5)
EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LEASE_MIN_S: Final = 600.0
DIGEST_LIMIT: Final = 100_000


def _since(storage: Storage, component: str) -> dt.datetime:
    last = storage.last_success(component)
    return dt.datetime.fromtimestamp(last, dt.UTC) - OVERLAP if last is not None else EPOCH


def poll_pass(alerts: Alerts, storage: Storage) -> Counter[str]:
    """One trigger pass (see the module docstring); counts by outcome. Raises FHIR errors of the listing
    (the heartbeat is then not moved, so the next pass covers the same span)."""
    since = _since(storage, HEARTBEAT)
    counts = reassess_changed(alerts, since)
    for dicom_id in sorted(storage.pet_patients_analysed_since(since)):
        counts[alerts.engine.on_pet_stored(dicom_id).value] += 1
    storage.record_heartbeat(HEARTBEAT)
    return counts


def digest_pass(alerts: Alerts, settings: Settings, storage: Storage, *, force: bool = False) -> bool:
    """Send the e-mail digest when configured and due (``force``: now); True when one was sent. Raises
    :class:`cds_service.alerts.digest.DigestError` (the digest stays due)."""
    config = alerts.config.email
    if config is None:
        return False
    last = storage.last_success(DIGEST_HEARTBEAT)
    if not force and last is not None and time.time() - last < config.interval_h * 3600:
        return False
    link = worklist_url(settings, config.worklist_reviewer) if config.worklist_reviewer else None
    message = digest_message(
        config,
        storage.list_alerts(states=(AlertState.NEW, AlertState.ACKNOWLEDGED), limit=DIGEST_LIMIT),
        now=storage.now(),
        worklist_link=link,
        link_hours=DEFAULT_LINK_HOURS,
    )
    if message is not None:
        send_digest(config, message)
    storage.record_heartbeat(DIGEST_HEARTBEAT)
    return message is not None


class AlertLoop:
    """The web service's alert loop (see the module docstring)."""

    def __init__(
        self,
        alerts: Alerts,
        settings: Settings,
        storage: Storage,
        *,
        owner: str | None = None,
    ) -> None:
        loop = alerts.config.loop
        if loop.interval_s <= 0:
            raise ValueError("AlertLoop needs service_loop.interval_s > 0")
        self.alerts = alerts
        self.settings = settings
        self.storage = storage
        self.interval_s = loop.interval_s
        self.deliver_interval_s = min(loop.deliver_interval_s, loop.interval_s)
        self.lease_s = max(LEASE_MIN_S, 10 * loop.interval_s)
        self.owner = owner or f"alerts:{uuid.uuid4().hex}"
        self.passes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_pass = 0.0
        weakref.finalize(self, self._stop.set)

    def start(self) -> AlertLoop:
        """Start the thread (once); the first pass is tried at once."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=_run, args=(weakref.ref(self), self._stop), name="alert-loop", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the loop after its current step and wait for it."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def tick(self) -> None:
        """One step: a pass when due and leased to this process, then a delivery pass. Never raises."""
        now = time.monotonic()
        if now >= self._next_pass:
            self._next_pass = now + self.interval_s
            self.run_pass()
        try:
            self.alerts.worker.run_once()
        except Exception as exc:  # a database hiccup must not end the loop
            log.error("alert delivery pass failed: %s", type(exc).__name__)

    def run_pass(self) -> bool:
        """The leased pass: triggers, Subscriptions, digest; True when this process ran it."""
        try:
            if not self.storage.claim_lease(
                LEASE_NAME, self.owner, min_gap_s=0.8 * self.interval_s, lease_s=self.lease_s
            ):
                return False
        except Exception as exc:  # the database may be briefly unreachable; the next step tries again
            log.warning("alert pass lease could not be taken: %s", type(exc).__name__)
            return False
        try:
            self._pass()
        finally:
            try:
                self.storage.finish_lease(LEASE_NAME, self.owner)
            except Exception as exc:  # the lease then expires by itself
                log.warning("alert pass lease could not be released: %s", type(exc).__name__)
        self.passes["run"] += 1
        return True

    def _pass(self) -> None:
        try:
            counts = poll_pass(self.alerts, self.storage)
            raised = counts.get(AlertOutcome.RAISED.value, 0)
            log.info("alert pass: %d patients re-assessed, %d alerts raised", sum(counts.values()), raised)
        except (ConnectorError, BackendAuthError) as exc:
            log.warning("alert pass: FHIR server unavailable (%s)", type(exc).__name__)
        except Exception as exc:  # a bug must not end the loop
            log.error("alert pass failed: %s", type(exc).__name__)
        if self.alerts.config.subscriptions and self.settings.base_url:
            try:
                ensure_subscriptions(self.alerts, self.storage, public_url=self.settings.base_url)
            except (ConnectorError, BackendAuthError) as exc:
                log.warning("FHIR Subscriptions not set up: %s", type(exc).__name__)
            except Exception as exc:
                log.error("FHIR Subscriptions set-up failed: %s", type(exc).__name__)
        try:
            digest_pass(self.alerts, self.settings, self.storage)
        except DigestError as exc:
            log.warning("alert digest not sent, retried at the next pass: %s", exc)
        except Exception as exc:
            log.error("alert digest failed: %s", type(exc).__name__)


def _run(ref: weakref.ref[AlertLoop], stop: threading.Event) -> None:
    """The thread body, holding its loop only weakly between steps."""
    while not stop.is_set():
        loop = ref()
        if loop is None:
            return
        loop.tick()
        wait_s = loop.deliver_interval_s
        del loop
        stop.wait(wait_s)
