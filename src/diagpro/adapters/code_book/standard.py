"""OBD-II and J1939 codes, decoded from the offline analyzer's SAE tables (obd2.json and
j1939.json, read where they live).

OBD-II: SAE J2012 fixes the meaning of generic codes (second character 0, and P2/P34-P39); the
others belong to the vehicle maker. J1939: SAE J1939-71 names the suspect parameter (SPN) and
J1939-73 the failure mode (FMI 0-31); SPNs from 520192 up are assigned by the engine or machine
maker.
"""

from __future__ import annotations

from typing import Any

from diagpro.adapters.code_book.tables import offline_table
from diagpro.adapters.messages import Messages
from diagpro.domain.analysis import Certainty, DecodedCode


def N_(text: str) -> str:
    """Marks a text for the catalogue without translating it here."""
    return text


OBD2_SYSTEM = N_("OBD-II")
J1939_SYSTEM = N_("SAE J1939")
_MAKER_OBD2 = N_(
    "A manufacturer-specific code in the {group} group: confirm its meaning in the maker's "
    "service information for your model (a dealer, or a repair database such as ALLDATA or "
    "Mitchell 1)."
)
_GENERIC_OBD2 = N_(
    "A generic SAE J2012 code in the {group} group; the exact wording is in the vehicle's "
    "service information."
)
_GROUP_FAULT = N_("{group} fault")
_SPN_FMI = N_("{parameter}: {failure}")
_UNKNOWN_SPN = N_("FMI {fmi} means: {failure}. Confirm SPN {spn} in SAE J1939-71 or {where}.")
_PROPRIETARY_SPN = N_(
    "SPN {spn} is the maker's own parameter (FMI {fmi}: {failure}); confirm it in {where}."
)
_ENGINE_MAKER = N_("the engine maker's fault code manual")
_POWERTRAIN = N_("powertrain")
_BAD_FMI = N_("not a valid FMI (J1939 defines 0-31)")
SENTENCES = (
    OBD2_SYSTEM, J1939_SYSTEM, _MAKER_OBD2, _GENERIC_OBD2, _GROUP_FAULT, _SPN_FMI,
    _UNKNOWN_SPN, _PROPRIETARY_SPN, _ENGINE_MAKER, _POWERTRAIN, _BAD_FMI,
)  # fmt: skip


def obd2_texts() -> tuple[str, ...]:
    """The table's group names: the catalogue translates them (the code names stay English
    until translated; see the codes domain's catalogue)."""
    table = offline_table("obd2.json")
    return tuple(dict.fromkeys((*table["p_subgroups"].values(), *table["bcu_subgroups"].values())))


def j1939_texts() -> tuple[str, ...]:
    table = offline_table("j1939.json")
    return tuple(dict.fromkeys((*table["spns"].values(), *table["fmis"].values())))


def obd2_group(code: str, table: dict[str, Any]) -> str:
    """The SAE J2012 group a code sits in (its subsystem), in English (a msgid)."""
    letter, second = code[0], code[1]
    if letter == "P" and (second == "0" or code[2].isdigit()):
        group: str = table["p_subgroups"].get(code[2], _POWERTRAIN)
        return group
    if letter == "P":
        return _POWERTRAIN  # P0A.. hybrid sit in p_subgroups; P2A..P2F are not hybrid codes
    system: str = table["systems"][letter]
    return str(table["bcu_subgroups"].get(code[:2], system))


def obd2_generic(code: str, table: dict[str, Any]) -> bool:
    """Whether SAE defines the code's meaning (else the vehicle maker does)."""
    ownership = table["ownership"][code[0]].get(code[1], "manufacturer")
    if ownership == "mixed":  # SAE J2012: P3000-P33FF belong to the maker, P3400 up are generic
        return code[2] not in "0123"
    return bool(ownership == "generic")


def decode_obd2(code: str, t: Messages) -> DecodedCode:
    table = offline_table("obd2.json")
    group = t(obd2_group(code, table))
    known = table["codes"].get(code)
    if known:
        return DecodedCode(code, t(OBD2_SYSTEM), t(known), Certainty.KNOWN)
    if obd2_generic(code, table):
        meaning = t(_GROUP_FAULT, group=group)
        return DecodedCode(
            code, t(OBD2_SYSTEM), meaning[0].upper() + meaning[1:], Certainty.TYPICAL,
            t(_GENERIC_OBD2, group=group),
        )  # fmt: skip
    return DecodedCode(code, t(OBD2_SYSTEM), "", Certainty.UNKNOWN, t(_MAKER_OBD2, group=group))


def decode_j1939(code: str, t: Messages, system: str, where: str) -> DecodedCode:
    """``system`` and ``where`` name the maker when it is known (a Deere tractor)."""
    table = offline_table("j1939.json")
    spn_text, fmi_text = code.removeprefix("SPN").split("/FMI")
    spn, fmi = int(spn_text), int(fmi_text)
    printed = f"SPN {spn} FMI {fmi}"
    failure = t(table["fmis"].get(str(fmi), _BAD_FMI))
    parameter = table["spns"].get(str(spn))
    if parameter:
        meaning = t(_SPN_FMI, parameter=t(parameter), failure=failure)
        return DecodedCode(printed, system, meaning, Certainty.KNOWN)
    where = where or t(_ENGINE_MAKER)
    if table["proprietary_from"] <= spn <= table["proprietary_to"]:
        bearing = t(_PROPRIETARY_SPN, spn=spn, fmi=fmi, failure=failure, where=where)
    else:
        bearing = t(_UNKNOWN_SPN, spn=spn, fmi=fmi, failure=failure, where=where)
    return DecodedCode(printed, system, "", Certainty.UNKNOWN, bearing)
