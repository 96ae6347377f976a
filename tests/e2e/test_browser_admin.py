"""An operator in a real browser: the credentials of HTTP Basic in the address, the operator page
with a saved order (its machine, not its email) and its chart of payment-to-report times."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

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
