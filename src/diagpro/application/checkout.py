"""Open a checkout for a pending submission, or hand back the one already open."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from diagpro.application.transitions import change_submission
from diagpro.domain.errors import CheckoutNotFound, IllegalTransition
from diagpro.domain.payment import CheckoutRequest, CheckoutSession, CheckoutStatus, Price
from diagpro.domain.ports import Clock, PaymentGateway, SubmissionStore
from diagpro.domain.submission import OpenCheckout, Status, Submission

CHECKOUT_LIFETIME = timedelta(hours=1)


class OpenCheckoutSession:
    def __init__(
        self,
        submissions: SubmissionStore,
        gateway: PaymentGateway,
        clock: Clock,
        price: Price,
        public_base_url: str,
    ) -> None:
        self._submissions = submissions
        self._gateway = gateway
        self._clock = clock
        self._price = price
        self._base = public_base_url.rstrip("/")

    def __call__(self, submission_id: str) -> CheckoutSession:
        submission = self._submissions.get(submission_id)
        if submission.status != Status.PENDING:
            raise IllegalTransition(submission.id, submission.status.value, "checked out")
        reused = self._still_open(submission)
        if reused is not None:
            return reused
        now = self._clock.now()
        # step 1 of 2: open the session at the provider (idempotent on the submission's key).
        session = self._gateway.open_checkout(
            CheckoutRequest(
                submission_id=submission.id,
                price=self._price,
                customer_email=submission.intake.email,
                # Stripe fills in {CHECKOUT_SESSION_ID}; the success page follows the order.
                success_url=f"{self._base}/success?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{self._base}/cancel?submission_id={quote(submission.id)}",
                expires_at=now + CHECKOUT_LIFETIME,
                idempotency_key=submission.checkout_idempotency_key,
            )
        )
        opened = OpenCheckout(session.id, session.url, session.expires_at)

        def record(current: Submission) -> Submission | None:
            if current.checkout is not None and current.checkout.session_id == session.id:
                return None  # a concurrent double-click already recorded this same session
            return current.checkout_opened(opened, now)

        # step 2 of 2: note it on the submission. A crash before this means the next click opens
        # with the same idempotency key and gets the same session back.
        change_submission(self._submissions, submission.id, record)
        return session

    def _still_open(self, submission: Submission) -> CheckoutSession | None:
        if submission.checkout is None:
            return None
        try:
            session = self._gateway.retrieve_checkout(submission.checkout.session_id)
        except CheckoutNotFound:
            return None
        return session if session.status == CheckoutStatus.OPEN else None
