"""Storage on a real PostgreSQL (several replicas): the SQLite contract, plus PostgreSQL specifics."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from cds_service.storage.store import Storage
from tests.unit.cds_service.storage_contract import StorageContract

pytestmark = pytest.mark.integration


class TestStoragePostgres(StorageContract):
    @pytest.fixture
    def storage_url(self, postgres_url: str) -> str:
        return postgres_url


def test_concurrent_migrations_from_several_replicas(postgres_url: str) -> None:
    replicas = [Storage(postgres_url) for _ in range(4)]
    try:
        with ThreadPoolExecutor(len(replicas)) as pool:
            list(pool.map(lambda s: s.migrate(), replicas))
        with replicas[0].engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
            assert (
                conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = 'jti_replay' AND column_name = 'expires_at'"
                    )
                ).scalar_one()
                == "timestamp with time zone"
            )
    finally:
        for storage in replicas:
            storage.dispose()
