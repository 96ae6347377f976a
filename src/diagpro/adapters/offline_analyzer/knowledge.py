"""The built-in knowledge base: code tables, causes, rules and category profiles.

Everything lives as JSON under ``data/`` so that diagnostic knowledge can be reviewed and extended
without touching code, and ships inside the wheel (loaded with importlib.resources, never from a
path on disk). It is loaded and cross-checked once per process: a rule that names a cause nobody
wrote is a packaging bug and fails loudly at first use, not as a half-empty report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from diagpro.adapters.code_book.standard import obd2_generic, obd2_group
from diagpro.domain.analysis import Urgency
from diagpro.domain.codes import CodeFamily, DetectedCode
from diagpro.domain.equipment import CATEGORY_BY_KEY

_PACKAGE = "diagpro.adapters.offline_analyzer"

# The rule group every category falls back on (data/groups/generic.json).
GENERIC = "generic"
# The cause used when nothing in the knowledge base matches; it must exist in generic.json.
UNDETERMINED = "gen_undetermined"


@dataclass(frozen=True)
class Procedure:
    """A test a shop runs before replacing anything, with the reading that decides it."""

    name: str  # "Coil swap test"
    how: str
    expected: str  # the reading that confirms or rules out the cause
    hours: tuple[float, float]  # shop time, priced at the category's labour rate
    needs: tuple[str, ...] = ()  # machine facts it needs (machine.py), e.g. ("diesel",)
    not_for: tuple[str, ...] = ()  # machine facts that make it not apply, e.g. ("no_crank",)


@dataclass(frozen=True)
class Cause:
    id: str
    name: str
    explain: str
    repair: str  # what the shop does about it: "Replace the ignition coil on the misfiring ..."
    tests: tuple[Procedure, ...]  # the decisive test first
    questions: tuple[str, ...]
    parts: str
    parts_usd: tuple[int, int]
    labor_hours: tuple[float, float]
    prevention: str
    data: tuple[str, ...]
    terms: tuple[str, ...]  # how a shop estimate or a past repair names this repair
    wear: bool  # a wear item: high mileage/hours makes it more likely
    wear_at: float | None  # when it wears out sooner than the category's wear_at
    urgency: Urgency  # how soon to act when this is the most likely cause
    needs: tuple[str, ...] = ()
    not_for: tuple[str, ...] = ()
    do_not: tuple[str, ...] = ()  # machine-specific "do not do this" warnings
    # (check, what it tells, test it duplicates): free, about ten minutes, no shop tools
    owner_checks: tuple[tuple[str, str, str], ...] = ()
    # What it costs when the fault is left to cascade: (repair, parts low, parts high, hours
    # low, hours high); None when it does not cascade.
    worst_case: tuple[str, int, int, float, float] | None = None


@dataclass(frozen=True)
class Rule:
    """If any trigger matches, each listed cause gains its weight (1 weak hint .. 5 usual cause)."""

    group: str
    codes: tuple[str, ...]  # exact codes, or prefixes ending in '*'
    words: tuple[str, ...]  # keywords; a trailing '*' matches any ending
    details: tuple[tuple[str, str], ...]  # (detail field, keyword); '' = any affirmative value
    unless: tuple[tuple[str, str], ...]  # (detail field, keyword) that switch the rule off
    causes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Alert:
    """A safety message printed whenever its trigger appears, whatever the ranking says."""

    group: str
    topic: str  # a category's own alert replaces the generic one on the same topic
    codes: tuple[str, ...]
    words: tuple[str, ...]
    text: str
    # STOP: do not use it until checked. SOON: act now, but it may still be used to reach the
    # shop (an SCR inducement countdown) or it is not a hazard at all (back up your data).
    level: Urgency
    needs: tuple[str, ...] = ()
    not_for: tuple[str, ...] = ()


@dataclass(frozen=True)
class WarningSign:
    """A sign that turns "soon" into "stop", printed only when the case is about it: one of its
    causes is ranked, one of its codes was read, or the owner's words name it (a sinking brake
    pedal is no warning sign for a misfire)."""

    text: str
    causes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # exact codes, or prefixes ending in '*'
    words: tuple[str, ...] = ()  # keywords, matched as the rules match them


@dataclass(frozen=True)
class Profile:
    """What the analyzer knows about one equipment category (categories.json)."""

    key: str
    noun: str  # singular, for prose when only the category is known ("vehicle", "boat")
    groups: tuple[str, ...]
    frame: str
    code_hint: str
    code_table: str
    usage_unit: str
    wear_at: float
    labour_usd: int  # an independent shop's hourly rate in 2026 (one rate, stated once)
    diag_fee_usd: tuple[int, int]
    shop: str
    stop: str  # what to do when the report says not to use it ("Do not ride it until ...")
    safety: tuple[str, ...]
    warning_signs: tuple[WarningSign, ...]
    sources: tuple[str, ...]
    parts: str
    baseline_tests: tuple[Procedure, ...]
    baseline_data: tuple[str, ...]
    maintenance: tuple[str, ...]
    no_go: str
    owner_checks: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class DecodedCode:
    code: DetectedCode
    meaning: str  # "Cylinder 1 misfire detected"
    detail: str  # what kind of code it is and where its meaning comes from
    specific: bool  # True when an explicit table entry gave the meaning

    @property
    def display(self) -> str:
        """The code as the customer would write it ('Flash code 3-2' rather than FLASH:3-2)."""
        if self.code.family == CodeFamily.BLINK:
            return f"Flash code {self.code.code.removeprefix('FLASH:')}"
        if self.code.family == CodeFamily.J1939:
            spn, fmi = self.code.code.removeprefix("SPN").split("/FMI")
            return f"SPN {spn} FMI {fmi}"
        return self.code.code


@dataclass(frozen=True)
class KnowledgeBase:
    causes: dict[str, Cause]
    rules: tuple[Rule, ...]
    alerts: tuple[Alert, ...]
    profiles: dict[str, Profile]
    obd2: dict[str, Any]
    j1939: dict[str, Any]

    def rule_tiers(self, profile: Profile) -> tuple[tuple[Rule, ...], ...]:
        """The category's own rules, then the generic ones: the generic tier is only a fallback,
        so a car's misfire is never also explained by the generic 'engine misfire' cause."""
        own = tuple(r for r in self.rules if r.group in profile.groups and r.group != GENERIC)
        return own, tuple(r for r in self.rules if r.group == GENERIC)

    def alerts_for(self, profile: Profile) -> tuple[Alert, ...]:
        """The category's own alerts, then the generic ones on topics it does not cover (one
        brake warning for a car, not the car's and the generic one)."""
        own = [a for a in self.alerts if a.group in profile.groups and a.group != GENERIC]
        covered = {a.topic for a in own}
        generic = [a for a in self.alerts if a.group == GENERIC and a.topic not in covered]
        return (*own, *generic)

    def causes_for(self, profile: Profile) -> tuple[Cause, ...]:
        rules = (r for tier in self.rule_tiers(profile) for r in tier)
        ids = dict.fromkeys(c for r in rules for c, _ in r.causes)
        return tuple(self.causes[i] for i in ids)

    def decode(self, code: DetectedCode, profile: Profile) -> DecodedCode:
        if code.family == CodeFamily.OBD2:
            return _decode_obd2(code, self.obd2)
        if code.family == CodeFamily.J1939:
            return _decode_j1939(code, self.j1939)
        return _decode_maker_code(code, profile)


def _read(*path: str) -> Any:
    target = resources.files(_PACKAGE).joinpath("data")
    for part in path:
        target = target.joinpath(part)
    return json.loads(target.read_text("utf-8"))


def _group_names() -> list[str]:
    folder = resources.files(_PACKAGE).joinpath("data").joinpath("groups")
    # Sorted so that rule order, and therefore every tie-break, is the same on every machine.
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))


def _procedure(raw: dict[str, Any]) -> Procedure:
    low, high = raw["hours"]
    return Procedure(
        raw["name"],
        raw["how"],
        raw["expected"],
        (float(low), float(high)),
        tuple(raw.get("needs", ())),
        tuple(raw.get("not_for", ())),
    )


def _checks(raw: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(check, what it tells, the shop test name that does the same: done, it is not asked)."""
    return tuple(
        (c["check"], c["tells"], c.get("done_by", "")) for c in raw.get("owner_checks", ())
    )


def _cause(cause_id: str, raw: dict[str, Any]) -> Cause:
    parts_low, parts_high, hours_low, hours_high = raw["cost"]
    return Cause(
        id=cause_id,
        name=raw["name"],
        explain=raw["explain"],
        repair=raw["repair"],
        tests=tuple(_procedure(t) for t in raw["tests"]),
        questions=tuple(raw["questions"]),
        parts=raw["parts"],
        parts_usd=(int(parts_low), int(parts_high)),
        labor_hours=(float(hours_low), float(hours_high)),
        prevention=raw["prevention"],
        data=tuple(raw["data"]),
        terms=tuple(raw["terms"]),
        wear=bool(raw.get("wear", False)),
        wear_at=float(raw["wear_at"]) if "wear_at" in raw else None,
        urgency=Urgency(raw.get("urgency", Urgency.SOON)),
        needs=tuple(raw.get("needs", ())),
        not_for=tuple(raw.get("not_for", ())),
        do_not=tuple(raw.get("do_not", ())),
        owner_checks=_checks(raw),
        worst_case=_worst_case(raw.get("worst_case")),
    )


def _worst_case(raw: dict[str, Any] | None) -> tuple[str, int, int, float, float] | None:
    if raw is None:
        return None
    parts_low, parts_high, hours_low, hours_high = raw["cost"]
    return (raw["repair"], int(parts_low), int(parts_high), float(hours_low), float(hours_high))


def _profiles(raw: dict[str, Any]) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    for key in CATEGORY_BY_KEY:
        entry = dict(raw[key])
        if "inherits" in entry:
            entry = {**raw[entry.pop("inherits")], **entry}
        profiles[key] = Profile(
            key=key,
            noun=entry["noun"],
            groups=tuple(entry["groups"]),
            frame=entry["frame"],
            code_hint=entry["code_hint"],
            code_table=entry["code_table"],
            usage_unit=entry["usage_unit"],
            wear_at=float(entry["wear_at"]),
            labour_usd=int(entry["labour_rate"]),
            diag_fee_usd=(int(entry["diag_fee"][0]), int(entry["diag_fee"][1])),
            shop=entry["shop"],
            stop=entry["stop"],
            safety=tuple(entry["safety"]),
            warning_signs=tuple(
                WarningSign(
                    w["text"],
                    tuple(w.get("causes", ())),
                    tuple(w.get("codes", ())),
                    tuple(w.get("words", ())),
                )
                for w in entry["warning_signs"]
            ),
            sources=tuple(entry["sources"]),
            parts=entry["parts"],
            baseline_tests=tuple(_procedure(t) for t in entry["baseline_tests"]),
            baseline_data=tuple(entry["baseline_data"]),
            maintenance=tuple(entry["maintenance"]),
            no_go=entry["no_go"],
            owner_checks=_checks(entry),
        )
    return profiles


@cache
def knowledge() -> KnowledgeBase:
    """The knowledge base, loaded and checked once per process."""
    causes: dict[str, Cause] = {}
    rules: list[Rule] = []
    alerts: list[Alert] = []
    for file_name in _group_names():
        group = file_name.removesuffix(".json")
        raw = _read("groups", file_name)
        for cause_id, entry in raw["causes"].items():
            if cause_id in causes:
                raise ValueError(f"cause {cause_id!r} is defined twice ({file_name})")
            causes[cause_id] = _cause(cause_id, entry)
        for entry in raw["rules"]:
            rules.append(
                Rule(
                    group=group,
                    codes=tuple(entry.get("codes", ())),
                    words=tuple(entry.get("words", ())),
                    details=tuple((f, k) for f, k in entry.get("details", ())),
                    unless=tuple((f, k) for f, k in entry.get("unless", ())),
                    causes=tuple((c, int(w)) for c, w in entry["causes"].items()),
                )
            )
        for entry in raw.get("alerts", ()):
            alerts.append(
                Alert(
                    group=group,
                    topic=entry["topic"],
                    codes=tuple(entry.get("codes", ())),
                    words=tuple(entry.get("words", ())),
                    text=entry["text"],
                    level=Urgency(entry.get("level", Urgency.STOP)),
                    needs=tuple(entry.get("needs", ())),
                    not_for=tuple(entry.get("not_for", ())),
                )
            )
    profiles = _profiles(_read("categories.json"))
    groups = {r.group for r in rules}
    problems = [
        f"rule in {r.group} names unknown cause {c!r}"
        for r in rules
        for c, _ in r.causes
        if c not in causes
    ]
    problems += [
        f"category {p.key} uses unknown rule group {g!r}"
        for p in profiles.values()
        for g in p.groups
        if g not in groups
    ]
    # The writer cites the first test, question and data item of every cause it ranks.
    problems += [
        f"cause {c.id} has no {what}"
        for c in causes.values()
        for what, items in (
            ("tests", c.tests),
            ("questions", c.questions),
            ("data", c.data),
        )
        if not items
    ]
    procedures = [(f"cause {c.id}", t) for c in causes.values() for t in c.tests]
    procedures += [(f"category {p.key}", t) for p in profiles.values() for t in p.baseline_tests]
    problems += [
        f"{owner} has a test without a name, method or expected reading, or with hours "
        f"that are not low <= high ({test.name!r})"
        for owner, test in procedures
        if not (test.name and test.how and test.expected) or not 0 <= test.hours[0] <= test.hours[1]
    ]
    problems += [
        f"alert {a.text[:40]!r} in {a.group} has level {a.level}: alerts are stop or soon"
        for a in alerts
        if a.level == Urgency.CAN_WAIT
    ]
    if GENERIC not in groups:
        problems.append(f"the fallback rule group {GENERIC!r} is missing")
    if UNDETERMINED not in causes:
        problems.append(f"the fallback cause {UNDETERMINED!r} is missing")
    if problems:
        raise ValueError("offline knowledge base is inconsistent: " + "; ".join(problems))
    return KnowledgeBase(
        causes=causes,
        rules=tuple(rules),
        alerts=tuple(alerts),
        profiles=profiles,
        obd2=_read("obd2.json"),
        j1939=_read("j1939.json"),
    )


_OWNERSHIP = {
    "generic": "generic SAE-defined {system} code",
    "manufacturer": (
        "manufacturer-specific {system} code (its exact meaning comes from the maker's "
        "service information for your model)"
    ),
}


def _decode_obd2(code: DetectedCode, table: dict[str, Any]) -> DecodedCode:
    # The SAE J2012 group and ownership rules are the code book's (one copy of them).
    text = code.code
    system = table["systems"][text[0]]
    ownership = "generic" if obd2_generic(text, table) else "manufacturer"
    system_word = system.split(" (")[0]
    group = obd2_group(text, table)
    kind = _OWNERSHIP[ownership].format(system=system_word)
    known = table["codes"].get(text)
    if known:
        return DecodedCode(code, known, f"{kind}, {group} group", True)
    meaning = f"{group[0].upper()}{group[1:]} fault ({system_word} system)"
    detail = f"{kind}, {group} group; diagpro's offline table has no exact wording for it"
    return DecodedCode(code, meaning, detail, False)


def _decode_j1939(code: DetectedCode, table: dict[str, Any]) -> DecodedCode:
    spn_text, fmi_text = code.code.removeprefix("SPN").split("/FMI")
    spn, fmi = int(spn_text), int(fmi_text)
    failure = table["fmis"].get(str(fmi), "not a valid FMI (J1939 defines 0-31)")
    how = f"FMI {fmi}: {failure}"
    name = table["spns"].get(str(spn))
    if name:
        return DecodedCode(
            code,
            f"{name}, {failure}",
            f"J1939 fault: SPN {spn} names the parameter, FMI {fmi} how it failed",
            True,
        )
    if table["proprietary_from"] <= spn <= table["proprietary_to"]:
        return DecodedCode(
            code,
            f"Manufacturer-proprietary parameter SPN {spn}, {failure}",
            f"J1939 fault, {how}; SPNs from {table['proprietary_from']} up are assigned by the "
            "engine or vehicle maker, so only their fault code manual gives the meaning",
            False,
        )
    return DecodedCode(
        code,
        f"J1939 parameter SPN {spn}, {failure}",
        f"J1939 fault, {how}; this SPN is not in diagpro's offline table: look it up in SAE "
        "J1939-71 or the engine maker's fault code manual",
        False,
    )


def _decode_maker_code(code: DetectedCode, profile: Profile) -> DecodedCode:
    if code.family == CodeFamily.BLINK:
        label = f"Blink (LED flash) code {code.code.removeprefix('FLASH:')}"
    else:
        label = f"Equipment error code {code.code}"
    # No invented meanings: the same number means different things on different brands.
    return DecodedCode(
        code,
        f"{label}, a manufacturer-specific code",
        f"its meaning depends on the maker and model; look it up in {profile.code_table}",
        False,
    )


def translatable_texts() -> tuple[str, ...]:
    """Every knowledge-base text and writer sentence a customer can read: the msgids of the
    ``knowledge`` catalogue, in a stable order (for the extraction tool and the completeness
    test)."""
    # Imported here: the writer modules import this one.
    from diagpro.adapters.offline_analyzer import codes, money, writer  # noqa: F401
    from diagpro.adapters.offline_analyzer.context import writer_sentences
    from diagpro.adapters.offline_analyzer.jobs import job_names
    from diagpro.adapters.offline_analyzer.owner_facts import findings

    kb = knowledge()
    texts: list[str] = list(writer_sentences())
    texts += job_names()
    for cause in kb.causes.values():
        texts += [cause.name, cause.explain, cause.repair, *cause.questions, *cause.data]
        texts += [*cause.do_not, *(t for c in cause.owner_checks for t in c[:2])]
        texts += [cause.worst_case[0]] if cause.worst_case else []
        for test in cause.tests:
            texts += [test.name, test.how, test.expected]
    for profile in kb.profiles.values():
        texts += [profile.noun, profile.shop, profile.stop, profile.code_table, profile.usage_unit]
        texts += [w.text for w in profile.warning_signs]
        texts += [*profile.sources, *profile.baseline_data]
        texts += [t for c in profile.owner_checks for t in c[:2]]
        for test in profile.baseline_tests:
            texts += [test.name, test.how, test.expected]
    texts += [a.text for a in kb.alerts]
    for f in findings():
        texts += [f.fact, f.fact_any, f.proves, *f.rules_out.values()]
    texts += list(kb.obd2["codes"].values())
    return tuple(t for t in dict.fromkeys(texts) if t)
