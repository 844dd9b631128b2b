"""Deployment-test fixtures: the session's PostgreSQL server (the hospital install's shared database)."""

from tests.integration.postgres import postgres_server  # noqa: F401
