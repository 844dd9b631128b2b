"""The schema revision: upgrade or downgrade it (``her2-cds migrate``), and check it (the web service).

The schema is managed by Alembic (revisions in ``cds_service/storage/migrations``). ``migrate``
(``her2-cds migrate``, the chart's pre-install/pre-upgrade Job) upgrades to the latest revision, or
downgrades to an older one before a rollback, and is safe to run from several processes at once; the web
service only checks the revision (``check_schema``), so old pods never run on a schema they do not know
during a rollout.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from cds_service.storage.engine import StoragePart

__all__ = ["MIGRATION_LOCK_KEY", "SchemaStorage", "SchemaVersionError", "expected_schema_revision"]

#: Key of the PostgreSQL advisory lock that serialises concurrent schema upgrades ("her2" in ASCII).
MIGRATION_LOCK_KEY = 0x68657232
_MIGRATIONS_DIR = Path(__file__).with_name("migrations")


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
    """The latest Alembic revision shipped with this release (what ``check_schema`` wants)."""
    head: str = _script_directory().get_current_head()
    return head


class SchemaStorage(StoragePart):
    """Schema upgrades, downgrades and the start-up check."""

    def describe(self) -> str:
        """The database URL with any password hidden, fit for a log line."""
        return self._engine.url.render_as_string(hide_password=True)

    def migrate(self, revision: str = "head") -> str | None:
        """Upgrade (or, to an older ``revision``, downgrade) the schema, in one transaction; return the
        revision reached.

        Concurrent runs are serialised: PostgreSQL by an advisory transaction lock, SQLite by ``BEGIN
        IMMEDIATE`` (and this process's write lock).
        """
        from alembic import command

        config = _alembic_config()
        with self._write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config.attributes["connection"] = conn
            current = _current_revision(conn)
            older: set[str] = set()
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
