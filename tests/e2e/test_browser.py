"""A customer in a real browser: the form, the review, the local checkout, the success page and
the downloaded PDF, against the real server process on its embedded defaults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import pdf_text

pytestmark = pytest.mark.process

PROBLEM = "Rough idle and shaking at stops, worse when cold. Check engine light flashes."


@pytest.fixture
def server(serve: Any) -> str:
    """`diagpro serve` as a process on a free port and a fresh data folder; always stopped."""
    return str(serve().url)


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


@pytest.fixture
def browser(tmp_path: Path, downloads: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
        },
    )
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: webdriver.Chrome, path: Path) -> None:
    # The whole page, not just the window: resize to the document's height first.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(1000, int(height)))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def _wait_for_pdf(folder: Path, timeout: float = 20) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == ".pdf"]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no PDF downloaded; the folder holds {list(folder.iterdir())}")


def test_a_customer_describes_pays_and_downloads_the_report(
    server: str, browser: webdriver.Chrome, downloads: Path, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, 10)
    browser.get(f"{server}/")
    assert "Know what's wrong" in browser.page_source

    browser.find_element(By.CSS_SELECTOR, "label[for='f-equipmentType-automotive']").click()
    # Only the chosen category's details are shown (and posted).
    assert browser.find_element(By.ID, "details-automotive").get_attribute("disabled") is None
    assert browser.find_element(By.ID, "details-marine").get_attribute("disabled") == "true"
    assert browser.find_element(By.ID, "label-serialNumber").text == "VIN"
    for field, value in (
        ("f-make", "Ford"),
        ("f-model", "F-150"),
        ("f-year", "2015"),
        ("f-errorCodes", "P0301 P0171"),
        ("f-problemDescription", PROBLEM),
        ("f-email", "owner@example.com"),
    ):
        browser.find_element(By.ID, field).send_keys(value)
    _screenshot(browser, tmp_path / "form.png")
    browser.find_element(By.ID, "review-button").click()

    wait.until(ec.url_contains("/review/diag_"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "2015 Ford F-150" in page and "P0301 P0171" in page and PROBLEM in page
    _screenshot(browser, tmp_path / "review.png")
    pay = browser.find_element(By.ID, "pay-button")
    assert "$4.99" in pay.text
    pay.click()

    wait.until(ec.presence_of_element_located((By.ID, "session-id")))
    assert "/checkout/local/cs_local_" in browser.current_url
    browser.find_element(By.ID, "pay").click()

    wait.until(ec.url_contains("/success?session_id=cs_local_"))
    sid = browser.find_element(By.ID, "submission-id").text
    assert sid.startswith("diag_")
    download = WebDriverWait(browser, 60).until(
        ec.visibility_of_element_located((By.ID, "download"))
    )
    assert browser.find_element(By.ID, "view").is_displayed()
    assert browser.find_element(By.ID, "headline").text == "Your report is ready"
    _screenshot(browser, tmp_path / "success.png")
    download.click()

    pdf = _wait_for_pdf(downloads)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "P0301" in text and sid in text
