"""``her2-cds migrate [--revision REV] [--check]``: bring the database schema to this release's revision.

The only command that changes the schema. The Helm chart runs it as a pre-install/pre-upgrade Job (shared
PostgreSQL) or as an init container beside the web container (SQLite on the data volume); the web workers
only check the revision and refuse to start on another one (``docs/operations.md``). It needs nothing but
``HER2CDS_DATABASE_URL`` (or ``HER2CDS_DATA_DIR`` for the default SQLite database). Concurrent runs are
serialised by the database. ``--revision`` downgrades to an older revision before a rollback across a schema
change; ``--check`` changes nothing and exits 1 when a migration is due.
"""

from __future__ import annotations

import argparse
import os
import sys

from cds_service.settings import DatabaseSettings, SettingsError

EXIT_OK = 0
EXIT_MIGRATION_DUE = 1
EXIT_CONFIGURATION = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("migrate", help="upgrade the database schema (run before the service)")
    parser.add_argument(
        "--revision", default="head", help="target schema revision (default: this release's latest)"
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when the schema is not this release's"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cds_service.storage.store import SchemaVersionError, expected_schema_revision, open_storage

    database = DatabaseSettings.from_env(os.environ)
    storage = open_storage(database.database_url, database.data_dir)
    try:
        if args.check:
            try:
                print(f"her2-cds migrate: schema {storage.check_schema()} is current")
            except SchemaVersionError as exc:
                print(f"her2-cds migrate: {exc}", file=sys.stderr)
                return EXIT_MIGRATION_DUE
            return EXIT_OK
        try:
            before = storage.schema_revision()
            reached = storage.migrate(args.revision)
        except Exception as exc:  # driver errors: unreachable server, bad credentials, unknown revision
            raise SettingsError(
                f"cannot migrate {storage.describe()}: {' '.join(str(exc).split())[:300]}"
            ) from exc
        state = "unchanged" if before == reached else f"{before or 'empty'} -> {reached}"
        print(
            f"her2-cds migrate: {storage.describe()}: schema {reached} ({state}; "
            f"this release: {expected_schema_revision()})"
        )
        return EXIT_OK
    finally:
        storage.dispose()
