"""Shared test fixtures: published test data, real-dependency gating, free loopback ports.

Published test data is read where it lies, through ``HER2CDS_TESTDATA`` (``make test`` sets it). A test
whose real dependency (a binary, a data folder) is missing skips on a developer's machine, but fails under
``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["tests.log_guard"]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing_dependency(message: str) -> None:
    """Skip locally, fail in CI: a real dependency of this test is not available."""
    if IN_CI:
        pytest.fail(f"missing real dependency under CI=true: {message}", pytrace=False)
    pytest.skip(message)


def require_binary(name: str) -> str:
    """Return the path of an executable, or skip (fail in CI) when it is not installed."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None
    )
    if path is None:
        missing_dependency(f"{name} is not installed (make test installs it when run as root)")
    assert path is not None
    return path


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (per worker; the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Terminate a server this test run started, by its PID; kill it if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared published test data folder (``HER2CDS_TESTDATA``)."""
    value = os.environ.get("HER2CDS_TESTDATA")
    if not value or not Path(value).is_dir():
        missing_dependency("HER2CDS_TESTDATA does not name the published test data (make test sets it)")
    assert value is not None
    return Path(value)
