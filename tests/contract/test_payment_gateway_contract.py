"""The PaymentGateway contract, for the local checkout on its memory book and on SQLite, and for
the Stripe adapter against a local stub of the Checkout Sessions API (tests/stubs/stripe_stub.py).

What the use cases rely on is written here once. The stub reads the same FixedClock as the local
checkout, so "an hour later" means the same thing to every variant.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from diagpro.adapters.local_checkout import LocalCheckout, MemoryCheckoutBook
from diagpro.adapters.sqlite.checkouts import SqliteCheckoutBook
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.stripe_events import build_event, session_object, sign_event
from diagpro.adapters.stripe_gateway import StripeGateway
from diagpro.domain.errors import CheckoutNotFound, PaymentEventInvalid
from diagpro.domain.payment import CheckoutRequest, EventKind, Price
from tests.builders import new_submission_id
from tests.doubles import CountingIds, FixedClock
from tests.stubs.stripe_stub import StripeStub

SECRET = "whsec_contract"


@pytest.fixture(params=["memory", "sqlite", "stripe"])
def world(request, tmp_path):
    clock = FixedClock()
    if request.param == "stripe":
        with StripeStub(now=clock.now) as stub:
            gateway = StripeGateway(
                "sk_test_contract", SECRET, api_base=stub.api_base, max_network_retries=0
            )
            yield gateway, clock
        return
    book = (
        MemoryCheckoutBook()
        if request.param == "memory"
        else SqliteCheckoutBook(Database(tmp_path / "db.sqlite3"))
    )
    yield LocalCheckout(book, SECRET, "http://127.0.0.1:8000", clock, CountingIds()), clock


def request_for(clock, key="checkout-create:x:1", submission_id=None):
    return CheckoutRequest(
        submission_id=submission_id or new_submission_id(),
        price=Price(499, "usd"),
        customer_email="owner@example.com",
        success_url="http://127.0.0.1:8000/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url="http://127.0.0.1:8000/cancel",
        expires_at=clock.now() + timedelta(hours=1),
        idempotency_key=key,
    )


def test_open_then_retrieve(world):
    gateway, clock = world
    req = request_for(clock)
    session = gateway.open_checkout(req)
    assert session.status == "open" and session.payment_status == "unpaid"
    assert (session.amount_total, session.currency) == (499, "usd")
    assert session.submission_id == req.submission_id
    assert session.customer_email == "owner@example.com"
    assert gateway.retrieve_checkout(session.id) == session


def test_the_same_idempotency_key_gives_the_same_session(world):
    gateway, clock = world
    req = request_for(clock)
    assert gateway.open_checkout(req).id == gateway.open_checkout(req).id
    other = gateway.open_checkout(request_for(clock, key="checkout-create:x:2"))
    assert other.id != gateway.open_checkout(req).id


def test_sessions_expire_by_time_and_on_request(world):
    gateway, clock = world
    first = gateway.open_checkout(request_for(clock))
    second = gateway.open_checkout(request_for(clock, key="k2"))
    gateway.expire_checkout(first.id)
    assert gateway.retrieve_checkout(first.id).status == "expired"
    clock.advance(hours=1)
    assert gateway.retrieve_checkout(second.id).status == "expired"


def test_expiring_a_closed_session_is_harmless(world):
    gateway, clock = world
    session = gateway.open_checkout(request_for(clock))
    gateway.expire_checkout(session.id)
    gateway.expire_checkout(session.id)
    assert gateway.retrieve_checkout(session.id).status == "expired"


def test_unknown_sessions_are_not_found(world):
    gateway, _ = world
    with pytest.raises(CheckoutNotFound):
        gateway.retrieve_checkout("cs_missing")
    with pytest.raises(CheckoutNotFound):
        gateway.expire_checkout("cs_missing")


def test_verified_events_are_translated(world):
    gateway, clock = world
    session = gateway.open_checkout(request_for(clock))
    obj = session_object(session) | {"payment_status": "paid", "status": "complete"}
    signed = sign_event(
        build_event("evt_1", "checkout.session.completed", obj, clock.now()), SECRET
    )
    event = gateway.verify_event(signed.payload, signed.signature)
    assert event.kind == EventKind.COMPLETED and event.fulfils
    assert event.submission_id == session.submission_id
    assert event.checkout_session_id == session.id
    assert (event.amount_total, event.currency) == (499, "usd")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p, s: (p + b" ", s),  # body changed after signing
        lambda p, s: (p, ""),  # no header
        lambda p, s: (p, sign_event(p, "whsec_someone_else").signature),  # wrong secret
        lambda p, s: (p, sign_event(p, SECRET, timestamp=1_600_000_000).signature),  # stale
        lambda p, s: (b"not json", sign_event(b"not json", SECRET).signature),
    ],
    ids=["tampered", "missing-header", "wrong-secret", "stale", "not-json"],
)
def test_untrustworthy_events_are_refused(world, tamper):
    gateway, clock = world
    payload = build_event("evt_2", "checkout.session.completed", {"id": "cs_1"}, clock.now())
    body, header = tamper(payload, sign_event(payload, SECRET).signature)
    with pytest.raises(PaymentEventInvalid):
        gateway.verify_event(body, header)
