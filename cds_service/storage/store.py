"""The service database: one :class:`Storage` per process, composed of one part per job.

=================================================  =========================================================
part                                               job
=================================================  =========================================================
:class:`~cds_service.storage.replay.ReplayStorage`  client token ids (JWT replay protection, CH-34 step 7)
:class:`~cds_service.storage.audit.AuditStorage`    hook audit records, and the one write of a hook call
:class:`~cds_service.storage.feedback.FeedbackStorage`  card feedback, written durably
:class:`~cds_service.storage.analyses.AnalysisStorage`  cached PET analyses and their claims
:class:`~cds_service.storage.artifacts.ArtifactStorage`  PET pictures and evidence snapshots
:class:`~cds_service.storage.schema.SchemaStorage`  the schema revision: ``migrate`` and ``check_schema``
:class:`~cds_service.storage.heartbeats.HeartbeatStorage`  last success of background components (sync)
:class:`~cds_service.storage.alerts.AlertStorage`  review alerts, patient scenario state, delivery outbox
=================================================  =========================================================

The parts share one engine, clock and write lock (:mod:`cds_service.storage.engine`, which also sets up
SQLite's WAL journal, busy timeout and file mode); the schema is in :mod:`cds_service.storage.tables` and
its Alembic revisions in ``cds_service/storage/migrations``; :mod:`cds_service.storage.retention` deletes
what has outlived its purpose. Every public method runs one short transaction and returns only after it
committed, so an acknowledgement given to a client (an answer, feedback, a replay decision) is never lost.
:meth:`Storage.migrate` (``her2-cds migrate``) upgrades the schema and is safe to run from several
processes at once; the web service only checks the revision (:meth:`Storage.check_schema`).

The record types of the parts are importable from here too, so that callers need one import for the
storage. Nothing here logs. Audit records carry no PHI by construction; PET analyses keep the DICOM
PatientID as a lookup key (never logged: it is excluded from the records' ``repr``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, text

from cds_service.storage.alerts import (
    AlertRecord,
    AlertStorage,
    NewAlert,
    PatientAlertState,
    SubscriptionRecord,
)
from cds_service.storage.analyses import AnalysisStorage, PetAnalysisRecord
from cds_service.storage.artifacts import ArtifactStorage, EvidenceSnapshot
from cds_service.storage.audit import AuditedCard, AuditStorage, HookAuditRecord
from cds_service.storage.engine import StorageConfigError, make_engine, normalise_url, utc_now
from cds_service.storage.feedback import FeedbackRecord, FeedbackStorage
from cds_service.storage.heartbeats import HeartbeatStorage
from cds_service.storage.replay import ReplayedTokenError, ReplayStorage, TokenUse
from cds_service.storage.schema import SchemaStorage, SchemaVersionError, expected_schema_revision
from cds_service.storage.tables import (
    AlertState,
    AnalysisStatus,
    DeliveryStatus,
    FeedbackOutcome,
    HookOutcome,
)

__all__ = [
    "AlertRecord",
    "AlertState",
    "AnalysisStatus",
    "AuditedCard",
    "DeliveryStatus",
    "EvidenceSnapshot",
    "FeedbackOutcome",
    "FeedbackRecord",
    "HookAuditRecord",
    "HookOutcome",
    "NewAlert",
    "PatientAlertState",
    "PetAnalysisRecord",
    "ReplayedTokenError",
    "SchemaVersionError",
    "Storage",
    "StorageConfigError",
    "SubscriptionRecord",
    "TokenUse",
    "expected_schema_revision",
    "open_storage",
]


class Storage(
    SchemaStorage,
    ReplayStorage,
    AuditStorage,
    FeedbackStorage,
    AnalysisStorage,
    ArtifactStorage,
    HeartbeatStorage,
    AlertStorage,
):
    """The service database for one process (thread-safe: one pooled connection per thread at a time).

    :param url: ``sqlite:///relative/or//absolute/path.db`` or ``postgresql+psycopg://user@host:port/db``.
    :param clock: returns the current aware UTC time; injected in tests.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._init_part(make_engine(normalise_url(url)), clock)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for health checks and tests)."""
        return self._engine

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


def open_storage(database_url: str, data_dir: Path) -> Storage:
    """The database of a command (``migrate``, ``receive``, ``sync``, ``alerts``), not yet migrated: the data
    directory of a SQLite database is created (0700) and every way the URL cannot be used is a
    ``SettingsError`` naming what to fix, so the command ends with one line and exit status 2."""
    from cds_service.settings import SettingsError

    if database_url.startswith("sqlite:"):
        try:
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"HER2CDS_DATA_DIR: cannot create {data_dir} ({exc.strerror})") from exc
    try:
        return Storage(database_url)
    except StorageConfigError as exc:
        raise SettingsError(f"HER2CDS_DATABASE_URL: {exc}") from exc
