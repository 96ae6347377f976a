"""The report is written in the language the owner wrote in; too little text reads as English."""

from __future__ import annotations

from typing import Any

import pytest

from diagpro.adapters.language import detect_language
from diagpro.domain.intake import Intake


def _intake(description: str = "", **more: Any) -> Intake:
    return Intake(
        equipment_type="automotive",
        email="owner@example.com",
        problem_description=description,
        **more,
    )


@pytest.mark.parametrize(
    ("description", "language"),
    [
        (
            "El motor tiembla mucho en ralentí cuando está frío y la luz de check engine "
            "parpadea al acelerar en la autopista.",
            "es",
        ),
        (
            "Le moteur tremble au ralenti quand il fait froid et le voyant moteur clignote "
            "quand j'accélère sur l'autoroute.",
            "fr",
        ),
        ("发动机冷车时怠速抖动很厉害，加速时故障灯闪烁，而且油耗明显增加了。", "zh"),
        (
            "The engine shakes at idle when it is cold and the check engine light flashes "
            "when I accelerate on the highway.",
            "en",
        ),
    ],
)
def test_the_description_names_the_language(description: str, language: str) -> None:
    assert detect_language(_intake(description)) == language


def test_codes_alone_read_as_english() -> None:
    intake = _intake("", error_codes="P0301 P0171 SPN 3251 FMI 0")
    assert detect_language(intake) == "en"


@pytest.mark.parametrize("description", ["P0301", "Ruido raro", "Ne démarre", "P0420 help"])
def test_a_few_words_read_as_english(description: str) -> None:
    assert detect_language(_intake(description)) == "en"


def test_spanish_text_around_english_codes_is_spanish() -> None:
    intake = _intake(
        "Se prende la luz de Check Engine con el código P0301 y P0171. El carro tiembla en los "
        "semáforos y pierde fuerza en las subidas, sobre todo por la mañana.",
        error_codes="P0301, P0171",
        symptoms=("Rough idle", "Misfire"),
    )
    assert detect_language(intake) == "es"


def test_the_owners_other_answers_count_too() -> None:
    # A short description, but the history is written in Spanish.
    intake = _intake(
        "No arranca",
        troubleshooting_steps="Cambié la batería y revisé los fusibles, pero sigue sin arrancar "
        "por las mañanas cuando hace frío.",
        previous_repairs="Le cambiaron el motor de arranque el año pasado en el taller.",
    )
    assert detect_language(intake) == "es"
