"""What kind of machine this is, as far as the intake tells: the facts advice must fit.

Causes, tests, alerts and warnings in the knowledge base name the machine facts they need
(``"needs": ["diesel"]``) or cannot apply to (``"not_for": ["no_crank"]``); the analyzer drops
whatever does not fit, so a Duramax never gets a Cummins grid heater and a phone never gets a fan.
A fact the intake does not settle is simply absent: only positive knowledge excludes advice.

Tags: gasoline, diesel, electric; duramax, cummins, powerstroke, detroit, paccar (engine family);
no_crank; wideband_o2; phone, computer; hydraulic.
"""

from __future__ import annotations

import re
import unicodedata

from diagpro.domain.intake import Intake

_DIESEL_CATEGORIES = frozenset({"diesel-trucks", "semi-trucks"})
_ELECTRIC_CATEGORIES = frozenset({"golf-carts", "power-tools"})
# Engine families by the words owners and shops use for them. Makes alone do not settle it
# (a Cascadia ships with a Detroit DD15 or a Cummins X15), so only named engines count, plus
# the pickup makes that fit one diesel family only.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "duramax": ("duramax", "lml", "lbz", "lly", "lb7", "lmm", "l5p", "lgh"),
    "cummins": ("cummins", "isx", "x15", "isb", "6.7 cummins", "5.9 cummins", "isl"),
    "powerstroke": ("powerstroke", "power stroke", "6.0l diesel", "6.4l diesel", "6.7 powerstroke"),
    "detroit": ("detroit", "dd13", "dd15", "dd16", "series 60"),
    "paccar": ("paccar mx", "mx-13", "mx13", "mx-11"),
}
_DIESEL_MAKE_FAMILY = {
    "chevrolet": "duramax",
    "chevy": "duramax",
    "gmc": "duramax",
    "ram": "cummins",
}
_DIESEL_WORDS = ("diesel", "dpf", "def fluid", "regen", "glow plug", "turbo diesel", "tdi")
# "Cranks but won't start" cranks; these do not turn the engine over at all.
_NO_CRANK = re.compile(
    r"(?:won'?t|will not|doesn'?t|does not|no|not|can'?t) (?:even )?(?:crank|turn over)"
    r"|no crank|just clicks|only clicks|no hace nada al arrancar|no gira el motor"
    r"|el motor no gira|no da marcha"
)
_CRANKS = re.compile(r"\bcranks? (?:but|fine|normally|over)|turns over but|gira pero")
# Makers that fit a wide-band air-fuel ratio sensor upstream (Toyota and Honda call it the A/F
# sensor, Sensor 1); its signal does not switch, so a switching test does not apply. Toyota's
# and Honda's service information describe it for most models since the mid-2000s.
_WIDEBAND_MAKES = frozenset({"honda", "acura", "toyota", "lexus", "subaru", "scion", "mazda"})
_WIDEBAND_FROM_YEAR = 2005
_PHONE = ("iphone", "phone", "android", "galaxy", "pixel", "smartphone", "celular", "movil")
_COMPUTER = ("laptop", "macbook", "computer", "desktop", "notebook", "pc", "imac", "portatil")
_HYDRAULIC = ("hydraulic", "loader", "bucket", "3-point", "three-point", "hidraulic")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("\u2019", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def _has(words: tuple[str, ...], text: str) -> bool:
    return any(re.search(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])", text) for w in words)


def machine_tags(intake: Intake) -> frozenset[str]:
    """The machine facts this intake settles (see the module docstring)."""
    about = _plain(" ".join((intake.make, intake.model, *dict(intake.details).values())))
    said = _plain(
        " ".join((intake.problem_description, *intake.symptoms, intake.troubleshooting_steps))
    )
    everything = f"{about} {said} {_plain(intake.previous_repairs)}"
    tags: set[str] = set()
    fuel = _plain(intake.detail("fuelType") or intake.detail("powerSource"))
    if intake.equipment_type in _DIESEL_CATEGORIES or "diesel" in fuel:
        tags.add("diesel")
    elif any(w in fuel for w in ("electric", "battery", "cordless", "corded")):
        tags.add("electric")
    elif "gas" in fuel or "petrol" in fuel:
        tags.add("gasoline")
    elif _has(_DIESEL_WORDS, everything):
        tags.add("diesel")
    elif intake.equipment_type in _ELECTRIC_CATEGORIES:
        tags.add("electric")
    elif intake.equipment_type in ("automotive", "gas-trucks", "lawn-garden", "motorcycles"):
        tags.add("gasoline")
    elif intake.equipment_type in ("farm-ag", "compact-equipment") and _plain(intake.make) in (
        "john deere",
        "deere",
        "case",
        "case ih",
        "new holland",
        "kubota",
        "massey ferguson",
    ):
        tags.add("diesel")  # tractors and loaders from these makers are diesel
    for family, words in _FAMILIES.items():
        if _has(words, everything):
            tags.add(family)
    if "diesel" in tags and not tags & _FAMILIES.keys():
        pickup = _DIESEL_MAKE_FAMILY.get(_plain(intake.make))
        if pickup and intake.equipment_type in ("diesel-trucks", "gas-trucks", "automotive"):
            tags.add(pickup)
    if _NO_CRANK.search(said) and not _CRANKS.search(said):
        tags.add("no_crank")
    year = int(intake.year) if intake.year.isdigit() else 0
    wideband_make = _plain(intake.make) in _WIDEBAND_MAKES and "gasoline" in tags
    if wideband_make and (year == 0 or year >= _WIDEBAND_FROM_YEAR):
        tags.add("wideband_o2")
    if intake.equipment_type == "electronics":
        if _has(_PHONE, everything):
            tags.add("phone")
        elif _has(_COMPUTER, everything):
            tags.add("computer")
    if _has(_HYDRAULIC, everything):
        tags.add("hydraulic")
    return frozenset(tags)


def fits(needs: tuple[str, ...], not_for: tuple[str, ...], tags: frozenset[str]) -> bool:
    """Whether advice that needs ``needs`` and cannot apply to ``not_for`` fits this machine.
    A need is one tag or alternatives joined by '|' ("cummins|paccar")."""
    return all(tags & set(n.split("|")) for n in needs) and not tags & set(not_for)
