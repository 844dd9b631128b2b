"""Alembic migrations of the service database; run by ``cds_service.storage.Storage.migrate`` at start-up."""
