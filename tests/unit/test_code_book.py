"""The maker code book: makers' own codes decoded for the owner's machine."""

import json
from pathlib import Path

import pytest

from diagpro.adapters.code_book import cause_hints, decode_codes, translatable_texts
from diagpro.adapters.code_book.tables import tables
from diagpro.domain.analysis import Certainty
from diagpro.domain.codes import extract_codes
from diagpro.domain.intake import validate_intake

GROUPS = Path(__file__).resolve().parents[2] / "src/diagpro/adapters/offline_analyzer/data/groups"


def intake(kind: str, **fields):
    payload = {"equipmentType": kind, "email": "a@b.co", "problemDescription": "see codes"}
    return validate_intake(payload | fields)


def decoded(kind: str, language: str = "en", **fields):
    case = intake(kind, **fields)
    return decode_codes(case, extract_codes(case), language)


def test_carrier_3_then_1_is_the_pressure_switch_that_did_not_close():
    (code,) = decoded("hvac", make="Carrier", errorCodes="3 then 1")
    assert code.code == "Flash code 3-1"
    assert code.system.startswith("Carrier/Bryant")
    assert "pressure switch did not close" in code.meaning.lower()
    assert code.certainty == Certainty.KNOWN
    # What it says about the case, short enough to print whole (the "never jumper the pressure
    # switch" warning is the analyzer's do-not, printed once).
    assert "draft was never proved" in code.bearing and len(code.bearing) < 150


def test_bryant_is_carrier_and_american_standard_is_trane():
    (bryant,) = decoded("hvac", make="Bryant", problemDescription="LED code 33")
    assert bryant.system.startswith("Carrier/Bryant") and "Limit circuit" in bryant.meaning
    (trane,) = decoded("hvac", make="American Standard", problemDescription="LED flashes 4 times")
    assert trane.system.startswith("Trane") and "limit" in trane.meaning.lower()
    assert trane.certainty == Certainty.TYPICAL and "service facts" in trane.bearing


def test_carrier_3_1_points_at_the_hvac_pressure_switch_cause():
    case = intake("hvac", make="Carrier", problemDescription="The light flashes 3 then 1")
    assert cause_hints(case, extract_codes(case))[0] == "pressure_switch"


def test_iphone_restore_error_4013_is_decoded_as_a_disconnect_pointing_at_the_board():
    case = intake("electronics", make="Apple", model="iPhone 12", problemDescription="error 4013")
    (code,) = decode_codes(case, extract_codes(case), "en")
    assert code.code == "Error 4013" and code.certainty == Certainty.KNOWN
    assert "disconnected unexpectedly" in code.meaning
    assert "logic board" in code.bearing and "not the battery" in code.bearing
    assert cause_hints(case, extract_codes(case))[0] == "logic_board"


def test_an_iphone_named_only_in_the_model_is_still_apple():
    (code,) = decoded("electronics", model="iPhone 8", problemDescription="iTunes error 9")
    assert code.system.startswith("Apple")


def test_an_unknown_code_says_where_to_confirm_it():
    (code,) = decoded("hvac", problemDescription="The LED flashes 7 times")
    assert code.certainty == Certainty.UNKNOWN and code.meaning == ""
    assert "blower door" in code.bearing and "model number" in code.bearing
    (apple,) = decoded("electronics", make="Apple", problemDescription="error 9999")
    assert apple.certainty == Certainty.UNKNOWN and "Apple Support" in apple.bearing


def test_obd2_and_j1939_are_decoded_from_the_sae_tables():
    obd = decoded("automotive", errorCodes="P0301 P1450")
    assert obd[0].meaning == "Cylinder 1 misfire detected" and obd[0].certainty == Certainty.KNOWN
    assert obd[1].certainty == Certainty.UNKNOWN and "maker's service information" in obd[1].bearing
    deere = decoded("farm-ag", make="John Deere", problemDescription="ECU 000110.00, 523773.03")
    assert deere[0].code == "SPN 110 FMI 0" and "coolant temperature" in deere[0].meaning
    assert deere[0].system.startswith("John Deere")
    assert deere[1].certainty == Certainty.UNKNOWN and "Service ADVISOR" in deere[1].bearing


def test_yamaha_outboard_codes_and_flash_counts_read_the_same_table():
    by_number = decoded("marine", make="Yamaha", problemDescription="gauge shows code 19")
    by_flashes = decoded("marine", make="Yamaha", problemDescription="light flashes 1 then 9")
    assert by_number[0].meaning == by_flashes[0].meaning
    assert "Battery voltage" in by_number[0].meaning
    assert by_number[0].certainty == Certainty.TYPICAL and "YDS" in by_number[0].bearing


def test_codes_come_back_one_per_code_in_order():
    case = intake("hvac", make="Lennox", problemDescription="E 223 then E 250 and code 7")
    found = extract_codes(case)
    assert [c.code for c in decode_codes(case, found, "en")] == ["E 223", "E 250", "Code 7"]


def test_the_tables_name_only_causes_the_knowledge_base_has():
    known = {
        cause
        for path in GROUPS.glob("*.json")
        for cause in json.loads(path.read_text("utf-8"))["causes"]
    }
    named = {c for s in tables().systems for e in s.codes.values() for c in e.causes}
    assert named <= known, named - known


def test_every_system_says_where_to_confirm_beyond_the_manual_alone():
    for system in tables().systems:
        assert len(system.confirm.split()) >= 6, system.system


def test_spanish_meanings_come_from_the_codes_catalogue():
    (code,) = decoded("hvac", "es", make="Carrier", problemDescription="parpadea 3 veces y luego 1")
    assert code.code == "Código de destellos 3-1"
    assert "presostato" in code.meaning.lower()


@pytest.mark.parametrize("text", translatable_texts())
def test_translatable_texts_have_no_stray_placeholders(text):
    assert text.count("{") == text.count("}")
