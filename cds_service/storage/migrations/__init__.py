"""Alembic migrations of the service database; run by ``Storage.migrate`` at start-up."""
