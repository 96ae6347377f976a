"""The in-process driver: the use cases on the test harness (embedded SQLite, a clock the test
moves, an analyzer that fails on command). The only driver that can move time or break the
analyzer, so the scenarios tagged @in-process run here alone."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

from diagpro.adapters.signed_links import FILES_PREFIX, report_id_from_path, verify_link
from diagpro.domain.errors import (
    IllegalTransition,
    IntakeInvalid,
    PaymentEventInvalid,
    ReportErased,
    ReportMissing,
    ReportNotReady,
    SubmissionNotFound,
)
from diagpro.domain.payment import SignedEvent
from diagpro.domain.submission import Status
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
from tests.harness import Harness


class InProcessDriver:
    name = "in-process"

    def __init__(self, harness: Harness) -> None:
        self.harness = harness

    @property
    def _container(self) -> Any:
        return self.harness.container

    # -- the customer --------------------------------------------------------------------------
    def submit(self, description: Any) -> str | Refusal:
        try:
            return self.harness.save(description).id
        except IntakeInvalid as refused:
            fields = tuple(p.field for p in refused.problems)
            return Refusal(Why.INVALID_DESCRIPTION, refused.message, fields)

    def kept(self, submission_id: str) -> Kept:
        intake = self.harness.submission(submission_id).intake
        return Kept(tuple(intake.symptoms), dict(intake.details))

    def nothing_stored(self, refusal: Refusal) -> bool:
        # Ids count up from 1 here: if the refused description had been stored, the next one
        # would not get the very first id.
        return not refusal.gave_an_id and self.harness.save().id.endswith("1".zfill(24))

    def open_checkout(self, submission_id: str) -> Checkout | Refusal:
        try:
            session = self._container.open_checkout()(submission_id)
        except (SubmissionNotFound, IllegalTransition) as exc:
            return _refusal(exc)
        return Checkout(session.id, session.url, session.status)

    def pay(self, submission_id: str) -> None:
        self.harness.deliver(self.harness.checkout_and_pay(submission_id))

    def cancel(self, submission_id: str) -> None:
        session = self._container.open_checkout()(submission_id)
        self.harness.deliver(self._container.gateway().cancel(session.id))

    def progress(self, submission_id: str) -> Progress | Refusal:
        try:
            view = self._container.describe()(submission_id)
        except (SubmissionNotFound, ReportMissing) as exc:
            return _refusal(exc)
        return Progress(view.submission.status.value, view.explanation, view.attempts)

    def links(self, submission_id: str) -> Links | Refusal:
        try:
            links = self._container.download_links()(submission_id)
        except (SubmissionNotFound, ReportNotReady, ReportMissing, ReportErased) as exc:
            return _refusal(exc)
        return Links(links.download_url, links.view_url, links.expires_in_seconds)

    def follow(self, link: str) -> bytes | Refusal:
        """What the /files/reports route does with a link: check it, then read the report."""
        url = urlsplit(link)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path.removeprefix(FILES_PREFIX)
        secret = self._container.settings().link_secret.encode()
        now = self.harness.clock.now()
        args = (query.get("disposition", ""), query.get("expires", ""), query.get("signature", ""))
        if not verify_link(path, *args, secret, now):
            return Refusal(Why.LINK_REFUSED)
        submission_id = report_id_from_path(path)
        if submission_id is None:
            return Refusal(Why.NOT_FOUND)
        try:
            return bytes(self._container.reports().read(submission_id))
        except ReportMissing as exc:
            return _refusal(exc)

    def ask_again(self, submission_id: str) -> str | Refusal:
        try:
            self._container.requeue()(submission_id)
        except IllegalTransition as exc:
            if exc.current == Status.READY.value:
                return "ready"
            return _refusal(exc)
        except SubmissionNotFound as exc:
            return _refusal(exc)
        return "queued"

    def wait_for_the_worker(self, submission_id: str) -> None:
        self.harness.work()

    # -- the payment provider -------------------------------------------------------------------
    def deliver_payment(
        self, submission_id: str, times: int = 1, cents: int | None = None
    ) -> list[Delivery]:
        if cents is None:
            event = self.harness.checkout_and_pay(submission_id)
        else:
            event = self._completed(submission_id, cents, self._secret)
        return [self._deliver(event) for _ in range(times)]

    def deliver_refund(self, submission_id: str, cents: int | None = None) -> Delivery:
        sub = self.harness.submission(submission_id)
        now = self.harness.clock.now()
        event = charge_refunded(sub.id, sub.price_cents, sub.currency, self._secret, now, cents)
        return self._deliver(event)

    def redeliver_refund(self, submission_id: str, times: int) -> list[Delivery]:
        sub = self.harness.submission(submission_id)
        now = self.harness.clock.now()
        event = charge_refunded(sub.id, sub.price_cents, sub.currency, self._secret, now)
        return [self._deliver(event) for _ in range(times)]

    def deliver_forged_payment(self, submission_id: str) -> Delivery | Refusal:
        forged = self._completed(submission_id, None, "whsec_not_the_services_secret")
        try:
            return self._deliver(forged)
        except PaymentEventInvalid as exc:
            return Refusal(Why.BAD_SIGNATURE, exc.message)

    def _completed(self, submission_id: str, cents: int | None, secret: str) -> SignedEvent:
        session = self._container.open_checkout()(submission_id)
        amount = session.amount_total if cents is None else cents
        now = self.harness.clock.now()
        return checkout_completed(
            session.id, submission_id, amount, session.currency, session.customer_email, secret, now
        )

    @property
    def _secret(self) -> str:
        return str(self._container.settings().local_webhook_secret)

    def _deliver(self, event: SignedEvent) -> Delivery:
        receipt = self.harness.deliver(event)
        return Delivery(receipt.outcome, receipt.duplicate)

    # -- the customer's mailbox ---------------------------------------------------------------
    def emails(self, submission_id: str, at_least: int = 1) -> list[EmailMessage]:
        return outbox_emails(self._container.settings().data_dir / "outbox", submission_id)

    def open_emailed_link(self, link: str) -> bytes | Refusal:
        """What /view/{id} does: mint a fresh view link, then follow it."""
        path = urlsplit(link).path
        if not path.startswith("/view/"):
            return Refusal(Why.NOT_FOUND, f"not a /view/ link: {link}")
        try:
            links = self._container.download_links()(path.removeprefix("/view/"))
        except (SubmissionNotFound, ReportNotReady, ReportMissing) as exc:
            return _refusal(exc)
        return self.follow(links.view_url)

    # -- the operator ---------------------------------------------------------------------------
    def lose_report_file(self, submission_id: str) -> None:
        self._container.reports().file_path(submission_id).unlink()

    # -- HTTP only --------------------------------------------------------------------------------
    def send_raw_description(self, body: bytes) -> str | Refusal:
        raise NotImplementedError("a request body only exists over HTTP")

    def submit_with_key(self, description: Any, key: str | None) -> str | Refusal:
        raise NotImplementedError("API keys only exist over HTTP")

    def progress_of_raw_id(self, raw_id: str | None) -> Progress | Refusal:
        raise NotImplementedError("a raw id only exists over HTTP")


def _refusal(exc: Exception) -> Refusal:
    message = str(exc)
    if isinstance(exc, ReportErased):
        return Refusal(Why.ERASED, message)
    if isinstance(exc, SubmissionNotFound):
        return Refusal(Why.NOT_FOUND, message)
    if isinstance(exc, ReportNotReady):
        return Refusal(Why.NOT_READY, message)
    if isinstance(exc, ReportMissing):
        return Refusal(Why.NO_REPORT_FILE, message)
    if isinstance(exc, IllegalTransition) and exc.current == Status.PENDING.value:
        return Refusal(Why.NOT_PAID, message)
    return Refusal(Why.OTHER, message)
