"""Builders for domain values in tests: valid by default, any field overridable.

Every builder takes keyword overrides that go straight to the dataclass, so a test names only
what it cares about::

    make_submission(status=Status.PAID, payment=make_payment())
    make_event(kind=EventKind.EXPIRED, type="checkout.session.expired")

Defaults describe one consistent story (a 2015 Ford F-150 misfiring, priced at $4.99 USD, all
at ``T0``, FixedClock's default start), so values built separately fit together: ``make_event``
pays for ``make_submission``'s price, ``make_payment`` records that event. Ids that must be
unique (submission ids, event ids) are fresh on every call unless given.

Plain module, no fixtures: import what you need with ``from tests.builders import ...``.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from diagpro.domain.analysis import SECTIONS, Analysis, Section
from diagpro.domain.codes import extract_codes
from diagpro.domain.ids import format_submission_id
from diagpro.domain.intake import Intake
from diagpro.domain.payment import EventKind, PaymentEvent
from diagpro.domain.submission import OpenCheckout, Payment, Status, Submission

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # FixedClock's default start
PRICE_CENTS = 499
CURRENCY = "usd"

_serial = itertools.count(1)


def new_submission_id(now: datetime = T0) -> str:
    """A valid ``diag_<ms>_<hex>`` id, different on every call."""
    return format_submission_id(now, f"{next(_serial):024x}")


def new_token(prefix: str) -> str:
    """``prefix`` plus a counter: ``evt_test_7``, ``cs_test_8`` (unique across builders)."""
    return f"{prefix}_test_{next(_serial)}"


def make_intake(**overrides: Any) -> Intake:
    """An automotive intake using most fields: symptoms, error codes, category details, a shop
    quote. Its text holds the codes P0301, P0171 and ERR-42."""
    intake = Intake(
        equipment_type="automotive",
        email="pat@example.com",
        make="Ford",
        model="F-150",
        year="2015",
        mileage_hours="98000",
        serial_number="1FTFW1EF5FFA00000",
        error_codes="P0301, P0171",
        symptoms=("rough idle", "check engine light flashing", "loss of power uphill"),
        when_started="week",
        frequency="often",
        urgency_level="high",
        location_environment="cold mornings, city driving",
        usage_pattern="daily",
        problem_description="Misfire on cold start; the shop says it needs new coils (ERR-42).",
        previous_repairs="spark plugs replaced last year",
        modifications="none",
        troubleshooting_steps="swapped coil 1 and 2, misfire stayed on cylinder 1",
        shop_quote_cents=125_000,
        shop_recommendation="replace all six coils and injectors",
        full_name="Pat Example",
        phone="+1 (555) 010-0000",
        details=(
            ("checkEngineLightOn", "yes"),
            ("drivetrain", "4wd"),
            ("fuelType", "gasoline"),
            ("transmission", "automatic"),
        ),
    )
    return replace(intake, **overrides)


def make_checkout(**overrides: Any) -> OpenCheckout:
    """An open Stripe-like checkout session expiring 30 minutes after T0."""
    session_id = overrides.pop("session_id", None) or new_token("cs")
    checkout = OpenCheckout(
        session_id=session_id,
        url=f"https://checkout.example.test/pay/{session_id}",
        expires_at=T0 + timedelta(minutes=30),
    )
    return replace(checkout, **overrides)


def make_payment(**overrides: Any) -> Payment:
    """A payment of the default price, five minutes after T0."""
    payment = Payment(
        event_id=new_token("evt"),
        checkout_session_id=new_token("cs"),
        amount_cents=PRICE_CENTS,
        currency=CURRENCY,
        paid_at=T0 + timedelta(minutes=5),
    )
    return replace(payment, **overrides)


def make_analysis(*, confidence_pct: int = 92, **overrides: Any) -> Analysis:
    """A complete analysis (passes ``Analysis.check()``): the 15 sections in order, each with a
    summary and points, codes extracted from ``make_intake()``. Below the 80% threshold it lists
    the data needed, so it stays valid; override ``data_needed=()`` to build an invalid one."""
    sections = tuple(
        Section(
            key=key,
            title=title,
            summary=f"{title.title()}: what the evidence says about cylinder 1.",
            points=(f"{key} point one", f"{key} point two"),
        )
        for key, title in SECTIONS
    )
    data_needed: tuple[str, ...] = ()
    if confidence_pct < 80:
        data_needed = ("compression test result for cylinder 1", "fuel trim readings")
    analysis = Analysis(
        most_likely_cause="Failed ignition coil on cylinder 1",
        confidence_pct=confidence_pct,
        sections=sections,
        detected_codes=extract_codes(make_intake()),
        data_needed=data_needed,
        model="offline-test",
        prompt_tokens=1200,
        output_tokens=3400,
        offline=True,
    )
    return replace(analysis, **overrides)


def make_submission(**overrides: Any) -> Submission:
    """A new pending submission (version 1) at T0 for ``make_intake()``, with a fresh id."""
    submission = Submission(
        id=overrides.pop("id", None) or new_submission_id(),
        intake=make_intake(),
        status=Status.PENDING,
        created_at=T0,
        updated_at=T0,
        price_cents=PRICE_CENTS,
        currency=CURRENCY,
    )
    return replace(submission, **overrides)


def make_rich_submission(**overrides: Any) -> Submission:
    """Every optional field filled (checkout, payment, analysis, failure reason, payment
    problem, report path, re-queues), for storage round trips. Not a state the lifecycle
    reaches (a paid submission has no open checkout); use the Submission methods for that."""
    payment = make_payment()
    return make_submission(
        **{
            "status": Status.FAILED,
            "updated_at": T0 + timedelta(hours=1, microseconds=123456),
            "version": 7,
            "checkout": make_checkout(session_id=payment.checkout_session_id),
            "payment": payment,
            "failure_reason": "renderer crashed: font missing (attempt 3 of 5)",
            "payment_problem": "paid 4.99 EUR, expected 4.99 USD — ünïcødé kept",
            "report_path": "reports/draft.pdf",
            "analysis": make_analysis(confidence_pct=71),
            "requeue_count": 2,
            **overrides,
        }
    )


def make_event(**overrides: Any) -> PaymentEvent:
    """A verified ``checkout.session.completed`` event that pays the default price
    (``fulfils`` is True). Pass ``submission_id`` to tie it to a submission."""
    event = PaymentEvent(
        id=new_token("evt"),
        kind=EventKind.COMPLETED,
        type=EventKind.COMPLETED.value,
        submission_id="",
        checkout_session_id=new_token("cs"),
        payment_status="paid",
        amount_total=PRICE_CENTS,
        currency=CURRENCY,
        created=T0 + timedelta(minutes=5),
    )
    return replace(event, **overrides)


def payment_for(event: PaymentEvent, at: datetime | None = None) -> Payment:
    """The Payment a submission records for ``event``."""
    return Payment(
        event_id=event.id,
        checkout_session_id=event.checkout_session_id,
        amount_cents=event.amount_total,
        currency=event.currency,
        paid_at=at or event.created,
    )
