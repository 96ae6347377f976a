"""Payment events and fulfilment: the path from "Stripe says paid" to "a job is queued".

Stripe's guidance: one idempotent fulfil function, reachable from the webhook and from the
success page, safe when both run at once. Here that is ``Fulfil``: the compare-and-set on the
submission lets exactly one caller move it to ``paid``, and the queue keeps one job per
submission, so five deliveries of one event, or a webhook racing the success page, make one job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from diagpro.application.emails import queue_email
from diagpro.application.transitions import change_submission
from diagpro.domain.errors import IllegalTransition, SubmissionNotFound
from diagpro.domain.metering import NO_METER
from diagpro.domain.payment import (
    ChargeRefunds,
    CheckoutSession,
    Dispute,
    EventKind,
    PaymentEvent,
    PaymentStatus,
    Price,
    format_money,
)
from diagpro.domain.ports import (
    Clock,
    JobQueue,
    Meter,
    PaymentGateway,
    ProcessedEvents,
    SubmissionStore,
)
from diagpro.domain.submission import Payment, Status, Submission

log = logging.getLogger("diagpro.payments")


class Outcome:
    """What happened to a payment event (stored with it; stable strings for operators)."""

    FULFILLED = "fulfilled"
    ALREADY_PAID = "already_paid"
    AWAITING_PAYMENT = "awaiting_async_payment"
    CHECKOUT_CLOSED = "checkout_closed"
    REFUNDED = "refunded"
    ALREADY_REFUNDED = "already_refunded"  # e.g. the event for our own automatic refund
    PARTLY_REFUNDED = "partly_refunded"  # recorded; the report stays the customer's
    DISPUTE_RECORDED = "dispute_recorded"  # recorded for the operator; nothing revoked
    AMOUNT_MISMATCH = "amount_mismatch"
    UNKNOWN_SUBMISSION = "unknown_submission"
    NO_SUBMISSION_ID = "no_submission_id"
    NOT_APPLICABLE = "not_applicable"  # e.g. a refund for a submission never paid
    IGNORED = "ignored"


@dataclass(frozen=True)
class EventReceipt:
    event_id: str
    submission_id: str
    outcome: str
    duplicate: bool


@dataclass(frozen=True)
class Fulfilment:
    submission: Submission  # as stored after fulfilment
    changed: bool  # True when this call marked it paid


class Fulfil:
    """Mark a submission paid and queue its analysis. Idempotent and race-safe."""

    def __init__(
        self, submissions: SubmissionStore, jobs: JobQueue, clock: Clock, meter: Meter = NO_METER
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._clock = clock
        self._meter = meter

    def __call__(
        self, submission_id: str, payment: Payment, known: Submission | None = None
    ) -> Fulfilment:
        """``known``: the submission as the caller just read it, to save reading it again."""
        now = self._clock.now()
        # step 1 of 2: mark paid (one compare-and-set on the submission store).
        stored, changed = change_submission(
            self._submissions, submission_id, lambda s: s.mark_paid(payment, now), known
        )
        # step 2 of 2: queue the work, whenever the submission is paid and nothing has started.
        # A crash between the steps leaves it paid without a job; the redelivered event runs
        # this again (step 1 is then a no-op, step 2 queues the job), as does /reports/ensure.
        if changed:
            self._meter.order("paid")
        if stored.status == Status.PAID:
            self._jobs.enqueue(submission_id, now)
        return Fulfilment(stored, changed)


class HandlePaymentEvent:
    """Apply a verified payment event once, and remember what it did."""

    def __init__(
        self,
        events: ProcessedEvents,
        submissions: SubmissionStore,
        fulfil: Fulfil,
        clock: Clock,
        emails: JobQueue | None = None,
        meter: Meter = NO_METER,
    ) -> None:
        self._meter = meter
        self._events = events
        self._submissions = submissions
        self._fulfil = fulfil
        self._clock = clock
        # Where a refund in full queues the customer's email (None: no customer emails).
        self._emails = emails

    def __call__(self, event: PaymentEvent) -> EventReceipt:
        seen = self._events.outcome(event.id)
        if seen is not None:
            self._meter.payment_event(event.type, "duplicate")
            return EventReceipt(event.id, event.submission_id, seen, duplicate=True)
        # step 1 of 2: apply the event (its own steps: a write on the submission, maybe a job).
        outcome = self._apply(event)
        # step 2 of 2: record it (one write on the processed-events store). Handle first, record
        # after: a crash in between means Stripe redelivers and the idempotent handling runs
        # again, instead of the event being "seen" but never applied.
        first = self._events.record(event, outcome, self._clock.now())
        self._meter.payment_event(event.type, outcome if first else "duplicate")
        return EventReceipt(event.id, event.submission_id, outcome, duplicate=not first)

    def _apply(self, event: PaymentEvent) -> str:
        if event.kind == EventKind.OTHER:
            return Outcome.IGNORED
        if not event.submission_id:
            log.error("payment event %s (%s) names no submission", event.id, event.type)
            return Outcome.NO_SUBMISSION_ID
        try:
            submission = self._submissions.get(event.submission_id)
        except SubmissionNotFound:
            # Answered 200 all the same: a 4xx/5xx only makes Stripe retry for three days.
            log.error(
                "payment event %s (%s) for unknown submission %s",
                event.id,
                event.type,
                event.submission_id,
            )
            return Outcome.UNKNOWN_SUBMISSION
        try:
            return self._apply_to(event, submission)
        except IllegalTransition as exc:
            # Stripe does not promise order; an event the state cannot take is kept, not raised.
            log.warning("payment event %s (%s) not applied: %s", event.id, event.type, exc)
            return Outcome.NOT_APPLICABLE

    def _apply_to(self, event: PaymentEvent, submission: Submission) -> str:
        if event.fulfils:
            return self._paid(event, submission)
        if event.kind == EventKind.COMPLETED:
            return Outcome.AWAITING_PAYMENT  # delayed payment method: wait for async_succeeded
        if event.kind in (EventKind.ASYNC_FAILED, EventKind.EXPIRED):
            now = self._clock.now()
            change_submission(self._submissions, submission.id, lambda s: s.checkout_closed(now))
            return Outcome.CHECKOUT_CLOSED
        if event.dispute is not None:
            return self._disputed(event.dispute, submission)
        if event.refunds is not None:
            return self._refunded(event.refunds, submission)
        return Outcome.IGNORED

    def _refunded(self, refunds: ChargeRefunds, submission: Submission) -> str:
        now = self._clock.now()
        paid = submission.payment.amount_cents if submission.payment else submission.price_cents
        full = refunds.is_full(paid)
        outcome = Outcome.PARTLY_REFUNDED

        def record(current: Submission) -> Submission | None:
            nonlocal outcome
            if current.status == Status.REFUNDED:
                outcome = Outcome.ALREADY_REFUNDED  # e.g. the event for our automatic refund
            elif full:
                outcome = Outcome.REFUNDED
            # Raises IllegalTransition for a submission never paid: kept as not applicable.
            return current.note_refund(refunds, now, in_full=full)

        stored, _ = change_submission(self._submissions, submission.id, record)
        if outcome == Outcome.REFUNDED:
            self._meter.order("refunded")
        if outcome == Outcome.REFUNDED and self._emails is not None:
            # The customer hears their money went back, once (the email job's own record).
            queue_email(self._emails, stored, now)
        if outcome == Outcome.PARTLY_REFUNDED:
            log.warning(
                "submission %s partly refunded: %s of %s; the report stays available",
                submission.id,
                format_money(stored.refunded_cents, submission.currency),
                format_money(paid, submission.currency),
            )
        return outcome

    def _disputed(self, dispute: Dispute, submission: Submission) -> str:
        now = self._clock.now()
        change_submission(self._submissions, submission.id, lambda s: s.note_dispute(dispute, now))
        # Loud on purpose: a dispute has a response deadline, and a lost one is money gone.
        log.warning(
            "submission %s: dispute %s is %s (%s, %s)",
            submission.id,
            dispute.id,
            dispute.status,
            dispute.reason,
            format_money(dispute.amount_cents, dispute.currency or submission.currency),
        )
        return Outcome.DISPUTE_RECORDED

    def _paid(self, event: PaymentEvent, submission: Submission) -> str:
        expected = Price(submission.price_cents, submission.currency)
        if event.amount_total != expected.cents or event.currency.lower() != expected.currency:
            problem = (
                f"payment {event.id} was {format_money(event.amount_total, event.currency)}, "
                f"expected {expected}; not fulfilled, needs an operator"
            )
            log.error("submission %s: %s", submission.id, problem)
            now = self._clock.now()
            change_submission(
                self._submissions, submission.id, lambda s: s.note_payment_problem(problem, now)
            )
            return Outcome.AMOUNT_MISMATCH
        payment = Payment(
            event_id=event.id,
            checkout_session_id=event.checkout_session_id,
            amount_cents=event.amount_total,
            currency=event.currency.lower(),
            paid_at=event.created,
        )
        stored = self._fulfil(submission.id, payment, known=submission).submission
        # Judge by what is stored, not by who won the race: under concurrent duplicates the
        # delivery that loses still carries the event that paid.
        paid_by = stored.payment
        return (
            Outcome.FULFILLED if paid_by and paid_by.event_id == event.id else Outcome.ALREADY_PAID
        )


class ReceivePaymentEvent:
    """The webhook's door: check the signature over the raw bytes, then handle the event.
    ``meter`` is where the webhook route records how long each delivery took."""

    def __init__(
        self, gateway: PaymentGateway, handle: HandlePaymentEvent, meter: Meter = NO_METER
    ) -> None:
        self._gateway = gateway
        self._handle = handle
        self.meter = meter

    def __call__(self, payload: bytes, signature: str) -> EventReceipt:
        """Raises PaymentEventInvalid on a bad signature or a malformed event."""
        return self._handle(self._gateway.verify_event(payload, signature))


@dataclass(frozen=True)
class FollowedCheckout:
    session: CheckoutSession
    # As stored after any fulfilment this call made; None when the session is not paid (then
    # the submission is not looked up at all).
    submission: Submission | None


class FollowCheckout:
    """The success page's path to fulfilment: ask the gateway once, fulfil if the session is
    paid with the submission's price and the webhook has not done it yet."""

    def __init__(
        self, gateway: PaymentGateway, submissions: SubmissionStore, fulfil: Fulfil, clock: Clock
    ) -> None:
        self._gateway = gateway
        self._submissions = submissions
        self._fulfil = fulfil
        self._clock = clock

    def __call__(self, session_id: str) -> FollowedCheckout:
        """Raises CheckoutNotFound, SubmissionNotFound, PaymentProviderError."""
        session = self._gateway.retrieve_checkout(session_id)
        if session.payment_status != PaymentStatus.PAID:
            return FollowedCheckout(session, None)
        submission = self._submissions.get(session.submission_id)
        # Pending: the webhook has not fulfilled yet. Paid: fulfilled, but the job may have been
        # lost between Fulfil's two steps, and Fulfil queues it again (an idempotent enqueue).
        # Past paid there is nothing to repair, so a poll costs no write.
        waiting = submission.status in (Status.PENDING, Status.PAID)
        if not waiting or not _pays_for(session, submission):
            # A wrong amount is left to the webhook, which records the problem for an operator.
            return FollowedCheckout(session, submission)
        payment = Payment(
            event_id=f"session:{session.id}",
            checkout_session_id=session.id,
            amount_cents=session.amount_total,
            currency=session.currency.lower(),
            paid_at=self._clock.now(),
        )
        return FollowedCheckout(session, self._fulfil(submission.id, payment).submission)


def _pays_for(session: CheckoutSession, submission: Submission) -> bool:
    return (
        session.payment_status == PaymentStatus.PAID
        and session.amount_total == submission.price_cents
        and session.currency.lower() == submission.currency
    )
