"""Report documents for the renderer's and the view model's tests (and bench/render_bench.py):
a realistic one and a worst case with every field far beyond what a report can print."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
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
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.report import ReportDocument
from tests import builders

REPORT_ID = "diag_1764115200000_0123456789abcdef01234567"
SYMPTOM = "Rough idle when cold, shakes at stoplights"


def make_intake(**overrides: object) -> Intake:
    payload: dict[str, object] = {
        "equipmentType": "automotive",
        "email": "pat@example.com",
        "fullName": "Pat Rivera",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "mileageHours": "112,400",
        "serialNumber": "1FTEW1EG5FFA00000",
        "errorCodes": "P0301, P0171",
        "symptoms": [SYMPTOM, "Check engine light flashing under load"],
        "whenStarted": "week",
        "frequency": "often",
        "urgencyLevel": "high",
        "usagePattern": "daily",
        "problemDescription": "Misfire on cylinder 1 since last week.\n\nWorse when cold.",
        "previousRepairs": "Spark plugs replaced at 100k miles.",
        "troubleshootingSteps": "Swapped coil 1 and 2; code stayed on cylinder 1.",
        "shopQuoteAmount": "1250.00",
        "shopRecommendation": "Replace all six injectors and the intake gasket.",
        "fuelType": "gasoline",
        "checkEngineLightOn": True,
    }
    payload.update(overrides)
    return validate_intake(payload)


def make_analysis(intake: Intake, **overrides: Any) -> Analysis:
    """The narrative below plus the structured fields of ``builders.make_analysis`` (urgency SOON,
    three ranked causes, three shop tests, three cost estimates, five questions, three steps)."""
    sections = tuple(
        Section(
            key=key,
            title=title,
            summary=f"{title.title()} for the misfire on cylinder 1: the evidence so far points "
            "to an injector or a vacuum leak near the intake, not to the ignition system.",
            points=(
                "Check fuel trims at idle and at 2500 rpm.",
                "Smoke-test the intake for vacuum leaks.",
                "Measure injector 1 resistance against the others.",
            ),
        )
        for key, title in SECTIONS
    )
    fields: dict[str, Any] = {
        "most_likely_cause": "Leaking intake gasket at cylinder 1 (lean misfire)",
        "confidence_pct": 72,
        "sections": sections,
        "detected_codes": extract_codes(intake),
        "data_needed": ("Freeze-frame data for P0301", "Long-term fuel trim at idle"),
        "model": "gemini-3.5-flash",
        "offline": False,
    }
    return builders.make_analysis(**{**fields, **overrides})


def make_document(
    intake: Intake | None = None, currency: str = builders.CURRENCY, **analysis_overrides: Any
) -> ReportDocument:
    intake = intake or make_intake()
    return ReportDocument(
        submission_id=REPORT_ID,
        intake=intake,
        analysis=make_analysis(intake, **analysis_overrides),
        generated_at=datetime(2026, 11, 26, 14, 3, tzinfo=UTC),
        currency=currency,
    )


def worst_case_document(word: str) -> ReportDocument:
    """Every intake field at its domain limit, every analysis text far too long and every list
    far too long, written with ``word`` (a wide glyph makes the longest pages)."""

    def text(length: int) -> str:
        return ((word + " ") * (length // (len(word) + 1) + 1))[:length]

    intake = make_intake(
        problemDescription="\n".join(["y"] * 2500),  # 4,999 characters, 2,500 lines
        previousRepairs="X" * 5000,  # one "word" as wide as 50 lines
        modifications="word " * 999,
        troubleshootingSteps="P0301 " * 833,
        shopRecommendation="a" * 5000,
        errorCodes="P0171 " * 833,
        symptoms=[f"{i:02d} " + "s" * 197 for i in range(30)],
        make="M" * 200,
        model="m" * 200,
        fullName="F" * 200,
        locationEnvironment="L" * 200,
    )
    sections = tuple(
        Section(key, title, text(100_000), tuple(text(10_000) for _ in range(200)))
        for key, title in SECTIONS
    )
    analysis = make_analysis(
        intake,
        sections=sections,
        most_likely_cause=text(5000),
        confidence_pct=10,
        data_needed=tuple(text(2000) for _ in range(50)),
        urgency=Urgency.STOP,
        safety_flags=tuple(text(2000) for _ in range(40)),
        ranked_causes=tuple(
            RankedCause(text(2000), 2, text(5000), tuple(text(1000) for _ in range(20)))
            for _ in range(40)
        ),
        shop_tests=tuple(ShopTest(text(2000), text(5000), text(5000), 1, 10**9) for _ in range(40)),
        costs=tuple(
            CostEstimate(text(2000), 10**8, 10**9, 100.5, 9999.5, 10**8, 10**10, text(5000))
            for _ in range(40)
        ),
        shop_questions=tuple(text(2000) for _ in range(60)),
        next_steps=tuple(text(2000) for _ in range(3)),
        model="m" * 500,
    )
    return replace(make_document(intake), analysis=analysis)
