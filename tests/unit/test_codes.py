"""Codes found wherever the customer wrote them (the original's extractDiagnosticCodes)."""

import pytest

from diagpro.domain.codes import CodeFamily, extract_codes
from diagpro.domain.intake import validate_intake


def codes(**fields):
    payload = {"equipmentType": "automotive", "email": "a@b.co"} | fields
    if not any(k in fields for k in ("problemDescription", "symptoms", "errorCodes")):
        payload["problemDescription"] = "see codes"
    return [(c.family, c.code) for c in extract_codes(validate_intake(payload))]


def test_obd2_codes_are_uppercased_and_deduplicated_in_order():
    assert codes(errorCodes="p0301, P0171 and p0301", problemDescription="also U0100") == [
        (CodeFamily.OBD2, "P0301"),
        (CodeFamily.OBD2, "P0171"),
        (CodeFamily.OBD2, "U0100"),
    ]


def test_j1939_spn_fmi_in_its_written_forms():
    found = codes(errorCodes="SPN 3251 FMI 16; spn520198/fmi7", problemDescription="SPN 94, FMI 1")
    assert [c for _, c in found] == ["SPN3251/FMI16", "SPN520198/FMI7", "SPN94/FMI1"]


def test_equipment_and_blink_codes_are_told_apart():
    found = codes(errorCodes="ERR-42, fault 7", problemDescription="blink code 3-2, then ALM 12")
    assert found == [
        (CodeFamily.EQUIPMENT, "ERR-42"),
        (CodeFamily.EQUIPMENT, "FAULT-7"),
        (CodeFamily.BLINK, "FLASH:3-2"),
        (CodeFamily.EQUIPMENT, "ALM-12"),
    ]


def test_words_that_look_like_hex_are_not_codes():
    assert codes(problemDescription="a BEEF CAFE smell, no codes") == []


def test_codes_in_details_and_symptoms_are_found():
    found = codes(symptoms=["light on with P0420"], eldEcmFaultCodes="")
    assert found == [(CodeFamily.OBD2, "P0420")]


def blinks(kind="hvac", **fields):
    return [code for family, code in codes(equipmentType=kind, **fields)]


def test_codes_keep_the_category_they_are_given():
    assert codes(equipmentType="hvac", errorCodes="3-1") == [(CodeFamily.BLINK, "FLASH:3-1")]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"errorCodes": "3 then 1"}, "FLASH:3-1"),
        ({"errorCodes": "3-1"}, "FLASH:3-1"),
        ({"errorCodes": "3,1"}, "FLASH:3-1"),
        ({"errorCodes": "31"}, "FLASH:3-1"),
        ({"problemDescription": "The status light flashes 3 then 1, over and over"}, "FLASH:3-1"),
        ({"problemDescription": "The LED flashes 3 times then 1"}, "FLASH:3-1"),
        ({"problemDescription": "The LED blinks three times, a pause, then once"}, "FLASH:3-1"),
        ({"problemDescription": "The LED gives 3 long 1 short flashes"}, "FLASH:3-1"),
        ({"problemDescription": "The board shows code 31 on the LED"}, "FLASH:3-1"),
        ({"problemDescription": "La placa muestra el código 31"}, "FLASH:3-1"),
        ({"problemDescription": "La luz destella 3 veces y luego 1 vez"}, "FLASH:3-1"),
        ({"problemDescription": "The light flashes 3 times"}, "FLASH:3"),
        (
            {"problemDescription": "The LED is blinking 3 times, then pauses. Frost outside."},
            "FLASH:3",
        ),
        ({"problemDescription": "La luz roja parpadea 3 veces"}, "FLASH:3"),
        ({"problemDescription": "El led destella 3 veces sin parar"}, "FLASH:3"),
        ({"problemDescription": "blink code 3"}, "FLASH:3"),
    ],
)
def test_every_way_of_writing_a_flash_pattern_is_one_code(fields, expected):
    assert blinks(**fields) == [expected]


def test_the_first_group_of_a_pattern_is_not_a_second_code():
    # The phantom "blink code 3" next to the owner's 3-1.
    found = blinks(problemDescription="It flashes 3 times. Then it flashes once.", errorCodes="3-1")
    assert found == ["FLASH:3-1"]


def test_durations_and_counts_in_a_flash_sentence_are_not_codes():
    assert blinks(problemDescription="The light flashes for 5 seconds after 2 minutes") == []
    assert blinks(problemDescription="The LED flashes and the unit is 12 years old") == []


def test_numbers_outside_a_furnace_are_not_flash_codes():
    assert codes(equipmentType="marine", errorCodes="3-1") == []
    assert codes(equipmentType="marine", problemDescription="gauge shows code 13") == [
        (CodeFamily.EQUIPMENT, "CODE-13")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "error 4013",
        "iTunes error 4013",
        "Apple restore error 4013",
        "The iPhone could not be restored. An unknown error occurred (4013).",
        "error code 4013, then error 4013 again",
        "Se produjo un error desconocido (4013)",
    ],
)
def test_device_errors_are_one_code(text):
    assert codes(equipmentType="electronics", problemDescription=text) == [
        (CodeFamily.EQUIPMENT, "ERROR-4013")
    ]


def test_itunes_and_android_errors_keep_their_numbers():
    found = codes(
        equipmentType="electronics", problemDescription="iTunes error 9; Android error code 7"
    )
    assert found == [(CodeFamily.EQUIPMENT, "ERROR-9"), (CodeFamily.EQUIPMENT, "ERROR-7")]


def test_deere_and_case_spn_fmi_codes_are_j1939():
    found = codes(
        equipmentType="farm-ag",
        problemDescription="Display shows ECU 000110.00 and 523773.03; the part was $110.00",
    )
    assert found == [(CodeFamily.J1939, "SPN110/FMI0"), (CodeFamily.J1939, "SPN523773/FMI3")]


def test_display_codes_on_furnace_and_machine_boards():
    assert codes(equipmentType="hvac", problemDescription="Lennox shows E 223, then E228") == [
        (CodeFamily.EQUIPMENT, "E-223"),
        (CodeFamily.EQUIPMENT, "E-228"),
    ]
    # A truck's model name is not a display code.
    assert codes(equipmentType="automotive", problemDescription="my E 350 van") == []
