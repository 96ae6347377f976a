"""The maker code book: every code the owner gave, decoded for their machine.

``decode_codes`` turns what ``domain.codes.extract_codes`` found into the analysis's
``DecodedCode`` rows, in the owner's order, for every family: OBD-II and J1939 from the SAE
tables, and the makers' own codes (furnace flash codes, Apple restore errors, outboard and
tractor codes) from ``data/*.json``. The maker is picked by the intake's make and model (Bryant
is Carrier, American Standard is Trane, an iPhone is Apple) and the equipment category; the
table by the code's family. A code it cannot decode is ``UNKNOWN`` and says where to confirm it.

``cause_hints`` gives the offline knowledge-base causes the codes point at, for the offline
ranking. Meanings are written in English and translated through the ``codes`` catalogue.
"""

from __future__ import annotations

from diagpro.adapters.code_book import standard
from diagpro.adapters.code_book.tables import Entry, MakerSystem, tables
from diagpro.adapters.messages import Messages
from diagpro.domain.analysis import Certainty, DecodedCode
from diagpro.domain.codes import CodeFamily, DetectedCode
from diagpro.domain.intake import Intake

__all__ = ["cause_hints", "decode_codes", "translatable_texts"]

N_ = standard.N_
_CONFIRM = N_("Check it against {where}.")
_TYPICAL = N_("Meanings differ between models: check it against {where}.")
_UNDECODED = N_("Not in diagpro's tables: look it up in {where}.")
_FLASH = N_("Flash code {code}")
_LABELS = {
    "ERR": N_("Error {code}"),
    "ERROR": N_("Error {code}"),
    "CODE": N_("Code {code}"),
    "FAULT": N_("Fault {code}"),
    "ALM": N_("Alarm {code}"),
    "ALARM": N_("Alarm {code}"),
}
_SENTENCES = (_CONFIRM, _TYPICAL, _UNDECODED, _FLASH, *_LABELS.values())


def _key(code: DetectedCode) -> str:
    """The number as the makers' tables print it: FLASH:3-1 -> "31", ERROR-4013 -> "4013",
    E-223 -> "E223"."""
    if code.family == CodeFamily.BLINK:
        return code.code.removeprefix("FLASH:").replace("-", "")
    word, _, number = code.code.rpartition("-")
    return f"E{number}" if word == "E" else number


def _printed(code: DetectedCode, t: Messages) -> str:
    match code.family:
        case CodeFamily.BLINK:
            return t(_FLASH, code=code.code.removeprefix("FLASH:"))
        case CodeFamily.EQUIPMENT:
            word, _, number = code.code.rpartition("-")
            if word == "E":
                return f"E {number}"
            return t(_LABELS[word], code=number) if word in _LABELS else code.code
        case _:
            return code.code


def _system_for(intake: Intake, family: CodeFamily) -> MakerSystem | None:
    make = f"{intake.make} {intake.model}"
    for system in tables().systems:
        if family in system.families and system.covers(make, intake.equipment_type):
            return system
    return None


def _from_entry(printed: str, system: MakerSystem, entry: Entry, t: Messages) -> DecodedCode:
    where = t(system.confirm)
    if entry.bearing:
        bearing = t(entry.bearing)
    elif entry.certainty == Certainty.TYPICAL:
        bearing = t(_TYPICAL, where=where)
    else:
        bearing = t(_CONFIRM, where=where)
    return DecodedCode(printed, t(system.system), t(entry.meaning), entry.certainty, bearing)


def _decode_one(intake: Intake, code: DetectedCode, t: Messages) -> DecodedCode:
    system = _system_for(intake, code.family)
    if code.family == CodeFamily.OBD2:
        return standard.decode_obd2(code.code, t)
    if code.family == CodeFamily.J1939:
        if system is None:
            return standard.decode_j1939(code.code, t, t(standard.J1939_SYSTEM), "")
        return standard.decode_j1939(code.code, t, t(system.system), t(system.confirm))
    printed = _printed(code, t)
    entry = system.codes.get(_key(code)) if system else None
    if system and entry:
        return _from_entry(printed, system, entry, t)
    if system:
        where, name = t(system.confirm), t(system.system)
    else:
        fallback = tables().fallback(intake.equipment_type)
        where, name = t(fallback.confirm), t(fallback.system)
    return DecodedCode(printed, name, "", Certainty.UNKNOWN, t(_UNDECODED, where=where))


def decode_codes(
    intake: Intake, codes: tuple[DetectedCode, ...], language: str
) -> tuple[DecodedCode, ...]:
    """One decoded row per detected code, in order, written in ``language`` (English where the
    catalogue has no translation)."""
    t = Messages(language, "codes")
    return tuple(_decode_one(intake, code, t) for code in codes)


def cause_hints(intake: Intake, codes: tuple[DetectedCode, ...]) -> tuple[str, ...]:
    """Offline knowledge-base cause ids the codes point at, strongest first: each code's
    causes in the table's order, codes in the owner's order."""
    hints: list[str] = []
    for code in codes:
        system = _system_for(intake, code.family)
        entry = system.codes.get(_key(code)) if system else None
        if entry:
            hints.extend(c for c in entry.causes if c not in hints)
    return tuple(hints)


def translatable_texts() -> tuple[str, ...]:
    """Every text the code book can print, for the ``codes`` catalogue (msgid = English)."""
    book = tables()
    texts: list[str] = [*_SENTENCES, *standard.SENTENCES]
    for system in book.systems:
        texts += [system.system, system.confirm]
        for entry in system.codes.values():
            texts += [entry.meaning, entry.bearing]
    for fallback in book.fallbacks.values():
        texts += [fallback.system, fallback.confirm]
    texts += [*standard.obd2_texts(), *standard.j1939_texts()]
    return tuple(dict.fromkeys(text for text in texts if text))
