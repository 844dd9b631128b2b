"""Benchmark fixtures: the hook benchmarks' world (``hook_world.py``), built once per run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.hook_world import World, build_world
from tests.integration.fhir_server import FhirServer, start_fhir_server


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="session")
def bench_fhir(bench_dir: Path) -> Iterator[FhirServer]:
    """The Node FHIR test server (prefetch source, and the fallback's server)."""
    server = start_fhir_server(bench_dir / "fhir")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def world(bench_dir: Path, bench_fhir: FhirServer) -> World:
    return build_world(bench_dir / "world", bench_fhir)
