"""Stripe-shaped payment events: verify with the official library, translate, and (for the local
checkout and tests) build and sign them with Stripe's own scheme.

Both the local checkout and the real Stripe adapter verify through ``verify_stripe_event``, so the
offline flow exercises the very code that guards production.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, cast

import stripe

from diagpro.domain.errors import (
    PaymentEventInvalid,
    PaymentEventMalformed,
    PaymentSignatureMissing,
)
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
log = logging.getLogger("diagpro.payments")

SIGNATURE_TOLERANCE_SECONDS = 300
# The last second a date can hold (9999-12-31T23:59:59Z): later "created" times are refused.
LATEST_TIMESTAMP = 253_402_300_799
_KINDS = {kind.value: kind for kind in EventKind if kind is not EventKind.OTHER}
PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)


def verify_stripe_event(payload: bytes, signature: str, secret: str) -> PaymentEvent:
    """Check ``Stripe-Signature`` over the raw bytes (300 s tolerance), then read the event.

    Each refusal has its own code and a sentence a sender can act on, never a Python repr:
    no header (MISSING_SIGNATURE), a header that does not match (INVALID_SIGNATURE), a signed
    body that is not a Stripe event object (INVALID_PAYLOAD)."""
    if not signature.strip():
        raise PaymentSignatureMissing(
            "The Stripe-Signature header is missing: Stripe signs every event it sends"
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Stripe signs UTF-8 JSON (https://docs.stripe.com/webhooks#verify-manually): other
        # bytes cannot carry a valid signature.
        raise PaymentEventInvalid(
            "The body is not UTF-8 text, so no signature can match it"
        ) from exc
    try:
        stripe.WebhookSignature.verify_header(
            text, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        # The library's messages are plain sentences ("Timestamp outside the tolerance zone").
        raise PaymentEventInvalid(f"Stripe signature rejected: {exc.user_message or exc}") from exc
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PaymentEventMalformed("The signed body is not JSON") from exc
    return translate_event(event)


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
    PaymentEventMalformed (answered 400 INVALID_PAYLOAD), never a crash."""
    problem = _envelope_problem(event)
    if problem:
        raise PaymentEventMalformed(f"The signed body is not a Stripe event object: {problem}")
    problem = _object_problem(cast(dict[str, Any], event)["data"]["object"])
    if problem:
        raise PaymentEventMalformed(
            f"The signed event's data.object is not as Stripe sends it: {problem}"
        )
    try:
        return _translate(event)
    except KeyError as exc:
        raise PaymentEventMalformed(
            f"The signed event lacks a field diagpro reads: {exc.args[0]}"
        ) from exc
    except (TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
        log.warning("payment event of an unexpected shape: %r", exc)
        raise PaymentEventMalformed(
            "The signed event has a field of a type or value Stripe does not send"
        ) from exc


_JSON_KIND = {list: "a JSON array", str: "a JSON string", bool: "true or false", type(None): "null"}


def _envelope_problem(event: object) -> str:
    """What is wrong with an event's envelope (https://docs.stripe.com/api/events/object), in
    words; empty when it has the fields every event has."""
    if not isinstance(event, dict):
        return f"it is {_JSON_KIND.get(type(event), 'a number')}, not an object"
    for name in ("id", "type"):
        if not isinstance(event.get(name), str) or not event[name]:
            return f"it has no {name!r} text"
    created = event.get("created", 0)
    whole = isinstance(created, int) or (isinstance(created, float) and created.is_integer())
    if isinstance(created, bool) or not whole or not 0 <= created <= LATEST_TIMESTAMP:
        return "'created' is not a Unix timestamp"
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        return "it has no 'data.object' object"
    return ""


def _whole(value: object) -> bool:
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    )


def _object_problem(obj: dict[str, Any]) -> str:
    """The fields read from the event's object, checked for the types Stripe gives them, so a
    wrong one is refused in words instead of being read as "absent" (``{}`` is falsy)."""
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return "'metadata' is not an object"
    if obj.get("object") == "checkout.session":
        amount, amount_name = obj.get("amount_total"), "amount_total"
        status = obj.get("payment_status")
        if status is not None and status not in PAYMENT_STATUSES:
            return f"'payment_status' is not one of: {', '.join(PAYMENT_STATUSES)}"
    else:
        amount, amount_name = obj.get("amount_refunded"), "amount_refunded"
    if amount is not None and not _whole(amount):
        return f"'{amount_name}' is not a whole number of cents"
    return ""


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
        amount_charged=whole_cents(charge.get("amount")),
        amount_refunded=whole_cents(charge.get("amount_refunded")),
        refunded_in_full=charge.get("refunded") is True,
        refund_ids=tuple(str(item["id"]) for item in items if isinstance(item, dict)),
    )


def _dispute(obj: dict[str, Any], reported_at: datetime) -> Dispute:
    """Stripe's dispute object (https://docs.stripe.com/api/disputes/object). ``charge`` and
    ``payment_intent`` are ids, or objects when the endpoint expands them."""
    return Dispute(
        id=str(obj["id"]),
        amount_cents=whole_cents(obj.get("amount")),
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
