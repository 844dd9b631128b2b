"""Run a command while other processes keep every core busy: ``python -m tests.tools.busy -- CMD ...``.

The end-to-end suite must give the same results on a machine that is not idle. This starts one pure-Python
busy loop per core (``--hogs``), at the same priority as the command, runs the command, stops the loops and
prints one summary line: the command's exit status, its wall time and the 1-minute load average seen while it
ran (sampled every few seconds). The exit status is the command's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence


def _spin() -> None:
    """Burn one core until terminated."""
    counter = 0
    while True:
        counter = (counter + 1) % 1_000_003


def _sample_load(stop: threading.Event, samples: list[float], every_s: float) -> None:
    while not stop.wait(every_s):
        samples.append(os.getloadavg()[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.tools.busy", description=__doc__)
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1, help="busy loops (one per core)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    args = parser.parse_args(argv)
    command = [part for part in args.command if part != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    context = multiprocessing.get_context("spawn")
    hogs = [context.Process(target=_spin, daemon=True) for _ in range(max(0, args.hogs))]
    for hog in hogs:
        hog.start()
    samples: list[float] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_load, args=(stop, samples, 5.0), daemon=True)
    sampler.start()
    started = time.monotonic()
    try:
        status = subprocess.call(command)
    finally:
        stop.set()
        for hog in hogs:
            hog.terminate()
        for hog in hogs:
            hog.join(timeout=5)
    wall = time.monotonic() - started
    load = ""
    if samples:
        load = f"load average (1 min) mean {sum(samples) / len(samples):.1f}, max {max(samples):.1f}"
    print(
        f"busy: {len(hogs)} busy loops on {os.cpu_count()} cores; command exit {status}; "
        f"wall {wall:.0f} s; {load}",
        file=sys.stderr,
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
