"""The one intake rule: what is accepted, how it is normalised, and how every problem is named."""

import pytest

from diagpro.domain.errors import IntakeInvalid
from diagpro.domain.intake import (
    HIDDEN_CHARACTERS,
    PAYLOAD_KEYS,
    intake_to_payload,
    validate_intake,
)
from tests.builders import ORIGINAL_FRONTEND_PAYLOAD


def problems_of(payload: object) -> dict[str, str]:
    with pytest.raises(IntakeInvalid) as caught:
        validate_intake(payload)
    return {p.field: p.problem for p in caught.value.problems}


def test_the_original_frontend_payload_is_accepted_and_normalised():
    assert len(ORIGINAL_FRONTEND_PAYLOAD) == len(PAYLOAD_KEYS) == 22
    intake = validate_intake(ORIGINAL_FRONTEND_PAYLOAD)
    assert intake.symptoms == ("Rough idle", "Engine shaking")
    assert intake.shop_quote_cents == 125_000
    assert intake.email == "owner@example.com"
    assert intake.serial_number == ""
    assert intake.equipment_name == "2015 Ford F-150"


def test_symptoms_arrive_as_a_list_too():
    payload = {**ORIGINAL_FRONTEND_PAYLOAD, "symptoms": ["Rough idle", " Engine shaking ", ""]}
    assert validate_intake(payload).symptoms == ("Rough idle", "Engine shaking")


def test_the_minimum_is_a_category_an_email_and_something_to_analyse():
    intake = validate_intake({"equipmentType": "hvac", "email": "a@b.co", "errorCodes": "E4"})
    assert intake.urgency_level == ""  # not said: never assumed "normal"
    assert intake.equipment_name == "HVAC"


def test_a_user_who_never_opens_the_details_is_not_refused():
    # The original answered 400 here because model and symptoms were "required" by the backend.
    payload = {**ORIGINAL_FRONTEND_PAYLOAD, "model": "", "symptoms": "", "errorCodes": ""}
    assert validate_intake(payload).model == ""


def test_every_bad_field_is_named_at_once():
    problems = problems_of(
        {
            "equipmentType": "spaceship",
            "email": "not-an-email",
            "year": "15",
            "frequency": "hourly",
            "shopQuoteAmount": "cheap",
            "phone": "call me",
            "color": "red",
        }
    )
    assert set(problems) == {
        "equipmentType",
        "email",
        "year",
        "frequency",
        "shopQuoteAmount",
        "phone",
        "color",
        "problemDescription",
    }
    assert "automotive" in problems["equipmentType"]
    assert problems["color"] == "is not a known field"
    assert "always, often" in problems["frequency"]


def test_required_fields_are_named_when_missing():
    assert set(problems_of({})) == {"equipmentType", "email", "problemDescription"}


def test_category_details_are_kept_and_booleans_become_yes_no():
    intake = validate_intake(
        {
            "equipmentType": "automotive",
            "email": "a@b.co",
            "problemDescription": "stalls",
            "fuelType": "gasoline",
            "checkEngineLightOn": True,
        }
    )
    assert intake.detail("fuelType") == "gasoline"
    assert intake.detail("checkEngineLightOn") == "yes"
    assert intake_to_payload(intake)["fuelType"] == "gasoline"


def test_a_detail_of_another_category_is_named_with_its_owners():
    problems = problems_of(
        {"equipmentType": "hvac", "email": "a@b.co", "problemDescription": "x", "waterType": "salt"}
    )
    assert problems == {"waterType": "is not a detail of hvac (it belongs to marine)"}


def test_empty_details_of_another_category_mean_absent():
    intake = validate_intake(
        {"equipmentType": "hvac", "email": "a@b.co", "problemDescription": "x", "waterType": ""}
    )
    assert intake.details == ()


def test_limits_protect_the_prompt_and_the_pdf():
    problems = problems_of(
        {
            "equipmentType": "hvac",
            "email": "a@b.co",
            "problemDescription": "x" * 5001,
            "symptoms": [f"s{i}" for i in range(31)],
            "make": "bad\x00byte",
            "model": "F-150\u202egnp.exe",
        }
    )
    assert "limit is 5000" in problems["problemDescription"]
    assert "limit is 30" in problems["symptoms"]
    assert problems["make"] == HIDDEN_CHARACTERS
    assert problems["model"] == HIDDEN_CHARACTERS


@pytest.mark.parametrize("payload", [None, [], "text", 42])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    assert problems_of(payload) == {"payload": "must be an object of intake fields"}


def test_wrong_types_are_named_not_crashed_on():
    problems = problems_of(
        {"equipmentType": "hvac", "email": "a@b.co", "problemDescription": {"a": 1}, "symptoms": 5}
    )
    assert problems["problemDescription"] == "must be text"
    assert "symptoms" in problems


def test_payload_round_trip_keeps_every_key():
    intake = validate_intake(ORIGINAL_FRONTEND_PAYLOAD)
    payload = intake_to_payload(intake)
    assert set(PAYLOAD_KEYS) <= set(payload)
    assert validate_intake(payload) == intake


MINIMAL = {"equipmentType": "automotive", "email": "a@b.co", "problemDescription": "stalls"}


@pytest.mark.parametrize(
    "hidden",
    [
        "\u200b",  # zero width space
        "\u200c",  # zero width non-joiner
        "\u200d",  # zero width joiner between letters
        "\u2060",  # word joiner
        "\ufeff",  # zero width no-break space (BOM)
        "\u0080",  # C1 controls, first and last
        "\u009f",
        "\u0085",  # next line (C1)
        "\u007f",  # delete
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\u200f",  # right-to-left mark
        "\u061c",  # Arabic letter mark
    ],
)
def test_invisible_and_control_characters_inside_a_text_are_refused(hidden):
    # The attack: "Pay\u200bPal" reads as PayPal in the report but is another text.
    problems = problems_of(
        {**MINIMAL, "make": f"Pay{hidden}Pal", "problemDescription": f"stalls{hidden} hot"}
    )
    assert problems == {"make": HIDDEN_CHARACTERS, "problemDescription": HIDDEN_CHARACTERS}


def test_hidden_characters_in_symptoms_and_details_are_refused_too():
    problems = problems_of(
        {**MINIMAL, "symptoms": ["rough\u200bidle"], "fuelType": "gas\u2060oline"}
    )
    assert problems == {"symptoms[0]": HIDDEN_CHARACTERS, "fuelType": HIDDEN_CHARACTERS}


@pytest.mark.parametrize(
    "text",
    [
        "👨\u200d🔧 my mechanic says the coil pack",  # man mechanic
        "👩🏽\u200d🔧 with a skin tone",  # woman mechanic, medium skin tone
        "🏳\ufe0f\u200d🌈 flag sticker on the hood",  # rainbow flag: VS16 before the ZWJ
        "👨\u200d👩\u200d👧 family car",  # a family: two ZWJs
    ],
)
def test_a_zwj_joining_two_emoji_is_what_a_customer_typed_and_passes(text):
    assert validate_intake({**MINIMAL, "problemDescription": text}).problem_description == text


@pytest.mark.parametrize(
    "text",
    ["🔧\u200d", "\u200d🔧", "a\u200d🔧", "🔧\u200db", "🔧\u200d\u200d🔧"],
)
def test_a_zwj_that_does_not_join_two_emoji_is_refused(text):
    problems = problems_of({**MINIMAL, "problemDescription": f"x {text} y"})
    assert problems == {"problemDescription": HIDDEN_CHARACTERS}


def test_spanish_and_cjk_text_passes():
    payload = {
        **MINIMAL,
        "make": "Citroën",
        "model": "トヨタ カローラ",
        "problemDescription": "El motor tiembla al ralentí; ¿qué pasa? 发动机抖动",
        "fullName": "José Núñez",
        "locationEnvironment": "Niño, Perú",
    }
    intake = validate_intake(payload)
    assert intake.model == "トヨタ カローラ"
    assert intake.problem_description.endswith("发动机抖动")


def test_a_256_character_email_gives_one_error_not_two():
    with pytest.raises(IntakeInvalid) as caught:
        validate_intake({**MINIMAL, "email": "a" * 248 + "@mail.co"})
    problems = caught.value.problems
    assert [p.field for p in problems] == ["email"], problems
    assert "256 characters" in problems[0].problem


def test_a_missing_email_is_still_required():
    assert problems_of({**MINIMAL, "email": ""}) == {"email": "is required"}


@pytest.mark.parametrize(
    "amount, cents",
    [(499.9, 49_990), ("499.9", 49_990), ("$1,250.05", 125_005), (499, 49_900), ("0", 0)],
)
def test_a_shop_quote_keeps_every_cent(amount, cents):
    assert validate_intake({**MINIMAL, "shopQuoteAmount": amount}).shop_quote_cents == cents


@pytest.mark.parametrize("amount", [499.999, "1250.004", "0.001"])
def test_a_shop_quote_with_fractions_of_a_cent_is_refused_not_rounded(amount):
    assert problems_of({**MINIMAL, "shopQuoteAmount": amount}) == {
        "shopQuoteAmount": "has more than two decimals"
    }
