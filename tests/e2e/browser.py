"""Headless Chromium for the browser tests: the real ``her2-cds demo`` on a free loopback port, driven by
Selenium through the system ChromeDriver (Debian packages ``chromium`` and ``chromium-driver``).

``demo_service`` starts ``her2-cds demo`` once per session (in a fresh data folder, so the first-run
generation is exercised too) and stops it by PID; ``browser`` is a headless Chromium with a fresh profile
and the flags this machine needs (no sandbox as root, no background networking: the network is closed).
A missing Chromium, ChromeDriver or Selenium skips locally and fails under CI=true.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from PIL import Image

from tests.conftest import free_port, missing_dependency, require_binary

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

START_TIMEOUT_S = 240.0
"""The first run generates and analyses every demo PET series before gunicorn starts (slow on a busy CI)."""

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1100",
)


@dataclass
class DemoService:
    """A running ``her2-cds demo``: its base URL, process and log files."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _her2_cds() -> list[str]:
    script = Path(sys.executable).with_name("her2-cds")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cds_service.cli"]


def start_demo(folder: Path) -> DemoService:
    """Run ``her2-cds demo --port P`` with ``folder`` as its data folder; wait until ``/healthz`` answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HER2CDS_")}
    env["HER2CDS_DATA_DIR"] = str(folder)
    log = folder / "demo.log"
    folder.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*_her2_cds(), "demo", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    service = DemoService(base_url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"her2-cds demo exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{service.base_url}/healthz", timeout=2).status_code == 200:
                return service
        time.sleep(0.5)
    service.stop()
    raise RuntimeError(f"her2-cds demo did not start within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


_RUNNING: dict[str, DemoService] = {}
"""One demo per session, shared by every browser test module (each module registers its own fixture)."""


@pytest.fixture(scope="session")
def demo_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoService]:
    if "demo" not in _RUNNING:
        _RUNNING["demo"] = start_demo(tmp_path_factory.mktemp("browser-demo"))
    yield _RUNNING["demo"]
    service = _RUNNING.pop("demo", None)
    if service is not None:
        service.stop()


def _selenium() -> Any:
    try:
        from selenium import webdriver
    except ImportError:
        missing_dependency("selenium is not installed (pip install selenium)")
    return webdriver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile; quit after the test."""
    chromium = require_binary("chromium")
    chromedriver = require_binary("chromedriver")
    webdriver = _selenium()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=chromedriver, log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def assert_not_blank(png: bytes, *, min_colours: int = 8) -> Image.Image:
    """The screenshot decodes, has a size, and is not one flat colour (a rendered page has many)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    assert width > 200
    assert height > 200
    grey = image.convert("L")
    histogram = grey.histogram()
    levels = sum(1 for count in histogram if count)
    assert levels >= min_colours, f"screenshot has only {levels} grey levels"
    dark = sum(histogram[:70])
    assert dark > 0.001 * width * height, "no dark (text) pixels on the screenshot"
    return image


def save_screenshot(driver: WebDriver, folder: Path, name: str) -> bytes:
    """A full-page-height PNG of the current page, written to ``folder/name`` and returned."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1400, max(900, min(height + 120, 6000)))
    png: bytes = driver.get_screenshot_as_png()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)
    return png
