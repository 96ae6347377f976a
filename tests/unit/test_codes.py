"""Codes found wherever the customer wrote them (the original's extractDiagnosticCodes)."""

from diagpro.domain.codes import CodeFamily, extract_codes
from diagpro.domain.intake import validate_intake


def codes(**fields):
    payload = {"equipmentType": "automotive", "email": "a@b.co", **fields}
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
        (CodeFamily.EQUIPMENT, "ALM-12"),
        (CodeFamily.BLINK, "FLASH:3-2"),
    ]


def test_words_that_look_like_hex_are_not_codes():
    assert codes(problemDescription="a BEEF CAFE smell, no codes") == []


def test_codes_in_details_and_symptoms_are_found():
    found = codes(symptoms=["light on with P0420"], eldEcmFaultCodes="")
    assert found == [(CodeFamily.OBD2, "P0420")]
