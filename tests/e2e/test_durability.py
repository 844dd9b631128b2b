"""Durability: feedback that the service acknowledged survives a kill -9 of every service process.

The service runs under gunicorn (two workers) on SQLite and, separately, on the real PostgreSQL; several EHR
threads post feedback (each entry for a new card uuid) as fast as the service answers; after a number of
acknowledgements the whole process group is killed with SIGKILL mid-stream. Every entry the service
answered 200 for must then be in the database, and the service must start again on the same database.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from cds_service.storage.store import Storage
from tests.conftest import free_port
from tests.e2e.conftest import ISS, base_env
from tests.e2e.harness import EhrClient, EhrKey, ServiceProcess
from tests.integration.postgres import PostgresServer

pytestmark = pytest.mark.e2e

SERVICE = "her2-pet-review"
SENDERS = 4
KILL_AFTER_ACKS = 60
OVERRIDE_SYSTEM = "urn:her2-pet-cds:override-reason"


def _feedback_item(card: str, index: int) -> dict[str, object]:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if index % 2:
        return {
            "card": card,
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "review"}],
            "outcomeTimestamp": when,
        }
    return {
        "card": card,
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"code": "already-reviewed", "system": "urn:her2-pet-cds:override-reason"}
        },
        "outcomeTimestamp": when,
    }


def _hammer_then_kill(service: ServiceProcess, client: EhrClient) -> tuple[list[str], int]:
    """Post feedback from several threads; SIGKILL the process group once enough were acknowledged.

    Returns the acknowledged card uuids and the number of requests that got no answer (cut by the kill).
    """
    acked: list[str] = []
    unanswered = 0
    lock = threading.Lock()
    stop = threading.Event()

    def sender() -> None:
        nonlocal unanswered
        index = 0
        while not stop.is_set():
            card = str(uuid.uuid4())
            index += 1
            try:
                exchange = client.feedback(SERVICE, [_feedback_item(card, index)], label="durability")
            except requests.RequestException:
                with lock:
                    unanswered += 1
                continue
            if exchange.status == 200:
                with lock:
                    acked.append(card)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    while len(acked) < KILL_AFTER_ACKS and dt.datetime.now(dt.UTC) < deadline:
        stop.wait(0.01)
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)  # master and workers, mid-request
    service.process.wait(timeout=30)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    with lock:
        return list(acked), unanswered


def _run(workdir: Path, database_url: str, key: EhrKey) -> None:
    port = free_port()
    folder = workdir / "dicom"
    folder.mkdir(parents=True, exist_ok=True)
    env = base_env(
        workdir,
        [{"iss": ISS, "jwks": key.jwks(), "algorithms": ["ES384"]}],
        [],
        folder.as_uri(),
        database_url,
    )
    env.update({"HER2CDS_PUBLIC_URL": f"http://127.0.0.1:{port}", "WEB_CONCURRENCY": "2"})
    service = ServiceProcess(port=port, env=env, workdir=workdir).start()
    client = EhrClient(key, iss=ISS, public_url=service.url)
    try:
        acked, unanswered = _hammer_then_kill(service, client)
    finally:
        service.stop()
    assert len(acked) >= KILL_AFTER_ACKS
    storage = Storage(database_url)
    try:
        lost = [card for card in acked if not storage.feedback_for_card(card)]
    finally:
        storage.dispose()
    print(
        f"durability {database_url.split(':')[0]}: {len(acked)} acknowledged, {len(lost)} lost, "
        f"{unanswered} cut by the kill"
    )
    assert lost == []
    again = ServiceProcess(port=free_port(), env=env, workdir=workdir).start()
    try:
        assert requests.get(f"{again.url}/readyz", timeout=10).status_code == 200
    finally:
        again.stop()


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_acknowledged_feedback_survives_kill_9(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    key = EhrKey.generate()
    url: Callable[[], str]
    if database == "sqlite":
        url = lambda: f"sqlite:///{tmp_path / 'her2cds.db'}"  # noqa: E731
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        url = server.create_database
    _run(tmp_path / database, url(), key)
