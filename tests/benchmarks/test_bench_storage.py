"""Benchmark: the storage write of a hook call, and the contention run at a larger size (issue 8 item 2).

1. **Write cost** on SQLite, 2 ``Storage`` instances × 8 threads (two workers' worth), each thread writing
   in a loop. Rows, as microseconds per operation (wall time over all threads) and as a ratio to the floor
   measured in the same run:

   - floor: the token id alone in its transaction (``check_and_store``), ``synchronous=NORMAL``: the least a
     hook call must write;
   - the same with ``synchronous=FULL`` (fsynced, as feedback is);
   - ``record_call``: token id + audit record with one card + evidence snapshot, in one transaction;
   - the same three rows as three transactions (``check_and_store``, ``record_hook``, ``save_evidence``),
     the shape of a hook's writes before they were merged.

2. **Contention run** (``tests/unit/cds_service/contention.py``) at 4 worker processes × 16 threads × 10
   calls, on SQLite and on PostgreSQL: hooks per second, refused valid tokens, answered calls without their
   audit row or evidence snapshot.

Figures are printed (``make bench`` runs with ``-s``), never asserted: shared cores make timings noisy.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cds_service.storage.replay import consume
from cds_service.storage.store import Storage, TokenUse
from tests.integration.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.unit.cds_service.contention import figures, rig
from tests.unit.cds_service.storage_contract import audit_record

pytestmark = pytest.mark.benchmark

WORKERS = 2
THREADS_PER_WORKER = 8
OPS_PER_THREAD = 150
PAYLOAD = {"patientRef": "opaque", "cards": ["her2-low-no-pet"], "pathology": [{"ihcScore": "1+"}] * 3}


@pytest.fixture
def storages(tmp_path: Path) -> Iterator[list[Storage]]:
    made = [Storage(f"sqlite:///{tmp_path / 'bench.db'}") for _ in range(WORKERS)]
    made[0].migrate()
    yield made
    for storage in made:
        storage.dispose()


def _expiry() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=10)


def _token_alone(durable: bool) -> Callable[[Storage], None]:
    def write(storage: Storage) -> None:
        token = TokenUse(iss="https://ehr.bench", jti=str(uuid.uuid4()), expires_at=_expiry())
        with storage._write(durable=durable) as conn:
            consume(conn, token, datetime.now(UTC))

    return write


def _one_write(storage: Storage) -> None:
    token = TokenUse(iss="https://ehr.bench", jti=str(uuid.uuid4()), expires_at=_expiry())
    record = audit_record(str(uuid.uuid4()), datetime.now(UTC), cards=(str(uuid.uuid4()),))
    storage.record_call(record, token=token, evidence=[storage.new_evidence(PAYLOAD, 3600)])


def _three_writes(storage: Storage) -> None:
    storage.check_and_store("https://ehr.bench", str(uuid.uuid4()), _expiry())
    storage.record_hook(audit_record(str(uuid.uuid4()), datetime.now(UTC), cards=(str(uuid.uuid4()),)))
    storage.save_evidence(PAYLOAD, 3600)


def _per_op_us(storages: list[Storage], op: Callable[[Storage], None]) -> float:
    threads = WORKERS * THREADS_PER_WORKER
    barrier = threading.Barrier(threads)

    def loop(index: int) -> None:
        storage = storages[index % len(storages)]
        barrier.wait()
        for _ in range(OPS_PER_THREAD):
            op(storage)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(loop, range(threads)))
    return (time.perf_counter() - started) / (threads * OPS_PER_THREAD) * 1e6


def test_hook_write_against_an_empty_transaction(storages: list[Storage]) -> None:
    rows = {
        "token id alone, synchronous=NORMAL (floor)": _token_alone(durable=False),
        "token id alone, synchronous=FULL": _token_alone(durable=True),
        "record_call: token id + audit + evidence, one transaction": _one_write,
        "the same rows in three transactions": _three_writes,
    }
    results = {name: _per_op_us(storages, op) for name, op in rows.items()}
    floor = next(iter(results.values()))
    print(f"\nSQLite writes, {WORKERS} workers x {THREADS_PER_WORKER} threads x {OPS_PER_THREAD} each:")
    for name, us in results.items():
        print(f"  {name:<60} {us:8.0f} us/op  {us / floor:5.1f}x floor")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_contention_run(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    url = (
        f"sqlite:///{tmp_path / 'run.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    )
    with rig(tmp_path, url) as made:
        run = made.run(4, 16, 10)
        found = figures(made, run)
    print(f"\ncontention run on {backend}, 4 processes x 16 threads x 10 hook calls: {found}")
