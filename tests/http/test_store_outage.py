"""A store outage answers 503 with Retry-After and a stable code, never a 500: clients come back
later, and Stripe redelivers a webhook it got a 503 for."""

from __future__ import annotations

from datetime import datetime

from dependency_injector import providers

from diagpro.domain.errors import StoreUnavailable
from diagpro.domain.payment import PaymentEvent
from tests.http.conftest import Api, assert_error


class DownEvents:
    """ProcessedEvents whose database does not answer."""

    def record(self, event: PaymentEvent, outcome: str, at: datetime) -> bool:
        raise StoreUnavailable("The embedded database did not answer: database is locked")

    def outcome(self, event_id: str) -> str | None:
        raise StoreUnavailable("The embedded database did not answer: database is locked")


def test_the_webhook_answers_503_so_stripe_delivers_again(api: Api) -> None:
    sid = api.save()
    session_id = str(api.checkout(sid)["sessionId"])
    event = api.event(session_id)
    api.container.processed_events.override(providers.Object(DownEvents()))

    refused = api.deliver(event)

    body = assert_error(refused, 503, "STORE_UNAVAILABLE")
    assert "did not answer" in body["error"]
    assert refused.headers["retry-after"] == "5"
    assert api.status(sid)["status"] == "pending"  # nothing applied: the redelivery does it

    api.container.processed_events.reset_last_overriding()  # the database is back
    assert api.deliver(event).json()["outcome"] == "fulfilled"
    assert api.status(sid)["status"] == "paid"


def test_an_api_request_answers_503_while_the_store_is_down(api: Api) -> None:
    sid = api.save()

    class DownSubmissions:
        def get(self, submission_id: str) -> None:
            raise StoreUnavailable("Firestore get submission failed: 503 unavailable")

    api.container.submissions.override(providers.Object(DownSubmissions()))
    refused = api.post("/analysisStatus", {"submissionId": sid})
    assert_error(refused, 503, "STORE_UNAVAILABLE")
    assert refused.headers["retry-after"] == "5"


def test_a_page_says_we_are_briefly_unavailable(api: Api) -> None:
    sid = api.save()

    class DownSubmissions:
        def get(self, submission_id: str) -> None:
            raise StoreUnavailable("The embedded database did not answer: disk I/O error")

    api.container.submissions.override(providers.Object(DownSubmissions()))
    page = api.get(f"/review/{sid}")
    assert page.status_code == 503
    assert page.headers["retry-after"] == "5"
    assert "briefly unavailable" in page.text
    assert "disk I/O" not in page.text  # the operator's detail stays in the log
