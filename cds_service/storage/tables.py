"""Relational schema of the service database (SQLAlchemy 2 Core), shared by SQLite and PostgreSQL.

The tables hold operational state only (``spec/operations.md`` §10):

- ``jti_replay``: one row per accepted client JWT, keyed by (``iss``, ``jti``) until ``exp`` + leeway, so that
  a replayed token is refused by every worker and replica (``spec/cds-hooks.md`` CH-34 step 7).
- ``hook_audit`` and ``hook_audit_card``: one record per hook call and one row per card returned, without PHI
  (no patient ids, no names, no prefetch bodies), joinable to ``card_feedback`` by card uuid (CH-29).
- ``card_feedback``: the clinician's accepted/overridden outcome per card (CH-27).
- ``pet_analysis``: cached PET facts keyed by DICOM SeriesInstanceUID, with a claim protocol so that exactly
  one worker analyses a series across replicas. It is an operational cache keyed by DICOM identifiers and
  keeps the DICOM PatientID for lookup; that column is never logged.
- ``pet_pictures``: the maximum-intensity-projection PNG of an analysed series, keyed by SeriesInstanceUID
  (pixels only, no burnt-in identifiers), shown on the evidence page.
- ``alert_patient_state``, ``alerts``, ``alert_outbox``, ``alert_subscriptions``: review alerts
  (``cds_service.storage.alerts``).
- ``leases``: one row per background pass shared between processes (the in-service alert loop).
- ``heartbeats``: when a background component (``her2-cds sync``) last completed its work, read by
  ``/metrics`` for the staleness alert; one row per component name.
- ``pet_series_index``: every PT series the PET sources listed (receiver, ``sync``, the service's folder
  scanner or PACS sync), keyed by SeriesInstanceUID, with the patient identifiers, dates, related SR/SEG
  series and the header triage (HER2 tracer or not). The hook reads it, joined with ``pet_analysis``,
  instead of asking the PACS; it keeps the DICOM PatientID for lookup, never logged.
- ``pet_source_state``: per PET source, when its index was last brought up to date and when an attempt last
  failed (and why, without PHI): what makes an index stale or a source unavailable on a card; and which
  process holds the current index pass (a lease, so that the workers and replicas of a service run one pass
  per interval between them).
- ``evidence_snapshots``: what one card's evidence page shows, under a random unguessable id (the only thing
  in the link), until ``expires_at``; the payload holds no names or chart identifiers, only an opaque
  patient reference, PET facts and pathology timeline entries.

The Alembic revisions in ``cds_service/migrations`` create this schema; a test compares the migrated database
with this metadata so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: Longest identifier stored: a DICOM UID is at most 64 characters (PS3.5 §9.1); URLs (iss) may be longer.
UID_LENGTH = 64
KEY_LENGTH = 255
URL_LENGTH = 1024


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zone type, so the value is normalised to UTC and
    stored without offset, then marked UTC again on the way out. Naive datetimes are refused so that local
    time never leaks into the database.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Normalise an aware datetime to UTC (naive for SQLite); refuse naive values."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("UtcDateTime needs a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime whatever the backend returned."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"unexpected timestamp value of type {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class AnalysisStatus(StrEnum):
    """Life cycle of a cached PET analysis (one SeriesInstanceUID)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class FeedbackOutcome(StrEnum):
    """CDS Hooks 2.0 feedback ``outcome`` (``spec/cds-hooks.md`` CH-27)."""

    ACCEPTED = "accepted"
    OVERRIDDEN = "overridden"


class HookOutcome(StrEnum):
    """How a hook call ended, for the audit record and the ``cds_hook_requests_total`` metric."""

    CARDS = "cards"
    NO_CARDS = "no_cards"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    PRECONDITION_FAILED = "precondition_failed"
    UNPROCESSABLE = "unprocessable"
    ERROR = "error"


jti_replay = Table(
    "jti_replay",
    metadata,
    Column("iss", String(URL_LENGTH), primary_key=True),
    Column("jti", String(KEY_LENGTH), primary_key=True),
    Column("expires_at", UtcDateTime(), nullable=False),
    Index("ix_jti_replay_expires_at", "expires_at"),
)

hook_audit = Table(
    "hook_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hook_instance", String(KEY_LENGTH), nullable=False),
    Column("service_id", String(KEY_LENGTH), nullable=False),
    Column("hook", String(KEY_LENGTH), nullable=False),
    Column("iss", String(URL_LENGTH), nullable=True),
    Column("tenant", String(KEY_LENGTH), nullable=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("rules_version", String(32), nullable=False),
    Index("ix_hook_audit_hook_instance", "hook_instance"),
    Index("ix_hook_audit_received_at", "received_at"),
)

hook_audit_card = Table(
    "hook_audit_card",
    metadata,
    Column("card_uuid", String(KEY_LENGTH), primary_key=True),
    Column("audit_id", Integer, ForeignKey("hook_audit.id", ondelete="CASCADE"), nullable=False),
    Column("topic", String(KEY_LENGTH), nullable=True),
    Index("ix_hook_audit_card_audit_id", "audit_id"),
)

card_feedback = Table(
    "card_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("card_uuid", String(KEY_LENGTH), nullable=False),
    Column("service_id", String(KEY_LENGTH), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_code", String(KEY_LENGTH), nullable=True),
    Column("override_system", String(URL_LENGTH), nullable=True),
    Column("override_display", Text, nullable=True),
    Column("user_comment", Text, nullable=True),
    Column("outcome_timestamp", UtcDateTime(), nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("card_uuid", "outcome", "outcome_timestamp", name="uq_card_feedback_card_outcome_time"),
    Index("ix_card_feedback_card_uuid", "card_uuid"),
)

pet_analysis = Table(
    "pet_analysis",
    metadata,
    Column("series_instance_uid", String(UID_LENGTH), primary_key=True),
    Column("study_instance_uid", String(UID_LENGTH), nullable=True),
    Column("patient_id", String(KEY_LENGTH), nullable=True),
    Column("status", String(16), nullable=False),
    Column("facts", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("analysis_version", String(32), nullable=True),
    Column("claimed_by", String(KEY_LENGTH), nullable=True),
    Column("claimed_at", UtcDateTime(), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_pet_analysis_patient_id", "patient_id"),
    Index("ix_pet_analysis_study_instance_uid", "study_instance_uid"),
)

pet_pictures = Table(
    "pet_pictures",
    metadata,
    Column("series_uid", String(UID_LENGTH), primary_key=True),
    Column("png", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

#: Length of an evidence id: ``secrets.token_urlsafe(32)`` gives 43 URL-safe characters (256 random bits).
EVIDENCE_ID_LENGTH = 43

evidence_snapshots = Table(
    "evidence_snapshots",
    metadata,
    Column("id", String(EVIDENCE_ID_LENGTH), primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    Index("ix_evidence_snapshots_expires_at", "expires_at"),
)

heartbeats = Table(
    "heartbeats",
    metadata,
    Column("component", String(32), primary_key=True),
    Column("last_success_at", UtcDateTime(), nullable=False),
)


class AlertState(StrEnum):
    """Where a review alert stands on the worklist (``docs/alerts.md``)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DONE = "done"


class DeliveryStatus(StrEnum):
    """An outbox row: ``pending`` until its channel accepted the alert, then ``delivered``."""

    PENDING = "pending"
    DELIVERED = "delivered"


#: Length of an alert key: 64 hexadecimal characters of SHA-256.
ALERT_KEY_LENGTH = 64

alert_patient_state = Table(
    "alert_patient_state",
    metadata,
    Column("patient_id", String(KEY_LENGTH), primary_key=True),
    Column("scenario", String(64), nullable=True),
    Column("cards", JSON, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("alert_key", String(ALERT_KEY_LENGTH), primary_key=True),
    Column("patient_id", String(KEY_LENGTH), nullable=False),
    Column("scenario", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("basis", JSON, nullable=False),
    Column("evidence_id", String(EVIDENCE_ID_LENGTH), nullable=True),
    Column("reason_ref", String(URL_LENGTH), nullable=True),
    Column("rules_version", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("acknowledged_by", String(KEY_LENGTH), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("done_by", String(KEY_LENGTH), nullable=True),
    Column("done_at", UtcDateTime(), nullable=True),
    Column("owner_ref", String(URL_LENGTH), nullable=True),
    Column("owner_source", String(16), nullable=True),
    Column("outcome", String(32), nullable=True),
    Index("ix_alerts_state", "state"),
    Index("ix_alerts_patient_id", "patient_id"),
)

alert_outbox = Table(
    "alert_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "alert_key",
        String(ALERT_KEY_LENGTH),
        ForeignKey("alerts.alert_key", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("remote_ref", String(URL_LENGTH), nullable=True),
    Column("claimed_by", String(KEY_LENGTH), nullable=True),
    Column("claimed_until", UtcDateTime(), nullable=True),
    Column("delivered_at", UtcDateTime(), nullable=True),
    UniqueConstraint("alert_key", "channel", name="uq_alert_outbox_alert_key_channel"),
    Index("ix_alert_outbox_status_next", "status", "next_attempt_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("owner", String(KEY_LENGTH), nullable=True),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
)

alert_subscriptions = Table(
    "alert_subscriptions",
    metadata,
    Column("id", String(EVIDENCE_ID_LENGTH), primary_key=True),
    Column("topic", String(URL_LENGTH), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("remote_ref", String(URL_LENGTH), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_event_at", UtcDateTime(), nullable=True),
    Column("events", Integer, nullable=False, default=0),
    UniqueConstraint("topic", name="uq_alert_subscriptions_topic"),
)

#: Length of a tracer name (``rules.domain.Tracer`` values) and of a triage outcome.
TRACER_LENGTH = 64
TRIAGE_LENGTH = 16


class SeriesTriage(StrEnum):
    """What one header says about a PT series (``spec/pet-dicom.md`` §8)."""

    HER2 = "her2"
    OTHER = "other"
    UNKNOWN = "unknown"


pet_series_index = Table(
    "pet_series_index",
    metadata,
    Column("series_instance_uid", String(UID_LENGTH), primary_key=True),
    Column("study_instance_uid", String(UID_LENGTH), nullable=False),
    Column("patient_id", String(KEY_LENGTH), nullable=True),
    Column("issuer_of_patient_id", String(KEY_LENGTH), nullable=True),
    Column("source", String(URL_LENGTH), nullable=False),
    Column("series_date", Date, nullable=True),
    Column("series_time", Time, nullable=True),
    Column("instance_count", Integer, nullable=True),
    Column("related_sr", JSON, nullable=False),
    Column("related_seg", JSON, nullable=False),
    Column("triage", String(TRIAGE_LENGTH), nullable=False),
    Column("tracer", String(TRACER_LENGTH), nullable=True),
    Column("triage_note", Text, nullable=True),
    Column("listed_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_pet_series_index_patient_id", "patient_id"),
    Index("ix_pet_series_index_study_instance_uid", "study_instance_uid"),
    Index("ix_pet_series_index_source", "source"),
)

pet_source_state = Table(
    "pet_source_state",
    metadata,
    Column("source", String(URL_LENGTH), primary_key=True),
    Column("last_success_at", UtcDateTime(), nullable=True),
    Column("watermark", UtcDateTime(), nullable=True),
    Column("last_failure_at", UtcDateTime(), nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("pass_owner", String(KEY_LENGTH), nullable=True),
    Column("pass_started_at", UtcDateTime(), nullable=True),
    Column("pass_finished_at", UtcDateTime(), nullable=True),
)
