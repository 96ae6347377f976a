"""Checkout sessions, payment events and money, in the shape our use cases need.

Adapters translate Stripe's objects into these; nothing Stripe-typed crosses a port.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Price:
    cents: int
    currency: str  # ISO 4217, lower case as Stripe writes it

    def __str__(self) -> str:
        return format_money(self.cents, self.currency)


def format_money(cents: int, currency: str) -> str:
    """The one place money becomes text: 499, 'usd' -> '$4.99 USD'."""
    symbol = "$" if currency.lower() in ("usd", "cad", "aud") else ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{symbol}{whole:,}.{part:02d} {currency.upper()}"


class CheckoutStatus(StrEnum):
    """A checkout session's own state, with Stripe's values
    (https://docs.stripe.com/api/checkout/sessions/object#checkout_session_object-status)."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class PaymentStatus(StrEnum):
    """Whether a checkout session's money arrived, with Stripe's values
    (https://docs.stripe.com/api/checkout/sessions/object#checkout_session_object-payment_status).
    """

    PAID = "paid"
    UNPAID = "unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required"
    # Not a Stripe value: the local checkout marks a session it refunded (Stripe keeps "paid" on
    # the session and records the refund on the charge).
    REFUNDED = "refunded"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    submission_id: str
    status: CheckoutStatus
    payment_status: PaymentStatus
    amount_total: int
    currency: str
    customer_email: str
    expires_at: datetime


@dataclass(frozen=True)
class CheckoutRequest:
    submission_id: str
    price: Price
    customer_email: str
    success_url: str
    cancel_url: str
    expires_at: datetime
    idempotency_key: str
    product_name: str = "diagpro Equipment Diagnostic Report"


class EventKind(StrEnum):
    COMPLETED = "checkout.session.completed"
    ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
    ASYNC_FAILED = "checkout.session.async_payment_failed"
    EXPIRED = "checkout.session.expired"
    REFUNDED = "charge.refunded"
    DISPUTE_CREATED = "charge.dispute.created"
    DISPUTE_UPDATED = "charge.dispute.updated"
    DISPUTE_CLOSED = "charge.dispute.closed"
    # Not acted on: refund.created/updated and charge.refund.updated describe one refund each,
    # while charge.refunded carries the charge's running total, which is what decides.
    OTHER = "other"


@dataclass(frozen=True)
class ChargeRefunds:
    """A charge's refunds as Stripe totals them on the charge (``charge.refunded``).

    ``amount_refunded`` is cumulative over every refund of the charge
    (https://docs.stripe.com/api/charges/object#charge_object-amount_refunded), so each event
    carries the whole story so far and the largest total seen is the true one, whatever order
    the events arrive in."""

    charge_id: str
    amount_charged: int  # the charge's ``amount``; 0 when the event does not say
    amount_refunded: int
    refunded_in_full: bool  # Stripe's ``refunded``: "whether the charge has been fully refunded"
    refund_ids: tuple[str, ...] = ()  # the ``refunds`` list, when the event includes it

    def is_full(self, amount_paid: int) -> bool:
        """Only a full refund takes the report back: Stripe's own flag, or a total refunded of
        at least what was charged (the charge's amount, else what the submission paid)."""
        owed = self.amount_charged or amount_paid
        return self.refunded_in_full or (owed > 0 and self.amount_refunded >= owed)


# Stripe's dispute statuses that end a dispute
# (https://docs.stripe.com/api/disputes/object#dispute_object-status).
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed"})


@dataclass(frozen=True)
class Dispute:
    """A chargeback as Stripe reports it (https://docs.stripe.com/api/disputes/object).

    Recorded, never acted on: the card network decides, and a ``lost`` dispute is money gone
    that an operator has to know about, not a reason to take a delivered report back."""

    id: str
    amount_cents: int
    currency: str
    reason: str  # e.g. "fraudulent", "product_not_received"
    status: str  # Stripe's value, kept as text: a status added later must not break the webhook
    charge_id: str
    payment_intent_id: str
    reported_at: datetime  # the event's time: orders deliveries that arrive out of order

    @property
    def closed(self) -> bool:
        return self.status in DISPUTE_CLOSED_STATUSES


@dataclass(frozen=True)
class PaymentEvent:
    """A verified payment event. ``submission_id`` is empty when the event names none."""

    id: str
    kind: EventKind
    type: str  # the provider's own type string, kept for the record
    submission_id: str
    checkout_session_id: str
    payment_status: PaymentStatus | None  # None when the event is not about a checkout session
    amount_total: int
    currency: str
    created: datetime
    refunds: ChargeRefunds | None = None  # set for charge.refunded
    dispute: Dispute | None = None  # set for charge.dispute.*

    @property
    def fulfils(self) -> bool:
        return self.kind == EventKind.ASYNC_SUCCEEDED or (
            self.kind == EventKind.COMPLETED and self.payment_status == PaymentStatus.PAID
        )


@dataclass(frozen=True)
class SignedEvent:
    """A payment event as it travels: raw bytes plus the Stripe-Signature header."""

    payload: bytes
    signature: str
