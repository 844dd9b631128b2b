"""The demo console in headless Chromium against the real ``her2-cds demo``: every demo patient, fired from
the page, shows exactly its expected cards as an EHR would; order-sign with a draft T-DXd order; the evidence
link opens a page whose MIP picture loads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cds_service.demo.data import ALL_DEMO_PATIENTS, DemoAnalysis, DemoPatient
from tests.e2e.browser import DemoService, assert_not_blank, browser, demo_service, save_screenshot

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

__all__ = ["browser", "demo_service"]  # fixtures

pytestmark = pytest.mark.e2e

WAIT_S = 30.0


def _fire(driver: WebDriver, patient_id: str, hook: str = "patient-view") -> list[tuple[str, str]]:
    """Select the patient and hook, press Fire, wait for the cards; (topic, indicator) of each card."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, f"input[name='patient'][value='{patient_id}']").click()
    driver.find_element(By.CSS_SELECTOR, f"input[name='hook'][value='{hook}']").click()
    driver.find_element(By.ID, "fire").click()

    def answered(d: WebDriver) -> bool:
        box = d.find_element(By.ID, "cards")
        state = box.get_attribute("data-state")
        if state == "error":
            raise AssertionError(d.find_element(By.ID, "status").text)
        return bool(
            state == "done"
            and box.get_attribute("data-patient") == patient_id
            and box.get_attribute("data-hook") == hook
        )

    WebDriverWait(driver, WAIT_S).until(answered)
    cards = driver.find_elements(By.CSS_SELECTOR, "#cards article.cds-card")
    return [(c.get_attribute("data-topic") or "", c.get_attribute("data-indicator") or "") for c in cards]


def test_every_demo_patient_shows_its_cards(
    demo_service: DemoService, browser: WebDriver, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{demo_service.base_url}/demo")
    assert "Demo console" in browser.title
    listed = [e.get_attribute("value") for e in browser.find_elements(By.NAME, "patient")]
    assert listed == [p.id for p in ALL_DEMO_PATIENTS]
    seen: set[str] = set()
    for patient in ALL_DEMO_PATIENTS:
        cards = _fire(browser, patient.id)
        assert tuple(topic for topic, _ in cards) == patient.scenarios, patient.id
        assert all(indicator in ("info", "warning") for _, indicator in cards)
        seen.update(topic for topic, _ in cards)
        if not patient.scenarios:
            assert browser.find_element(By.ID, "no-cards").is_displayed()
    assert seen == {code for p in ALL_DEMO_PATIENTS for code in p.scenarios}
    png = save_screenshot(browser, tmp_path, "console.png")
    assert_not_blank(png)


def _pet_patient(key: str) -> DemoPatient:
    return next(p for p in ALL_DEMO_PATIENTS if p.id == f"demo-pet-{key}")


def test_order_sign_with_draft_tdxd_and_the_evidence_link(
    demo_service: DemoService, browser: WebDriver, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    patient = _pet_patient("liver")
    assert patient.pet is not None
    assert patient.pet.analysis is DemoAnalysis.PRECOMPUTED
    browser.get(f"{demo_service.base_url}/demo")
    cards = _fire(browser, patient.id, hook="order-sign")
    assert tuple(topic for topic, _ in cards) == patient.order_scenarios
    request_text = browser.execute_script("return document.getElementById('raw-request').textContent")
    assert "fam-trastuzumab deruxtecan" in request_text
    assert '"draftOrders"' in request_text
    first = browser.find_element(By.CSS_SELECTOR, "#cards article.cds-card")
    first.find_element(By.TAG_NAME, "summary").click()
    detail = first.find_element(By.CSS_SELECTOR, ".detail")
    assert detail.find_elements(By.TAG_NAME, "li"), "detail markdown rendered as a list"
    assert "**" not in detail.text
    save_screenshot(browser, tmp_path, "console-order-sign.png")
    link = first.find_element(By.PARTIAL_LINK_TEXT, "evidence")
    href = link.get_attribute("href") or ""
    assert href.startswith(f"{demo_service.base_url}/evidence/")
    assert patient.id not in href
    console = browser.current_window_handle
    link.click()
    WebDriverWait(browser, WAIT_S).until(lambda d: len(d.window_handles) == 2)
    browser.switch_to.window(next(h for h in browser.window_handles if h != console))
    WebDriverWait(browser, WAIT_S).until(
        lambda d: d.execute_script(
            "var i = document.getElementById('mip'); return i !== null && i.complete && i.naturalWidth > 0"
        )
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#lesion-table tbody tr")
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline-events li")
    assert_not_blank(save_screenshot(browser, tmp_path, "evidence-from-console.png"))
