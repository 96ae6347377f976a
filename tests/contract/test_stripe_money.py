"""Money after the payment, through the official ``stripe`` client and the Stripe stub: a
checkout retried under one idempotency key, disputes found through their payment, refunds.

The service runs on its Stripe gateway (``DIAGPRO_STRIPE_API_BASE`` points at the stub); events
are built from the objects the stub holds and signed with Stripe's scheme and the endpoint's
secret, as Stripe would deliver them.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from diagpro.adapters.stripe_events import build_event, sign_event
from diagpro.application.payments import EventReceipt, Outcome
from diagpro.domain.errors import PaymentProviderError
from diagpro.domain.payment import CheckoutRequest, CheckoutSession, Price
from diagpro.domain.submission import Status
from diagpro.entrypoints import cli
from tests.harness import Harness
from tests.stubs.stripe_stub import StripeStub

KEY = "sk_test_51MoneyTestsKeyValue"
WEBHOOK_SECRET = "whsec_" + "m" * 24


@dataclass
class Shop:
    h: Harness
    stub: StripeStub

    def deliver(self, event_type: str, obj: dict[str, Any], event_id: str) -> EventReceipt:
        payload = build_event(event_id, event_type, obj, self.h.clock.now())
        event = sign_event(payload, WEBHOOK_SECRET)
        return self.h.deliver(event)

    def paid_and_ready(self) -> tuple[str, str]:
        """A submission paid at Stripe and its report made; (submission id, payment intent)."""
        sub = self.h.save()
        session = self.h.container.open_checkout()(sub.id)
        paid = self.stub.pay(session.id)
        receipt = self.deliver("checkout.session.completed", paid, f"evt_paid_{sub.id[-4:]}")
        assert receipt.outcome == Outcome.FULFILLED
        assert self.h.work() == 1
        assert self.h.submission(sub.id).status == Status.READY
        return sub.id, str(paid["payment_intent"])

    def dispute(self, intent: str, status: str, dispute_id: str = "du_test_1") -> dict[str, Any]:
        """A dispute object as Stripe sends it: no metadata of ours, only the payment's ids."""
        return {
            "id": dispute_id,
            "object": "dispute",
            "amount": 499,
            "currency": "usd",
            "reason": "fraudulent",
            "status": status,
            "charge": self.stub.payment_intents[intent]["latest_charge"] if intent else "",
            "payment_intent": intent,
            "metadata": {},
        }

    def status_lines(self, submission_id: str, capsys: pytest.CaptureFixture[str]) -> str:
        capsys.readouterr()
        assert cli._status(self.h.container, argparse.Namespace(submission_id=submission_id)) == 0
        return capsys.readouterr().out


@pytest.fixture
def shop(tmp_path: Any) -> Iterator[Shop]:
    harness: list[Harness] = []
    # The stub keeps Stripe's time on the service's clock, so the expiry checks agree.
    with StripeStub(now=lambda: harness[0].clock.now()) as stub:
        env = {
            "STRIPE_SECRET_KEY": KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DIAGPRO_STRIPE_API_BASE": stub.api_base,
            "DIAGPRO_PUBLIC_BASE_URL": "http://diagpro.example.test",
            "DIAGPRO_API_KEYS": "dpk_" + "k" * 30,
            "DIAGPRO_ANALYZER": "offline",
        }
        harness.append(Harness.build(tmp_path, env=env))
        yield Shop(harness[0], stub)


class LosesTheFirstAnswer:
    """Stripe creates the session, but its answer never comes back (a timeout, a dropped
    connection): the customer clicks again."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway
        self.lost = 0

    def open_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        session = self._gateway.open_checkout(request)
        if not self.lost:
            self.lost += 1
            raise PaymentProviderError("Could not create a checkout session: read timed out")
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)


def lose_the_first_answer(shop: Shop) -> None:
    from dependency_injector import providers

    lossy = LosesTheFirstAnswer(shop.h.container.gateway())
    shop.h.container.gateway.override(providers.Object(lossy))


# -- checkout idempotency ---------------------------------------------------------------------


def test_a_retry_a_second_later_sends_the_same_parameters_and_gets_the_same_session(shop):
    """The attack: expires_at was taken from the clock on each try, so the retry one second
    later sent other parameters under the same key, and Stripe answered idempotency_error."""
    lose_the_first_answer(shop)
    sub = shop.h.save()
    with pytest.raises(PaymentProviderError, match="timed out"):
        shop.h.container.open_checkout()(sub.id)
    shop.h.clock.advance(seconds=1)

    session = shop.h.container.open_checkout()(sub.id)

    first, again = shop.stub.calls("POST", "/v1/checkout/sessions")
    assert first.header("Idempotency-Key") == again.header("Idempotency-Key")
    assert first.form == again.form  # expires_at included
    assert list(shop.stub.sessions) == [session.id]
    assert shop.h.submission(sub.id).checkout.session_id == session.id


def test_a_double_click_a_second_apart_opens_one_session(shop):
    sub = shop.h.save()
    first = shop.h.container.open_checkout()(sub.id)
    shop.h.clock.advance(seconds=1)
    assert shop.h.container.open_checkout()(sub.id).id == first.id
    assert len(shop.stub.sessions) == 1


def test_an_attempt_too_old_to_send_again_starts_a_new_key(shop):
    """Stripe refuses an expires_at under 30 minutes ahead: a retry 40 minutes after a lost
    answer gets a new attempt (a new key, a fresh expiry) rather than a refusal."""
    lose_the_first_answer(shop)
    sub = shop.h.save()
    with pytest.raises(PaymentProviderError):
        shop.h.container.open_checkout()(sub.id)
    shop.h.clock.advance(minutes=40)

    session = shop.h.container.open_checkout()(sub.id)

    first, second = shop.stub.calls("POST", "/v1/checkout/sessions")
    assert first.header("Idempotency-Key") != second.header("Idempotency-Key")
    expires = int(second.form["expires_at"]) - int(shop.h.clock.now().timestamp())
    assert expires == 3600
    assert shop.h.submission(sub.id).checkout.session_id == session.id
    # the session after this one expires gets a key of its own again
    shop.h.clock.advance(hours=1, seconds=1)
    shop.h.container.open_checkout()(sub.id)
    keys = [c.header("Idempotency-Key") for c in shop.stub.calls("POST", "/v1/checkout/sessions")]
    assert len(set(keys)) == 3


# -- the stub keeps Stripe's idempotency rules --------------------------------------------------


def checkout_request(submission_id: str, expires_in: timedelta, shop: Shop) -> CheckoutRequest:
    return CheckoutRequest(
        submission_id=submission_id,
        price=Price(499, "usd"),
        customer_email="owner@example.com",
        success_url="http://diagpro.example.test/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://diagpro.example.test/cancel",
        expires_at=shop.h.clock.now() + expires_in,
        idempotency_key=f"checkout-create:{submission_id}:1",
    )


def test_the_same_key_with_other_parameters_is_refused_like_stripe_does(shop):
    gateway = shop.h.container.gateway()
    gateway.open_checkout(checkout_request("diag_a", timedelta(hours=1), shop))
    other = checkout_request("diag_a", timedelta(hours=1, seconds=1), shop)
    with pytest.raises(PaymentProviderError, match="idempotency key reused"):
        gateway.open_checkout(other)
    assert len(shop.stub.sessions) == 1


def test_a_request_refused_by_validation_saves_nothing_under_its_key(shop):
    gateway = shop.h.container.gateway()
    with pytest.raises(PaymentProviderError, match="expires_at"):
        gateway.open_checkout(checkout_request("diag_b", timedelta(minutes=10), shop))
    session = gateway.open_checkout(checkout_request("diag_b", timedelta(hours=1), shop))
    assert list(shop.stub.sessions) == [session.id]


# -- disputes -----------------------------------------------------------------------------------


def test_a_dispute_is_found_through_its_payment_recorded_and_revokes_nothing(shop, capsys):
    sid, intent = shop.paid_and_ready()

    opened = shop.deliver("charge.dispute.created", shop.dispute(intent, "needs_response"), "e1")
    assert (opened.submission_id, opened.outcome) == (sid, Outcome.DISPUTE_RECORDED)
    assert shop.stub.calls("GET", f"/v1/payment_intents/{intent}")
    shop.h.clock.advance(days=20)
    closed = shop.deliver("charge.dispute.closed", shop.dispute(intent, "lost"), "e2")
    assert closed.outcome == Outcome.DISPUTE_RECORDED

    stored = shop.h.submission(sid)
    assert stored.status == Status.READY  # Stripe decides disputes; the report stays
    [dispute] = stored.disputes
    assert (dispute.id, dispute.status, dispute.closed) == ("du_test_1", "lost", True)
    assert (dispute.amount_cents, dispute.reason, dispute.payment_intent_id) == (
        499,
        "fraudulent",
        intent,
    )
    out = shop.status_lines(sid, capsys)
    assert f"{sid}: ready" in out
    assert "dispute du_test_1: lost (closed), $4.99 USD, reason fraudulent" in out


def test_a_dispute_event_arriving_late_does_not_reopen_a_closed_dispute(shop):
    sid, intent = shop.paid_and_ready()
    shop.h.clock.advance(days=20)
    shop.deliver("charge.dispute.closed", shop.dispute(intent, "won"), "e_closed")
    shop.h.clock.advance(seconds=5)  # delivered late, but it still says "needs_response"
    shop.deliver("charge.dispute.updated", shop.dispute(intent, "needs_response"), "e_stale")
    [dispute] = shop.h.submission(sid).disputes
    assert dispute.status == "won"


def test_a_dispute_on_a_payment_stripe_does_not_know_is_acknowledged(shop):
    unknown = {**shop.dispute("", "needs_response"), "payment_intent": "pi_test_nobody"}
    receipt = shop.deliver("charge.dispute.created", unknown, "e_unknown")
    assert receipt.outcome == Outcome.NO_SUBMISSION_ID
    assert shop.h.container.processed_events().outcome("e_unknown") == Outcome.NO_SUBMISSION_ID


def test_a_dispute_found_through_its_charge_when_it_names_no_payment_intent(shop):
    sid, intent = shop.paid_and_ready()
    by_charge = {**shop.dispute(intent, "warning_needs_response"), "payment_intent": None}
    receipt = shop.deliver("charge.dispute.created", by_charge, "e_charge")
    assert (receipt.submission_id, receipt.outcome) == (sid, Outcome.DISPUTE_RECORDED)


def test_when_stripe_cannot_be_asked_the_dispute_is_left_for_redelivery(shop):
    _, intent = shop.paid_and_ready()
    shop.stub.fail_next(500)
    with pytest.raises(PaymentProviderError):  # the webhook answers 502: Stripe sends it again
        shop.deliver("charge.dispute.created", shop.dispute(intent, "needs_response"), "e_out")
    assert shop.h.container.processed_events().outcome("e_out") is None
    assert shop.deliver(
        "charge.dispute.created", shop.dispute(intent, "needs_response"), "e_out"
    ).outcome == (Outcome.DISPUTE_RECORDED)


# -- refunds made at Stripe -------------------------------------------------------------------


def test_a_partial_refund_at_stripe_is_shown_and_the_full_one_ends_the_order(shop, capsys):
    sid, intent = shop.paid_and_ready()
    charge = shop.stub.charges[shop.stub.payment_intents[intent]["latest_charge"]]
    partial = {**charge, "amount_refunded": 1, "refunded": False}

    assert shop.deliver("charge.refunded", partial, "e_partial").outcome == (
        Outcome.PARTLY_REFUNDED
    )
    assert shop.h.submission(sid).status == Status.READY
    out = shop.status_lines(sid, capsys)
    assert "refunded $0.01 USD of $4.99 USD, partly; the report stays available" in out

    shop.h.container.gateway().refund(intent)  # the rest, as the Dashboard would
    assert shop.deliver("charge.refunded", dict(charge), "e_full").outcome == Outcome.REFUNDED
    assert shop.h.submission(sid).status == Status.REFUNDED
    assert "refunded $4.99 USD of $4.99 USD, in full" in shop.status_lines(sid, capsys)
