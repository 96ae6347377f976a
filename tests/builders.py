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

from diagpro.domain.analysis import (
    SECTIONS,
    Analysis,
    CostEstimate,
    RankedCause,
    Section,
    ShopTest,
    Urgency,
)
from diagpro.domain.codes import extract_codes
from diagpro.domain.ids import format_submission_id
from diagpro.domain.intake import Intake
from diagpro.domain.payment import EventKind, PaymentEvent, PaymentStatus
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
    summary and points, codes extracted from ``make_intake()``, and every structured field filled
    with the values a mechanic would expect for the F-150's lean misfire on cylinder 1 (urgency
    SOON, one safety flag, three ranked causes, three shop tests, three cost estimates, five shop
    questions, three next steps). Below the 80% threshold it lists the data needed, so it stays
    valid; override ``data_needed=()`` to build an invalid one. Override the structured fields
    with ``()`` for a narrative-only analysis (see ``narrative_only``)."""
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
        most_likely_cause="Intake gasket leak at cylinder 1 (lean misfire)",
        confidence_pct=confidence_pct,
        sections=sections,
        detected_codes=extract_codes(make_intake()),
        data_needed=data_needed,
        model="offline-test",
        prompt_tokens=1200,
        output_tokens=3400,
        offline=True,
        urgency=Urgency.SOON,
        safety_flags=(
            "The check-engine light flashes: unburnt fuel is overheating the catalytic "
            "converter. Drive gently and as little as possible until the misfire is fixed.",
        ),
        ranked_causes=(
            RankedCause(
                cause="Intake gasket leak at cylinder 1",
                likelihood_pct=62,
                reasoning="P0171 (lean) with P0301 on the same bank, worse when cold, and the "
                "misfire stayed on cylinder 1 when coils 1 and 2 were swapped.",
                evidence=("P0171 System too lean (bank 1)", "coil swap: misfire stayed put"),
            ),
            RankedCause(
                cause="Leaking or clogged injector on cylinder 1",
                likelihood_pct=21,
                reasoning="Also explains a lean cylinder 1, but usually not a bank-wide P0171.",
                evidence=("P0301 Cylinder 1 misfire detected",),
            ),
            RankedCause(
                cause="Worn spark plug on cylinder 1",
                likelihood_pct=9,
                reasoning="Plugs were replaced last year; a bad one is possible but unlikely.",
                evidence=("rough idle",),
            ),
        ),
        shop_tests=(
            ShopTest(
                name="Smoke test of the intake",
                how="Smoke into the intake with the engine off; watch the cylinder 1 runner.",
                expected="Smoke at the cylinder 1 gasket confirms the leak.",
                cost_cents_low=8_000,
                cost_cents_high=15_000,
            ),
            ShopTest(
                name="Fuel trims at idle and 2,500 rpm",
                how="Scan tool, warm engine, bank 1 short- and long-term trims.",
                expected="Trims above +10% at idle that fall at 2,500 rpm point to a leak.",
                cost_cents_low=0,
                cost_cents_high=5_000,
            ),
            ShopTest(
                name="Injector balance test",
                how="Compare injector 1's resistance and flow with the others.",
                expected="Within 10% of the others rules out the injector.",
                cost_cents_low=5_000,
                cost_cents_high=12_000,
            ),
        ),
        costs=(
            CostEstimate(
                repair="Replace the intake manifold gaskets",
                parts_cents_low=4_000,
                parts_cents_high=12_000,
                labour_hours_low=1.5,
                labour_hours_high=3.0,
                total_cents_low=20_500,
                total_cents_high=69_000,
                note="Independent shop to dealer rates.",
            ),
            CostEstimate(
                repair="Replace injector 1",
                parts_cents_low=9_000,
                parts_cents_high=25_000,
                labour_hours_low=1.0,
                labour_hours_high=2.5,
                total_cents_low=20_000,
                total_cents_high=72_500,
            ),
            CostEstimate(
                repair="Replace the spark plug on cylinder 1",
                parts_cents_low=1_500,
                parts_cents_high=3_000,
                labour_hours_low=0.3,
                labour_hours_high=0.8,
                total_cents_low=5_000,
                total_cents_high=18_000,
            ),
        ),
        shop_questions=(
            "Did you smoke-test the intake, and where did the smoke come out?",
            "What were the bank 1 fuel trims at idle and at 2,500 rpm?",
            "Did the misfire follow the coil when you swapped it?",
            "Which test shows the injectors need replacing?",
            "Can you itemise parts and labour hours on the estimate?",
        ),
        next_steps=(
            "Drive gently and as little as possible while the light flashes.",
            "Ask for a smoke test and fuel trims before approving any parts.",
            "Compare the quote with the fair range for the intake gaskets.",
        ),
    )
    return replace(analysis, **overrides)


NARRATIVE_ONLY: dict[str, Any] = {
    "safety_flags": (),
    "ranked_causes": (),
    "shop_tests": (),
    "costs": (),
    "shop_questions": (),
    "next_steps": (),
}
"""Overrides that empty every structured field: ``make_analysis(**NARRATIVE_ONLY)`` is what a
model that returned only the 15 narrative sections gives."""


def make_hvac_intake(**overrides: Any) -> Intake:
    """A gas furnace that smells of exhaust and sets off the CO alarm (blink code 3), no quote."""
    intake = Intake(
        equipment_type="hvac",
        email="sam@example.com",
        make="Carrier",
        model="58STA090",
        year="2009",
        mileage_hours="16",
        serial_number="2309A12345",
        error_codes="blink code 3",
        symptoms=(
            "CO alarm went off twice this week",
            "exhaust smell near the furnace",
            "burner flame yellow and lazy",
        ),
        when_started="week",
        frequency="sometimes",
        urgency_level="emergency",
        location_environment="basement, gas furnace",
        usage_pattern="daily",
        problem_description="The furnace short-cycles and the CO alarm upstairs went off twice.",
        full_name="Sam Rivera",
        details=(
            ("systemType", "gas furnace"),
            ("fuelSource", "natural gas"),
            ("unitAge", "16 years"),
            ("underWarranty", "no"),
        ),
    )
    return replace(intake, **overrides)


def make_hvac_analysis(**overrides: Any) -> Analysis:
    """A STOP-urgency analysis of ``make_hvac_intake()``: a cracked heat exchanger or a blocked
    flue (carbon monoxide), with safety flags, a stop verdict and a no-go next step."""
    intake = make_hvac_intake()
    analysis = make_analysis(
        confidence_pct=74,
        data_needed=(
            "A combustion analysis (CO in the flue gas, in ppm)",
            "A camera inspection of the heat exchanger",
        ),
        most_likely_cause="Cracked heat exchanger or blocked flue letting carbon monoxide into "
        "the house",
        detected_codes=extract_codes(intake),
        urgency=Urgency.STOP,
        safety_flags=(
            "Carbon monoxide: turn the furnace off at its switch, air the house and keep the CO "
            "alarm powered. Leave and call the gas utility if the alarm sounds again or anyone "
            "has a headache, dizziness or nausea.",
            "Do not run the furnace until a licensed technician has checked the heat exchanger "
            "and the flue.",
            "If you smell gas, leave without touching switches and call the gas utility from "
            "outside.",
        ),
        ranked_causes=(
            RankedCause(
                cause="Cracked heat exchanger",
                likelihood_pct=48,
                reasoning="A 16-year-old furnace, CO alarms, a yellow lazy flame and short "
                "cycling on the flame rollout limit (blink code 3) together.",
                evidence=("CO alarm went off twice", "burner flame yellow and lazy"),
            ),
            RankedCause(
                cause="Blocked flue or vent pipe",
                likelihood_pct=30,
                reasoning="Also trips the pressure switch (code 3) and spills exhaust into the "
                "basement; check it first because it is cheap to fix.",
                evidence=("exhaust smell near the furnace", "blink code 3"),
            ),
            RankedCause(
                cause="Dirty burners or wrong gas pressure",
                likelihood_pct=12,
                reasoning="A yellow flame means incomplete combustion, which makes CO even with "
                "a sound heat exchanger.",
            ),
        ),
        shop_tests=(
            ShopTest(
                name="Combustion analysis",
                how="Analyser probe in the flue; CO, O2 and draft at steady state.",
                expected="CO in the flue below 100 ppm (air-free) and a steady draft.",
                cost_cents_low=7_500,
                cost_cents_high=15_000,
            ),
            ShopTest(
                name="Heat exchanger inspection",
                how="Camera through the burner openings; flame watch at blower start.",
                expected="No cracks or holes; the flame does not move when the blower starts.",
                cost_cents_low=10_000,
                cost_cents_high=25_000,
            ),
        ),
        costs=(
            CostEstimate(
                repair="Clear and reseal the flue and vent pipe",
                parts_cents_low=2_000,
                parts_cents_high=15_000,
                labour_hours_low=1.0,
                labour_hours_high=3.0,
                total_cents_low=11_000,
                total_cents_high=63_000,
            ),
            CostEstimate(
                repair="Replace the heat exchanger",
                parts_cents_low=60_000,
                parts_cents_high=150_000,
                labour_hours_low=6.0,
                labour_hours_high=10.0,
                total_cents_low=114_000,
                total_cents_high=310_000,
                note="At 16 years old, price a new furnace too.",
            ),
        ),
        shop_questions=(
            "What was the CO reading in the flue, in ppm air-free?",
            "Did you look at the heat exchanger with a camera? Can I see the picture?",
            "Is the flue clear all the way to the outside?",
        ),
        next_steps=(
            "Turn the furnace off now and keep the CO alarm on.",
            "Call a licensed HVAC technician for a combustion analysis and a heat exchanger "
            "inspection.",
            "Use safe electric heat until the furnace is cleared to run.",
        ),
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
        payment_status=PaymentStatus.PAID,
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
