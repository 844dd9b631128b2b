"""Alembic environment: runs revisions on the connection handed over by ``Storage.migrate``.

``Storage.migrate`` opens the transaction (and, on PostgreSQL, takes the advisory lock) and passes its
connection in ``config.attributes["connection"]``; this file only configures the migration context on it.
SQLite gets batch mode so that later revisions can alter tables (SQLite has no general ``ALTER TABLE``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from cds_service.storage.tables import metadata


def run_migrations_online() -> None:
    """Run all pending revisions on the caller's connection."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through cds_service.storage.store.Storage.migrate()")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported; use Storage.migrate()")
run_migrations_online()
