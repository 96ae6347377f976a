"""The owner's own findings as facts: what each test, swap, repair or reading proves.

A technician starts from what the owner already found. "Swapped coil 1 and 2, the misfire stayed
on cylinder 1" clears the coil (a bad coil takes the misfire with it) and points at that
cylinder's injector and compression; "ran two forced regens" means a regen is not the next step
and ash, which a regen cannot burn, becomes the suspect. Each finding is one entry in
``data/findings.json``: patterns (English and Spanish) matched against what the owner wrote, the
fact and what it proves, the causes it rules out (with the reason shown to the owner), the causes
it raises, and the tests it already did (never asked for again).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from diagpro.adapters.offline_analyzer.machine import _plain
from diagpro.domain.analysis import OwnerFact, RuledOut
from diagpro.domain.intake import Intake

_PACKAGE = "diagpro.adapters.offline_analyzer"
_WORD_NUMBERS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6"}


@dataclass(frozen=True)
class Finding:
    id: str
    groups: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    fact: str  # may hold {n}: the first number the pattern captured (a cylinder, a count)
    fact_any: str  # the same without a number, when the pattern captured none
    proves: str
    rules_out: dict[str, str]  # cause id -> why it is ruled out
    raises: dict[str, int]  # cause id -> weight added, as a rule would
    tests_done: tuple[str, ...]  # test names the owner already did
    covers: tuple[str, ...]  # causes whose repair this finding states (no second "you reported")


@dataclass(frozen=True)
class OwnerFinding:
    """One finding that matched this intake, its numbers filled in."""

    finding: Finding
    number: str  # what {n} stands for ("" when the pattern captured none)

    @property
    def fact(self) -> str:
        """The fact's English text (the msgid), before the number is filled in."""
        return self.finding.fact if self.number else self.finding.fact_any


@cache
def findings() -> tuple[Finding, ...]:
    raw = json.loads(
        resources.files(_PACKAGE).joinpath("data").joinpath("findings.json").read_text("utf-8")
    )
    return tuple(_finding(entry) for entry in raw["findings"])


def _finding(entry: dict[str, Any]) -> Finding:
    return Finding(
        id=entry["id"],
        groups=tuple(entry["groups"]),
        patterns=tuple(re.compile(p) for p in entry["patterns"]),
        fact=entry["fact"],
        fact_any=entry["fact_any"],
        proves=entry["proves"],
        rules_out=dict(entry.get("rules_out", {})),
        raises={k: int(v) for k, v in entry.get("raises", {}).items()},
        tests_done=tuple(entry.get("tests_done", ())),
        covers=tuple(entry.get("covers", ())),
    )


def owners_findings_text(intake: Intake) -> str:
    """What the owner did and saw, normalised for matching (accents removed, numbers as digits)."""
    text = _plain(
        " . ".join(
            (
                intake.troubleshooting_steps,
                intake.previous_repairs,
                intake.problem_description,
                *(v for f, v in intake.details if f in ("dpfRegenIssues", "errorMessages")),
            )
        )
    )
    return re.sub(r"\b(" + "|".join(_WORD_NUMBERS) + r")\b", lambda m: _WORD_NUMBERS[m[1]], text)


def match_findings(intake: Intake, groups: tuple[str, ...]) -> tuple[OwnerFinding, ...]:
    """The findings whose patterns match what the owner wrote, in the data's order."""
    text = owners_findings_text(intake)
    matched: list[OwnerFinding] = []
    for finding in findings():
        if not set(finding.groups) & set(groups):
            continue
        for pattern in finding.patterns:
            match = pattern.search(text)
            if match:
                number = next((g for g in match.groups() if g), "") if match.groups() else ""
                matched.append(OwnerFinding(finding, number))
                break
    return tuple(matched)


def stated_findings(intake: Intake) -> tuple[tuple[OwnerFact, ...], tuple[RuledOut, ...]]:
    """The owner's findings as diagpro's rules read them, in English: what each proves and the
    causes it clears. The Gemini prompt states them, so the model starts from the same facts
    the offline analyzer does, and its parser checks the cleared causes are acknowledged."""
    from diagpro.adapters.offline_analyzer.knowledge import knowledge  # the KB imports this module

    kb = knowledge()
    matched = match_findings(intake, kb.profiles[intake.equipment_type].groups)
    facts = tuple(OwnerFact(m.fact.format(n=m.number), m.finding.proves) for m in matched)
    cleared = tuple(
        RuledOut(kb.causes[cause].name, because)
        for m in matched
        for cause, because in m.finding.rules_out.items()
        if cause in kb.causes
    )
    return facts, tuple(dict.fromkeys(cleared))
