"""The service database: JWT replay cache, hook audit, card feedback and cached PET analyses.

One :class:`Storage` per process wraps a SQLAlchemy 2 Core engine for either backend (``spec/operations.md``
§10):

- ``sqlite:///path/to/db`` (default, one replica with several workers): WAL journal, ``busy_timeout`` 5000 ms,
  foreign keys on, and every write transaction opened with ``BEGIN IMMEDIATE`` so that concurrent writers
  queue on the lock (up to the busy timeout) instead of failing on a read-to-write lock upgrade.
- ``postgresql+psycopg://…`` (several replicas; ``postgresql://`` is read as psycopg 3). Claims and replay
  entries rely on ``INSERT … ON CONFLICT`` and conditional ``UPDATE`` statements, which are atomic under READ
  COMMITTED.

Every public method runs one short transaction and returns only after it committed, so an acknowledgement
given to a client (feedback, replay decision) is never lost. The schema is managed by Alembic:
:meth:`Storage.migrate` (``her2-cds migrate``, the chart's pre-install/pre-upgrade Job) upgrades to the latest
revision and is safe to run from several processes at once; the web service only checks the revision
(:meth:`Storage.check_schema`), so old pods never run on a schema they do not know during a rollout.

Nothing here logs. Audit records carry no PHI by construction; PET analyses keep the DICOM PatientID as a
lookup key (never logged: it is excluded from the records' ``repr``).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    and_,
    create_engine,
    delete,
    event,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.dml import Insert

from cds_service.storage.artifacts import ArtifactStorage
from cds_service.storage.tables import (
    AnalysisStatus,
    FeedbackOutcome,
    HookOutcome,
    card_feedback,
    heartbeats,
    hook_audit,
    hook_audit_card,
    jti_replay,
    pet_analysis,
)

__all__ = [
    "AnalysisStatus",
    "AuditedCard",
    "FeedbackOutcome",
    "FeedbackRecord",
    "HookAuditRecord",
    "HookOutcome",
    "PetAnalysisRecord",
    "SchemaVersionError",
    "Storage",
    "StorageConfigError",
    "expected_schema_revision",
]

SQLITE_BUSY_TIMEOUT_MS = 5000
#: Key of the PostgreSQL advisory lock that serialises concurrent schema upgrades ("her2" in ASCII).
MIGRATION_LOCK_KEY = 0x68657232
#: Expired replay entries are purged opportunistically once every this many replay checks.
PURGE_EVERY_N_CHECKS = 500
_MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class StorageConfigError(ValueError):
    """The database URL names an unsupported backend or driver."""


class SchemaVersionError(RuntimeError):
    """The database schema is not the revision this release needs; the message says what to run."""


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS_DIR))
    return config


@functools.cache
def _script_directory() -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config())


def _known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of this release's Alembic revisions."""
    from alembic.util import CommandError

    try:
        return _script_directory().get_revision(revision) is not None
    except CommandError:  # "No such revision or branch"
        return False


def _current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    revision: str | None = MigrationContext.configure(conn).get_current_revision()
    return revision


def expected_schema_revision() -> str:
    """The latest Alembic revision shipped with this release (what :meth:`Storage.check_schema` wants)."""
    head: str = _script_directory().get_current_head()
    return head


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC)")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditedCard:
    """A card returned by a hook call: its ``uuid`` and ``source.topic`` code (scenario), never its text."""

    uuid: str
    topic: str | None = None

    def __post_init__(self) -> None:
        if not self.uuid:
            raise ValueError("AuditedCard.uuid must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class HookAuditRecord:
    """One hook call, without PHI: identifiers of the call, timing, outcome, cards and rules version.

    ``duration_ms`` is wall time from request receipt to response, in milliseconds. ``iss``/``tenant``
    identify the calling EHR (``spec/cds-hooks.md`` CH-35), never a patient.
    """

    hook_instance: str
    service_id: str
    hook: str
    received_at: datetime
    duration_ms: float
    outcome: HookOutcome
    rules_version: str
    cards: tuple[AuditedCard, ...] = ()
    iss: str | None = None
    tenant: str | None = None

    def __post_init__(self) -> None:
        _require_aware("received_at", self.received_at)
        if self.duration_ms < 0:
            raise ValueError("duration_ms must be >= 0")
        if not (self.hook_instance and self.service_id and self.hook and self.rules_version):
            raise ValueError("hook_instance, service_id, hook and rules_version are required")
        object.__setattr__(self, "outcome", HookOutcome(self.outcome))
        object.__setattr__(self, "cards", tuple(self.cards))


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackRecord:
    """One CDS Hooks feedback item (``spec/cds-hooks.md`` CH-27) as stored.

    ``override_display`` is optional because the public sandbox omits it (CH-28). ``user_comment`` is free
    text typed by a clinician: it is stored for review but never logged.
    """

    card_uuid: str
    service_id: str
    outcome: FeedbackOutcome
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] = ()
    override_code: str | None = None
    override_system: str | None = None
    override_display: str | None = None
    user_comment: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        _require_aware("outcome_timestamp", self.outcome_timestamp)
        if not (self.card_uuid and self.service_id):
            raise ValueError("card_uuid and service_id are required")
        object.__setattr__(self, "outcome", FeedbackOutcome(self.outcome))
        object.__setattr__(self, "accepted_suggestions", tuple(self.accepted_suggestions))


@dataclass(frozen=True, slots=True, kw_only=True)
class PetAnalysisRecord:
    """The stored state of one PET series analysis, keyed by DICOM SeriesInstanceUID.

    ``facts`` is the JSON form of the computed PET facts (``None`` until ``status`` is ``done``);
    ``analysis_version`` names the rules/analysis version that produced them. ``patient_id`` (DICOM PatientID)
    and ``facts`` are left out of ``repr`` so that logging a record by mistake does not leak them.
    """

    series_instance_uid: str
    study_instance_uid: str | None
    patient_id: str | None = field(repr=False)
    status: AnalysisStatus
    facts: Mapping[str, Any] | None = field(repr=False)
    error: str | None
    analysis_version: str | None
    claimed_by: str | None
    claimed_at: datetime | None
    attempts: int
    updated_at: datetime


def _normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StorageConfigError(
            f"unsupported database driver {parsed.drivername!r}: use sqlite:///path or postgresql+psycopg://…"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        # One shared in-memory database (tests and tools only): a single connection for all threads.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN IMMEDIATE can be emitted below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        deferred = conn.get_execution_options().get("sqlite_deferred", False)
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


class Storage(ArtifactStorage):
    """The service database for one process (thread-safe: one pooled connection per thread at a time).

    :param url: ``sqlite:///relative/or//absolute/path.db`` or ``postgresql+psycopg://user@host:port/db``.
    :param clock: returns the current aware UTC time; injected in tests.

    PET pictures and evidence snapshots come from :class:`~cds_service.storage.artifacts.ArtifactStorage`.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _utc_now) -> None:
        normalised = _normalise_url(url)
        self._clock = clock
        self._checks = itertools.count(1)
        if normalised.startswith("sqlite"):
            self._engine = _sqlite_engine(normalised)
        else:
            self._engine = create_engine(normalised, pool_pre_ping=True, pool_size=5, max_overflow=10)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for health checks and tests)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    def describe(self) -> str:
        """The database URL with any password hidden, fit for a start-up log line."""
        return self._engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        """Close pooled connections (at shutdown, or after fork)."""
        self._engine.dispose()

    def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` (for readiness); never raises."""
        try:
            with self._reader() as conn:
                return bool(conn.execute(text("SELECT 1")).scalar_one() == 1)
        except Exception:  # readiness reports any failure as "not ready"
            return False

    def migrate(self, revision: str = "head") -> str | None:
        """Upgrade (or, to an older ``revision``, downgrade) the schema, in one transaction; return the
        revision reached.

        Concurrent runs are serialised: PostgreSQL by an advisory transaction lock, SQLite by ``BEGIN
        IMMEDIATE``.
        """
        from alembic import command

        config = _alembic_config()
        with self._engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            current = _current_revision(conn)
            older = set()
            if current is not None and _known_revision(current):
                older = {r.revision for r in _script_directory().walk_revisions("base", current)} - {current}
            if revision in older or (revision == "base" and current is not None):
                command.downgrade(config, revision)
            else:
                command.upgrade(config, revision)
            return _current_revision(conn)

    def schema_revision(self) -> str | None:
        """The schema revision stored in the database (``None`` for an empty database)."""
        with self._reader() as conn:
            return _current_revision(conn)

    def check_schema(self) -> str:
        """Return the schema revision when it is the one this release needs; otherwise raise
        :class:`SchemaVersionError` saying what to do (run ``her2-cds migrate``, or roll forward)."""
        head = expected_schema_revision()
        try:
            current = self.schema_revision()
        except Exception as exc:  # any driver error: unreachable, bad credentials, missing database
            raise SchemaVersionError(
                f"database {self.describe()} cannot be read ({type(exc).__name__}); "
                "check HER2CDS_DATABASE_URL"
            ) from exc
        if current == head:
            return head
        if current is None:
            raise SchemaVersionError(
                f"database {self.describe()} has no schema yet: run `her2-cds migrate` first"
            )
        if not _known_revision(current):
            raise SchemaVersionError(
                f"database schema {current} is newer than this release ({head}): roll forward, or downgrade "
                "it with the newer release's `her2-cds migrate --revision` (docs/operations.md)"
            )
        raise SchemaVersionError(
            f"database schema {current} is older than this release ({head}): run `her2-cds migrate`"
        )

    # -- transactions
    # -------------------------------------------------------------------------------------------

    def _reader(self) -> Connection:
        """A connection for read-only work (SQLite: deferred BEGIN, so readers never queue behind writers)."""
        return self._engine.connect().execution_options(sqlite_deferred=True)

    def _insert(self, table: Any, *, values: Mapping[str, Any]) -> Insert:
        """A dialect-specific INSERT supporting ``ON CONFLICT``."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).values(**values)
        return sqlite.insert(table).values(**values)

    # -- JWT replay cache (cds_service.auth.ReplayStore)
    # -------------------------------------------------------

    def check_and_store(self, iss: str, jti: str, expires_at: datetime) -> bool:
        """Record (``iss``, ``jti``) until ``expires_at``; ``False`` if already recorded and not yet expired.

        Atomic across workers and replicas: the unique key decides. An entry whose ``expires_at`` has passed
        is overwritten (the token it protected can no longer be valid), so a missed purge never blocks a
        client.
        """
        _require_aware("expires_at", expires_at)
        now = self._clock()
        stmt = self._insert(jti_replay, values={"iss": iss, "jti": jti, "expires_at": expires_at})
        stmt_upsert = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=[jti_replay.c.iss, jti_replay.c.jti],
            set_={"expires_at": expires_at},
            where=jti_replay.c.expires_at < now,
        )
        with self._engine.begin() as conn:
            stored = _changed_a_row(conn, stmt_upsert.returning(jti_replay.c.jti))
        if next(self._checks) % PURGE_EVERY_N_CHECKS == 0:
            self.purge_expired_jti()
        return stored

    def purge_expired_jti(self, now: datetime | None = None) -> int:
        """Delete replay entries with ``expires_at`` before ``now`` (default: the clock); returns how many."""
        cutoff = now or self._clock()
        with self._engine.begin() as conn:
            return conn.execute(delete(jti_replay).where(jti_replay.c.expires_at < cutoff)).rowcount

    # -- hook audit and feedback
    # -------------------------------------------------------------------------------

    def record_hook(self, record: HookAuditRecord) -> int:
        """Store one hook audit record and its cards; returns the audit id.

        A card uuid already audited (a cached answer served again) keeps its first audit row.
        """
        with self._engine.begin() as conn:
            result = conn.execute(
                hook_audit.insert().values(
                    hook_instance=record.hook_instance,
                    service_id=record.service_id,
                    hook=record.hook,
                    iss=record.iss,
                    tenant=record.tenant,
                    received_at=record.received_at,
                    duration_ms=float(record.duration_ms),
                    outcome=record.outcome.value,
                    rules_version=record.rules_version,
                )
            )
            pk = result.inserted_primary_key
            assert pk is not None
            audit_id = int(pk[0])
            for card in record.cards:
                stmt = self._insert(
                    hook_audit_card,
                    values={"card_uuid": card.uuid, "audit_id": audit_id, "topic": card.topic},
                )
                conn.execute(stmt.on_conflict_do_nothing())  # type: ignore[attr-defined]
        return audit_id

    def record_feedback(self, items: Sequence[FeedbackRecord]) -> int:
        """Store feedback items in one transaction; returns how many were new.

        Returns only after commit, so the caller may acknowledge the feedback call. A re-sent item (same card,
        outcome and ``outcomeTimestamp``) is stored once.
        """
        received_at = self._clock()
        stored = 0
        with self._engine.begin() as conn:
            for item in items:
                stmt = self._insert(
                    card_feedback,
                    values={
                        "card_uuid": item.card_uuid,
                        "service_id": item.service_id,
                        "outcome": item.outcome.value,
                        "accepted_suggestions": list(item.accepted_suggestions) or None,
                        "override_code": item.override_code,
                        "override_system": item.override_system,
                        "override_display": item.override_display,
                        "user_comment": item.user_comment,
                        "outcome_timestamp": item.outcome_timestamp,
                        "received_at": received_at,
                    },
                )
                ignoring = stmt.on_conflict_do_nothing()  # type: ignore[attr-defined]
                stored += _changed_a_row(conn, ignoring.returning(card_feedback.c.id))
        return stored

    def hook_audits(self, hook_instance: str) -> tuple[dict[str, Any], ...]:
        """Audit rows of one hook instance, each with its ``cards`` as (uuid, topic) pairs (review, tests)."""
        with self._reader() as conn:
            rows = conn.execute(
                select(hook_audit)
                .where(hook_audit.c.hook_instance == hook_instance)
                .order_by(hook_audit.c.id)
            ).mappings()
            audits = []
            for row in rows:
                cards = conn.execute(
                    select(hook_audit_card.c.card_uuid, hook_audit_card.c.topic)
                    .where(hook_audit_card.c.audit_id == row["id"])
                    .order_by(hook_audit_card.c.card_uuid)
                ).all()
                audits.append({**row, "cards": tuple((c.card_uuid, c.topic) for c in cards)})
        return tuple(audits)

    def feedback_for_card(self, card_uuid: str) -> tuple[FeedbackRecord, ...]:
        """Stored feedback items for one card, oldest outcome first."""
        with self._reader() as conn:
            rows = conn.execute(
                select(card_feedback)
                .where(card_feedback.c.card_uuid == card_uuid)
                .order_by(card_feedback.c.outcome_timestamp, card_feedback.c.id)
            ).mappings()
            return tuple(
                FeedbackRecord(
                    card_uuid=r["card_uuid"],
                    service_id=r["service_id"],
                    outcome=FeedbackOutcome(r["outcome"]),
                    outcome_timestamp=r["outcome_timestamp"],
                    accepted_suggestions=tuple(r["accepted_suggestions"] or ()),
                    override_code=r["override_code"],
                    override_system=r["override_system"],
                    override_display=r["override_display"],
                    user_comment=r["user_comment"],
                )
                for r in rows
            )

    # -- PET analyses
    # ------------------------------------------------------------------------------------------

    def enqueue_analysis(
        self, series_uid: str, *, study_uid: str | None = None, patient_id: str | None = None
    ) -> bool:
        """Register a series as ``pending`` unless it is already known; ``True`` if this call created it."""
        now = self._clock()
        stmt = self._insert(
            pet_analysis,
            values={
                "series_instance_uid": series_uid,
                "study_instance_uid": study_uid,
                "patient_id": patient_id,
                "status": AnalysisStatus.PENDING.value,
                "attempts": 0,
                "updated_at": now,
            },
        )
        with self._engine.begin() as conn:
            ignoring = stmt.on_conflict_do_nothing()  # type: ignore[attr-defined]
            return _changed_a_row(conn, ignoring.returning(pet_analysis.c.series_instance_uid))

    def claim_analysis(
        self,
        series_uid: str,
        worker_id: str,
        stale_after_s: float,
        *,
        study_uid: str | None = None,
        patient_id: str | None = None,
        analysis_version: str | None = None,
    ) -> bool:
        """Try to become the one worker analysing ``series_uid``; ``True`` if this worker now holds the claim.

        A series is claimable when it is unknown (inserted as ``running``), ``pending``, ``running`` under a
        claim older than ``stale_after_s`` seconds (its worker presumably died), ``failed`` longer than
        ``stale_after_s`` ago (retry with back-off), or ``done`` by another ``analysis_version`` than the one
        given. Exactly one of several concurrent callers wins, on any backend and across replicas: the
        decision is a single ``INSERT … ON CONFLICT DO NOTHING`` or conditional ``UPDATE`` whose row count
        says who won.
        """
        if stale_after_s <= 0:
            raise ValueError("stale_after_s must be > 0 seconds")
        now = self._clock()
        stale_before = now - timedelta(seconds=stale_after_s)
        claim = {
            "status": AnalysisStatus.RUNNING.value,
            "claimed_by": worker_id,
            "claimed_at": now,
            "updated_at": now,
        }
        ids = {
            k: v for k, v in (("study_instance_uid", study_uid), ("patient_id", patient_id)) if v is not None
        }
        insert_stmt = self._insert(
            pet_analysis, values={"series_instance_uid": series_uid, "attempts": 1, **claim, **ids}
        ).on_conflict_do_nothing()  # type: ignore[attr-defined]
        col = pet_analysis.c
        claimable = or_(
            col.status == AnalysisStatus.PENDING.value,
            and_(col.status == AnalysisStatus.RUNNING.value, col.claimed_at < stale_before),
            and_(col.status == AnalysisStatus.FAILED.value, col.updated_at < stale_before),
        )
        if analysis_version is not None:
            claimable = or_(
                claimable,
                and_(
                    col.status == AnalysisStatus.DONE.value,
                    or_(col.analysis_version.is_(None), col.analysis_version != analysis_version),
                ),
            )
        update_stmt = (
            update(pet_analysis)
            .where(col.series_instance_uid == series_uid, claimable)
            .values(attempts=col.attempts + 1, **claim, **ids)
        )
        with self._engine.begin() as conn:
            if _changed_a_row(conn, insert_stmt.returning(col.series_instance_uid)):
                return True
            return conn.execute(update_stmt).rowcount == 1

    def save_analysis(
        self,
        series_uid: str,
        *,
        worker_id: str,
        status: AnalysisStatus,
        facts: Mapping[str, Any] | None = None,
        error: str | None = None,
        analysis_version: str | None = None,
    ) -> bool:
        """Store the result of a claimed analysis (``done`` with ``facts``, or ``failed`` with ``error``).

        Fenced by the claim: ``False`` (nothing written) when ``worker_id`` no longer holds a running claim on
        the series, e.g. because another worker took it over as stale. ``error`` must be a short technical
        message without PHI.
        """
        status = AnalysisStatus(status)
        if status not in (AnalysisStatus.DONE, AnalysisStatus.FAILED):
            raise ValueError("save_analysis stores a final status: done or failed")
        if status is AnalysisStatus.DONE and facts is None:
            raise ValueError("a done analysis needs its facts")
        col = pet_analysis.c
        stmt = (
            update(pet_analysis)
            .where(
                col.series_instance_uid == series_uid,
                col.claimed_by == worker_id,
                col.status == AnalysisStatus.RUNNING.value,
            )
            .values(
                status=status.value,
                facts=dict(facts) if facts is not None else None,
                error=error,
                analysis_version=analysis_version,
                updated_at=self._clock(),
            )
        )
        with self._engine.begin() as conn:
            return conn.execute(stmt).rowcount == 1

    # -- heartbeats of background components
    # ---------------------------------------------------------------------------------

    def record_heartbeat(self, component: str) -> None:
        """Record that ``component`` (e.g. ``sync``) completed its work now."""
        now = self._clock()
        stmt = self._insert(heartbeats, values={"component": component, "last_success_at": now})
        stmt = stmt.on_conflict_do_update(  # type: ignore[attr-defined]
            index_elements=["component"], set_={"last_success_at": now}
        )
        with self._engine.begin() as conn:
            conn.execute(stmt)

    def last_success(self, component: str) -> float | None:
        """Unix time of ``component``'s last recorded success, or ``None`` before the first one."""
        with self._reader() as conn:
            when = conn.execute(
                select(heartbeats.c.last_success_at).where(heartbeats.c.component == component)
            ).scalar_one_or_none()
        return when.timestamp() if when is not None else None

    def get_analysis(self, series_uid: str) -> PetAnalysisRecord | None:
        """The stored analysis of one series, or ``None``."""
        with self._reader() as conn:
            row = conn.execute(
                select(pet_analysis).where(pet_analysis.c.series_instance_uid == series_uid)
            ).mappings()
            found = row.first()
        return _analysis_from_row(found) if found is not None else None

    def find_analyses(
        self, *, patient_id: str | None = None, study_uids: Iterable[str] = ()
    ) -> tuple[PetAnalysisRecord, ...]:
        """Analyses of series of ``patient_id`` **or** of any of ``study_uids``, most recent first."""
        studies = sorted(set(study_uids))
        clauses = []
        if patient_id is not None:
            clauses.append(pet_analysis.c.patient_id == patient_id)
        if studies:
            clauses.append(pet_analysis.c.study_instance_uid.in_(studies))
        if not clauses:
            return ()
        stmt = (
            select(pet_analysis)
            .where(or_(*clauses))
            .order_by(pet_analysis.c.updated_at.desc(), pet_analysis.c.series_instance_uid)
        )
        with self._reader() as conn:
            return tuple(_analysis_from_row(r) for r in conn.execute(stmt).mappings())


def _changed_a_row(conn: Connection, stmt: Any) -> bool:
    """Whether an ``INSERT … ON CONFLICT … RETURNING`` wrote its row.

    ``RETURNING`` yields the row only when it was inserted (or updated by ``DO UPDATE``); the DBAPI
    ``rowcount`` of an INSERT is not reliable across drivers (psycopg reports -1 through SQLAlchemy).
    """
    return conn.execute(stmt).first() is not None


def _analysis_from_row(row: RowMapping) -> PetAnalysisRecord:
    return PetAnalysisRecord(
        series_instance_uid=row["series_instance_uid"],
        study_instance_uid=row["study_instance_uid"],
        patient_id=row["patient_id"],
        status=AnalysisStatus(row["status"]),
        facts=row["facts"],
        error=row["error"],
        analysis_version=row["analysis_version"],
        claimed_by=row["claimed_by"],
        claimed_at=row["claimed_at"],
        attempts=int(row["attempts"]),
        updated_at=row["updated_at"],
    )
