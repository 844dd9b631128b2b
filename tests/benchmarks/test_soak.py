"""Soak: ``her2-cds serve`` under a steady 50 hooks/s for ten minutes (``make soak``), on loopback.

The same world as the hook benchmarks (``hook_world.py``: JWT on, SQLite, embedded DICOM folder, stored PET
analyses, full prefetch). A paced driver sends patient-view calls at ``SOAK_RATE`` per second for
``SOAK_SECONDS`` (defaults 50 and 600), each with a fresh signed token. At the end it checks:

- zero errors: every answer 200, none refused (a valid token is never answered 401), no card saying the data
  was unavailable or pending while every source is healthy;
- no growth: the resident memory of the gunicorn workers, sampled after a warm-up and at the end, grows less
  than 10 %;
- the driver kept up (at least 95 % of the planned calls were sent; else the machine, not the service, was
  the limit and the run says so).

The figures are printed and written to ``.var/bench/soak.txt``. The loop is bounded in count and time and
talks only to 127.0.0.1.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.benchmarks.hook_world import (
    HOOK_PATH,
    OUT_DIR,
    World,
    hook_body,
    service_process,
    with_instance,
)
from tests.conftest import free_port
from tests.unit.cds_service.cds_support import scenario_topics

pytestmark = pytest.mark.benchmark

RATE = float(os.environ.get("SOAK_RATE", "50"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
WARMUP_S = min(60.0, SECONDS / 5)
SENDERS = 16
RSS_GROWTH_LIMIT = 0.10


def worker_rss_kib(master_pid: int) -> dict[int, int]:
    """Resident memory (KiB) of each live child of ``master_pid`` (the gunicorn workers)."""
    out: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master_pid) and "VmRSS" in fields:
            out[int(entry.name)] = int(fields["VmRSS"].split()[0])
    return out


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_cards: int = 0
    pending_cards: int = 0
    transport_errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _drive(url: str, tokens: list[str], body: dict[str, object], tally: Tally) -> int:
    """Send ``len(tokens)`` calls paced at ``RATE``/s from ``SENDERS`` threads; returns how many were sent."""
    start = time.monotonic()
    interval = 1.0 / RATE
    next_index = iter(range(len(tokens)))
    index_lock = threading.Lock()
    sent = 0

    def sender() -> None:
        nonlocal sent
        session = requests.Session()
        while True:
            with index_lock:
                index = next(next_index, None)
            if index is None:
                return
            due = start + index * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            headers = {"Authorization": f"Bearer {tokens[index]}"}
            began = time.perf_counter()
            try:
                response = session.post(
                    url + HOOK_PATH, json=with_instance(body), headers=headers, timeout=30
                )
            except requests.RequestException:
                with tally.lock:
                    tally.transport_errors += 1
                continue
            elapsed = (time.perf_counter() - began) * 1000.0
            topics: list[str] = []
            if response.status_code == 200:
                topics = scenario_topics(response.json())
            with tally.lock:
                sent += 1
                tally.statuses[response.status_code] += 1
                tally.latencies_ms.append(elapsed)
                tally.unavailable_cards += topics.count("data-unavailable")
                tally.pending_cards += topics.count("pet-analysis-pending")

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 120)
    return sent


def test_soak_steady_rate_no_errors_no_growth(world: World, bench_dir: Path) -> None:
    workdir = bench_dir / "soak"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = world.service_env(
        public_url=url, database_url=world.database_copy("soak"), data_dir=workdir / "service-data"
    )
    env["GUNICORN_MAX_REQUESTS"] = "0"  # no recycling: memory growth must show, not be reset
    planned = int(RATE * SECONDS)
    tokens = world.tokens(url + HOOK_PATH, planned)
    body = hook_body(prefetch=world.prefetch, fhir_base=world.fhir.base_url)
    service = service_process(port, env, workdir / "service")
    tally = Tally()
    try:
        service.start()
        warm = Tally()
        _drive(url, world.tokens(url + HOOK_PATH, int(RATE * WARMUP_S)), body, warm)
        rss_before = worker_rss_kib(service.pid)
        sent = _drive(url, tokens, body, tally)
        rss_after = worker_rss_kib(service.pid)
    finally:
        service.stop()
    latencies = sorted(tally.latencies_ms) or [0.0]
    growth = {
        pid: (rss_after[pid] - kib) / kib for pid, kib in rss_before.items() if pid in rss_after and kib
    }
    lines = [
        f"soak: {RATE:g} hooks/s for {SECONDS:g} s (warm-up {WARMUP_S:g} s): planned {planned}, sent {sent}",
        f"statuses {dict(tally.statuses)}, transport errors {tally.transport_errors}, "
        f"data-unavailable cards {tally.unavailable_cards}, pending cards {tally.pending_cards}",
        f"latency p50 {latencies[len(latencies) // 2]:.1f} ms, "
        f"p99 {latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]:.1f} ms",
        "worker RSS KiB before/after: "
        + ", ".join(f"{pid}: {rss_before[pid]}→{rss_after.get(pid, 0)}" for pid in sorted(rss_before)),
        f"largest growth {max(growth.values(), default=0.0):.1%} (limit {RSS_GROWTH_LIMIT:.0%})",
    ]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "soak.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    assert sent >= 0.95 * planned, "the driver could not keep the rate (the machine was the limit)"
    assert set(tally.statuses) == {200}, tally.statuses
    assert tally.transport_errors == 0
    assert tally.unavailable_cards == 0
    assert tally.pending_cards == 0
    assert set(rss_after) == set(rss_before), "a worker was replaced during the soak"
    assert max(growth.values(), default=0.0) < RSS_GROWTH_LIMIT
