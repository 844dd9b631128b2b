"""Profiling mode of the hook benchmark: py-spy sampling the service's gunicorn workers under load.

``BENCH_PROFILE=1 make bench`` attaches ``py-spy record --subprocesses --nonblocking`` to the gunicorn
master for the 20-connection full-prefetch row, writing collapsed stacks (``.var/bench/hook-pyspy.txt``, a
format flame-graph tools read). ``summarise`` charges each sample to a stage by the innermost frame of the
project's own code (so a database call made by the JWT check counts as database, a FHIR model built by the
mapping counts as mapping) and lists the functions that were on CPU most often. Without ``--idle`` py-spy
records running threads only: the shares are of CPU, not of waiting.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("token verify", ("cds_service/auth.py",)),
    ("request parse", ("cds_service/hooks/models.py", "cds_service/hooks/routes.py")),
    ("FHIR mapping", ("connectors/fhir/", "cds_service/hooks/prefetch.py")),
    ("PET lookup", ("cds_service/pet/", "connectors/dicom/", "connectors/pet/")),
    ("rules", ("rules/",)),
    ("cards", ("cds_service/hooks/cards.py", "cds_service/hooks/card_texts.py")),
    ("database (storage/, evidence snapshot)", ("cds_service/storage/", "cds_service/evidence/")),
    ("logging, metrics", ("cds_service/observability.py",)),
    ("other service code", ("cds_service/",)),
)
"""(stage, path fragments of its modules); the first stage whose fragment the frame's file contains."""
OUTSIDE = "outside the service code (gunicorn, Flask, idle loops)"
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*)\)$")


def pyspy_binary() -> str | None:
    """py-spy next to this interpreter (the project's virtual environment), else on PATH."""
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` and its children for ``seconds`` into ``output`` (collapsed stacks); None without
    py-spy."""
    binary = pyspy_binary()
    if binary is None:
        return None
    command = [binary, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--format", "raw"]
    command += ["--duration", str(max(1, round(seconds))), "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> str | None:
    """Wait for py-spy; its error message when it failed (e.g. no ptrace permission), else None."""
    try:
        _, err = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return "py-spy did not finish"
    if process.returncode != 0:
        return err.decode(errors="replace").strip()[-500:] or f"py-spy exited with {process.returncode}"
    return None


def _stage_of(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        match = _FRAME.match(frame)
        if match is None:
            continue
        file = match.group("file").replace("\\", "/")
        for stage, fragments in STAGES:
            if any(fragment in file for fragment in fragments):
                return stage
    return OUTSIDE


def summarise(collapsed: Path, hooks: int) -> list[str]:
    """Per-stage share of the CPU samples and the 15 functions most often on CPU."""
    by_stage: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        # py-spy starts each stack with the process and thread names; the frames follow.
        by_stage[_stage_of(frames)] += count
        by_leaf[frames[-1] if frames else "?"] += count
        total += count
    if not total:
        return ["py-spy recorded no samples"]
    lines = [
        f"py-spy, both gunicorn workers, {total} on-CPU samples during {hooks} hooks",
        "",
        f"{'stage (innermost frame of the service code)':52s} {'samples':>8s} {'share':>7s}",
    ]
    for stage, count in by_stage.most_common():
        lines.append(f"{stage:52s} {count:8d} {100.0 * count / total:6.1f}%")
    lines += ["", "functions most often on CPU (leaf frame):"]
    for leaf, count in by_leaf.most_common(15):
        lines.append(f"  {100.0 * count / total:5.1f}%  {leaf}")
    return lines
