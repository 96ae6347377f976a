"""CSRF: a page form is taken only with the token its own page gave (double-submit cookie).

The attack each test reproduces: another site makes the customer's browser POST one of our forms
(a new submission in their name, a checkout opened, a local payment or cancellation, a report
re-queued). Such a POST carries no token, or the attacker's own, never the one in our cookie.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from diagpro.config import load_settings
from diagpro.domain.errors import RenderFailed
from diagpro.domain.submission import Status
from diagpro.entrypoints.http.form_guard import COOKIE, FIELD, form_secret
from tests.forms import send_form
from tests.http.conftest import AUTOMOTIVE, Api
from tests.http.test_page_headers import assert_secured

FORM = {**AUTOMOTIVE, "symptoms": "rough idle"}
ANOTHER_SECRETS_TOKEN = "ab" * 32 + "cd" * 32  # well formed, signed with another key


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert_secured(response)
    assert "Please send the form again" in response.text


def attacker_token(make_api: Callable[..., Api]) -> str:
    """A valid token of the attacker's own, from their own visit to the site."""
    other = make_api(fresh=True)
    other.client.get("/")
    return str(other.client.cookies[COOKIE])


def test_a_cross_site_intake_post_is_refused_and_saves_nothing(api: Api) -> None:
    assert_refused(api.client.post("/intake", data=FORM, follow_redirects=False))
    # The first submission the app saves after it is still the first one (ids count from 1).
    saved = api.form("/intake", FORM)
    assert saved.status_code == 303
    assert saved.headers["location"].endswith(f"_{1:024x}")


@pytest.mark.parametrize("token", ["", "nonsense", ANOTHER_SECRETS_TOKEN])
def test_a_post_with_the_cookie_but_not_its_token_is_refused(api: Api, token: str) -> None:
    api.client.get("/")  # the customer's browser holds our cookie
    response = api.client.post("/intake", data={**FORM, FIELD: token}, follow_redirects=False)
    assert_refused(response)


def test_the_attackers_own_valid_token_does_not_pass_for_the_customers(
    api: Api, make_api: Callable[..., Api]
) -> None:
    token = attacker_token(make_api)
    api.client.get("/")
    assert api.client.cookies[COOKIE] != token
    response = api.client.post("/intake", data={**FORM, FIELD: token}, follow_redirects=False)
    assert_refused(response)


def test_a_cross_site_checkout_post_opens_no_checkout(api: Api) -> None:
    sid = api.save()
    assert_refused(api.client.post(f"/review/{sid}/checkout", follow_redirects=False))
    assert api.container.submissions().get(sid).checkout is None
    assert api.form(f"/review/{sid}/checkout").status_code == 303


@pytest.mark.parametrize("action", ["pay", "cancel"])
def test_a_cross_site_post_cannot_pay_or_cancel_a_local_checkout(api: Api, action: str) -> None:
    sid = api.save()
    session_id = str(api.checkout(sid)["sessionId"])
    response = api.client.post(f"/checkout/local/{session_id}/{action}", follow_redirects=False)
    assert_refused(response)
    session = api.container.gateway().retrieve_checkout(session_id)
    assert session.status == "open"
    assert api.status(sid)["status"] == "pending"


def test_a_cross_site_retry_requeues_nothing(make_api: Callable[..., Api]) -> None:
    api = make_api(env={"DIAGPRO_JOB_MAX_ATTEMPTS": "1"})
    sid = api.save()
    api.renderer.fail_next(RenderFailed("the PDF engine ran out of memory"))
    api.pay(sid)
    api.work()
    assert api.container.submissions().get(sid).status == Status.FAILED
    response = api.client.post(
        "/success/retry", data={"submission_id": sid}, follow_redirects=False
    )
    assert_refused(response)
    assert api.container.submissions().get(sid).status == Status.FAILED
    assert api.form("/success/retry", {"submission_id": sid}).status_code == 303
    assert api.container.submissions().get(sid).status != Status.FAILED


def test_every_page_form_carries_the_token_of_the_cookie(api: Api) -> None:
    sid = api.save()
    session_id = str(api.checkout(sid)["sessionId"])
    for url in ("/", f"/review/{sid}", f"/checkout/local/{session_id}"):
        page = api.client.get(url).text
        forms = re.findall(r"<form\b.*?</form>", page, flags=re.S)
        assert forms, url
        for form in forms:
            token = re.search(rf'name="{FIELD}" value="([0-9a-f]+)"', form)
            assert token and token.group(1) == api.client.cookies[COOKIE], (url, form[:80])


def test_the_cookie_is_secure_over_https_only(api: Api) -> None:
    """``make run`` is plain http://127.0.0.1: a Secure cookie would never come back there."""
    plain = api.client.get("/").headers["set-cookie"]
    assert "HttpOnly" in plain and "SameSite=lax" in plain
    assert "Secure" not in plain
    api.client.cookies.clear()
    behind_cloud_run = api.client.get("/", headers={"x-forwarded-proto": "https"})
    assert "Secure" in behind_cloud_run.headers["set-cookie"]


def test_a_cookie_signed_with_another_key_is_replaced_when_a_page_loads(api: Api) -> None:
    """After the API keys change, a customer's old cookie must not block every form."""
    api.client.cookies.set(COOKIE, ANOTHER_SECRETS_TOKEN, domain="testserver.local")
    api.client.get("/")
    fresh = api.client.cookies[COOKIE]
    assert fresh != ANOTHER_SECRETS_TOKEN
    assert api.form("/intake", FORM).status_code == 303


def test_a_valid_cookie_is_kept_across_pages(api: Api) -> None:
    api.client.get("/")
    first = api.client.cookies[COOKIE]
    assert "set-cookie" not in api.client.get("/").headers
    assert api.client.cookies[COOKIE] == first


def test_the_api_webhook_and_tasks_need_no_token(api: Api) -> None:
    """They are not cookie-authenticated: keys, signatures and OIDC tokens guard them."""
    assert api.post("/saveSubmission", {"payload": AUTOMOTIVE}).status_code == 200
    session_id = str(api.checkout(api.save())["sessionId"])
    assert api.deliver(api.event(session_id)).status_code == 200


def test_every_instance_signs_with_the_same_key_and_another_key_set_with_another() -> None:
    one = load_settings({"DIAGPRO_API_KEYS": "dpk_key_one_0123456,dpk_key_two_0123456"})
    same = load_settings({"DIAGPRO_API_KEYS": "dpk_key_two_0123456,dpk_key_one_0123456"})
    other = load_settings({"DIAGPRO_API_KEYS": "dpk_key_three_012345"})
    assert form_secret(one) == form_secret(same)
    assert form_secret(one) != form_secret(other)
    assert "dpk_key_one" not in form_secret(one)


def test_send_form_helper_is_what_a_browser_does(api: Api) -> None:
    """The helper the other tests use loads the page, then sends the cookie's token."""
    response = send_form(api.client, "/intake", FORM)
    assert response.status_code == 303
