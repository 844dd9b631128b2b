"""Review alerts and their delivery outbox: a part of :class:`cds_service.storage.store.Storage`.

Three tables (``cds_service.storage.tables``):

- ``alert_patient_state``: the scenario and card topics of the last settled assessment of each patient, so
  that an alert is raised only when the scenario *changes* (``cds_service.alerts.decide``).
- ``alerts``: one row per alert under its stable key (SHA-256 of patient, scenario and basis digest), so the
  same change never makes a second alert whatever triggered it and however many replicas saw it; the
  worklist state (``new`` → ``acknowledged`` → ``done``) with who and when.
- ``alert_outbox``: one row per alert and delivery channel (FHIR Task, webhook), written in the same
  transaction as the alert, so an alert is never lost between being decided and being delivered. A worker
  claims due rows for a short lease, delivers, and marks them ``delivered`` or reschedules them with
  back-off (``attempts``, ``next_attempt_at``, ``last_error``); a row is never given up.
- ``alert_subscriptions``: the FHIR Subscriptions this service created (topic, the hash of the secret header
  value a notification must carry, the Subscription's id on the server).
- ``leases`` (shared table): who runs the current in-service alert pass, so the workers and replicas of a
  service run one pass per interval between them.

The tables keep the EHR patient id (the alert is about a patient); it is left out of records' ``repr`` and
never logged. ``last_error`` must be a short technical message without PHI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, and_, or_, select, update

from cds_service.storage.engine import StoragePart, changed_a_row
from cds_service.storage.tables import (
    AlertState,
    AnalysisStatus,
    DeliveryStatus,
    alert_outbox,
    alert_patient_state,
    alert_subscriptions,
    alerts,
    leases,
    pet_analysis,
)

__all__ = [
    "AlertRecord",
    "AlertStorage",
    "DeliveryRecord",
    "NewAlert",
    "PatientAlertState",
    "SubscriptionRecord",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PatientAlertState:
    """The last settled assessment of one patient: main scenario (None: no card) and every card topic."""

    scenario: str | None
    cards: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAlert:
    """An alert to raise. ``basis`` lists the statements it rests on (shown on the worklist and the Task)."""

    alert_key: str
    patient_id: str = field(repr=False)
    scenario: str
    reason: str
    trigger: str
    title: str
    summary: str
    basis: tuple[str, ...]
    evidence_id: str | None
    rules_version: str
    reason_ref: str | None = None
    owner_ref: str | None = None
    owner_source: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRecord:
    """One stored alert with its worklist state and the delivery status per channel."""

    alert_key: str
    patient_id: str = field(repr=False)
    scenario: str
    reason: str
    trigger: str
    title: str
    summary: str
    basis: tuple[str, ...]
    evidence_id: str | None
    rules_version: str
    state: AlertState
    created_at: datetime
    acknowledged_by: str | None = field(repr=False)
    acknowledged_at: datetime | None
    done_by: str | None = field(repr=False)
    done_at: datetime | None
    reason_ref: str | None = None
    owner_ref: str | None = None
    owner_source: str | None = None
    outcome: str | None = None
    deliveries: Mapping[str, DeliveryStatus] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionRecord:
    """A FHIR Subscription this service created: its local id (in the notification URL), topic, the
    SHA-256 of its secret header value, and the Subscription's reference on the FHIR server."""

    id: str
    topic: str
    secret_hash: str = field(repr=False)
    remote_ref: str | None
    created_at: datetime
    last_event_at: datetime | None
    events: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    """One claimed outbox row: which alert goes to which channel, and how often it was tried."""

    id: int
    alert_key: str
    channel: str
    attempts: int


class AlertStorage(StoragePart):
    """Patient scenario state, alerts and the delivery outbox."""

    # -- state and raising ---------------------------------------------------------------------------------

    def get_alert_state(self, patient_id: str) -> PatientAlertState | None:
        """The last settled assessment stored for ``patient_id``, or None (never assessed)."""
        with self._reader() as conn:
            row = (
                conn.execute(
                    select(alert_patient_state).where(alert_patient_state.c.patient_id == patient_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return PatientAlertState(
            scenario=row["scenario"], cards=tuple(row["cards"] or ()), updated_at=row["updated_at"]
        )

    def record_assessment(
        self,
        patient_id: str,
        *,
        scenario: str | None,
        cards: Sequence[str],
        alert: NewAlert | None = None,
        channels: Sequence[str] = (),
    ) -> bool:
        """Store the patient's settled scenario and, in the same transaction, ``alert`` with one outbox row
        per channel; True when the alert was new (False: no alert, or one with this key exists already)."""
        now = self._clock()
        values = {"patient_id": patient_id, "scenario": scenario, "cards": list(cards), "updated_at": now}
        upsert = self._insert(alert_patient_state, values=values).on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["patient_id"], set_={k: v for k, v in values.items() if k != "patient_id"}
        )
        with self._write() as conn:
            conn.execute(upsert)
            if alert is None:
                return False
            row = {
                "alert_key": alert.alert_key,
                "patient_id": alert.patient_id,
                "scenario": alert.scenario,
                "reason": alert.reason,
                "trigger": alert.trigger,
                "title": alert.title,
                "summary": alert.summary,
                "basis": list(alert.basis),
                "evidence_id": alert.evidence_id,
                "reason_ref": alert.reason_ref,
                "owner_ref": alert.owner_ref,
                "owner_source": alert.owner_source,
                "rules_version": alert.rules_version,
                "state": AlertState.NEW.value,
                "created_at": now,
            }
            inserted = self._insert(alerts, values=row).on_conflict_do_nothing()  # type: ignore[attr-defined]
            if not changed_a_row(conn, inserted.returning(alerts.c.alert_key)):
                return False
            for channel in channels:
                conn.execute(
                    alert_outbox.insert().values(
                        alert_key=alert.alert_key,
                        channel=channel,
                        status=DeliveryStatus.PENDING.value,
                        attempts=0,
                        next_attempt_at=now,
                    )
                )
            return True

    # -- worklist ------------------------------------------------------------------------------------------

    def list_alerts(self, *, states: Sequence[AlertState] = (), limit: int = 500) -> tuple[AlertRecord, ...]:
        """Alerts in ``states`` (all when empty), newest first, with their delivery status per channel."""
        stmt = select(alerts).order_by(alerts.c.created_at.desc(), alerts.c.alert_key).limit(limit)
        if states:
            stmt = stmt.where(alerts.c.state.in_([s.value for s in states]))
        with self._reader() as conn:
            rows = list(conn.execute(stmt).mappings())
            keys = [r["alert_key"] for r in rows]
            deliveries: dict[str, dict[str, DeliveryStatus]] = {}
            if keys:
                for d in conn.execute(
                    select(alert_outbox.c.alert_key, alert_outbox.c.channel, alert_outbox.c.status).where(
                        alert_outbox.c.alert_key.in_(keys)
                    )
                ).mappings():
                    deliveries.setdefault(d["alert_key"], {})[d["channel"]] = DeliveryStatus(d["status"])
        return tuple(_alert_from_row(r, deliveries.get(r["alert_key"], {})) for r in rows)

    def get_alert(self, alert_key: str) -> AlertRecord | None:
        """One alert by key, or None."""
        with self._reader() as conn:
            row = conn.execute(select(alerts).where(alerts.c.alert_key == alert_key)).mappings().first()
        return _alert_from_row(row, {}) if row is not None else None

    def set_alert_state(
        self, alert_key: str, state: AlertState, *, by: str, outcome: str | None = None
    ) -> bool:
        """Move an alert forward (``acknowledged`` from ``new``; ``done`` from ``new`` or ``acknowledged``,
        with the review ``outcome``), recording who and when; False when the alert is unknown or already at
        or past ``state``."""
        state = AlertState(state)
        now = self._clock()
        col = alerts.c
        if state is AlertState.ACKNOWLEDGED:
            stmt = (
                update(alerts)
                .where(col.alert_key == alert_key, col.state == AlertState.NEW.value)
                .values(state=state.value, acknowledged_by=by, acknowledged_at=now)
            )
        elif state is AlertState.DONE:
            stmt = (
                update(alerts)
                .where(col.alert_key == alert_key, col.state != AlertState.DONE.value)
                .values(state=state.value, done_by=by, done_at=now, outcome=outcome)
            )
        else:
            raise ValueError("an alert moves to acknowledged or done only")
        with self._write(durable=True) as conn:
            return conn.execute(stmt).rowcount == 1

    # -- outbox --------------------------------------------------------------------------------------------

    def claim_deliveries(
        self, worker_id: str, *, lease_s: float, limit: int = 20
    ) -> tuple[DeliveryRecord, ...]:
        """Claim up to ``limit`` due outbox rows for ``lease_s`` seconds (rows whose lease ran out are due
        again, so a worker that died loses nothing). Each claim is a conditional UPDATE: of several workers,
        exactly one gets a row."""
        now = self._clock()
        col = alert_outbox.c
        due = and_(
            col.status == DeliveryStatus.PENDING.value,
            col.next_attempt_at <= now,
            or_(col.claimed_until.is_(None), col.claimed_until < now),
        )
        claimed: list[DeliveryRecord] = []
        with self._reader() as conn:
            candidates = list(
                conn.execute(
                    select(col.id, col.alert_key, col.channel, col.attempts)
                    .where(due)
                    .order_by(col.next_attempt_at, col.id)
                    .limit(limit)
                ).mappings()
            )
        for row in candidates:
            stmt = (
                update(alert_outbox)
                .where(col.id == row["id"], due)
                .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=lease_s))
            )
            with self._write() as conn:
                if conn.execute(stmt).rowcount == 1:
                    claimed.append(
                        DeliveryRecord(
                            id=row["id"],
                            alert_key=row["alert_key"],
                            channel=row["channel"],
                            attempts=row["attempts"],
                        )
                    )
        return tuple(claimed)

    def finish_delivery(
        self,
        delivery_id: int,
        worker_id: str,
        *,
        delivered: bool,
        remote_ref: str | None = None,
        error: str | None = None,
        retry_after_s: float = 0.0,
    ) -> bool:
        """Record the outcome of a claimed delivery: ``delivered`` (with the remote reference, e.g. the Task
        id), or a failure rescheduled ``retry_after_s`` seconds from now. False when the claim was lost."""
        now = self._clock()
        col = alert_outbox.c
        values: dict[str, Any] = {"attempts": col.attempts + 1, "claimed_by": None, "claimed_until": None}
        if delivered:
            values.update(
                status=DeliveryStatus.DELIVERED.value,
                delivered_at=now,
                remote_ref=remote_ref,
                last_error=None,
            )
        else:
            values.update(last_error=error, next_attempt_at=now + timedelta(seconds=retry_after_s))
        stmt = update(alert_outbox).where(col.id == delivery_id, col.claimed_by == worker_id).values(**values)
        with self._write() as conn:
            return conn.execute(stmt).rowcount == 1

    def outbox_rows(self, alert_key: str) -> tuple[Mapping[str, Any], ...]:
        """The outbox rows of one alert (status, attempts, last error, remote reference) for tests and the
        ``alerts`` command."""
        with self._reader() as conn:
            rows = conn.execute(
                select(alert_outbox).where(alert_outbox.c.alert_key == alert_key).order_by(alert_outbox.c.id)
            ).mappings()
            return tuple(dict(r) for r in rows)

    def pet_patients_analysed_since(self, since: datetime) -> set[str]:
        """DICOM PatientIDs of PET analyses finished after ``since`` (the in-service loop's PET trigger:
        analyses the web service's own scanner or PACS sync stored)."""
        col = pet_analysis.c
        stmt = (
            select(col.patient_id)
            .where(
                col.status == AnalysisStatus.DONE.value,
                col.updated_at > since,
                col.patient_id.is_not(None),
            )
            .distinct()
        )
        with self._reader() as conn:
            return {str(p) for p in conn.execute(stmt).scalars()}

    # -- leases of background passes ------------------------------------------------------------------------

    def claim_lease(self, name: str, owner: str, *, min_gap_s: float, lease_s: float) -> bool:
        """Take the lease of the next pass named ``name``; True when ``owner`` may run it now
        (:meth:`~cds_service.storage.engine.StoragePart._claim_lease`)."""
        col = leases.c
        return self._claim_lease(
            leases,
            key=(col.name, name),
            lease=(col.owner, col.started_at),
            owner=owner,
            min_gap_s=min_gap_s,
            lease_s=lease_s,
        )

    def finish_lease(self, name: str, owner: str) -> None:
        """End ``owner``'s pass ``name`` (no-op when the lease was lost)."""
        col = leases.c
        stmt = (
            update(leases)
            .where(col.name == name, col.owner == owner)
            .values(owner=None, finished_at=self._clock())
        )
        with self._write() as conn:
            conn.execute(stmt)

    # -- FHIR Subscriptions ----------------------------------------------------------------------------------

    def save_subscription(self, sub_id: str, *, topic: str, secret_hash: str) -> bool:
        """Record a Subscription about to be created for ``topic``; False when one exists for the topic."""
        values = {
            "id": sub_id,
            "topic": topic,
            "secret_hash": secret_hash,
            "created_at": self._clock(),
            "events": 0,
        }
        stmt = self._insert(alert_subscriptions, values=values).on_conflict_do_nothing()  # type: ignore[attr-defined]
        with self._write() as conn:
            return changed_a_row(conn, stmt.returning(alert_subscriptions.c.id))

    def set_subscription_remote(self, sub_id: str, remote_ref: str | None) -> None:
        """Store the Subscription's reference on the FHIR server (None: creating it failed)."""
        stmt = (
            update(alert_subscriptions)
            .where(alert_subscriptions.c.id == sub_id)
            .values(remote_ref=remote_ref)
        )
        with self._write() as conn:
            conn.execute(stmt)

    def delete_subscription(self, sub_id: str) -> None:
        """Forget a Subscription (its creation failed; the next pass tries again)."""
        with self._write() as conn:
            conn.execute(alert_subscriptions.delete().where(alert_subscriptions.c.id == sub_id))

    def subscriptions(self) -> tuple[SubscriptionRecord, ...]:
        """Every Subscription this service created, oldest first."""
        with self._reader() as conn:
            rows = list(
                conn.execute(
                    select(alert_subscriptions).order_by(alert_subscriptions.c.created_at)
                ).mappings()
            )
        return tuple(_subscription_from_row(r) for r in rows)

    def get_subscription(self, sub_id: str) -> SubscriptionRecord | None:
        """One Subscription by its local id, or None."""
        with self._reader() as conn:
            row = (
                conn.execute(select(alert_subscriptions).where(alert_subscriptions.c.id == sub_id))
                .mappings()
                .first()
            )
        return _subscription_from_row(row) if row is not None else None

    def record_subscription_event(self, sub_id: str) -> None:
        """Count one accepted notification of a Subscription."""
        col = alert_subscriptions.c
        stmt = (
            update(alert_subscriptions)
            .where(col.id == sub_id)
            .values(events=col.events + 1, last_event_at=self._clock())
        )
        with self._write() as conn:
            conn.execute(stmt)


def _subscription_from_row(row: RowMapping) -> SubscriptionRecord:
    return SubscriptionRecord(
        id=row["id"],
        topic=row["topic"],
        secret_hash=row["secret_hash"],
        remote_ref=row["remote_ref"],
        created_at=row["created_at"],
        last_event_at=row["last_event_at"],
        events=row["events"],
    )


def _alert_from_row(row: RowMapping, deliveries: Mapping[str, DeliveryStatus]) -> AlertRecord:
    return AlertRecord(
        alert_key=row["alert_key"],
        patient_id=row["patient_id"],
        scenario=row["scenario"],
        reason=row["reason"],
        trigger=row["trigger"],
        title=row["title"],
        summary=row["summary"],
        basis=tuple(row["basis"] or ()),
        evidence_id=row["evidence_id"],
        rules_version=row["rules_version"],
        state=AlertState(row["state"]),
        created_at=row["created_at"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        done_by=row["done_by"],
        done_at=row["done_at"],
        reason_ref=row["reason_ref"],
        owner_ref=row["owner_ref"],
        owner_source=row["owner_source"],
        outcome=row["outcome"],
        deliveries=dict(deliveries),
    )
