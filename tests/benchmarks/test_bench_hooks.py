"""Hook throughput and latency of ``her2-cds serve`` against a trivial JSON endpoint (issue 8 item 5).

One run, on this machine, in this order (each wrk row lasts ``BENCH_SECONDS``, default 10 s):

1. the service starts (JWT on, 2 workers × 8 threads, SQLite, embedded DICOM folder, the patient's PET
   analysed ahead by ``her2-cds sync --once``), and so does the floor: a trivial JSON endpoint under the same
   gunicorn settings (``floor_app.py``);
2. **the first hook after start**: one patient-view call with full prefetch, its latency and cards;
3. floor, 20 connections; **patient-view with full prefetch**, 20 connections, a fresh client JWT per
   request (pre-signed ES384 tokens, unique ``jti``, each sent once by ``hooks.lua``);
   then the same with a prefetch that differs on every request (``distinct_prefetch``: the memo of the
   pathology mapping never hits, every hook maps its resources as for a stream of distinct patients);
4. floor, 1 connection; patient-view, 1 connection;
5. **prefetch absent**: patient-view with no prefetch, every key fetched from the Node FHIR test server
   (allow-listed ``fhirServer``), 20 connections.

The table (requests/s, p50, p99, ratio to the floor, server CPU per request, answers that were not 200 and
cards saying "data unavailable" or "pending") is printed and written to ``.var/bench/hooks.txt`` (and
``hooks.json``). Nothing here asserts a timing: the tests check that every answer was a 200 and that the
first hook after start carries no data-unavailable card. Run with ``make bench``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from rules.display import TOPIC_CODES
from rules.domain import CardScenario
from tests.benchmarks import pyspy
from tests.benchmarks.floor_app import SIGNED_FLOOR_PATH
from tests.benchmarks.hook_world import (
    EXPECTED_TOPIC,
    FLOOR_PATH,
    HOOK_PATH,
    OUT_DIR,
    REPO_ROOT,
    THREADS,
    WORKERS,
    World,
    distinct_prefetch,
    floor_process,
    hook_body,
    service_process,
    with_instance,
)
from tests.benchmarks.wrk import WrkResult, run_wrk
from tests.conftest import free_port, require_binary
from tests.unit.cds_service.cds_support import scenario_topics

pytestmark = pytest.mark.benchmark

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
"""Length of each wrk run in seconds."""
MAX_TOKENS = 80_000
"""Upper bound on the tokens signed for one run (about 0.25 ms each)."""
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
"""Profiling mode: py-spy samples the service's workers during the 20-connection full-prefetch row."""
TOKEN_MARGIN = 1.25
"""Tokens per run = floor requests/s × seconds × this: a hook never outpaces the trivial endpoint."""


@dataclass(frozen=True)
class FirstHook:
    status: int
    latency_ms: float
    topics: tuple[str, ...]


@dataclass
class Measurement:
    first_hook: FirstHook
    rows: list[tuple[WrkResult, WrkResult | None]] = field(default_factory=list)
    """(row, the floor it is compared with) in run order; floors have ``None``."""
    notes: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)
    """The py-spy summary of the 20-connection full-prefetch row (profiling mode only)."""


def _tokens_for(world: World, audience: str, floor: WrkResult) -> list[str]:
    count = min(MAX_TOKENS, math.ceil(floor.rps * SECONDS * TOKEN_MARGIN) + 200)
    return world.tokens(audience, count)


def _first_hook(world: World, url: str, body: dict[str, Any]) -> FirstHook:
    token = world.tokens(url + HOOK_PATH, 1)[0]
    response = requests.post(
        url + HOOK_PATH, json=with_instance(body), headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    latency_ms = response.elapsed.total_seconds() * 1000.0
    topics: tuple[str, ...] = ()
    if response.status_code == 200:
        topics = tuple(scenario_topics(response.json()))
    return FirstHook(status=response.status_code, latency_ms=latency_ms, topics=topics)


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


@pytest.fixture(scope="module")
def measurement(world: World, bench_dir: Path, request: pytest.FixtureRequest) -> Measurement:
    wrk = require_binary("wrk")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    workdir = bench_dir / "hooks"
    service_port, floor_port = free_port(), free_port()
    url = f"http://127.0.0.1:{service_port}"
    env = world.service_env(
        public_url=url, database_url=world.database_copy("serve"), data_dir=workdir / "service-data"
    )
    load_before = os.getloadavg()
    service = service_process(service_port, env, workdir / "service")
    floor = floor_process(floor_port, workdir / "floor", world.key)
    full = hook_body(prefetch=world.prefetch, fhir_base=world.fhir.base_url)
    absent = hook_body(prefetch=None, fhir_base=world.fhir.base_url)
    try:
        service.start()
        floor.start()
        result = Measurement(first_hook=_first_hook(world, url, full))

        def floor_row(connections: int) -> WrkResult:
            row = run_wrk(
                wrk,
                floor.url + FLOOR_PATH,
                label="trivial JSON endpoint (floor)",
                connections=connections,
                seconds=SECONDS,
                workdir=workdir / "wrk",
                server_pid=floor.pid,
            )
            result.rows.append((row, None))
            return row

        def hook_row(
            label: str, connections: int, body: dict[str, Any], versus: WrkResult, *, profile: bool = False
        ) -> None:
            tokens = _tokens_for(world, url + HOOK_PATH, versus)
            spy = pyspy.start(service.pid, SECONDS, OUT_DIR / "hook-pyspy.txt") if profile else None
            if profile and spy is None:
                result.profile = ["profiling mode: py-spy is not installed (pip install -e '.[dev]')"]
            row = run_wrk(
                wrk,
                url + HOOK_PATH,
                label=label,
                connections=connections,
                seconds=SECONDS,
                workdir=workdir / "wrk",
                server_pid=service.pid,
                body=body,
                tokens=tokens,
                expect_topic=TOPIC_CODES[CardScenario(EXPECTED_TOPIC)],  # the wire code
            )
            result.rows.append((row, versus))
            if spy is not None:
                failure = pyspy.finish(spy)
                result.profile = (
                    [f"py-spy failed: {failure}"]
                    if failure
                    else pyspy.summarise(OUT_DIR / "hook-pyspy.txt", row.requests)
                )

        floor20 = floor_row(20)
        signed_url = floor.url + SIGNED_FLOOR_PATH
        signed20 = run_wrk(
            wrk,
            signed_url,
            label="signed floor: JWT, JSON body, one row",
            connections=20,
            seconds=SECONDS,
            workdir=workdir / "wrk",
            server_pid=floor.pid,
            body=full,
            tokens=_tokens_for(world, signed_url, floor20),
        )
        result.rows.append((signed20, floor20))
        hook_row("patient-view, full prefetch", 20, full, floor20, profile=PROFILE)
        hook20 = result.rows[-1][0]
        result.notes.append(
            f"patient-view, full prefetch, 20 conn = {100.0 * hook20.rps / signed20.rps:.1f} % of the signed "
            f"floor ({signed20.rps:.0f} req/s, {signed20.server_cpu_ms:.2f} ms CPU/req: the work every hook "
            "call must do: JWT check, JSON body, one committed row)"
        )
        hook_row("patient-view, full prefetch, all distinct", 20, distinct_prefetch(full), floor20)
        floor1 = floor_row(1)
        hook_row("patient-view, full prefetch", 1, full, floor1)
        # The fallback row's 20 connections saturate the local FHIR test server (one Node process on the
        # same cores); one connection shows the fallback with the server not overloaded.
        hook_row("patient-view, prefetch absent (FHIR fallback)", 1, absent, floor1)
        hook_row("patient-view, prefetch absent (FHIR fallback)", 20, absent, floor20)
        result.notes.append(
            f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} "
            f"({os.cpu_count()} cores; other work on the machine shows here)"
        )
        recycled = service.log_text().count("Booting worker") - int(WORKERS)
        result.notes.append(f"gunicorn worker restarts during the run (max_requests): service {recycled}")
    finally:
        service.stop()
        floor.stop()
    lines = table(result, world)
    write_outputs(result, world, lines)
    if result.profile:
        (OUT_DIR / "hook-pyspy-summary.txt").write_text("\n".join(result.profile) + "\n")
        lines += ["", *result.profile]
    _show(request, lines)
    return result


def table(result: Measurement, world: World) -> list[str]:
    first = result.first_hook
    header = (
        f"{'row':46s} {'conns':>5s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'of floor':>9s} "
        f"{'CPU ms/req':>10s} {'non-200':>7s} {'unavail':>7s} {'pending':>7s}"
    )
    lines = [
        f"hook benchmark, commit {_commit()}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"her2-cds serve: JWT (ES384, fresh token per request), {WORKERS} workers x {THREADS} threads, "
        f"SQLite, embedded DICOM folder ({world.series_count} PET series, {world.file_count} files), "
        f"analyses stored ahead; {SECONDS:g} s per row, wrk -t2 (-t1 for 1 connection)",
        "",
        header,
        "-" * len(header),
    ]
    for row, versus in result.rows:
        ratio = f"{100.0 * row.rps / versus.rps:8.1f}%" if versus is not None and versus.rps else f"{'':9s}"
        lines.append(
            f"{row.label:46s} {row.connections:5d} {row.rps:8.1f} {row.p50_ms:8.1f} {row.p99_ms:8.1f} "
            f"{ratio} {row.server_cpu_ms:10.2f} {row.non200:7d} {row.unavailable:7d} {row.pending:7d}"
        )
    lines.append(
        f"{'first hook after start':46s} {1:5d} {'':8s} {first.latency_ms:8.1f} {'':8s} {'':9s} {'':10s} "
        f"{int(first.status != 200):7d} {int('data-unavailable' in first.topics):7d} "
        f"{int('pet-analysis-pending' in first.topics):7d}"
    )
    lines += [
        "",
        f"first hook after start: HTTP {first.status}, cards {', '.join(first.topics) or '(none)'}",
        *result.notes,
        "CPU ms/req: user + system CPU of the server's gunicorn processes during the row / requests answered",
        "issue 8 targets: patient-view >= 25 % of the floor at 20 connections, p99 <= 50 ms; "
        "one-connection p50 <= 5 ms",
    ]
    for row, _ in result.rows:
        extra = []
        if row.statuses:
            extra.append(f"statuses {dict(row.statuses)}")
        if row.socket_errors:
            extra.append(f"socket errors {dict(row.socket_errors)}")
        if row.unexpected:
            extra.append(f"{row.unexpected} answers without the {EXPECTED_TOPIC} card")
        if row.exhausted:
            extra.append("ran out of pre-signed tokens")
        if extra:
            lines.append(f"{row.label}, {row.connections} conn: " + "; ".join(extra))
    return lines


def write_outputs(result: Measurement, world: World, lines: list[str]) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "hooks.txt").write_text("\n".join(lines) + "\n")
    document = {
        "commit": _commit(),
        "seconds_per_row": SECONDS,
        "workers": int(WORKERS),
        "threads": int(THREADS),
        "pet_series": world.series_count,
        "dicom_files": world.file_count,
        "first_hook": {
            "status": result.first_hook.status,
            "latency_ms": round(result.first_hook.latency_ms, 1),
            "topics": list(result.first_hook.topics),
        },
        "rows": [
            {**row.as_json(), "percent_of_floor": round(100.0 * row.rps / versus.rps, 2) if versus else None}
            for row, versus in result.rows
        ],
        "notes": result.notes,
    }
    (OUT_DIR / "hooks.json").write_text(json.dumps(document, indent=2) + "\n")


def _show(request: pytest.FixtureRequest, lines: list[str]) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        print("\n".join(lines))
        return
    with capture.global_and_fixture_disabled():  # shown with or without -s
        reporter.write_line("")
        for line in lines:
            reporter.write_line(line)
        reporter.write_line(f"(written to {OUT_DIR / 'hooks.txt'})")


def test_every_hook_answer_is_200_with_the_stored_analysis(measurement: Measurement) -> None:
    """Valid, never-replayed tokens under load: no 401, no 5xx, no dropped request, no token replayed."""
    for row, _ in measurement.rows:
        assert row.exhausted == 0, f"{row.label}: ran out of pre-signed tokens (raise MAX_TOKENS)"
        assert row.requests > 0, row.label
        assert row.non200 == 0, (row.label, row.connections, dict(row.statuses))
        assert row.ok == row.requests, (row.label, row.connections, row.ok, row.requests)


def test_first_hook_after_start_has_no_data_unavailable_card(measurement: Measurement) -> None:
    first = measurement.first_hook
    assert first.status == 200
    assert EXPECTED_TOPIC in first.topics
    assert "data-unavailable" not in first.topics
