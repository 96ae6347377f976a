"""The original frontend's own request still works, and amounts are never truncated.

DiagnosticReview.tsx posts ``{payload, priceCents: 499, status: "pending", reqId, userAgent,
clientIp: ""}`` to /saveSubmission; the payload holds its 22 keys with "" for what was skipped,
symptoms joined with ", " and urgency "normal" by default.
"""

from __future__ import annotations

from typing import Any

import pytest

from diagpro.domain.submission import Status
from tests.http.conftest import Api, assert_error

ORIGINAL_BODY: dict[str, Any] = {
    "payload": {
        "equipmentType": "automotive",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "mileageHours": "98000",
        "serialNumber": "",
        "errorCodes": "P0301, P0171",
        "symptoms": "Rough idle, Engine shaking",
        "whenStarted": "week",
        "frequency": "always",
        "urgencyLevel": "normal",
        "locationEnvironment": "",
        "usagePattern": "daily",
        "problemDescription": "Rough idle and shaking at stops, worse when cold",
        "previousRepairs": "",
        "modifications": "",
        "troubleshootingSteps": "",
        "shopQuoteAmount": "",
        "shopRecommendation": "",
        "fullName": "Pat Owner",
        "email": "pat.owner@example.com",
        "phone": "",
    },
    "priceCents": 499,
    "status": "pending",
    "reqId": "req_1760549969503_k3j9x",
    "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
    "clientIp": "",
}


def fields_of(body: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in body["details"]}


def assert_nothing_saved(api: Api) -> None:
    """The app's ids count from 1 (CountingIds): the next saved submission gets the first."""
    assert api.save().endswith(f"_{1:024x}")


def test_the_original_frontends_exact_body_is_saved(api: Api) -> None:
    response = api.post("/saveSubmission", ORIGINAL_BODY, headers={"x-dp-reqid": "dp-1"})
    assert response.status_code == 200, response.text
    sid = response.json()["submissionId"]
    saved = api.container.submissions().get(sid)
    assert saved.status == Status.PENDING
    assert saved.price_cents == 499
    assert saved.intake.symptoms == ("Rough idle", "Engine shaking")


@pytest.mark.parametrize("price", [1, 498, 500, 2999, 0, -499])
def test_a_price_other_than_ours_is_refused_by_name_and_nothing_is_saved(
    api: Api, price: int
) -> None:
    body = assert_error(
        api.post("/saveSubmission", {**ORIGINAL_BODY, "priceCents": price}),
        400,
        "VALIDATION_ERROR",
    )
    assert fields_of(body) == {"priceCents"}
    assert_nothing_saved(api)


@pytest.mark.parametrize("price", [499.9, 499.5, 498.99, "499.9", True])
def test_a_fractional_or_odd_price_is_refused_not_truncated(api: Api, price: Any) -> None:
    """The attack: 499.9 read as int(499.9) == 499 would pass the price check."""
    body = assert_error(
        api.post("/saveSubmission", {**ORIGINAL_BODY, "priceCents": price}),
        400,
        "VALIDATION_ERROR",
    )
    assert "priceCents" in fields_of(body)
    assert_nothing_saved(api)


def test_a_wrong_price_is_named_together_with_the_payloads_problems(api: Api) -> None:
    payload = {**ORIGINAL_BODY["payload"], "email": ""}
    body = assert_error(
        api.post("/saveSubmission", {**ORIGINAL_BODY, "payload": payload, "priceCents": 999}),
        400,
        "VALIDATION_ERROR",
    )
    assert fields_of(body) == {"priceCents", "email"}


def test_the_price_follows_the_configured_price(make_api: Any) -> None:
    api = make_api(env={"DIAGPRO_PRICE_CENTS": "999"})
    assert api.post("/saveSubmission", {**ORIGINAL_BODY, "priceCents": 999}).status_code == 200
    body = assert_error(api.post("/saveSubmission", ORIGINAL_BODY), 400, "VALIDATION_ERROR")
    assert fields_of(body) == {"priceCents"}


@pytest.mark.parametrize("status", ["paid", "ready", ""])
def test_a_client_cannot_choose_the_status_it_is_saved_with(api: Api, status: str) -> None:
    body = assert_error(
        api.post("/saveSubmission", {**ORIGINAL_BODY, "status": status}), 400, "VALIDATION_ERROR"
    )
    assert fields_of(body) == {"status"}


def test_the_payload_alone_still_works(api: Api) -> None:
    assert api.post("/saveSubmission", {"payload": ORIGINAL_BODY["payload"]}).status_code == 200


def test_a_paid_amount_with_a_fraction_is_refused_not_truncated_to_the_price(api: Api) -> None:
    """A signed event whose amount_total is 499.9 must not become a payment of 499."""
    sid = api.save()
    session_id = str(api.checkout(sid)["sessionId"])
    response = api.deliver(api.event(session_id, amount_total=499.9))
    assert response.status_code == 400, response.text
    assert api.container.submissions().get(sid).status == Status.PENDING
