"""Stripe-shaped payment events: verify with the official library, translate, and (for the local
checkout and tests) build and sign them with Stripe's own scheme.

Both the local checkout and the real Stripe adapter verify through ``verify_stripe_event``, so the
offline flow exercises the very code that guards production.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stripe

from diagpro.domain.errors import PaymentEventInvalid
from diagpro.domain.payment import (
    ChargeRefunds,
    CheckoutSession,
    Dispute,
    EventKind,
    PaymentEvent,
    PaymentStatus,
    SignedEvent,
)

stripe.enable_telemetry = False

SIGNATURE_TOLERANCE_SECONDS = 300
_KINDS = {kind.value: kind for kind in EventKind if kind is not EventKind.OTHER}


def verify_stripe_event(payload: bytes, signature: str, secret: str) -> PaymentEvent:
    """Check ``Stripe-Signature`` over the raw bytes (300 s tolerance) and translate."""
    if not signature:
        raise PaymentEventInvalid("Missing Stripe-Signature header")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        raise PaymentEventInvalid(f"Stripe signature rejected: {exc.user_message or exc}") from exc
    except ValueError as exc:  # the library's answer to a body that is not JSON
        raise PaymentEventInvalid(f"Payment event is not valid JSON: {exc}") from exc
    except (TypeError, AttributeError) as exc:  # signed JSON that is not an event object
        raise PaymentEventInvalid(f"Payment event is not an event object: {exc!r}") from exc
    return translate_event(event.to_dict() if hasattr(event, "to_dict") else event)


def whole_cents(value: object) -> int:
    """An amount as Stripe sends it: an integer in the currency's smallest unit
    (https://docs.stripe.com/api/checkout/sessions/object#checkout_session_object-amount_total).
    A fraction (499.9) or a bool is refused, never truncated to a price it is not."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"an amount must be a whole number of cents, not {value!r}")
    return value


def translate_event(event: object) -> PaymentEvent:
    """Stripe's event dict -> PaymentEvent; a signed event of the wrong shape is refused as
    PaymentEventInvalid (answered 400), never a crash."""
    try:
        return _translate(event)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        raise PaymentEventInvalid(f"Payment event has an unexpected shape: {exc!r}") from exc


def _translate(event: Any) -> PaymentEvent:
    event_id = str(event["id"])
    event_type = str(event["type"])
    obj = event["data"]["object"]
    if not isinstance(obj, dict):
        raise TypeError("data.object is not an object")
    created = datetime.fromtimestamp(int(event.get("created", 0)), UTC)
    kind = _KINDS.get(event_type, EventKind.OTHER)
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise TypeError("metadata is not an object")
    # The original's Buy Button sessions carried no metadata: fall back to client_reference_id.
    submission_id = str(metadata.get("submissionId") or obj.get("client_reference_id") or "")
    is_session = str(obj.get("object", "")) == "checkout.session"
    amount = obj.get("amount_total") if is_session else obj.get("amount_refunded")
    raw_status = obj.get("payment_status")
    dispute = _dispute(obj, created) if kind in _DISPUTE_KINDS else None
    if dispute is not None:
        amount = dispute.amount_cents
    return PaymentEvent(
        id=event_id,
        kind=kind,
        type=event_type,
        submission_id=submission_id,
        checkout_session_id=str(obj.get("id", "")) if is_session else "",
        # A ValueError here (a status Stripe does not document) refuses the event as malformed.
        payment_status=PaymentStatus(raw_status) if is_session and raw_status else None,
        amount_total=whole_cents(amount),
        currency=str(obj.get("currency") or ""),
        created=created,
        refunds=_refunds(obj) if kind == EventKind.REFUNDED else None,
        dispute=dispute,
    )


_DISPUTE_KINDS = (EventKind.DISPUTE_CREATED, EventKind.DISPUTE_UPDATED, EventKind.DISPUTE_CLOSED)


def _refunds(charge: dict[str, Any]) -> ChargeRefunds:
    """A charge's running refund totals. ``refunds`` is a list object Stripe only includes
    when expanded (https://docs.stripe.com/api/charges/object#charge_object-refunds)."""
    listed = charge.get("refunds")
    items = (listed.get("data") or []) if isinstance(listed, dict) else []
    if not isinstance(items, list):
        raise TypeError("refunds.data is not a list")
    return ChargeRefunds(
        charge_id=str(charge.get("id") or ""),
        amount_charged=int(charge.get("amount") or 0),
        amount_refunded=int(charge.get("amount_refunded") or 0),
        refunded_in_full=charge.get("refunded") is True,
        refund_ids=tuple(str(item["id"]) for item in items if isinstance(item, dict)),
    )


def _dispute(obj: dict[str, Any], reported_at: datetime) -> Dispute:
    """Stripe's dispute object (https://docs.stripe.com/api/disputes/object). ``charge`` and
    ``payment_intent`` are ids, or objects when the endpoint expands them."""
    return Dispute(
        id=str(obj["id"]),
        amount_cents=int(obj.get("amount") or 0),
        currency=str(obj.get("currency") or ""),
        reason=str(obj.get("reason") or ""),
        status=str(obj.get("status") or ""),
        charge_id=_id_of(obj.get("charge")),
        payment_intent_id=_id_of(obj.get("payment_intent")),
        reported_at=reported_at,
    )


def _id_of(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


def session_object(session: CheckoutSession) -> dict[str, Any]:
    """A Checkout Session as Stripe's API shows it (the fields diagpro reads)."""
    return {
        "id": session.id,
        "object": "checkout.session",
        "amount_total": session.amount_total,
        "currency": session.currency,
        "client_reference_id": session.submission_id,
        "customer_email": session.customer_email,
        "customer_details": {"email": session.customer_email},
        "expires_at": int(session.expires_at.timestamp()),
        "metadata": {"submissionId": session.submission_id},
        "mode": "payment",
        "payment_status": session.payment_status.value,
        "status": session.status.value,
        "url": session.url,
    }


def build_event(event_id: str, event_type: str, obj: dict[str, Any], created: datetime) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "api_version": stripe.api_version,
        "created": int(created.timestamp()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def sign_event(payload: bytes, secret: str, timestamp: int | None = None) -> SignedEvent:
    header = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), secret, timestamp=timestamp
    )
    return SignedEvent(payload=payload, signature=header)
