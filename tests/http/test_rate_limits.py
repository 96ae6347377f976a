"""Nobody may spend a customer's quota: only calls with an accepted key count against that key,
the intake form has its own bucket, and a 429 says when to come back."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.http.conftest import AUTOMOTIVE, Api, assert_error

LIMIT = {"DIAGPRO_SUBMISSIONS_PER_MINUTE": "3"}
SECOND_KEY = "dpk_second_key_for_rate_limit_tests"
FORM = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "problemDescription": "Rough idle and shaking at stops",
    "fullName": "Pat Rivera",
    "email": "owner@example.com",
}
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTR = re.compile(r'(name|value)="([^"]*)"')


def _save(api: Api, key: str | None = None, **headers: str) -> httpx.Response:
    sent = {**({"x-api-key": key} if key is not None else {}), **headers}
    return api.client.post("/saveSubmission", json={"payload": AUTOMOTIVE}, headers=sent)


def _submit_form(api: Api) -> httpx.Response:
    """POST /intake as the browser does, with whatever hidden fields the form page carries."""
    page = api.client.get("/")
    hidden: dict[str, str] = {}
    for tag in _HIDDEN.findall(page.text):
        attrs = dict(_ATTR.findall(tag))
        if "name" in attrs:
            hidden[attrs["name"]] = attrs.get("value", "")
    return api.client.post("/intake", data={**hidden, **FORM}, follow_redirects=False)


def test_bad_keys_do_not_spend_the_good_keys_quota(make_api: Any) -> None:
    api = make_api(env=LIMIT)
    for _ in range(20):  # the attack: 20 bad-key requests from the customer's address
        assert_error(_save(api, "dpk_not_a_key_we_gave_out"), 401, "UNAUTHORIZED")
    for _ in range(5):
        assert_error(_save(api), 401, "UNAUTHORIZED")  # no key at all: not counted either
    assert [_save(api, api.key).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_429_says_when_to_come_back(make_api: Any) -> None:
    api = make_api(env=LIMIT)
    for _ in range(3):
        api.save()
    refused = _save(api, api.key, **{"x-request-id": "r-429"})
    body = assert_error(refused, 429, "RATE_LIMITED")
    assert "try again in" in body["error"]
    assert refused.headers["x-request-id"] == "r-429"
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 60
    assert wait == max(1, int(refused.headers["ratelimit-reset"]))
    assert refused.headers["ratelimit-remaining"] == "0"


def test_each_key_has_its_own_bucket(make_api: Any) -> None:
    api = make_api(env={**LIMIT, "DIAGPRO_API_KEYS": f"dpk_first_key_for_rate_tests,{SECOND_KEY}"})
    assert [_save(api, api.key).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _save(api, SECOND_KEY).status_code == 200


def test_one_key_shared_by_a_shops_customers_is_counted_per_customer(make_api: Any) -> None:
    api = make_api(env={**LIMIT, "DIAGPRO_TRUSTED_PROXIES": "1"})
    first = {"x-forwarded-for": "198.51.100.1"}
    assert [_save(api, api.key, **first).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert _save(api, api.key, **{"x-forwarded-for": "198.51.100.2"}).status_code == 200


def test_the_intake_form_has_its_own_bucket(make_api: Any) -> None:
    api = make_api(env=LIMIT)
    for _ in range(3):
        api.save()
    assert _save(api, api.key).status_code == 429  # the API bucket is empty...
    assert _submit_form(api).status_code == 303  # ...the form's is not
    assert _submit_form(api).status_code == 303
    assert _submit_form(api).status_code == 303
    refused = _submit_form(api)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_the_form_being_busy_leaves_the_api_alone(make_api: Any) -> None:
    api = make_api(env=LIMIT)
    assert [_submit_form(api).status_code for _ in range(4)] == [303, 303, 303, 429]
    assert _save(api, api.key).status_code == 200
