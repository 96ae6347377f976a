"""The HTTP drivers: the same requests the original frontend, a browser and Stripe send, to a
``diagpro serve`` this test run started (serve) or to any deployed diagpro (url)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from diagpro.domain.payment import SignedEvent
from tests.features.drivers.base import (
    Checkout,
    Delivery,
    Kept,
    Links,
    Progress,
    Refusal,
    Why,
    charge_refunded,
    checkout_completed,
    outbox_emails,
)
from tests.features.drivers.form_values import form_values
from tests.forms import send_form

# The error envelope's stable codes, in the customer's words.
_WHY_BY_CODE = {
    "VALIDATION_ERROR": Why.INVALID_DESCRIPTION,
    "INVALID_JSON": Why.NOT_JSON,
    "PAYLOAD_TOO_LARGE": Why.TOO_LARGE,
    "MISSING_SUBMISSION_ID": Why.NO_ID,
    "BAD_ID": Why.NOT_AN_ID,
    "SUBMISSION_NOT_FOUND": Why.NOT_FOUND,
    "REPORT_NOT_FOUND": Why.NO_REPORT_FILE,
    "NOT_PAID": Why.NOT_PAID,
    "REPORT_NOT_READY": Why.NOT_READY,
    "REPORT_ERASED": Why.ERASED,
    "INVALID_SIGNATURE": Why.BAD_SIGNATURE,
}
WORKING = ("paid", "processing")
POLL_SECONDS = 0.2
RATE_LIMIT_WAIT_SECONDS = 180


class HttpDriver:
    def __init__(
        self,
        name: str,
        base_url: str,
        api_key: str,
        *,
        webhook_secret: str = "",
        currency: str = "usd",
        data_dir: Path | None = None,
        wait_seconds: float = 60.0,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._secret = webhook_secret
        self._currency = currency
        self._data_dir = data_dir  # only for a service this run started
        self._wait_seconds = wait_seconds
        self.client = httpx.Client(
            base_url=self.base_url, headers={"x-api-key": api_key}, timeout=20
        )
        self._checkouts: dict[str, Checkout] = {}

    def close(self) -> None:
        self.client.close()

    # -- the customer --------------------------------------------------------------------------
    def submit(self, description: Any) -> str | Refusal:
        body = {"payload": description}
        return self._saved(lambda: self.client.post("/saveSubmission", json=body))

    def kept(self, submission_id: str) -> Kept:
        # The Edit link's form shows the description as kept, field by field.
        page = self.client.get("/", params={"edit": submission_id})
        assert page.status_code == 200, page.text
        values = form_values(page.text)
        symptoms = tuple(s.strip() for s in values.get("symptoms", "").splitlines() if s.strip())
        details = {k.split(".", 1)[1]: v for k, v in values.items() if "." in k and v}
        return Kept(symptoms, details)

    def nothing_stored(self, refusal: Refusal) -> bool:
        # From outside, the refusal is all there is to see: it must not hand back an id.
        return not refusal.gave_an_id

    def open_checkout(self, submission_id: str) -> Checkout | Refusal:
        opened = self.client.post("/createCheckoutSession", json={"submissionId": submission_id})
        if opened.status_code != 200:
            return _refusal(opened)
        body = opened.json()
        session = self._session(body["sessionId"])
        checkout = Checkout(body["sessionId"], body["url"], session["status"])
        self._checkouts[submission_id] = checkout
        return checkout

    def pay(self, submission_id: str) -> None:
        checkout = self._checkout(submission_id)
        if _is_local(checkout):
            paid = send_form(self.client, f"{checkout.url}/pay", page=checkout.url)
            assert paid.status_code == 303, paid.text
        elif self._secret:
            self.deliver_payment(submission_id)
        else:
            pytest.skip(
                "paying needs the local checkout or WEBHOOK_SECRET: this service checks out "
                f"on {checkout.url.split('/')[2]} and no signed test event can be sent"
            )
        # Paying on the local page delivers the event in the background, as Stripe does.
        self._wait(submission_id, lambda p: p.status != "pending", "the payment to land")

    def cancel(self, submission_id: str) -> None:
        checkout = self._checkout(submission_id)
        if not _is_local(checkout):
            pytest.skip("cancelling a Stripe checkout is up to Stripe: needs the local checkout")
        cancelled = send_form(self.client, f"{checkout.url}/cancel", page=checkout.url)
        assert cancelled.status_code == 303, cancelled.text
        self._wait(submission_id, lambda p: "checkout is open" not in p.message, "the cancellation")

    def progress(self, submission_id: str) -> Progress | Refusal:
        return self.progress_of_raw_id(submission_id)

    def links(self, submission_id: str) -> Links | Refusal:
        answer = self.client.post("/getDownloadUrl", json={"submissionId": submission_id})
        if answer.status_code != 200:
            return _refusal(answer)
        body = answer.json()
        return Links(body["downloadUrl"], body["viewUrl"], body["expiresInSeconds"])

    def follow(self, link: str) -> bytes | Refusal:
        opened = httpx.get(link, timeout=20)  # a link needs no API key: it is its own proof
        if opened.status_code == 403:
            return Refusal(Why.LINK_REFUSED, opened.text[:300])
        if opened.status_code != 200:
            return _refusal(opened)
        return opened.content

    def ask_again(self, submission_id: str) -> str | Refusal:
        # The original frontend's "try again" call.
        answer = self.client.post("/analyzeDiagnostic", json={"submissionId": submission_id})
        if answer.status_code == 202:
            return "queued"
        if answer.status_code == 200:
            return "ready"
        return _refusal(answer)

    def wait_for_the_worker(self, submission_id: str) -> None:
        self._wait(submission_id, lambda p: p.status not in WORKING, "the worker")

    # -- the payment provider -------------------------------------------------------------------
    def deliver_payment(
        self, submission_id: str, times: int = 1, cents: int | None = None
    ) -> list[Delivery]:
        checkout = self._checkout(submission_id)
        session = self._session(checkout.session_id)
        amount = session["amount_total"] if cents is None else cents
        event = checkout_completed(
            checkout.session_id,
            submission_id,
            amount,
            self._currency,
            session.get("customer_email") or "",
            self._signing_secret(),
            datetime.now(UTC),
        )
        return [_delivery(self._deliver(event)) for _ in range(times)]

    def deliver_refund(self, submission_id: str, cents: int | None = None) -> Delivery:
        checkout = self._checkouts.get(submission_id)
        assert checkout is not None, "a refund needs the checkout this test paid through"
        amount = self._session(checkout.session_id)["amount_total"]
        secret = self._signing_secret()
        event = charge_refunded(
            submission_id, amount, self._currency, secret, datetime.now(UTC), cents
        )
        return _delivery(self._deliver(event))

    def redeliver_refund(self, submission_id: str, times: int) -> list[Delivery]:
        checkout = self._checkouts.get(submission_id)
        assert checkout is not None, "a refund needs the checkout this test paid through"
        amount = self._session(checkout.session_id)["amount_total"]
        event = charge_refunded(
            submission_id, amount, self._currency, self._signing_secret(), datetime.now(UTC)
        )
        return [_delivery(self._deliver(event)) for _ in range(times)]

    def deliver_forged_payment(self, submission_id: str) -> Delivery | Refusal:
        checkout = self._checkout(submission_id)
        session = self._session(checkout.session_id)
        forged = checkout_completed(
            checkout.session_id,
            submission_id,
            session["amount_total"],
            self._currency,
            "",
            "whsec_not_the_services_secret",
            datetime.now(UTC),
        )
        answer = self._deliver(forged)
        return _delivery(answer) if answer.status_code == 200 else _refusal(answer)

    # -- the customer's mailbox ---------------------------------------------------------------
    def emails(self, submission_id: str, at_least: int = 1) -> list[EmailMessage]:
        if self._data_dir is None:
            pytest.skip("needs the service's outbox folder: runs in-process and on serve only")
        folder = self._data_dir / "outbox"
        deadline = time.monotonic() + self._wait_seconds
        while len(found := outbox_emails(folder, submission_id)) < at_least:
            if time.monotonic() > deadline:
                break  # the step's assertion says what was there
            time.sleep(0.1)
        return found

    def open_emailed_link(self, link: str) -> bytes | Refusal:
        opened = httpx.get(link, timeout=20, follow_redirects=True)  # no API key: a browser
        if opened.status_code != 200:
            return _refusal(opened)
        return opened.content

    # -- the operator ---------------------------------------------------------------------------
    def lose_report_file(self, submission_id: str) -> None:
        if self._data_dir is None:
            pytest.skip("needs the service's report folder: runs in-process and on serve only")
        (self._data_dir / "reports" / f"{submission_id}.pdf").unlink()

    # -- what a client can get wrong on the wire --------------------------------------------------
    def send_raw_description(self, body: bytes) -> str | Refusal:
        headers = {"content-type": "application/json"}
        return self._saved(
            lambda: self.client.post("/saveSubmission", content=body, headers=headers)
        )

    def submit_with_key(self, description: Any, key: str | None) -> str | Refusal:
        headers = {} if key is None else {"x-api-key": key}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=20) as keyless:
            return self._saved(
                lambda: keyless.post("/saveSubmission", json={"payload": description})
            )

    def progress_of_raw_id(self, raw_id: str | None) -> Progress | Refusal:
        answer = self.client.post(
            "/analysisStatus", json={} if raw_id is None else {"submissionId": raw_id}
        )
        if answer.status_code != 200:
            return _refusal(answer)
        body = answer.json()
        return Progress(body["status"], body["message"], body["attempts"])

    # -- plumbing -------------------------------------------------------------------------------
    def _saved(self, send: Callable[[], httpx.Response]) -> str | Refusal:
        deadline = time.monotonic() + RATE_LIMIT_WAIT_SECONDS
        answer = send()
        while answer.status_code == 429 and time.monotonic() < deadline:
            # A deployed service limits new submissions per client and minute; its answers say
            # when the window resets (RateLimit-Reset, in seconds).
            reset = answer.headers.get("ratelimit-reset") or answer.headers.get("retry-after")
            time.sleep(min(max(float(reset or 5), 1), 61))
            answer = send()
        if answer.status_code == 200:
            return str(answer.json()["submissionId"])
        return _refusal(answer)

    def _checkout(self, submission_id: str) -> Checkout:
        checkout = self.open_checkout(submission_id)
        assert isinstance(checkout, Checkout), checkout
        return checkout

    def _session(self, session_id: str) -> dict[str, Any]:
        found = self.client.get("/checkout/session", params={"id": session_id})
        assert found.status_code == 200, found.text
        return dict(found.json())

    def _signing_secret(self) -> str:
        if not self._secret:
            pytest.skip("needs WEBHOOK_SECRET (whsec_…) to send signed test events")
        return self._secret

    def _deliver(self, event: SignedEvent) -> httpx.Response:
        return self.client.post(
            "/webhook/stripe",
            content=event.payload,
            headers={"stripe-signature": event.signature, "content-type": "application/json"},
        )

    def _wait(self, submission_id: str, done: Callable[[Progress], bool], what: str) -> Progress:
        deadline = time.monotonic() + self._wait_seconds
        while True:
            progress = self.progress(submission_id)
            assert isinstance(progress, Progress), progress
            if done(progress):
                return progress
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"waited {self._wait_seconds:.0f} s for {what}; still {progress}"
                )
            time.sleep(POLL_SECONDS)


def _is_local(checkout: Checkout) -> bool:
    return "/checkout/local/" in checkout.url


def _delivery(answer: httpx.Response) -> Delivery:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return Delivery(body["outcome"], body["duplicate"])


def _refusal(answer: httpx.Response) -> Refusal:
    try:
        body = answer.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    code = str(body.get("code", ""))
    message = str(body.get("error") or answer.text[:300])
    why = _WHY_BY_CODE.get(code)
    if why is None and answer.status_code == 401:
        why = Why.NO_KEY if "missing" in message.lower() else Why.WRONG_KEY
    if why is None and answer.status_code == 413:
        why = Why.TOO_LARGE
    if why is None and code == "INVALID_STATUS" and body.get("status") == "pending":
        why = Why.NOT_PAID
    fields = tuple(str(d.get("field", "")) for d in body.get("details") or [])
    return Refusal(
        why or Why.OTHER,
        f"{answer.status_code} {code}: {message}",
        fields,
        gave_an_id="submissionId" in body,
    )
