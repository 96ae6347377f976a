"""The maker code tables (``data/*.json``), loaded once per process.

One file per maker system: which makes and equipment categories it covers, which code families
it decodes, where an owner or a technician confirms a code, and one entry per code with its
meaning, its certainty and the offline knowledge-base causes it points at. The sources are
named in each file's ``_about``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from diagpro.domain.analysis import Certainty
from diagpro.domain.codes import CodeFamily

_PACKAGE = "diagpro.adapters.code_book"
_UNKNOWN_FILE = "unknown.json"


@dataclass(frozen=True)
class Entry:
    meaning: str
    certainty: Certainty
    causes: tuple[str, ...]  # offline knowledge-base cause ids, strongest first
    bearing: str  # what it says about the case; "" when the meaning says it all


@dataclass(frozen=True)
class MakerSystem:
    system: str  # "Carrier/Bryant furnace status code"
    makers: tuple[str, ...]  # lower-case names and aliases found in the make or model
    categories: frozenset[str]
    families: frozenset[CodeFamily]
    confirm: str  # where to confirm a code: a named label, manual section, article or tool
    codes: dict[str, Entry]

    def covers(self, make_and_model: str, category: str) -> bool:
        words = f" {re.sub(r'[^a-z0-9&]+', ' ', make_and_model.lower())} "
        return category in self.categories and any(f" {m} " in words for m in self.makers)


@dataclass(frozen=True)
class Fallback:
    system: str
    confirm: str


@dataclass(frozen=True)
class Tables:
    systems: tuple[MakerSystem, ...]
    fallbacks: dict[str, Fallback]  # by category; "default" for the rest

    def fallback(self, category: str) -> Fallback:
        return self.fallbacks.get(category, self.fallbacks["default"])


def _entries(raw: dict[str, Any], default: Certainty) -> dict[str, Entry]:
    def entry(item: dict[str, Any]) -> Entry:
        return Entry(
            meaning=item["meaning"],
            certainty=Certainty(item.get("certainty", default)),
            causes=tuple(item.get("causes", ())),
            bearing=item.get("bearing", ""),
        )

    codes = {code: entry(item) for code, item in raw.get("codes", {}).items()}
    # Apple publishes its restore errors in groups with one meaning each.
    for group in raw.get("groups", {}).values():
        codes.update(dict.fromkeys(group["codes"], entry(group)))
    return codes


def _system(raw: dict[str, Any]) -> MakerSystem:
    return MakerSystem(
        system=raw["system"],
        makers=tuple(m.lower() for m in raw["makers"]),
        categories=frozenset(raw["categories"]),
        families=frozenset(CodeFamily(f) for f in raw["families"]),
        confirm=raw["confirm"],
        codes=_entries(raw, Certainty(raw["certainty"])),
    )


@cache
def tables() -> Tables:
    folder = resources.files(_PACKAGE).joinpath("data")
    # Sorted so that the first system that covers a make is the same on every machine.
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    systems = tuple(
        _system(json.loads(folder.joinpath(n).read_text("utf-8")))
        for n in names
        if n != _UNKNOWN_FILE
    )
    unknown = json.loads(folder.joinpath(_UNKNOWN_FILE).read_text("utf-8"))
    fallbacks = {k: Fallback(v["system"], v["confirm"]) for k, v in unknown.items() if k[0] != "_"}
    return Tables(systems, fallbacks)


# Read by path rather than through the offline analyzer's package, which imports this one.
_OFFLINE_DATA = Path(__file__).resolve().parent.parent / "offline_analyzer" / "data"


@cache
def offline_table(name: str) -> Any:
    """The offline analyzer's OBD-II or J1939 table (``obd2.json``, ``j1939.json``), read where
    it lives so that there is one copy of each."""
    return json.loads((_OFFLINE_DATA / name).read_text("utf-8"))
