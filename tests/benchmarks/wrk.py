"""Drive one endpoint with wrk (the Debian package) for a fixed time and read back what it measured.

``run_wrk`` writes the tokens and body for ``hooks.lua``, runs ``wrk`` with a 30 s request timeout (so a slow
answer is measured, not dropped as a timeout), parses the script's ``BENCH_JSON`` line, and measures the
CPU the server's process tree spent during the run (``hook_world.tree_cpu_s``).
"""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rules.display import TOPIC_CODES
from rules.domain import CardScenario
from tests.benchmarks.hook_world import tree_cpu_s

SCRIPT = Path(__file__).with_name("hooks.lua")
REQUEST_TIMEOUT = "30s"
_RUNS = itertools.count(1)


@dataclass(frozen=True)
class WrkResult:
    """One wrk run. Latencies in ms; ``server_cpu_ms`` is per answered request (all gunicorn processes)."""

    label: str
    connections: int
    seconds: float
    requests: int
    ok: int
    non200: int
    statuses: Mapping[str, int]
    socket_errors: Mapping[str, int]
    unavailable: int
    pending: int
    unexpected: int
    exhausted: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "connections": self.connections,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "requests_per_s": round(self.rps, 1),
            "ok": self.ok,
            "non200": self.non200,
            "statuses": dict(self.statuses),
            "socket_errors": dict(self.socket_errors),
            "data_unavailable_cards": self.unavailable,
            "pending_cards": self.pending,
            "answers_without_expected_card": self.unexpected,
            "tokens_exhausted": self.exhausted,
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "server_cpu_ms_per_request": round(self.server_cpu_ms, 2),
        }


def run_wrk(
    wrk: str,
    url: str,
    *,
    label: str,
    connections: int,
    seconds: float,
    workdir: Path,
    server_pid: int,
    body: Mapping[str, Any] | None = None,
    tokens: Sequence[str] = (),
    expect_topic: str | None = None,
) -> WrkResult:
    """Run ``wrk`` against ``url`` (a POST of ``body`` when given, else a GET) with one token per request."""
    run = next(_RUNS)
    workdir.mkdir(parents=True, exist_ok=True)
    tokens_arg = body_arg = "-"
    if tokens:
        tokens_path = workdir / f"tokens-{run}.txt"
        tokens_path.write_text("\n".join(tokens) + "\n")
        tokens_arg = str(tokens_path)
    if body is not None:
        body_path = workdir / f"body-{run}.json"
        body_path.write_text(json.dumps(body))
        body_arg = str(body_path)
    threads = min(2, connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={REQUEST_TIMEOUT}",
        "-s",
        str(SCRIPT),
        url,
        "--",
        tokens_arg,
        body_arg,
        str(threads),
        str(run),
        expect_topic or "-",
        TOPIC_CODES[CardScenario.DATA_UNAVAILABLE],
        TOPIC_CODES[CardScenario.PET_ANALYSIS_PENDING],
    ]
    cpu_before = tree_cpu_s(server_pid)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=False)
    cpu_s = tree_cpu_s(server_pid) - cpu_before
    (workdir / f"wrk-{run}.out").write_text(completed.stdout + completed.stderr)
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): {completed.stdout[-1500:]} {completed.stderr[-1500:]}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    counts, latency = data["counts"], data["latency_us"]
    requests = int(data["requests"])
    return WrkResult(
        label=label,
        connections=connections,
        seconds=data["duration_us"] / 1e6,
        requests=requests,
        ok=counts.get("ok", 0),
        non200=counts.get("non200", 0),
        statuses=data["statuses"],
        socket_errors={k: v for k, v in data["errors"].items() if k != "status" and v},
        unavailable=counts.get("unavailable", 0),
        pending=counts.get("pending", 0),
        unexpected=counts.get("unexpected", 0),
        exhausted=counts.get("exhausted", 0),
        p50_ms=latency["p50"] / 1000.0,
        p90_ms=latency["p90"] / 1000.0,
        p99_ms=latency["p99"] / 1000.0,
        max_ms=latency["max"] / 1000.0,
        server_cpu_ms=cpu_s * 1000.0 / requests if requests else 0.0,
    )
