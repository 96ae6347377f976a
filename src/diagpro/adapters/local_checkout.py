"""The local checkout: stands in for Stripe Checkout when no Stripe key is configured.

It opens ``cs_local_…`` sessions and, when the customer pays or cancels on the local page (or the
CLI does it for them), emits Stripe-shaped events signed with Stripe's scheme and a local secret.
Those events go through the same webhook path and the same verification as real Stripe events.
Sessions live in a ``CheckoutBook``: in memory for tests, in SQLite for the embedded default.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Protocol

from diagpro.adapters.stripe_events import (
    build_event,
    session_object,
    sign_event,
    verify_stripe_event,
)
from diagpro.domain.errors import CheckoutNotFound, PaymentProviderError
from diagpro.domain.payment import (
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    PaymentEvent,
    PaymentStatus,
    SignedEvent,
)
from diagpro.domain.ports import Clock, IdSource
from diagpro.domain.submission import Payment


class CheckoutBook(Protocol):
    def get(self, session_id: str) -> CheckoutSession | None: ...

    def by_key(self, idempotency_key: str) -> CheckoutSession | None: ...

    def put(self, session: CheckoutSession, idempotency_key: str = "") -> None: ...

    def forget_email(self, submission_id: str) -> int:
        """Blank the customer's email on every session of ``submission_id``; how many held one."""
        ...


class CheckoutEmails:
    """The Eraser of the local checkout: its sessions keep the customer's email (as Stripe's
    do), so an erased order's sessions are blanked too. Stripe's own copy is Stripe's to erase
    (README, "Privacy")."""

    name = "checkout email"

    def __init__(self, book: CheckoutBook) -> None:
        self._book = book

    def erase(self, submission_id: str) -> int:
        return self._book.forget_email(submission_id)


class MemoryCheckoutBook:
    def __init__(self) -> None:
        self._sessions: dict[str, CheckoutSession] = {}
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> CheckoutSession | None:
        return self._sessions.get(session_id)

    def by_key(self, idempotency_key: str) -> CheckoutSession | None:
        session_id = self._keys.get(idempotency_key)
        return self._sessions.get(session_id) if session_id else None

    def put(self, session: CheckoutSession, idempotency_key: str = "") -> None:
        with self._lock:
            self._sessions[session.id] = session
            if idempotency_key:
                self._keys.setdefault(idempotency_key, session.id)

    def forget_email(self, submission_id: str) -> int:
        with self._lock:
            held = [
                s
                for s in self._sessions.values()
                if s.submission_id == submission_id and s.customer_email
            ]
            for session in held:
                self._sessions[session.id] = replace(session, customer_email="")
        return len(held)


class LocalCheckout:
    """A PaymentGateway with a pay button of its own."""

    def __init__(
        self, book: CheckoutBook, secret: str, base_url: str, clock: Clock, ids: IdSource
    ) -> None:
        self._book = book
        self._secret = secret
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._ids = ids
        self._lock = threading.Lock()

    # -- PaymentGateway -------------------------------------------------------------------------
    def open_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        with self._lock:  # like Stripe's idempotency keys: one session per key
            existing = self._book.by_key(request.idempotency_key)
            if existing is not None:
                return self._current(existing)
            session_id = f"cs_local_{self._ids.token()}{self._ids.token()}"
            session = CheckoutSession(
                id=session_id,
                url=f"{self._base_url}/checkout/local/{session_id}",
                submission_id=request.submission_id,
                status=CheckoutStatus.OPEN,
                payment_status=PaymentStatus.UNPAID,
                amount_total=request.price.cents,
                currency=request.price.currency,
                customer_email=request.customer_email,
                expires_at=request.expires_at,
            )
            self._book.put(session, request.idempotency_key)
            # Another process may have won the key first: its session is the one to use.
            return self._current(self._book.by_key(request.idempotency_key) or session)

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        session = self._book.get(session_id)
        if session is None:
            raise CheckoutNotFound(session_id)
        return self._current(session)

    def expire_checkout(self, session_id: str) -> None:
        session = self.retrieve_checkout(session_id)
        if session.status == CheckoutStatus.OPEN:
            self._book.put(replace(session, status=CheckoutStatus.EXPIRED))

    def verify_event(self, payload: bytes, signature: str) -> PaymentEvent:
        return verify_stripe_event(payload, signature, self._secret)

    # -- Refunds --------------------------------------------------------------------------------
    def refund(self, payment: Payment) -> str:
        """Refund a paid local session: its book marks it refunded. The refund id follows from
        the session, so refunding twice returns the same id and pays nothing twice."""
        session = self._book.get(payment.checkout_session_id)
        if session is None:
            raise PaymentProviderError(
                f"Could not refund: no local checkout session {payment.checkout_session_id!r}"
            )
        if session.payment_status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED):
            raise PaymentProviderError(
                f"Checkout session {session.id} has no payment to refund "
                f"(payment_status {session.payment_status!r})"
            )
        if session.payment_status == PaymentStatus.PAID:
            self._book.put(replace(session, payment_status=PaymentStatus.REFUNDED))
        return "re_local_" + session.id.removeprefix("cs_local_")

    # -- what the customer does on the local checkout page ---------------------------------------
    def pay(self, session_id: str) -> SignedEvent:
        """The customer pays: the session completes and a signed completion event is emitted."""
        session = self.retrieve_checkout(session_id)
        if session.status != CheckoutStatus.OPEN:
            raise PaymentProviderError(f"Checkout session {session_id} is {session.status}")
        paid = replace(session, status=CheckoutStatus.COMPLETE, payment_status=PaymentStatus.PAID)
        self._book.put(paid)
        return self._event("checkout.session.completed", paid)

    def cancel(self, session_id: str) -> SignedEvent:
        """The customer gives up: the session expires, as a Stripe session would after an hour."""
        self.expire_checkout(session_id)
        return self._event("checkout.session.expired", self.retrieve_checkout(session_id))

    def _event(self, event_type: str, session: CheckoutSession) -> SignedEvent:
        payload = build_event(
            f"evt_local_{self._ids.token()}", event_type, session_object(session), self._clock.now()
        )
        return sign_event(payload, self._secret)

    def _current(self, session: CheckoutSession) -> CheckoutSession:
        if session.status == CheckoutStatus.OPEN and self._clock.now() >= session.expires_at:
            return replace(session, status=CheckoutStatus.EXPIRED)
        return session
