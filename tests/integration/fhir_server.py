"""A real FHIR R4 server for integration tests (spec/operations.md §2).

``start_fhir_server()`` runs ``tests/fhir_server/server.mjs`` (@medplum/fhir-router MemoryRepository
behind node:http) on a free 127.0.0.1 port, polls ``/fhir/metadata`` until it answers, and returns a handle
that loads bundles (converted to ``transaction`` Bundles of ``PUT {type}/{id}`` entries) and stops that one
process by PID.

Fixture: ``fhir_server`` (one per test session, loaded with every synthetic bundle of the test data).
Without ``node`` or ``tests/fhir_server/node_modules`` the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import free_port, missing_dependency, stop_process

SERVER_DIR = Path(__file__).resolve().parent.parent / "fhir_server"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


@dataclass
class FhirServer:
    """One running FHIR test server: its base URL and process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def load_bundle(self, bundle: dict[str, Any]) -> None:
        """Store every resource of ``bundle`` with ``PUT {type}/{id}`` in one transaction."""
        entries = [
            {
                "resource": entry["resource"],
                "request": {
                    "method": "PUT",
                    "url": f"{entry['resource']['resourceType']}/{entry['resource']['id']}",
                },
            }
            for entry in bundle.get("entry", [])
            if isinstance(entry.get("resource"), dict) and entry["resource"].get("id")
        ]
        transaction = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        response = requests.post(
            f"{self.base_url}/",
            data=json.dumps(transaction),
            headers={"Content-Type": "application/fhir+json"},
            timeout=10,
        )
        response.raise_for_status()

    def stop(self) -> None:
        """Terminate this server by PID (kill it if it does not exit in time)."""
        stop_process(self.process, STOP_TIMEOUT_S)


def start_fhir_server(workdir: Path, port: int | None = None) -> FhirServer:
    """Start the Node FHIR server on ``port`` (a free loopback port when None) and wait for
    ``/fhir/metadata``."""
    node = shutil.which("node")
    if node is None:
        missing_dependency("node is not installed (make test installs nodejs when run as root)")
    if not (SERVER_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        missing_dependency("tests/fhir_server/node_modules is missing (run npm ci in tests/fhir_server)")
    assert node is not None
    port = free_port() if port is None else port
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"fhir-server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, "--experimental-websocket", "server.mjs"],
            cwd=SERVER_DIR,
            env={"PATH": str(Path(node).parent), "FHIR_SERVER_PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = FhirServer(port=port, process=process, log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(f"{server.base_url}/metadata", timeout=1).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.1)
    server.stop()
    pytest.fail(f"FHIR test server did not start: {log_path.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def fhir_server(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> Iterator[FhirServer]:
    """One FHIR server for the session, loaded with every synthetic bundle of the published test data."""
    server = start_fhir_server(tmp_path_factory.mktemp("fhir-server"))
    try:
        for path in sorted((testdata / "fhir" / "synthetic").glob("*.json")):
            server.load_bundle(json.loads(path.read_text(encoding="utf-8")))
        yield server
    finally:
        server.stop()
