"""The submission aggregate and its guarded lifecycle.

    pending --paid--> paid --> processing --> ready --(its file was lost: make it again)--> paid
                                    \\--> failed --(re-queue)--> paid
    paid | processing | ready | failed --> refunded  (only a refund in full: a partial refund and
                                                    a dispute are recorded, the report stays)

What operators did to it (requeued, ran now, refunded) is kept in ``actions``
(domain/actions.py); erasure keeps that record, which holds no customer data.

Erasure is not a status: ``erase_personal_data`` keeps the status (and every amount, date and
Stripe id) and blanks what the customer told us, recording ``erased_at`` (domain/retention.py).

Each method returns a new Submission with ``version`` bumped; the store saves it only if the
stored version is still the one it was read at (compare-and-set), so two workers or two webhook
deliveries can never both apply a transition. Moving to the state it is already in is a no-op
(``None``), so redelivered events are harmless; any other illegal move raises IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from diagpro.domain.actions import OperatorAction
from diagpro.domain.analysis import Analysis
from diagpro.domain.email import AttemptState, EmailAttempt, EmailEvent, was_sent
from diagpro.domain.errors import IllegalTransition
from diagpro.domain.intake import Intake
from diagpro.domain.payment import ChargeRefunds, Dispute
from diagpro.domain.retention import erased_intake


class Status(StrEnum):
    # Wire values the original frontend reads; keep them.
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    REFUNDED = "refunded"


class ModelFallback(StrEnum):
    """What was done when the model failed for good on a paid submission."""

    NONE = ""  # the model wrote the analysis (or no model was asked)
    OFFLINE = "offline"  # diagpro's offline analyzer wrote the report instead
    REFUND = "refund"  # the payment was refunded instead


ALLOWED: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.PAID}),
    Status.PAID: frozenset({Status.PROCESSING, Status.FAILED, Status.REFUNDED}),
    Status.PROCESSING: frozenset({Status.READY, Status.FAILED, Status.REFUNDED}),
    Status.READY: frozenset({Status.PAID, Status.REFUNDED}),
    Status.FAILED: frozenset({Status.PAID, Status.REFUNDED}),
    Status.REFUNDED: frozenset(),
}


@dataclass(frozen=True)
class Payment:
    event_id: str
    checkout_session_id: str
    amount_cents: int
    currency: str
    paid_at: datetime


@dataclass(frozen=True)
class OpenCheckout:
    session_id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class CheckoutAttempt:
    """One try at opening a checkout, fixed before the payment provider is asked.

    Stripe compares every parameter sent again under an idempotency key with the first request
    and refuses a difference (https://docs.stripe.com/api/idempotent_requests), so the expiry
    sent under a key is chosen once, stored, and sent again by every retry of that attempt."""

    number: int  # part of the idempotency key
    expires_at: datetime


@dataclass(frozen=True)
class Submission:
    id: str
    intake: Intake
    status: Status
    created_at: datetime
    updated_at: datetime
    price_cents: int
    currency: str
    version: int = 1
    checkout: OpenCheckout | None = None
    payment: Payment | None = None
    failure_reason: str = ""
    payment_problem: str = ""
    report_path: str = ""
    analysis: Analysis | None = None
    requeue_count: int = 0
    checkouts_opened: int = 0  # part of each checkout's idempotency key
    refund_id: str = ""  # set when diagpro refunded the payment itself (automatic refund)
    checkout_attempt: CheckoutAttempt | None = None  # the latest attempt's fixed parameters
    refunded_cents: int = 0  # the largest running total Stripe reported for the charge
    refund_ids: tuple[str, ...] = ()  # the refunds Stripe listed with that total
    disputes: tuple[Dispute, ...] = ()  # chargebacks, latest known state of each
    # ``failure_reason`` above is the operator's detail (it can name a setting or a server
    # path): a customer is shown a plain sentence instead (application/status.py).
    analysis_fallback: ModelFallback = ModelFallback.NONE
    model_failure: str = ""  # the operator's detail of the model failure behind the fallback
    # Every email attempt, oldest first (domain/email.py). Holds the recipient's address.
    emails: tuple[EmailAttempt, ...] = ()
    # When the customer's personal data was erased (retention period over, or a request to be
    # forgotten); None while it is kept.
    erased_at: datetime | None = None
    # When its report was last made (mark_ready); None before, and on orders made ready before
    # this was recorded. Kept by erasure, like every date.
    ready_at: datetime | None = None
    # What operators did to it, oldest first (domain/actions.py): no customer data, kept by
    # erasure. A stored order from before this was recorded has none.
    actions: tuple[OperatorAction, ...] = ()

    def _move(self, to: Status, now: datetime, **changes: object) -> Submission | None:
        if self.status == to:
            return None
        if to not in ALLOWED[self.status]:
            raise IllegalTransition(self.id, self.status.value, to.value)
        return replace(self, status=to, updated_at=now, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def _amend(self, now: datetime, **changes: object) -> Submission:
        return replace(self, updated_at=now, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def begin_checkout(
        self, expires_at: datetime, now: datetime, least_left: timedelta
    ) -> Submission | None:
        """Fix the next attempt's parameters before the provider is asked; None when the
        current attempt can still be sent again as it is (a retry, a double click).

        An attempt whose expiry is less than ``least_left`` away cannot be sent again: Stripe
        refuses an ``expires_at`` under 30 minutes ahead, so it gets a new number (a new key)."""
        self._refuse_if_erased("checked out")
        if self.status != Status.PENDING:
            raise IllegalTransition(self.id, self.status.value, "checked out")
        attempt = self._pending_attempt
        if attempt is not None and attempt.expires_at - now >= least_left:
            return None
        latest = self.checkout_attempt.number if self.checkout_attempt else 0
        number = max(self.checkouts_opened, latest) + 1
        return self._amend(now, checkout_attempt=CheckoutAttempt(number, expires_at))

    @property
    def _pending_attempt(self) -> CheckoutAttempt | None:
        """The attempt begun but not yet recorded as opened, if any."""
        attempt = self.checkout_attempt
        return attempt if attempt is not None and attempt.number > self.checkouts_opened else None

    def checkout_opened(self, checkout: OpenCheckout, now: datetime) -> Submission:
        if self.status != Status.PENDING:
            raise IllegalTransition(self.id, self.status.value, "checked out")
        attempt = self._pending_attempt
        opened = attempt.number if attempt is not None else self.checkouts_opened + 1
        return self._amend(now, checkout=checkout, checkouts_opened=opened)

    @property
    def checkout_idempotency_key(self) -> str:
        """Same key for a double-click (one session), a new one after a session expired:
        Stripe replays a key's first answer for 24 hours."""
        attempt = self._pending_attempt
        number = attempt.number if attempt is not None else self.checkouts_opened + 1
        return f"checkout-create:{self.id}:{number}"

    def checkout_closed(self, now: datetime) -> Submission | None:
        """The checkout expired or its payment failed: forget it so the customer can pay again."""
        if self.status != Status.PENDING or self.checkout is None:
            return None
        return self._amend(now, checkout=None)

    def mark_paid(self, payment: Payment, now: datetime) -> Submission | None:
        if self.payment is not None:
            return None  # paid once already: a redelivery or the success page racing the webhook
        return self._move(Status.PAID, now, payment=payment, payment_problem="")

    def note_payment_problem(self, problem: str, now: datetime) -> Submission:
        """Record money we received but could not accept, so status shows it (never silent)."""
        return self._amend(now, payment_problem=problem)

    def start_processing(self, now: datetime) -> Submission | None:
        return self._move(Status.PROCESSING, now)

    def keep_analysis(self, analysis: Analysis, now: datetime) -> Submission | None:
        """Keep the analysis while the report is made, so a retry never pays for it twice."""
        if self.analysis is not None:
            return None
        return self._amend(now, analysis=analysis)

    def stand_in_analysis(
        self, analysis: Analysis, model_failure: str, now: datetime
    ) -> Submission | None:
        """The model failed for good: keep the offline analyzer's analysis instead, marked as
        standing in (the report says so), with the model's failure for the operator."""
        if self.analysis is not None:
            return None
        return self._amend(
            now,
            analysis=replace(analysis, stands_in_for_model=True),
            analysis_fallback=ModelFallback.OFFLINE,
            model_failure=model_failure,
        )

    def mark_ready(self, report_path: str, analysis: Analysis, now: datetime) -> Submission | None:
        return self._move(
            Status.READY,
            now,
            report_path=report_path,
            analysis=analysis,
            failure_reason="",
            ready_at=now,
        )

    def mark_failed(
        self, reason: str, now: datetime, *, refund_instead: str = ""
    ) -> Submission | None:
        """Failed for good; ``refund_instead`` is the model failure a refund answers (the
        ``refund`` fallback), recorded so the operator sees why it was refunded."""
        if refund_instead:
            return self._move(
                Status.FAILED,
                now,
                failure_reason=reason,
                analysis_fallback=ModelFallback.REFUND,
                model_failure=refund_instead,
            )
        return self._move(Status.FAILED, now, failure_reason=reason)

    def requeue(self, now: datetime) -> Submission:
        self._refuse_if_erased("re-queued")
        if self.status != Status.FAILED:
            raise IllegalTransition(self.id, self.status.value, "re-queued")
        moved = self._move(Status.PAID, now, requeue_count=self.requeue_count + 1)
        assert moved is not None
        return moved

    def remake_report(self, now: datetime) -> Submission:
        """The stored PDF of a ready report was lost: back to the queue to render it again. The
        analysis stays on the submission, so the model is not asked (or paid) a second time."""
        self._refuse_if_erased("made again")
        if self.status != Status.READY:
            raise IllegalTransition(self.id, self.status.value, "made again")
        moved = self._move(Status.PAID, now, report_path="", requeue_count=self.requeue_count + 1)
        assert moved is not None
        return moved

    def mark_refunded(self, now: datetime, refund_id: str = "") -> Submission | None:
        """Refunded: by an operator (the ``charge.refunded`` event) or automatically after a
        permanent failure (``refund_id`` given; diagpro refunds the whole payment). The refund's
        own webhook arriving first is no loss: the id is still kept when the automatic refund
        records it afterwards."""
        whole = self.payment.amount_cents if self.payment else self.price_cents
        refunded = max(self.refunded_cents, whole) if refund_id else self.refunded_cents
        if self.status == Status.REFUNDED:
            if refund_id and not self.refund_id:
                return self._amend(now, refund_id=refund_id, refunded_cents=refunded)
            return None
        return self._move(
            Status.REFUNDED, now, refund_id=refund_id or self.refund_id, refunded_cents=refunded
        )

    def note_refund(
        self, refunds: ChargeRefunds, now: datetime, *, in_full: bool = False
    ) -> Submission | None:
        """Record what Stripe says was refunded so far, and end the order when the refund is
        ``in_full``. The total is cumulative, so the largest one seen is kept: a late or
        redelivered older event cannot lower it. A refund in full of a submission never paid
        raises IllegalTransition."""
        changes: dict[str, object] = {}
        amount = max(self.refunded_cents, refunds.amount_refunded)
        new_ids = tuple(i for i in refunds.refund_ids if i not in self.refund_ids)
        if amount != self.refunded_cents or new_ids:
            changes.update(refunded_cents=amount, refund_ids=self.refund_ids + new_ids)
        if in_full and self.status != Status.REFUNDED:
            return self._move(Status.REFUNDED, now, **changes)
        return self._amend(now, **changes) if changes else None

    def note_dispute(self, dispute: Dispute, now: datetime) -> Submission | None:
        """Record a dispute's latest state. Events may arrive out of order: an older report, or
        an open status after a closed one, does not replace what is known."""
        known = next((d for d in self.disputes if d.id == dispute.id), None)
        if known is not None and (
            known == dispute
            or dispute.reported_at < known.reported_at
            or (known.closed and not dispute.closed)
        ):
            return None
        disputes = tuple(dispute if d.id == dispute.id else d for d in self.disputes)
        if known is None:
            disputes += (dispute,)
        return self._amend(now, disputes=disputes)

    def record_action(self, action: OperatorAction) -> Submission:
        """Add what an operator did to the order's record (a change of its own, made after the
        action itself, so a refused action is never recorded)."""
        return self._amend(action.at, actions=(*self.actions, action))

    @property
    def last_action(self) -> OperatorAction | None:
        return self.actions[-1] if self.actions else None

    @property
    def partly_refunded(self) -> bool:
        """Some money went back, but not all: the report stays the customer's."""
        return self.refunded_cents > 0 and self.status != Status.REFUNDED

    def note_failure(self, reason: str, now: datetime) -> Submission | None:
        """Rewrite why a failed submission failed (e.g. add that its automatic refund failed)."""
        if self.status != Status.FAILED or self.failure_reason == reason:
            return None
        return self._amend(now, failure_reason=reason)

    def begin_email(
        self, event: EmailEvent, message_id: str, now: datetime, *, resend: bool = False
    ) -> Submission | None:
        """Record that an email for ``event`` is about to be sent (before the server is asked).
        None when it was sent already and this is not a resend. An attempt left ``sending`` by a
        crash is closed as failed (its outcome unknown) and a new one begins. IllegalTransition
        once the customer's details were erased: there is no address left to write to."""
        self._refuse_if_erased("emailed")
        if not resend and was_sent(self.emails, event):
            return None
        closed = tuple(
            replace(
                a,
                state=AttemptState.FAILED,
                finished_at=now,
                error="interrupted before its outcome was recorded; sent again",
            )
            if a.state == AttemptState.SENDING
            else a
            for a in self.emails
        )
        attempt = EmailAttempt(
            event=event,
            number=len(self.emails) + 1,
            to=self.intake.email,
            state=AttemptState.SENDING,
            started_at=now,
            message_id=message_id,
            resend=resend,
        )
        return self._amend(now, emails=(*closed, attempt))

    def finish_email(
        self, number: int, now: datetime, *, provider_id: str = "", error: str = ""
    ) -> Submission | None:
        """Record the outcome of attempt ``number``: sent, or failed with ``error``. None when
        it was already finished (a late duplicate)."""
        attempt = next((a for a in self.emails if a.number == number), None)
        if attempt is None or attempt.state != AttemptState.SENDING:
            return None
        done = replace(
            attempt,
            state=AttemptState.FAILED if error else AttemptState.SENT,
            finished_at=now,
            provider_id=provider_id,
            error=error,
        )
        return self._amend(
            now, emails=tuple(done if a.number == number else a for a in self.emails)
        )

    @property
    def is_paid(self) -> bool:
        return self.payment is not None

    # -- retention ------------------------------------------------------------------------------

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    @property
    def in_flight(self) -> bool:
        """Paid and not finished: its intake is still needed to make the report it was paid for,
        so it is never erased until it is ready, failed or refunded."""
        return self.status in IN_FLIGHT

    def erase_personal_data(self, at: datetime) -> Submission | None:
        """Blank every field that can hold the customer's personal data and record ``at``.

        Kept: the status, every amount, date and Stripe id (payment, checkout session, refunds,
        disputes), the equipment type and the answers picked from a fixed list; the operator's
        failure details, what happened to each email (event, outcome, times, ids) and what
        operators did (``actions``: their names, job and refund ids). Gone: all the intake's
        typed text (domain/retention.py lists it), the analysis, which was written from it and
        may quote it, and the address each email went to. None when already erased (so a
        second purge does nothing); IllegalTransition while the order is in flight."""
        if self.erased_at is not None:
            return None
        if self.in_flight:
            raise IllegalTransition(self.id, self.status.value, "erased while its report is made")
        return self._amend(
            at,
            intake=erased_intake(self.intake),
            analysis=None,
            report_path="",
            emails=tuple(replace(a, to="") for a in self.emails),
            erased_at=at,
        )

    def _refuse_if_erased(self, wanted: str) -> None:
        if self.erased_at is not None:
            raise IllegalTransition(self.id, f"{self.status.value}, erased", wanted)


IN_FLIGHT = frozenset({Status.PAID, Status.PROCESSING})


def paid_order(sub: Submission) -> tuple[datetime, str]:
    """Sort key of orders awaiting their report: longest paid first (ties by id)."""
    return (sub.payment.paid_at if sub.payment is not None else sub.updated_at, sub.id)
