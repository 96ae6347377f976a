"""The PaymentGateway on real Stripe Checkout, through the official ``StripeClient``.

Nothing Stripe-typed leaves this module: sessions become ``CheckoutSession``, every
``StripeError`` becomes ``CheckoutNotFound`` or ``PaymentProviderError`` (whose message never
contains the secret key), and webhook events are verified by the same ``verify_stripe_event`` the
local checkout uses.

``api_base`` points the client somewhere other than ``https://api.stripe.com`` (a local stub in
tests, via ``DIAGPRO_STRIPE_API_BASE``).

``api_version`` (``STRIPE_API_VERSION``) is sent as ``Stripe-Version`` with every request, so a
change of the account's default version in the Dashboard never changes what this code reads
(https://docs.stripe.com/api/versioning). Events are rendered in the *webhook endpoint's* version
instead (https://docs.stripe.com/webhooks/versioning); one in another version is still handled,
because the fields read here (``id``, ``type``, ``created`` and the session's or charge's
``id``, ``metadata``, ``client_reference_id``, ``amount_total``/``amount_refunded``,
``currency``, ``payment_status``) are the same in every version since 2020, but it is logged as
a warning naming the fix. Should a version ever change one of them, ``translate_event`` refuses
the event as malformed (400: Stripe redelivers it while the endpoint is fixed) rather than
misreading it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import stripe
from stripe import StripeClient

from diagpro.adapters.stripe_events import verify_stripe_event, whole_cents
from diagpro.domain.errors import CheckoutNotFound, PaymentProviderError
from diagpro.domain.payment import (
    CheckoutRequest,
    CheckoutSession,
    CheckoutStatus,
    Dispute,
    PaymentEvent,
    PaymentStatus,
)
from diagpro.domain.submission import Payment

stripe.enable_telemetry = False

log = logging.getLogger(__name__)

_KEY_PATTERN = re.compile(r"\b(?:sk|rk|pk)_(?:test|live)_[A-Za-z0-9*]+")
_NETWORK_ERROR = re.compile(r"\(Network error: (.*)\)\s*$")
_RETRYABLE = "retryable: try again shortly"


@dataclass(frozen=True)
class WebhookEndpoint:
    """A webhook endpoint as Stripe lists it. ``api_version`` None: the account's default."""

    id: str
    url: str
    status: str  # "enabled" or "disabled"
    enabled_events: tuple[str, ...]  # ("*",) for every event
    api_version: str | None


class StripeGateway:
    """A PaymentGateway on Stripe Checkout Sessions (one-time payment, one line item)."""

    def __init__(
        self,
        secret_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        api_version: str | None = None,
        client: StripeClient | None = None,
        max_network_retries: int = 2,
    ) -> None:
        # None: the version this stripe library is written against (its own default).
        self.api_version = api_version or stripe.api_version
        if client is None:
            if not secret_key:
                raise PaymentProviderError("STRIPE_SECRET_KEY is empty: set it to an sk_… key")
            client = StripeClient(
                secret_key,
                base_addresses={"api": api_base} if api_base else None,
                max_network_retries=max_network_retries,
                stripe_version=self.api_version,
            )
        if not webhook_secret:
            raise PaymentProviderError(
                "STRIPE_WEBHOOK_SECRET is empty: set it to the endpoint's whsec_… secret"
            )
        self._client = client
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._where = api_base or "api.stripe.com"

    # -- PaymentGateway -------------------------------------------------------------------------
    def open_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        submission = {"submissionId": request.submission_id}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": request.price.currency,
                        "unit_amount": request.price.cents,
                        "product_data": {"name": request.product_name},
                    },
                    "quantity": 1,
                }
            ],
            "client_reference_id": request.submission_id,
            "metadata": submission,
            # So charge.refunded events (about the payment, not the session) name the submission.
            "payment_intent_data": {"metadata": submission},
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "expires_at": int(request.expires_at.timestamp()),
            "customer_email": request.customer_email,
        }
        try:
            session = self._client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            raise self._provider_error("create a checkout session", exc) from exc
        return self._translate(session)

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        try:
            session = self._client.v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            raise self._session_error("retrieve", session_id, exc) from exc
        return self._translate(session)

    def expire_checkout(self, session_id: str) -> None:
        """Close an open session. One that is already expired or complete is left as it is."""
        try:
            self._client.v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError as exc:
            if _is_missing(exc):
                raise CheckoutNotFound(session_id) from exc
            # Stripe answers 400 for a session that is no longer open: nothing left to close.
            if self.retrieve_checkout(session_id).status != CheckoutStatus.OPEN:
                return
            raise self._provider_error(f"expire checkout session {session_id}", exc) from exc
        except stripe.StripeError as exc:
            raise self._session_error("expire", session_id, exc) from exc

    def verify_event(self, payload: bytes, signature: str) -> PaymentEvent:
        event = verify_stripe_event(payload, signature, self._webhook_secret)
        self._warn_on_other_version(payload, event)
        if event.dispute is not None and not event.submission_id:
            event = replace(event, submission_id=self._submission_disputed(event.dispute))
        return event

    def _submission_disputed(self, dispute: Dispute) -> str:
        """The submission a dispute is about, from the payment it names. A dispute carries no
        metadata of ours, but its payment intent does (``payment_intent_data.metadata``, set when
        the checkout was opened), and so does its charge, which refunds are found by.

        "" when Stripe does not know the payment (recorded as naming no submission, answered
        200). Any other failure raises PaymentProviderError: the webhook answers 5xx and Stripe
        delivers the dispute again later, so it is not lost."""
        try:
            if dispute.payment_intent_id:
                found: Any = self._client.v1.payment_intents.retrieve(dispute.payment_intent_id)
            elif dispute.charge_id:
                found = self._client.v1.charges.retrieve(dispute.charge_id)
            else:
                return ""
        except stripe.InvalidRequestError as exc:
            if not _is_missing(exc):
                raise self._provider_error(f"look up dispute {dispute.id}", exc) from exc
            log.warning("dispute %s names a payment Stripe does not know", dispute.id)
            return ""
        except stripe.StripeError as exc:
            raise self._provider_error(f"look up dispute {dispute.id}", exc) from exc
        metadata = found.to_dict().get("metadata") or {}
        return str(metadata.get("submissionId") or "") if isinstance(metadata, dict) else ""

    def _warn_on_other_version(self, payload: bytes, event: PaymentEvent) -> None:
        # The payload has just been verified and parsed as a JSON object.
        version = json.loads(payload).get("api_version")
        if version and version != self.api_version:
            log.warning(
                "Stripe event %s (%s) is in API version %s, not STRIPE_API_VERSION %s: it was "
                "handled, but the webhook endpoint should be recreated with api_version %s "
                "(run `diagpro doctor`)",
                event.id,
                event.type,
                version,
                self.api_version,
                self.api_version,
            )

    # -- beyond the port ------------------------------------------------------------------------
    def webhook_endpoints(self) -> list[WebhookEndpoint]:
        """Every webhook endpoint of the account (for ``diagpro doctor``; read-only)."""
        try:
            page = self._client.v1.webhook_endpoints.list(params={"limit": 100})
            found = [
                WebhookEndpoint(
                    id=str(endpoint.id),
                    url=str(endpoint.url),
                    status=str(endpoint.status),
                    enabled_events=tuple(endpoint.enabled_events or ()),
                    api_version=endpoint.api_version,
                )
                for endpoint in page.auto_paging_iter()
            ]
        except stripe.StripeError as exc:
            raise self._provider_error("list the webhook endpoints", exc) from exc
        return found

    def refund(self, payment_intent_or_session_id: str) -> str:
        """Refund a payment in full; returns the refund id.

        Not part of the PaymentGateway port: it serves the optional automatic refund after a
        permanent fulfilment failure. Accepts a ``pi_…`` payment intent or a ``cs_…`` checkout
        session (whose payment intent is looked up). The idempotency key is derived from the
        payment intent, so calling it twice never refunds twice.
        """
        target = payment_intent_or_session_id
        if target.startswith("cs_"):
            try:
                session = self._client.v1.checkout.sessions.retrieve(target)
            except stripe.StripeError as exc:
                raise self._session_error("retrieve", target, exc) from exc
            intent = session.to_dict().get("payment_intent")
            if isinstance(intent, dict):
                intent = intent.get("id")
            if not intent:
                raise PaymentProviderError(
                    f"Checkout session {target} has no payment to refund "
                    f"(payment_status {session.to_dict().get('payment_status')!r})"
                )
            target = str(intent)
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": target},
                options={"idempotency_key": f"refund:{target}"},
            )
        except stripe.StripeError as exc:
            raise self._provider_error(f"refund {target}", exc) from exc
        return str(refund.id)

    # -- translation ----------------------------------------------------------------------------
    def _translate(self, session: Any) -> CheckoutSession:
        data: dict[str, Any] = session.to_dict() if hasattr(session, "to_dict") else dict(session)
        try:
            metadata = data.get("metadata") or {}
            details = data.get("customer_details") or {}
            return CheckoutSession(
                id=str(data["id"]),
                url=str(data.get("url") or ""),
                submission_id=str(
                    metadata.get("submissionId") or data.get("client_reference_id") or ""
                ),
                status=CheckoutStatus(str(data.get("status"))),
                payment_status=PaymentStatus(str(data.get("payment_status"))),
                amount_total=whole_cents(data.get("amount_total")),
                currency=str(data.get("currency") or ""),
                customer_email=str(data.get("customer_email") or details.get("email") or ""),
                expires_at=datetime.fromtimestamp(int(data["expires_at"]), UTC),
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError, OSError) as exc:
            raise PaymentProviderError(
                f"Stripe returned a checkout session of an unexpected shape: {exc!r}"
            ) from exc

    def _session_error(self, action: str, session_id: str, exc: stripe.StripeError) -> Exception:
        if isinstance(exc, stripe.InvalidRequestError) and _is_missing(exc):
            return CheckoutNotFound(session_id)
        return self._provider_error(f"{action} checkout session {session_id}", exc)

    def _provider_error(self, action: str, exc: stripe.StripeError) -> PaymentProviderError:
        status = f"HTTP {exc.http_status}" if exc.http_status else "no response"
        if isinstance(exc, stripe.AuthenticationError):
            message = (
                f"Could not {action}: the Stripe key was refused: check STRIPE_SECRET_KEY "
                f"(it must be a current secret key, sk_test_… or sk_live_…, of the right "
                f"account; {status})"
            )
        elif isinstance(exc, stripe.PermissionError):
            message = (
                f"Could not {action}: the Stripe key may not do this: check the permissions of "
                f"STRIPE_SECRET_KEY ({status})"
            )
        elif isinstance(exc, stripe.RateLimitError):
            message = (
                f"Could not {action}: Stripe is rate limiting requests ({status}); {_RETRYABLE}"
            )
        elif isinstance(exc, stripe.APIConnectionError):
            message = (
                f"Could not {action}: Stripe could not be reached at {self._where} "
                f"({self._clean(exc)}); {_RETRYABLE}"
            )
        elif isinstance(exc, stripe.IdempotencyError):
            message = (
                f"Could not {action}: Stripe refused an idempotency key reused with different "
                f"parameters ({self._clean(exc)})"
            )
        elif isinstance(exc, stripe.APIError) or (exc.http_status or 0) >= 500:
            message = f"Could not {action}: Stripe failed ({status}); {_RETRYABLE}"
        else:
            param = getattr(exc, "param", None)
            where = f", param {param}" if param else ""
            code = f", code {exc.code}" if exc.code else ""
            message = f"Could not {action}: Stripe refused it ({status}{code}{where}): " + (
                self._clean(exc)
            )
        return PaymentProviderError(message)

    def _clean(self, exc: stripe.StripeError) -> str:
        """Stripe's own message without anything that looks like a key (nor ours)."""
        text = " ".join(str(exc.user_message or exc._message or type(exc).__name__).split())
        network = _NETWORK_ERROR.search(text)  # the library wraps the cause in a support plea
        if network:
            text = network.group(1)
        if len(text) > 300:
            text = text[:297] + "..."
        if self._secret_key:
            text = text.replace(self._secret_key, "***")
        return _KEY_PATTERN.sub("***", text)


class StripeRefunds:
    """The Refunds port on Stripe: refunds the payment intent behind a payment's checkout
    session (``StripeGateway.refund``, idempotent per payment intent)."""

    def __init__(self, gateway: StripeGateway) -> None:
        self._gateway = gateway

    def refund(self, payment: Payment) -> str:
        if not payment.checkout_session_id:
            raise PaymentProviderError(f"payment {payment.event_id} names no checkout session")
        return self._gateway.refund(payment.checkout_session_id)


def _is_missing(exc: stripe.StripeError) -> bool:
    return exc.code == "resource_missing" or exc.http_status == 404
