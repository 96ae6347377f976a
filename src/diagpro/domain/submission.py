"""The submission aggregate and its guarded lifecycle.

    pending --paid--> paid --> processing --> ready --(its file was lost: make it again)--> paid
                                    \\--> failed --(re-queue)--> paid
    paid | processing | ready | failed --> refunded

Each method returns a new Submission with ``version`` bumped; the store saves it only if the
stored version is still the one it was read at (compare-and-set), so two workers or two webhook
deliveries can never both apply a transition. Moving to the state it is already in is a no-op
(``None``), so redelivered events are harmless; any other illegal move raises IllegalTransition.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from diagpro.domain.analysis import Analysis
from diagpro.domain.errors import IllegalTransition
from diagpro.domain.intake import Intake


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
    # ``failure_reason`` above is the operator's detail (it can name a setting or a server
    # path): a customer is shown a plain sentence instead (application/status.py).
    analysis_fallback: ModelFallback = ModelFallback.NONE
    model_failure: str = ""  # the operator's detail of the model failure behind the fallback

    def _move(self, to: Status, now: datetime, **changes: object) -> Submission | None:
        if self.status == to:
            return None
        if to not in ALLOWED[self.status]:
            raise IllegalTransition(self.id, self.status.value, to.value)
        return replace(self, status=to, updated_at=now, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def _amend(self, now: datetime, **changes: object) -> Submission:
        return replace(self, updated_at=now, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def checkout_opened(self, checkout: OpenCheckout, now: datetime) -> Submission:
        if self.status != Status.PENDING:
            raise IllegalTransition(self.id, self.status.value, "checked out")
        return self._amend(now, checkout=checkout, checkouts_opened=self.checkouts_opened + 1)

    @property
    def checkout_idempotency_key(self) -> str:
        """Same key for a double-click (one session), a new one after a session expired:
        Stripe replays a key's first answer for 24 hours."""
        return f"checkout-create:{self.id}:{self.checkouts_opened + 1}"

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
            Status.READY, now, report_path=report_path, analysis=analysis, failure_reason=""
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
        if self.status != Status.FAILED:
            raise IllegalTransition(self.id, self.status.value, "re-queued")
        moved = self._move(Status.PAID, now, requeue_count=self.requeue_count + 1)
        assert moved is not None
        return moved

    def remake_report(self, now: datetime) -> Submission:
        """The stored PDF of a ready report was lost: back to the queue to render it again. The
        analysis stays on the submission, so the model is not asked (or paid) a second time."""
        if self.status != Status.READY:
            raise IllegalTransition(self.id, self.status.value, "made again")
        moved = self._move(Status.PAID, now, report_path="", requeue_count=self.requeue_count + 1)
        assert moved is not None
        return moved

    def mark_refunded(self, now: datetime, refund_id: str = "") -> Submission | None:
        """Refunded: by an operator (the ``charge.refunded`` event) or automatically after a
        permanent failure (``refund_id`` given). The refund's own webhook arriving first is no
        loss: the id is still kept when the automatic refund records it afterwards."""
        if self.status == Status.REFUNDED:
            if refund_id and not self.refund_id:
                return self._amend(now, refund_id=refund_id)
            return None
        return self._move(Status.REFUNDED, now, refund_id=refund_id or self.refund_id)

    def note_failure(self, reason: str, now: datetime) -> Submission | None:
        """Rewrite why a failed submission failed (e.g. add that its automatic refund failed)."""
        if self.status != Status.FAILED or self.failure_reason == reason:
            return None
        return self._amend(now, failure_reason=reason)

    @property
    def is_paid(self) -> bool:
        return self.payment is not None
