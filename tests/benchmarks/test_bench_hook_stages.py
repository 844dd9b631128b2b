"""CPU ms per hook by stage, in-process (issue 8 "Done when": token, parse, mapping, rules, cards, write).

Each stage of ``hook_stages.HookStages`` is called ``BENCH_STAGE_CALLS`` times (default 200) on the same
patient-view request with full prefetch and a stored PET analysis, one thread, after a short warm-up; then
the whole hook through Flask's test client. The table (CPU and wall ms per call, share of the whole hook,
and what the stages leave out) is printed and written to ``.var/bench/hook-stages.txt``.

Profiling mode: ``BENCH_PROFILE=1 make bench`` also runs the whole hook under cProfile and writes the top
functions (own time and cumulative) to ``.var/bench/hook-profile.txt``. Nothing here asserts a timing.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.benchmarks.hook_stages import MAPPING_MISS, MAX_WARMUP, HookStages, StageTiming, time_stage
from tests.benchmarks.hook_world import OUT_DIR, World

pytestmark = pytest.mark.benchmark

CALLS = int(os.environ.get("BENCH_STAGE_CALLS", "200"))
WARMUP = MAX_WARMUP // 2
PROFILE = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
WHOLE = "whole hook (Flask test client)"


@pytest.fixture(scope="module")
def stages(world: World, bench_dir: Path) -> Iterator[HookStages]:
    built = HookStages(world, bench_dir / "stages", CALLS)
    try:
        yield built
    finally:
        built.close()


def stage_table(timings: list[StageTiming], pet_status: str, topics: list[str]) -> list[str]:
    whole = next(t for t in timings if t.name == WHOLE)
    parts = [t for t in timings if t.name not in (WHOLE, MAPPING_MISS)]
    cpu_sum = sum(t.cpu_ms for t in parts)
    wall_sum = sum(t.wall_ms for t in parts)
    # Wall time includes waiting for the cores other processes hold: on a busy machine the difference of two
    # such sums can come out negative, which says nothing about the code.
    rest_wall = f"{whole.wall_ms - wall_sum:8.2f}" if whole.wall_ms >= wall_sum else f"{'n/a':>8s}"
    header = f"{'stage':40s} {'CPU ms':>8s} {'wall ms':>8s} {'CPU share':>9s}"
    lines = [
        f"one patient-view hook in-process, by stage ({CALLS} calls each, one thread; "
        f"PET: {pet_status}; cards: {', '.join(topics)})",
        "",
        header,
        "-" * len(header),
    ]
    for t in timings:
        if t.name == WHOLE:
            continue
        share = 100.0 * t.cpu_ms / whole.cpu_ms if whole.cpu_ms else 0.0
        shown = f"({t.name})" if t.name == MAPPING_MISS else t.name
        lines.append(f"{shown:40s} {t.cpu_ms:8.2f} {t.wall_ms:8.2f} {share:8.1f}%")
    lines += [
        "-" * len(header),
        f"{'sum of the stages':40s} {cpu_sum:8.2f} {wall_sum:8.2f}",
        f"{WHOLE:40s} {whole.cpu_ms:8.2f} {whole.wall_ms:8.2f} {100.0:8.1f}%",
        f"{'rest (Flask, routing, logging, metrics)':40s} {whole.cpu_ms - cpu_sum:8.2f} {rest_wall}",
        "CPU: time.process_time of this process (all its threads); wall: time.perf_counter",
        f"({MAPPING_MISS}): what a prefetch not seen within the memo's TTL costs instead of the hit; "
        "not in the sum",
        "rest: what the whole hook costs beyond its stages, including the test client's own request building",
    ]
    return lines


def profile_lines(stages: HookStages) -> list[str]:
    """The whole hook ``CALLS`` times under cProfile: top 30 functions by own time, then cumulative."""
    profiler = cProfile.Profile()
    calls = CALLS
    profiler.enable()
    for i in range(calls):
        stages.whole(i)
    profiler.disable()
    out: list[str] = [f"cProfile of {calls} in-process hooks (per-call figures: divide by {calls})"]
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(30)
        out += [f"--- sorted by {order}", *text.getvalue().splitlines()]
    return out


def test_cpu_ms_per_hook_by_stage(stages: HookStages, request: pytest.FixtureRequest) -> None:
    timings = [time_stage(name, stage, CALLS, WARMUP) for name, stage in stages.stages()]
    lines = stage_table(timings, stages.pet_status.value, stages.topics)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "hook-stages.txt").write_text("\n".join(lines) + "\n")
    if PROFILE:
        (OUT_DIR / "hook-profile.txt").write_text("\n".join(profile_lines(stages)) + "\n")
        lines.append(f"(profile written to {OUT_DIR / 'hook-profile.txt'})")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    # Sanity, not timing: the request is the one the throughput benchmark sends, answered from the stored
    # analysis with the card its chart calls for.
    assert stages.pet_status.value == "analysed"
    assert "her2-low-pet-avid" in stages.topics
    assert all(t.calls == CALLS for t in timings)
