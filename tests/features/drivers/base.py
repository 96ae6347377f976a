"""What a customer, an operator and the payment provider can do to diagpro, as a Protocol the
step definitions call; each driver translates it to use cases or to HTTP requests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from enum import Enum
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from diagpro.adapters.stripe_events import build_event, sign_event
from diagpro.domain.payment import SignedEvent


class Why(Enum):
    """Why the service turned a request down, in words a customer or operator would use."""

    INVALID_DESCRIPTION = "the description has mistakes"
    NOT_JSON = "the request is not valid JSON"
    TOO_LARGE = "the request is too large"
    NO_KEY = "the API key is missing"
    WRONG_KEY = "the API key is wrong"
    NO_ID = "the submission id is missing"
    NOT_AN_ID = "that is not a submission id"
    NOT_FOUND = "there is no such submission"
    NOT_PAID = "it has not been paid for"
    NOT_READY = "the report is not ready"
    NO_REPORT_FILE = "the report file is missing"
    LINK_REFUSED = "the download link is invalid or has expired"
    BAD_SIGNATURE = "the payment event's signature is not valid"
    ERASED = "the report was erased"
    NOTHING_MATCHES = "nothing matches"
    OTHER = "something else"


@dataclass(frozen=True)
class Refusal:
    why: Why
    message: str = ""
    fields: tuple[str, ...] = ()
    gave_an_id: bool = False  # a refused description must never come back with an id


@dataclass(frozen=True)
class Progress:
    """Where a submission is: what the status call (or the use case behind it) says."""

    status: str
    message: str
    attempts: int


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str
    status: str


@dataclass(frozen=True)
class Links:
    download_url: str
    view_url: str
    expires_in_seconds: int


@dataclass(frozen=True)
class Delivery:
    """What the service answered to one delivery of a payment event."""

    outcome: str
    duplicate: bool


@dataclass(frozen=True)
class Kept:
    """The description as the service kept it."""

    symptoms: tuple[str, ...]
    details: dict[str, str] = field(default_factory=dict)


class Driver(Protocol):
    name: str

    # -- the customer --------------------------------------------------------------------------
    def submit(self, description: Any) -> str | Refusal:
        """Submit a description; the new submission id, or why it was refused."""

    def kept(self, submission_id: str) -> Kept: ...

    def nothing_stored(self, refusal: Refusal) -> bool:
        """True when the refused description left no submission behind."""

    def open_checkout(self, submission_id: str) -> Checkout | Refusal: ...

    def pay(self, submission_id: str) -> None:
        """Pay on the checkout, as the customer would, and let the payment land."""

    def cancel(self, submission_id: str) -> None:
        """Give up on the checkout, and let the cancellation land."""

    def progress(self, submission_id: str) -> Progress | Refusal: ...

    def links(self, submission_id: str) -> Links | Refusal: ...

    def follow(self, link: str) -> bytes | Refusal:
        """Open a download link (no API key, as a browser would); the PDF, or a refusal."""

    def ask_again(self, submission_id: str) -> str | Refusal:
        """The customer's "try again": "queued" when work was queued, "ready" when it exists."""

    def wait_for_the_worker(self, submission_id: str) -> None:
        """Let the worker do what it can now (in-process: run it; over HTTP: wait for it)."""

    # -- the payment provider -------------------------------------------------------------------
    def deliver_payment(
        self, submission_id: str, times: int = 1, cents: int | None = None
    ) -> list[Delivery]:
        """A signed checkout.session.completed for my checkout, ``times`` times (the same event)."""

    def deliver_refund(self, submission_id: str, cents: int | None = None) -> Delivery:
        """A signed charge.refunded for my payment: all of it, or ``cents`` refunded so far."""

    def redeliver_refund(self, submission_id: str, times: int) -> list[Delivery]:
        """One signed charge.refunded (all of it), delivered ``times`` times."""

    def deliver_forged_payment(self, submission_id: str) -> Delivery | Refusal:
        """A completion event signed with a secret that is not the service's."""

    # -- the customer's mailbox ---------------------------------------------------------------
    def emails(self, submission_id: str, at_least: int = 1) -> list[EmailMessage]:
        """The emails sent about my order (the outbox's files), oldest first, once at least
        ``at_least`` are there (over HTTP: waited for, as the service sends them in a job)."""

    def open_emailed_link(self, link: str) -> bytes | Refusal:
        """Open the link an email gives, as a browser would (following redirects)."""

    # -- the operator (and what only a service we run can suffer) ------------------------------
    def lose_report_file(self, submission_id: str) -> None: ...

    # -- HTTP only: what a client can get wrong on the wire --------------------------------------
    def send_raw_description(self, body: bytes) -> str | Refusal: ...

    def submit_with_key(self, description: Any, key: str | None) -> str | Refusal: ...

    def progress_of_raw_id(self, raw_id: str | None) -> Progress | Refusal: ...


# -- Stripe-shaped events, built and signed the way Stripe does ---------------------------------
def checkout_completed(
    session_id: str,
    submission_id: str,
    cents: int,
    currency: str,
    email: str,
    secret: str,
    now: datetime,
) -> SignedEvent:
    obj = {
        "id": session_id,
        "object": "checkout.session",
        "amount_total": cents,
        "currency": currency,
        "client_reference_id": submission_id,
        "customer_email": email,
        "metadata": {"submissionId": submission_id},
        "mode": "payment",
        "payment_status": "paid",
        "status": "complete",
    }
    return _signed("checkout.session.completed", obj, secret, now)


def charge_refunded(
    submission_id: str,
    cents: int,
    currency: str,
    secret: str,
    now: datetime,
    refunded: int | None = None,
) -> SignedEvent:
    """The charge of ``cents`` with ``refunded`` of it refunded so far (all of it by default)."""
    so_far = cents if refunded is None else refunded
    obj = {
        "id": f"ch_features_{uuid.uuid4().hex[:16]}",
        "object": "charge",
        "amount": cents,
        "amount_refunded": so_far,
        "refunded": so_far >= cents,
        "currency": currency,
        "metadata": {"submissionId": submission_id},
    }
    return _signed("charge.refunded", obj, secret, now)


def _signed(event_type: str, obj: dict[str, Any], secret: str, now: datetime) -> SignedEvent:
    # A fresh id each time: the service remembers event ids forever, and a run against staging
    # must never collide with an earlier run's events.
    event_id = f"evt_features_{uuid.uuid4().hex}"
    return sign_event(build_event(event_id, event_type, obj, now), secret)


def stretched(link: str, seconds: int = 86_400) -> str:
    """The link with its expiry pushed out, as a customer editing the URL might try."""
    parts = urlsplit(link)
    query = parse_qsl(parts.query, keep_blank_values=True)
    # Local links carry "expires" (epoch seconds); Cloud Storage V4 links "X-Goog-Expires".
    changed = [
        (k, str(int(v) + seconds) if k in ("expires", "X-Goog-Expires") else v) for k, v in query
    ]
    if changed == query:
        raise AssertionError(f"no expiry to stretch in {link}")
    return urlunsplit(parts._replace(query=urlencode(changed)))


def outbox_emails(folder: Path, submission_id: str) -> list[EmailMessage]:
    """The ``.eml`` files the outbox wrote about a submission, oldest first, parsed."""
    found = sorted(folder.glob(f"{submission_id}.*.eml"), key=lambda p: p.name.split(".")[-2])
    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(path.read_bytes()) for path in found]  # type: ignore[misc]
