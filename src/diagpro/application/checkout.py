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
# Stripe refuses an ``expires_at`` less than 30 minutes ahead
# (https://docs.stripe.com/api/checkout/sessions/create#create_checkout_session-expires_at); an
# attempt closer than this to its expiry is not sent again, a new attempt (a new key) is begun.
LEAST_LIFETIME_LEFT = timedelta(minutes=35)


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
        # step 1 of 3: fix this attempt's parameters on the submission before the provider sees
        # them. Stripe refuses a key sent again with other parameters, and expires_at taken
        # from the clock would differ a second later (a retry, a double click).
        submission, _ = change_submission(
            self._submissions,
            submission.id,
            lambda s: s.begin_checkout(now + CHECKOUT_LIFETIME, now, LEAST_LIFETIME_LEFT),
        )
        attempt = submission.checkout_attempt
        assert attempt is not None  # begin_checkout leaves one that can be sent
        # step 2 of 3: open the session at the provider (idempotent on the attempt's key).
        session = self._gateway.open_checkout(
            CheckoutRequest(
                submission_id=submission.id,
                price=self._price,
                customer_email=submission.intake.email,
                # Stripe fills in {CHECKOUT_SESSION_ID}; the success page follows the order.
                success_url=f"{self._base}/success?session_id={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{self._base}/cancel?submission_id={quote(submission.id)}",
                expires_at=attempt.expires_at,
                idempotency_key=submission.checkout_idempotency_key,
            )
        )
        opened = OpenCheckout(session.id, session.url, session.expires_at)

        def record(current: Submission) -> Submission | None:
            if current.checkout is not None and current.checkout.session_id == session.id:
                return None  # a concurrent double-click already recorded this same session
            return current.checkout_opened(opened, now)

        # step 3 of 3: note it on the submission. A crash before this means the next click opens
        # with the same idempotency key and parameters, and gets the same session back.
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
