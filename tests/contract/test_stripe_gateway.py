"""What only the Stripe adapter does: the exact Checkout Session request it sends, idempotency,
error translation without leaking the key, refunds, and webhook verification with real Stripe
signatures. Runs against the local stub (tests/stubs/stripe_stub.py); the shared behaviour is in
test_payment_gateway_contract.py.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from diagpro.adapters.stripe_events import build_event, sign_event
from diagpro.adapters.stripe_gateway import StripeGateway, StripeRefunds
from diagpro.domain.errors import CheckoutNotFound, PaymentEventInvalid, PaymentProviderError
from diagpro.domain.payment import CheckoutRequest, EventKind, Price
from diagpro.domain.ports import Refunds
from diagpro.domain.submission import Payment
from tests.builders import new_submission_id
from tests.stubs.stripe_stub import StripeStub

KEY = "sk_test_51SecretValueThatMustNeverLeak"
WEBHOOK_SECRET = "whsec_stripe_gateway_test"


@pytest.fixture
def stub():
    with StripeStub() as running:
        yield running


@pytest.fixture
def gateway(stub):
    return StripeGateway(KEY, WEBHOOK_SECRET, api_base=stub.api_base, max_network_retries=0)


def checkout_request(submission_id=None, attempt=1):
    submission_id = submission_id or new_submission_id()
    return CheckoutRequest(
        submission_id=submission_id,
        price=Price(499, "usd"),
        customer_email="owner@example.com",
        success_url="http://127.0.0.1:8000/success?session_id={CHECKOUT_SESSION_ID}",
        cancel_url=f"http://127.0.0.1:8000/cancel?submission_id={submission_id}",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        idempotency_key=f"checkout-create:{submission_id}:{attempt}",
    )


def test_the_checkout_session_request_has_the_agreed_shape(stub, gateway):
    req = checkout_request()
    session = gateway.open_checkout(req)

    [call] = stub.calls("POST", "/v1/checkout/sessions")
    form = call.form
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "499"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["line_items[0][price_data][product_data][name]"] == req.product_name
    assert form["line_items[0][quantity]"] == "1"
    assert not any(k.startswith("line_items[1]") for k in form)
    assert form["client_reference_id"] == req.submission_id
    assert form["metadata[submissionId]"] == req.submission_id
    assert form["payment_intent_data[metadata][submissionId]"] == req.submission_id
    assert form["success_url"] == req.success_url
    assert form["cancel_url"] == req.cancel_url
    assert form["customer_email"] == "owner@example.com"
    assert abs(int(form["expires_at"]) - (time.time() + 3600)) < 60
    assert call.header("Idempotency-Key") == f"checkout-create:{req.submission_id}:1"
    assert call.header("Authorization") == f"Bearer {KEY}"

    assert session.id.startswith("cs_test_") and session.url
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (499, "usd")
    assert session.submission_id == req.submission_id
    assert session.expires_at == datetime.fromtimestamp(int(form["expires_at"]), UTC)
    assert session.expires_at.tzinfo is not None


def test_the_same_key_twice_makes_one_session(stub, gateway):
    req = checkout_request()
    assert gateway.open_checkout(req) == gateway.open_checkout(req)
    assert len(stub.sessions) == 1
    assert len(stub.calls("POST", "/v1/checkout/sessions")) == 2  # the second was a replay


def test_a_paid_session_reads_back_paid_with_the_customers_email(stub, gateway):
    req = checkout_request()
    opened = gateway.open_checkout(req)
    stub.pay(opened.id)
    session = gateway.retrieve_checkout(opened.id)
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert session.submission_id == req.submission_id
    assert session.customer_email == "owner@example.com"


def test_the_submission_falls_back_to_client_reference_id_and_email_to_customer_details(stub):
    gateway = StripeGateway(KEY, WEBHOOK_SECRET, api_base=stub.api_base, max_network_retries=0)
    opened = gateway.open_checkout(checkout_request(submission_id="diag_legacy"))
    stored = stub.sessions[opened.id]
    stored.update(metadata={}, customer_email=None, customer_details={"email": "buyer@x.test"})
    session = gateway.retrieve_checkout(opened.id)
    assert session.submission_id == "diag_legacy"
    assert session.customer_email == "buyer@x.test"


def test_a_missing_session_is_not_found(gateway):
    with pytest.raises(CheckoutNotFound):
        gateway.retrieve_checkout("cs_test_missing")
    with pytest.raises(CheckoutNotFound):
        gateway.expire_checkout("cs_test_missing")


def test_expiring_a_completed_session_is_no_error(stub, gateway):
    opened = gateway.open_checkout(checkout_request())
    stub.pay(opened.id)
    gateway.expire_checkout(opened.id)
    assert gateway.retrieve_checkout(opened.id).status == "complete"
    assert len(stub.calls("POST", f"/v1/checkout/sessions/{opened.id}/expire")) == 1


@pytest.mark.parametrize("bad_key", ["sk_live_51WrongAccountKeyValue9", "rk_test_restricted123456"])
def test_a_refused_key_names_the_setting_but_never_the_key(stub, bad_key):
    gateway = StripeGateway(bad_key, WEBHOOK_SECRET, api_base=stub.api_base, max_network_retries=0)
    with pytest.raises(PaymentProviderError) as caught:
        gateway.open_checkout(checkout_request())
    message = str(caught.value)
    assert "STRIPE_SECRET_KEY" in message and "refused" in message
    assert bad_key not in message and bad_key[-4:] not in message
    assert "sk_live" not in message.replace("sk_live_…", "")
    with pytest.raises(PaymentProviderError) as caught:
        gateway.retrieve_checkout("cs_test_any")
    assert bad_key not in str(caught.value)


def test_rate_limits_and_outages_are_reported_as_retryable(stub, gateway):
    stub.fail_next(429, "Too many requests", type_="rate_limit_error", code="rate_limit")
    with pytest.raises(PaymentProviderError, match=r"rate limit.*retryable"):
        gateway.open_checkout(checkout_request())
    stub.fail_next(500, "boom")
    with pytest.raises(PaymentProviderError, match=r"HTTP 500.*retryable"):
        gateway.retrieve_checkout("cs_test_any")


def test_an_unreachable_stripe_is_reported_as_retryable():
    with StripeStub() as gone:
        api_base = gone.api_base
    gateway = StripeGateway(KEY, WEBHOOK_SECRET, api_base=api_base, max_network_retries=0)
    with pytest.raises(PaymentProviderError) as caught:
        gateway.open_checkout(checkout_request())
    assert "could not be reached" in str(caught.value) and "retryable" in str(caught.value)
    assert KEY not in str(caught.value)


def test_a_bad_request_names_the_parameter(stub, gateway):
    req = checkout_request()
    late = CheckoutRequest(**{**req.__dict__, "expires_at": req.expires_at + timedelta(days=3)})
    with pytest.raises(PaymentProviderError, match="expires_at"):
        gateway.open_checkout(late)


def test_refund_by_session_uses_its_payment_intent_once(stub, gateway):
    opened = gateway.open_checkout(checkout_request())
    intent = stub.pay(opened.id)["payment_intent"]
    refund_id = gateway.refund(opened.id)
    assert gateway.refund(intent) == refund_id  # same idempotency key: replayed, not refunded twice

    calls = stub.calls("POST", "/v1/refunds")
    assert [c.form for c in calls] == [{"payment_intent": intent}] * 2
    assert {c.header("Idempotency-Key") for c in calls} == {f"refund:{intent}"}
    assert list(stub.refunds) == [refund_id]
    assert stub.refunds[refund_id]["amount"] == 499


def test_refunding_an_unpaid_session_is_a_provider_error(gateway):
    opened = gateway.open_checkout(checkout_request())
    with pytest.raises(PaymentProviderError, match="no payment to refund"):
        gateway.refund(opened.id)
    with pytest.raises(PaymentProviderError, match="resource_missing"):
        gateway.refund("pi_test_unknown")


def test_the_refunds_port_refunds_the_payment_intent_behind_a_payments_session(stub, gateway):
    refunds = StripeRefunds(gateway)
    assert isinstance(refunds, Refunds)
    opened = gateway.open_checkout(checkout_request())
    intent = stub.pay(opened.id)["payment_intent"]
    payment = Payment("evt_paid", opened.id, 499, "usd", datetime.now(UTC))

    refund_id = refunds.refund(payment)
    assert refunds.refund(payment) == refund_id  # asked twice: one refund

    [retrieve, *_] = stub.calls("GET", f"/v1/checkout/sessions/{opened.id}")
    assert retrieve.path == f"/v1/checkout/sessions/{opened.id}"
    calls = stub.calls("POST", "/v1/refunds")
    assert [c.form for c in calls] == [{"payment_intent": intent}] * 2
    assert {c.header("Idempotency-Key") for c in calls} == {f"refund:{intent}"}
    assert list(stub.refunds) == [refund_id]
    assert stub.refunds[refund_id]["payment_intent"] == intent


def test_the_refunds_port_reports_a_failed_refund_as_a_provider_error(stub, gateway):
    refunds = StripeRefunds(gateway)
    opened = gateway.open_checkout(checkout_request())
    stub.pay(opened.id)
    stub.fail_next(500)
    with pytest.raises(PaymentProviderError, match="Stripe failed"):
        refunds.refund(Payment("evt_paid", opened.id, 499, "usd", datetime.now(UTC)))
    with pytest.raises(PaymentProviderError, match="no checkout session"):
        refunds.refund(Payment("evt_paid", "", 499, "usd", datetime.now(UTC)))


# -- webhook verification through the adapter, with real Stripe signatures -------------------
def completed_event(submission_id="diag_1"):
    obj = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "amount_total": 499,
        "currency": "usd",
        "client_reference_id": submission_id,
        "metadata": {"submissionId": submission_id},
        "payment_status": "paid",
        "status": "complete",
    }
    return build_event("evt_test_1", "checkout.session.completed", obj, datetime.now(UTC))


def test_a_genuine_event_is_verified_and_translated(gateway):
    payload = completed_event()
    header = stripe.WebhookSignature.generate_signature_header(payload.decode(), WEBHOOK_SECRET)
    event = gateway.verify_event(payload, header)
    assert (event.id, event.kind, event.submission_id) == (
        "evt_test_1",
        EventKind.COMPLETED,
        "diag_1",
    )
    assert event.fulfils and (event.amount_total, event.currency) == (499, "usd")


@pytest.mark.parametrize(
    "forge",
    [
        lambda p: (p.replace(b"499", b"1"), sign_event(p, WEBHOOK_SECRET).signature),
        lambda p: (
            json.dumps(json.loads(p), indent=2).encode(),
            sign_event(p, WEBHOOK_SECRET).signature,
        ),
        lambda p: (p, sign_event(p, "whsec_not_ours").signature),
        lambda p: (p, sign_event(p, WEBHOOK_SECRET, timestamp=int(time.time()) - 301).signature),
    ],
    ids=["tampered", "re-indented", "wrong-secret", "stale"],
)
def test_forged_or_stale_events_are_refused(gateway, forge):
    body, header = forge(completed_event())
    with pytest.raises(PaymentEventInvalid):
        gateway.verify_event(body, header)


def test_a_refund_event_is_linked_through_the_payment_intent_metadata(gateway):
    charge = {
        "id": "ch_test_1",
        "object": "charge",
        "amount_refunded": 499,
        "currency": "usd",
        "payment_intent": "pi_test_1",
        "metadata": {"submissionId": "diag_9"},
    }
    payload = build_event("evt_test_2", "charge.refunded", charge, datetime.now(UTC))
    event = gateway.verify_event(payload, sign_event(payload, WEBHOOK_SECRET).signature)
    assert (event.kind, event.submission_id, event.amount_total) == (
        EventKind.REFUNDED,
        "diag_9",
        499,
    )


# -- the pinned API version -----------------------------------------------------------------


def test_the_pinned_api_version_is_the_one_the_stripe_library_is_written_against():
    """Fails when an upgrade of the stripe library moves its API version: bump
    STRIPE_API_VERSION's default (and recreate the webhook endpoint) deliberately."""
    from diagpro.config.declarations import STRIPE_API_VERSION

    assert STRIPE_API_VERSION.default == stripe.api_version


def test_every_request_carries_the_pinned_version(stub):
    gateway = StripeGateway(
        KEY,
        WEBHOOK_SECRET,
        api_base=stub.api_base,
        api_version="2025-09-30.clover",
        max_network_retries=0,
    )
    session = gateway.open_checkout(checkout_request())
    gateway.retrieve_checkout(session.id)
    gateway.webhook_endpoints()

    assert len(stub.requests) == 3
    assert {r.header("Stripe-Version") for r in stub.requests} == {"2025-09-30.clover"}


def test_the_container_pins_the_version_from_the_setting(stub, tmp_path):
    from tests.harness import container_for_tests

    container = container_for_tests(
        memory=False,
        env={
            "DIAGPRO_DATA_DIR": str(tmp_path),
            "STRIPE_SECRET_KEY": KEY,
            "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
            "DIAGPRO_STRIPE_API_BASE": stub.api_base,
            "DIAGPRO_PUBLIC_BASE_URL": "http://diagpro.example.test",
            "DIAGPRO_API_KEYS": "dpk_" + "k" * 30,
            "STRIPE_API_VERSION": "2025-09-30.clover",
            "DIAGPRO_ANALYZER": "offline",
        },
    )
    with pytest.raises(CheckoutNotFound):
        container.gateway().retrieve_checkout("cs_test_missing")

    assert [r.header("Stripe-Version") for r in stub.requests] == ["2025-09-30.clover"]


def test_an_event_in_another_api_version_is_handled_and_logged(gateway, caplog):
    body = json.loads(completed_event())
    body["api_version"] = "2024-06-20"
    payload = json.dumps(body).encode()

    with caplog.at_level("WARNING", logger="diagpro.adapters.stripe_gateway"):
        event = gateway.verify_event(payload, sign_event(payload, WEBHOOK_SECRET).signature)

    assert event.fulfils and event.submission_id == "diag_1"
    [record] = caplog.records
    assert record.levelname == "WARNING"
    message = record.getMessage()
    assert "API version 2024-06-20" in message and stripe.api_version in message
    assert "webhook endpoint" in message


def test_an_event_in_the_pinned_version_logs_nothing(gateway, caplog):
    payload = completed_event()
    with caplog.at_level("WARNING", logger="diagpro.adapters.stripe_gateway"):
        gateway.verify_event(payload, sign_event(payload, WEBHOOK_SECRET).signature)
    assert caplog.records == []


@pytest.mark.parametrize("version", ["latest", "2026-10-28", "endive"])
def test_a_malformed_api_version_is_refused_at_start(version):
    from diagpro.config import ConfigError, load_settings

    with pytest.raises(
        ConfigError, match=r"STRIPE_API_VERSION.*2026-10-28\.endive \(date\.release\)"
    ):
        load_settings({"STRIPE_API_VERSION": version})
