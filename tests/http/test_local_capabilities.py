"""The local checkout's page and the report folder's files exist only on the embedded defaults:
with Stripe (or a bucket) configured the container offers neither and the routes answer 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.http.conftest import Api, assert_error

STRIPE = {
    "STRIPE_SECRET_KEY": "sk_test_123",
    "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    # A deployment: it must choose its analyzer and give its address and keys.
    "DIAGPRO_ANALYZER": "offline",
    "DIAGPRO_PUBLIC_BASE_URL": "http://testserver.local",
    "DIAGPRO_API_KEYS": "dpk_local_capabilities_01",
}


def test_with_stripe_the_local_checkout_is_off(make_api: Callable[..., Any]) -> None:
    api: Api = make_api(memory=False, env=STRIPE)
    for response in (
        api.get("/checkout/local/cs_local_1"),
        api.form("/checkout/local/cs_local_1/pay"),
        api.form("/checkout/local/cs_local_1/cancel"),
    ):
        body = assert_error(response, 404, "NOT_FOUND")
        assert body["error"] == "The local checkout is off: payments go through Stripe"


def test_without_a_local_folder_no_report_file_is_served(api: Api) -> None:
    response = api.get("/files/reports/diag_1.pdf")
    body = assert_error(response, 404, "NOT_FOUND")
    assert body["error"] == "Reports are served by the storage bucket's signed links"
