"""The evidence page in headless Chromium against the real ``her2-cds demo``: for every demo patient with an
analysed HER2 PET, the link on its card opens a page whose MIP picture loads, whose lesion table has a row per
lesion and whose timeline lists the specimen and the PET dates; it uses no external resources, works with
JavaScript disabled and in print media, and a forged link shows nothing."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests

from cds_service.demo.console import hook_request
from cds_service.demo.data import DEMO_PET_PATIENTS, DemoAnalysis, DemoPatient
from cds_service.hooks.models import Hook
from tests.e2e.browser import DemoService, assert_not_blank, browser, demo_service, save_screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

__all__ = ["browser", "demo_service"]  # fixtures

pytestmark = pytest.mark.e2e

WAIT_S = 30.0
ANALYSED = [p for p in DEMO_PET_PATIENTS if p.pet is not None and p.pet.analysis is DemoAnalysis.PRECOMPUTED]


def evidence_url(service: DemoService, patient: DemoPatient) -> str:
    """Fire patient-view over HTTP (as an EHR would) and return the evidence link of the first card."""
    body = hook_request(Hook.PATIENT_VIEW, patient.id)
    resp = requests.post(f"{service.base_url}/cds-services/her2-pet-review", json=body, timeout=30)
    assert resp.status_code == 200, resp.text
    links: list[str] = [link["url"] for card in resp.json()["cards"] for link in card.get("links", [])]
    found = [url for url in links if "/evidence/" in url]
    assert found, f"no evidence link for {patient.id}"
    return found[0]


def _open(driver: WebDriver, url: str) -> None:
    driver.get(url)
    driver.execute_script("return document.readyState")


def _wait_for_picture(driver: WebDriver) -> int:
    from selenium.webdriver.support.ui import WebDriverWait

    script = "var i = document.getElementById('mip'); return i && i.complete ? i.naturalWidth : -1"
    WebDriverWait(driver, WAIT_S).until(lambda d: d.execute_script(script) != -1)
    width: int = driver.execute_script(script)
    return width


def _texts(driver: WebDriver, selector: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, selector)]


def test_every_analysed_patient_has_a_complete_evidence_page(
    demo_service: DemoService, browser: WebDriver, tmp_path: Path
) -> None:
    origin = demo_service.base_url
    for patient in ANALYSED:
        assert patient.pet is not None
        url = evidence_url(demo_service, patient)
        assert patient.id not in url
        assert patient.dicom_patient_id not in url
        _open(browser, url)
        assert _wait_for_picture(browser) > 0, patient.id
        rows = _texts(browser, "#lesion-table tbody tr")
        assert len(rows) == len(patient.pet.lesions), patient.id
        labels = {row.split()[0] for row in rows}
        assert labels == {lesion.label for lesion in patient.pet.lesions}
        avid_rows = [row for row in rows if " Avid " in f" {row} "]
        assert len(avid_rows) == sum(1 for lesion in patient.pet.lesions if lesion.avid), patient.id
        events = _texts(browser, "#timeline-events li")
        expected_events = 2 + (1 if patient.has_pathology else 0)
        assert len(events) == expected_events, (patient.id, events)
        dates = [event.split()[0] for event in events]
        assert dates == sorted(dates)
        assert any("HER2 PET acquired" in event for event in events)
        assert str(patient.pet_date) in " ".join(events)
        reference = _texts(browser, "#reference-table tbody tr")
        assert len(reference) == 2
        body = browser.find_element("tag name", "body").text
        assert "investigational radiopharmaceuticals" in body
        for topic in patient.scenarios:
            assert topic in body
        resources: list[Any] = browser.execute_script(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
        )
        assert resources
        assert all(urlsplit(r).netloc == urlsplit(origin).netloc for r in resources), resources
        png = save_screenshot(browser, tmp_path, f"evidence-{patient.id}.png")
        assert_not_blank(png)


def test_page_works_without_javascript_and_prints(
    demo_service: DemoService, browser: WebDriver, tmp_path: Path
) -> None:
    patient = next(p for p in ANALYSED if p.id == "demo-pet-old-biopsy")
    url = evidence_url(demo_service, patient)
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    _open(browser, url)
    rows = _texts(browser, "#lesion-table tbody tr")
    assert patient.pet is not None
    assert len(rows) == len(patient.pet.lesions)
    assert "outside the studied window" in browser.find_element("tag name", "body").text
    assert_not_blank(save_screenshot(browser, tmp_path, "evidence-no-js.png"))
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    _open(browser, url)
    assert _wait_for_picture(browser) > 0
    assert_not_blank(save_screenshot(browser, tmp_path, "evidence-print.png"))
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": False})
    assert len(pdf["data"]) > 1000


def test_forged_link_shows_nothing(demo_service: DemoService, browser: WebDriver) -> None:
    url = evidence_url(demo_service, ANALYSED[0])
    forged = url[:-3] + ("abc" if not url.endswith("abc") else "xyz")
    _open(browser, forged)
    body = browser.find_element("tag name", "body").text
    assert "not available" in body
    assert not _texts(browser, "#lesion-table tbody tr")
    assert ANALYSED[0].id not in body
