"""Report documents for the renderer's and the view model's tests (and bench/render_bench.py):
a typical one, the STOP furnace, one in Spanish and a worst case with every list and text far
beyond what a report prints."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
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
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.report import ReportDocument
from tests import builders

REPORT_ID = "diag_1764115200000_0123456789abcdef01234567"
GENERATED_AT = datetime(2026, 11, 26, 14, 3, tzinfo=UTC)
SYMPTOM = "Rough idle when cold, shakes at stoplights"


def make_intake(**overrides: object) -> Intake:
    """The F-150 of ``builders.make_intake`` as the intake form sends it (wire names)."""
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
        "shopRecommendation": "Replace all six coils and injectors.",
        "fuelType": "gasoline",
        "checkEngineLightOn": True,
    }
    payload.update(overrides)
    return validate_intake(payload)


def make_document(
    intake: Intake | None = None, currency: str = builders.CURRENCY, **analysis_overrides: Any
) -> ReportDocument:
    """The typical report: ``builders.make_analysis()`` (three causes, a coil swap that rules
    the coil out, two repairs and a worst case, a like-for-like quote check)."""
    intake = intake or make_intake()
    analysis = builders.make_analysis(detected_codes=extract_codes(intake), **analysis_overrides)
    return ReportDocument(REPORT_ID, intake, analysis, GENERATED_AT, currency)


def hvac_document() -> ReportDocument:
    """The furnace with carbon-monoxide alarms: urgency STOP, no shop quote."""
    return ReportDocument(
        REPORT_ID,
        builders.make_hvac_intake(),
        builders.make_hvac_analysis(),
        GENERATED_AT,
        builders.CURRENCY,
    )


def spanish_document() -> ReportDocument:
    """An owner who wrote in Spanish, and the analysis written in Spanish (language "es")."""
    intake = make_intake(
        problemDescription="El motor falla en el cilindro 1 desde la semana pasada, peor en frío.",
        symptoms=["Ralentí inestable en frío", "La luz de motor parpadea al acelerar"],
        troubleshootingSteps="Cambié la bobina 1 por la 2 y la falla siguió en el cilindro 1.",
        previousRepairs="Bujías nuevas hace un año.",
        shopRecommendation="Cambiar todas las bobinas e inyectores.",
    )
    analysis = builders.make_analysis(
        language="es",
        detected_codes=extract_codes(intake),
        equipment_assumed="Ford F-150 2015, gasolina, automática, 112.400 millas",
        facts_used=(
            OwnerFact(
                "Cambió la bobina 1 por la 2 y la falla siguió en el cilindro 1",
                "La bobina no es la causa: una bobina dañada se lleva la falla consigo",
            ),
        ),
        codes=(
            DecodedCode("P0301", "OBD-II", "Falla de encendido en el cilindro 1", Certainty.KNOWN),
            DecodedCode("P0171", "OBD-II", "Mezcla pobre, banco 1", Certainty.KNOWN),
        ),
        ruled_out=(RuledOut("Bobina del cilindro 1", "la falla siguió en el cilindro 1"),),
        causes=(
            RankedCause("Fuga en la junta de admisión del cilindro 1", 62, "P0171 y P0301."),
            RankedCause("Inyector 1 con fuga u obstruido", 21, "También empobrece el cilindro."),
            RankedCause("Baja compresión en el cilindro 1", 9, "Válvula o anillos."),
        ),
        other_pct=8,
        urgency=UrgencyAdvice(
            Urgency.SOON,
            "Una luz de motor que parpadea recalienta el catalizador.",
            ("La luz parpadea sin parar mientras conduce",),
        ),
        safety=("Conduzca con suavidad y lo menos posible mientras la luz parpadee.",),
        owner_checks=(
            OwnerCheck(
                "Escuche junto a la admisión en ralentí", "Un siseo apunta a la junta de admisión"
            ),
        ),
        shop_tests=(
            ShopTest(
                "Prueba de humo de la admisión",
                "Humo en la admisión",
                "Humo en la junta",
                8_000,
                12_000,
            ),
        ),
        do_not=("No cambie todas las bobinas: su prueba ya las descartó.",),
        quote_check=QuoteCheck(
            "Cambiar todas las bobinas e inyectores",
            110_000,
            140_000,
            QuoteVerdict.UNJUSTIFIED_SCOPE,
            "El precio es justo para ese trabajo, pero su prueba ya descartó las bobinas.",
        ),
        shop_questions=("¿Hizo la prueba de humo? ¿Por dónde salió el humo?",),
        next_steps=(
            "Conduzca con suavidad mientras la luz parpadee.",
            "Pida una prueba de humo y de compresión antes de aprobar piezas.",
            "Rechace las bobinas: su prueba ya las descartó.",
        ),
        how_it_works="Cada cilindro necesita aire, combustible y chispa en el momento justo.",
        sources=("Manual de taller de Ford, sección 303-14",),
        data_needed=("Resultados de compresión y fugas del cilindro 1",),
    )
    return ReportDocument(REPORT_ID, intake, analysis, GENERATED_AT, builders.CURRENCY)


def worst_case_document(word: str) -> ReportDocument:
    """Every intake field at its domain limit, every analysis text far too long and every list
    far too long, written with ``word`` (a wide glyph makes the longest pages)."""

    def text(length: int) -> str:
        return ((word + " ") * (length // (len(word) + 1) + 1))[:length]

    def texts(count: int, length: int) -> tuple[str, ...]:
        return tuple(text(length) for _ in range(count))

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
    # The domain allows at most four ranked causes (Analysis.check refuses more).
    causes = tuple(
        RankedCause(f"{i} {text(2000)}", 20, text(5000), texts(20, 1000), texts(20, 1000))
        for i in range(4)
    )
    cost = CostEstimate(text(2000), 10**8, 10**9, 100.5, 9999.5, 10**8, 10**10)
    analysis: Analysis = builders.make_analysis(
        detected_codes=extract_codes(intake),
        equipment_assumed=text(3000),
        facts_used=tuple(OwnerFact(text(2000), text(2000)) for _ in range(30)),
        codes=tuple(
            DecodedCode(text(200), text(500), text(2000), Certainty.UNKNOWN, text(2000))
            for _ in range(30)
        ),
        ruled_out=tuple(RuledOut(f"{i} {text(500)}", text(2000)) for i in range(30)),
        causes=causes,
        other_pct=20,
        urgency=UrgencyAdvice(Urgency.STOP, text(5000), texts(10, 2000)),
        safety=texts(40, 2000),
        owner_checks=tuple(OwnerCheck(text(2000), text(2000)) for _ in range(30)),
        shop_tests=tuple(ShopTest(text(2000), text(5000), text(5000), 1, 10**9) for _ in range(40)),
        do_not=texts(30, 2000),
        costs=(
            *(replace(cost, cause_index=0) for _ in range(20)),
            *(replace(cost, worst_case=True) for _ in range(20)),
        ),
        labour_rate_cents=17_500,
        quote_check=QuoteCheck(text(2000), 10**8, 10**10, QuoteVerdict.HIGH, text(5000)),
        shop_questions=texts(60, 2000),
        next_steps=texts(3, 2000),
        how_it_works=text(20_000),
        sources=texts(30, 2000),
        data_needed=texts(50, 2000),
        model="m" * 500,
    )
    return ReportDocument(REPORT_ID, intake, analysis.check(), GENERATED_AT, builders.CURRENCY)
