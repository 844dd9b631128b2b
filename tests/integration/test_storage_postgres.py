"""Storage on a real PostgreSQL (several replicas): the SQLite contract, plus PostgreSQL specifics, and the
contention run of the unit tests (worker processes × threads × hook calls through the app with real JWTs)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from cds_service.storage.store import Storage
from tests.unit.cds_service.contention import (
    HOOKS_PER_THREAD,
    PROCESSES,
    RACERS,
    THREADS,
    check_replays_refused,
    check_run,
    rig,
)
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


def test_workers_by_threads_by_hooks_refuse_no_valid_token_and_lose_no_row(
    tmp_path: Path, postgres_url: str
) -> None:
    with rig(tmp_path, postgres_url) as made:
        run = made.run(PROCESSES, THREADS, HOOKS_PER_THREAD)
        check_run(made, run, PROCESSES * THREADS * HOOKS_PER_THREAD)
        check_replays_refused(made, run.answered[:8])


def test_a_token_raced_across_replicas_is_accepted_once(tmp_path: Path, postgres_url: str) -> None:
    with rig(tmp_path, postgres_url) as made:
        for _ in range(3):
            assert sorted(made.race(RACERS)) == [200] + [401] * (RACERS - 1)
