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
    Analysis,
    Certainty,
    CostEstimate,
    DecodedCode,
    OwnerCheck,
    OwnerFact,
    QuoteCheck,
    QuoteVerdict,
    RankedCause,
    RuledOut,
    ShopTest,
    Urgency,
    UrgencyAdvice,
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


ORIGINAL_FRONTEND_PAYLOAD = {  # what DiagnosticReview.tsx posts: 22 keys, "" for missing
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "mileageHours": "98,000",
    "serialNumber": "",
    "errorCodes": "P0301 P0171",
    "symptoms": "Rough idle, Engine shaking",
    "whenStarted": "week",
    "frequency": "always",
    "urgencyLevel": "normal",
    "locationEnvironment": "city",
    "usagePattern": "daily",
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "previousRepairs": "",
    "modifications": "",
    "troubleshootingSteps": "",
    "shopQuoteAmount": "1,250.00",
    "shopRecommendation": "Replace all coils and plugs",
    "fullName": "Pat Owner",
    "email": "Owner@Example.com",
    "phone": "",
}


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


def make_analysis(*, confidence_pct: int = 62, **overrides: Any) -> Analysis:
    """A complete analysis (passes ``Analysis.check()``) of ``make_intake()``'s F-150: the
    owner's coil swap used as a fact that rules the coil out, codes decoded, three ranked causes
    (the top one at ``confidence_pct``, the rest of the distribution in ``other_pct``), urgency
    SOON, owner checks, shop tests, a do-not, two repairs and a worst case at a stated labour
    rate, a like-for-like quote check, five shop questions and three next steps. Below the 80%
    threshold it lists the data needed; override ``data_needed=()`` to build an invalid one."""
    data_needed: tuple[str, ...] = ()
    if confidence_pct < 80:
        data_needed = ("Compression and leak-down results for cylinder 1",)
    second = min(21, 100 - confidence_pct)
    third = min(9, 100 - confidence_pct - second)
    analysis = Analysis(
        language="en",
        equipment_assumed="2015 Ford F-150, gasoline V6 or V8, automatic, 98,000 miles",
        facts_used=(
            OwnerFact(
                fact="You swapped coil 1 with coil 2 and the misfire stayed on cylinder 1",
                proves="The coil is not the cause: a bad coil takes the misfire with it",
            ),
            OwnerFact(
                fact="The spark plugs were replaced last year",
                proves="A worn plug is unlikely, though a new plug can still be faulty",
            ),
        ),
        detected_codes=extract_codes(make_intake()),
        codes=(
            DecodedCode(
                code="P0301",
                system="OBD-II",
                meaning="Cylinder 1 misfire detected",
                certainty=Certainty.KNOWN,
                bearing="The fault is on one cylinder, not the whole engine",
            ),
            DecodedCode(
                code="P0171",
                system="OBD-II",
                meaning="System too lean, bank 1",
                certainty=Certainty.KNOWN,
                bearing="Unmetered air or too little fuel on bank 1",
            ),
        ),
        ruled_out=(
            RuledOut(
                cause="Ignition coil on cylinder 1",
                because="the misfire stayed on cylinder 1 after your coil swap",
            ),
        ),
        causes=(
            RankedCause(
                cause="Intake gasket leak at cylinder 1",
                likelihood_pct=confidence_pct,
                why="P0171 (lean) with P0301 on the same bank, worse when cold.",
                evidence_for=("P0171 System too lean (bank 1)", "worse on cold mornings"),
                evidence_against=("no hissing reported",),
            ),
            RankedCause(
                cause="Leaking or clogged injector on cylinder 1",
                likelihood_pct=second,
                why="Also explains a lean cylinder 1, but usually not a bank-wide P0171.",
                evidence_for=("P0301 Cylinder 1 misfire detected",),
            ),
            RankedCause(
                cause="Low compression on cylinder 1",
                likelihood_pct=third,
                why="A burnt valve or worn rings would keep the misfire on one cylinder.",
                evidence_for=("misfire stays on cylinder 1",),
            ),
        ),
        other_pct=100 - confidence_pct - second - third,
        urgency=UrgencyAdvice(
            level=Urgency.SOON,
            reason="A flashing check-engine light means unburnt fuel is overheating the "
            "catalytic converter.",
            stop_if=("The light flashes steadily while you drive",),
        ),
        safety=(
            "A flashing check-engine light means unburnt fuel is overheating the catalytic "
            "converter: drive gently and as little as possible.",
        ),
        owner_checks=(
            OwnerCheck(
                check="Listen around the intake at idle for a hiss",
                what_it_tells="A hiss near cylinder 1 points to the intake gasket",
            ),
        ),
        shop_tests=(
            ShopTest(
                name="Smoke test of the intake",
                how="Smoke into the intake with the engine off; watch the cylinder 1 runner.",
                expected="Smoke at the cylinder 1 gasket confirms the leak.",
                cost_cents_low=8_000,
                cost_cents_high=12_000,
            ),
            ShopTest(
                name="Compression and leak-down test on cylinder 1",
                how="Compare cylinder 1 with the others, cold and warm.",
                expected="Within 10% of the others rules out a mechanical fault.",
                cost_cents_low=10_000,
                cost_cents_high=15_000,
            ),
        ),
        do_not=("Do not replace all the coils: your swap already cleared them.",),
        costs=(
            CostEstimate(
                repair="Replace the intake manifold gaskets",
                parts_cents_low=4_000,
                parts_cents_high=6_000,
                labour_hours_low=2.0,
                labour_hours_high=2.5,
                total_cents_low=34_000,
                total_cents_high=43_500,
                cause_index=0,
            ),
            CostEstimate(
                repair="Replace injector 1",
                parts_cents_low=9_000,
                parts_cents_high=12_000,
                labour_hours_low=1.0,
                labour_hours_high=1.5,
                total_cents_low=24_000,
                total_cents_high=33_000,
                cause_index=1,
            ),
            CostEstimate(
                repair="Replace the catalytic converter after driving on the misfire",
                parts_cents_low=60_000,
                parts_cents_high=90_000,
                labour_hours_low=1.0,
                labour_hours_high=2.0,
                total_cents_low=75_000,
                total_cents_high=120_000,
                worst_case=True,
            ),
        ),
        labour_rate_cents=15_000,
        quote_check=QuoteCheck(
            shop_job="Replace all six coils and injectors",
            fair_cents_low=110_000,
            fair_cents_high=140_000,
            verdict=QuoteVerdict.UNJUSTIFIED_SCOPE,
            explanation="The price is fair for that job, but your coil swap cleared the coils.",
        ),
        shop_questions=(
            "Did you smoke-test the intake, and where did the smoke come out?",
            "What were the bank 1 fuel trims at idle and at 2,500 rpm?",
            "Why replace coils that my swap test cleared?",
            "Which test shows the injectors need replacing?",
            "Can you itemise parts and labour hours on the estimate?",
        ),
        next_steps=(
            "Drive gently and as little as possible while the light flashes.",
            "Ask for a smoke test and a compression test before approving any parts.",
            "Decline the coils: your swap already cleared them.",
        ),
        how_it_works="Each cylinder needs air, fuel and a spark at the right time.",
        sources=("Ford workshop manual, section 303-14 (engine controls)",),
        data_needed=data_needed,
        model="offline-test",
        prompt_tokens=1200,
        output_tokens=3400,
        offline=True,
    )
    return replace(analysis, **overrides)


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
    flue (carbon monoxide), with safety warnings, a stop verdict and a no-go next step."""
    intake = make_hvac_intake()
    analysis = make_analysis(
        data_needed=(
            "A combustion analysis (CO in the flue gas, in ppm)",
            "A camera inspection of the heat exchanger",
        ),
        equipment_assumed="2009 Carrier 58STA090 natural-gas furnace, 16 years old",
        facts_used=(),
        detected_codes=extract_codes(intake),
        codes=(
            DecodedCode(
                code="Flash code 3",
                system="Carrier/Bryant furnace",
                meaning="Pressure switch or limit circuit fault",
                certainty=Certainty.TYPICAL,
                bearing="Confirm on the chart inside the blower door",
            ),
        ),
        ruled_out=(),
        urgency=UrgencyAdvice(
            level=Urgency.STOP,
            reason="Two carbon-monoxide alarms and an exhaust smell: the house may be filling "
            "with CO.",
            stop_if=(),
        ),
        safety=(
            "Carbon monoxide: turn the furnace off at its switch, air the house and keep the CO "
            "alarm powered.",
            "If you smell gas, leave without touching switches and call the gas utility from "
            "outside.",
        ),
        causes=(
            RankedCause(
                cause="Cracked heat exchanger",
                likelihood_pct=48,
                why="A 16-year-old furnace, CO alarms and a yellow lazy flame together.",
                evidence_for=("CO alarm went off twice", "burner flame yellow and lazy"),
            ),
            RankedCause(
                cause="Blocked flue or vent pipe",
                likelihood_pct=30,
                why="Also spills exhaust into the basement; cheap to check first.",
                evidence_for=("exhaust smell near the furnace",),
            ),
            RankedCause(
                cause="Dirty burners or wrong gas pressure",
                likelihood_pct=12,
                why="A yellow flame means incomplete combustion.",
            ),
        ),
        other_pct=10,
        owner_checks=(
            OwnerCheck(
                check="Look at the vent pipe where it leaves the house",
                what_it_tells="Ice, a nest or a crushed pipe points to a blocked flue",
            ),
        ),
        shop_tests=(
            ShopTest(
                name="Combustion analysis",
                how="Analyser probe in the flue; CO, O2 and draft at steady state.",
                expected="CO in the flue below 100 ppm (air-free) and a steady draft.",
                cost_cents_low=7_500,
                cost_cents_high=11_000,
            ),
        ),
        do_not=("Never jumper the pressure switch or a limit switch to keep the heat on.",),
        costs=(
            CostEstimate(
                repair="Clear and reseal the flue and vent pipe",
                parts_cents_low=2_000,
                parts_cents_high=3_000,
                labour_hours_low=1.0,
                labour_hours_high=1.5,
                total_cents_low=17_000,
                total_cents_high=25_500,
                cause_index=1,
            ),
        ),
        quote_check=QuoteCheck(
            shop_job="",
            fair_cents_low=0,
            fair_cents_high=0,
            verdict=QuoteVerdict.NO_QUOTE,
            explanation="You have no quote yet.",
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
