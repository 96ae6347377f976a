"""An operator in a real browser: the credentials of HTTP Basic in the address, the operator page
with a saved order (its machine, not its email) and its chart of payment-to-report times; a paid
order refunded from the page (the box must be ticked; the action shows under the user name)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_browser import browser, downloads  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.process

OPERATOR_KEY = "op_key_for_the_browser_0001"
API_KEY = "dpk_key_for_the_admin_browser_test"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "DIAGPRO_OPERATOR_KEYS": OPERATOR_KEY, "DIAGPRO_API_KEYS": API_KEY}


def test_an_operator_signs_in_and_sees_the_orders(
    serve: Any,
    browser: webdriver.Chrome,  # noqa: F811
) -> None:
    url = str(serve().url).rstrip("/")
    payload = {
        "equipmentType": "automotive",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "problemDescription": "Rough idle and shaking at stops",
        "email": "owner@example.com",
    }
    saved = httpx.post(
        f"{url}/saveSubmission", json={"payload": payload}, headers={"x-api-key": API_KEY}
    )
    assert saved.status_code == 200, saved.text
    sid = saved.json()["submissionId"]

    browser.get(url.replace("://", "://operator:wrong_key_of_the_operator@", 1) + "/admin")
    assert sid not in browser.page_source

    browser.get(url.replace("://", f"://operator:{OPERATOR_KEY}@", 1) + "/admin")
    table = browser.find_element(By.ID, "orders").text
    assert sid in table and "F-150" in table and "pending" in table
    assert "owner@example.com" not in browser.page_source
    assert browser.find_element(By.ID, "count-saved").text == "1"
    assert browser.find_element(By.ID, "ready-chart-empty").is_displayed()


def test_an_operator_refunds_a_paid_order_from_the_page(
    serve: Any,
    env: dict[str, str],
    browser: webdriver.Chrome,  # noqa: F811
) -> None:
    # No worker in this server (pull mode, and no `diagpro worker`): the paid order waits.
    env["DIAGPRO_WORK_MODE"] = "pull"
    url = str(serve().url).rstrip("/")
    api = {"x-api-key": API_KEY}
    payload = {
        "equipmentType": "automotive",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "problemDescription": "Rough idle and shaking at stops",
        "email": "owner@example.com",
    }
    sid = httpx.post(f"{url}/saveSubmission", json={"payload": payload}, headers=api).json()[
        "submissionId"
    ]
    checkout = httpx.post(f"{url}/createCheckoutSession", json={"submissionId": sid}, headers=api)
    assert checkout.status_code == 200, checkout.text
    wait = WebDriverWait(browser, 10)
    browser.get(checkout.json()["url"])
    browser.find_element(By.ID, "pay").click()
    wait.until(ec.url_contains("/success?session_id=cs_local_"))

    browser.get(url.replace("://", f"://Ana%20Ops:{OPERATOR_KEY}@", 1) + "/admin")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-order="{sid}"]')
    assert "paid" in row.text
    refund = row.find_element(By.CSS_SELECTOR, "form.refund")
    refund.find_element(By.CSS_SELECTOR, "button").click()  # the box is not ticked: not sent
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-order="{sid}"]')
    assert "paid" in row.text

    refund = row.find_element(By.CSS_SELECTOR, "form.refund")
    refund.find_element(By.CSS_SELECTOR, "input[name=confirm]").click()
    refund.find_element(By.CSS_SELECTOR, "button").click()

    wait.until(ec.text_to_be_present_in_element((By.ID, "orders"), "refunded by Ana Ops"))
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-order="{sid}"]')
    assert "refunded" in row.text
    notes = browser.find_element(By.CSS_SELECTOR, f'tr[data-notes-for="{sid}"]')
    assert "refund re_local_" in notes.find_element(By.CLASS_NAME, "last-action").text
    assert not row.find_elements(By.CSS_SELECTOR, "form.refund")  # nothing left to refund
    assert OPERATOR_KEY not in browser.page_source
