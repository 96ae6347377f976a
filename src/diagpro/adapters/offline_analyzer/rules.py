"""From an intake to ranked causes with their evidence, a confidence and the data still needed.

Everything here is arithmetic on the knowledge base: no randomness, no clock, no set iteration
in anything that reaches the output, so the same intake always gives the same report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from diagpro.adapters.offline_analyzer.knowledge import (
    UNDETERMINED,
    Alert,
    Cause,
    DecodedCode,
    KnowledgeBase,
    Profile,
    Rule,
)
from diagpro.adapters.offline_analyzer.machine import _plain, fits, machine_tags
from diagpro.adapters.offline_analyzer.owner_facts import OwnerFinding, match_findings
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, Urgency
from diagpro.domain.analysis import DecodedCode as BookCode
from diagpro.domain.codes import CodeFamily, DetectedCode
from diagpro.domain.equipment import DETAIL_LABELS
from diagpro.domain.intake import Intake

# A code is measured by the equipment's own computer; a symptom is the owner's impression.
CODE_FACTOR = 2.0
GENERIC_CODE_FACTOR = 1.5  # a code decoded only by its family (P1xxx, unknown SPN)
TEXT_FACTOR = 1.0
# Something the customer already replaced or checked is less likely, not ruled out.
HISTORY_FACTOR = 0.6
# Offline analysis never claims more than this: a model or a technician can see more.
MAX_CONFIDENCE = 85
MIN_CONFIDENCE = 15
MAX_DATA_NEEDED = 8
VAGUE_WORDS = 12  # fewer words than this across description and symptoms, and no codes
# Detail values that mean "no" (or "nothing wrong") for checkbox-style and status details.
_NEGATIVE_VALUES = frozenset(
    {"no", "none", "n/a", "na", "false", "0", "unknown", "not sure", "ok", "normal", "fine", "good"}
)
# Usage fallbacks when mileageHours is empty, in the order they are tried.
_USAGE_DETAILS = ("engineHours", "generatorHours", "unitAge", "toolAge", "batteryAge")
_NEGATION = re.compile(r"(?:\bno|\bnot|\bnever|\bwithout|n't|\bsin)\s+(?:[a-z]+\s+)?$")
# "Steering still works normally" names the steering to say it is fine: not a complaint.
_FINE_AFTER = re.compile(
    r"^\s*(?:\w+\s+)?(?:still\s+)?(?:works?|is|are|seems?|feels?|funciona)?\s*"
    r"(?:fine|normal(?:ly)?|ok|okay|good|bien)\b"
)
_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(k\b)?", re.IGNORECASE)
# Verbs that turn "the thermostat" into a repair: "replaced the thermostat", "plugs were changed".
# ("Swapped coil 1 and 2" is a test, not a repair: owner_facts.py reads what it proved.)
_REPAIR = r"(?:replac|new\b|chang|install|clean|rebuil|fix|repair|flush|put in)"
_REPAIR_BEFORE = re.compile(r"(?<![a-z])" + _REPAIR + r"[^,;]*$")
_REPAIR_AFTER = re.compile(r"^[^,;]*?(?<![a-z])" + _REPAIR)
_NOT_DONE = re.compile(r"\b(?:not|never|didn't|haven't|hasn't|wasn't|nunca|no)\b")
_ACRONYMS = {"dpf", "def", "abs", "eld", "ecm", "pto", "os", "dot", "rv", "imei"}
# Details in which the customer describes the problem; rule and alert words are looked for in
# these only. The others describe the equipment ("Engine brake type: Jacobs compression brake"
# is not a brake complaint) and count only through a rule's explicit detail triggers.
_CONDITION_DETAILS = frozenset(
    {
        "towingContext",
        "defSystemStatus",
        "dpfRegenIssues",
        "eldEcmFaultCodes",
        "problemArea",
        "winterizationStatus",
        "hydraulicSystemPressure",
        "hydraulicFlowRate",
        "errorMessages",
    }
)
# A detail keyword "<80" matches a number below 80 ("Battery health (%): 76").
_BELOW = re.compile(r"<(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Evidence:
    kind: str  # code | symptom | description | detail | usage | history | finding
    # What the report quotes: a code's meaning, the owner's words (a symptom, a snippet of the
    # description, a detail's value), the usage figure, or a finding's English fact.
    text: str
    weight: int = 0  # the rule weight behind it (>= 3 means the input points straight at it)
    source: str = ""  # which code or field it came from, so one source counts once
    short: str = ""  # the code as displayed, the detail field, or a finding's number


@dataclass(frozen=True)
class RankedCause:
    cause: Cause
    score: float
    evidence: tuple[Evidence, ...]
    lowered_by: tuple[Evidence, ...]
    pct: int = 0


@dataclass(frozen=True)
class Findings:
    ranked: tuple[RankedCause, ...]  # best first; never empty
    codes: tuple[DecodedCode, ...]
    alerts: tuple[Alert, ...]  # safety and act-now messages triggered by the input, STOP first
    confidence: int
    other_pct: int  # the share left for causes not listed
    data_needed: tuple[Need, ...]
    usage: float | None
    tags: frozenset[str] = frozenset()  # the machine facts (machine.py)
    owner: tuple[OwnerFinding, ...] = ()  # the owner's findings that matched
    ruled_out: tuple[tuple[Cause, str], ...] = ()  # (cause, why), from the owner's findings
    lowered: tuple[tuple[Cause, str], ...] = ()  # (cause, the owner's words): already repaired
    tests_done: frozenset[str] = frozenset()  # test names the owner already did


@dataclass(frozen=True)
class _Source:
    kind: str
    label: str
    text: str  # normalised for matching
    field: str = ""
    short: str = ""


def normalise(text: str) -> str:
    # Accents removed, so Spanish words match however they were typed ("calefacción").
    return _plain(text)


@cache
def _pattern(word: str) -> re.Pattern[str]:
    # Whole words with common endings ("stall" matches "stalls", "stalled"); a trailing '*'
    # opts into any ending ("hesitat*"). Left boundary always, so "ice" never matches "device".
    if word.endswith("*"):
        return re.compile(r"(?<![a-z0-9])" + re.escape(normalise(word[:-1])))
    return re.compile(
        r"(?<![a-z0-9])" + re.escape(normalise(word)) + r"(?:s|es|ed|d|ing)?(?![a-z0-9])"
    )


def find(word: str, text: str) -> re.Match[str] | None:
    """The first match of ``word`` in normalised ``text`` that is not negated ("no smoke")."""
    for match in _pattern(word).finditer(text):
        if _NEGATION.search(text[max(0, match.start() - 24) : match.start()]):
            continue
        if _FINE_AFTER.search(text[match.end() : match.end() + 30]):
            continue
        return match
    return None


def code_matches(code: str, pattern: str) -> bool:
    return code.startswith(pattern[:-1]) if pattern.endswith("*") else code == pattern


def detail_label(field: str) -> str:
    """The form's label for a detail field ('DPF regeneration issues'), or one made from its id."""
    if field in DETAIL_LABELS:
        return DETAIL_LABELS[field]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", field).lower().split()
    label = " ".join(w.upper() if w in _ACRONYMS else w for w in words)
    return label[:1].upper() + label[1:]


def snippet(raw: str, match: re.Match[str] | None, width: int = 76) -> str:
    """The owner's sentence around ``match`` (positions in the normalised text), or its clause
    when the sentence is long: quoted whole, never cut mid-word or marked as cut."""
    text = " ".join(raw.split())
    if match is None or len(text) <= width:
        return text if len(text) <= width else _first_piece(text, width)
    at = min(match.start(), len(text) - 1)
    for separators in (r"(?<=[.!?])\s+", r"(?<=[,;:])\s+"):
        start = 0
        for piece in re.split(separators, text):
            if start <= at < start + len(piece) + 1 and len(piece) <= width:
                return piece.strip()
            start += len(piece) + 1
    return _first_piece(text[at:], width)


def _first_piece(text: str, width: int) -> str:
    return text[:width].rsplit(" ", 1)[0]


def _sources(intake: Intake) -> list[_Source]:
    """Where the owner's words are; ``label`` keys the raw text a snippet is quoted from,
    ``short`` is how the report quotes the source (the owner's own words, any language)."""
    sources = [_Source("symptom", f"symptom:{s}", normalise(s), short=s) for s in intake.symptoms]
    for label, text in (
        ("description", intake.problem_description),
        ("environment", intake.location_environment),
    ):
        if text:
            sources.append(_Source("description", label, normalise(text), short=""))
    for field, value in intake.details:
        sources.append(_Source("detail", f"detail:{field}", normalise(value), field, value))
    return sources


def _describes_problem(src: _Source) -> bool:
    """Whether rule and alert words may be looked for in this source (see _CONDITION_DETAILS)."""
    return src.kind != "detail" or src.field in _CONDITION_DETAILS


def _detail_hit(keyword: str, value: str) -> bool:
    """An empty keyword means any affirmative value ("yes", "frequent regens", but not "no");
    "<80" means a number below 80."""
    below = _BELOW.fullmatch(keyword)
    if below:
        number = _NUMBER.search(value)
        return number is not None and float(number.group(1).replace(",", "")) < float(
            below.group(1)
        )
    return bool(find(keyword, value)) if keyword else value not in _NEGATIVE_VALUES


def _source_hit(
    rule_words: tuple[str, ...], details: tuple[tuple[str, str], ...], src: _Source, raw: str
) -> str | None:
    """The owner's words the report quotes if ``src`` triggers the rule, else None."""
    for field, keyword in details:
        if src.field == field and _detail_hit(keyword, src.text):
            return src.short
    if not _describes_problem(src):
        return None
    for word in rule_words:
        match = find(word, src.text)
        if match:
            return snippet(raw, match) if src.kind == "description" else src.short
    return None


def _repaired(cause: Cause, history: str) -> re.Match[str] | None:
    """Where the history says this cause's part was replaced, cleaned or fixed. Merely naming
    it ("charged the battery", "the coil might be bad") is not a repair and lowers nothing."""
    for term in cause.terms:
        for match in _pattern(term).finditer(history):
            before = history[: match.start()].rsplit(".", 1)[-1][-40:]
            after = history[match.end() :].split(".", 1)[0][:25]
            if _NOT_DONE.search(before) or _NOT_DONE.search(after):  # "DPF never cleaned"
                continue
            if _REPAIR_BEFORE.search(before) or _REPAIR_AFTER.search(after):
                return match
    return None


def parse_usage(intake: Intake) -> float | None:
    """Mileage, hours or age as a number ('87k' -> 87000), or None when not given."""
    candidates = [intake.mileage_hours, *(intake.detail(d) for d in _USAGE_DETAILS)]
    for text in candidates:
        match = _NUMBER.search(text)
        if match:
            value = float(match.group(1).replace(",", ""))
            return value * 1000 if match.group(2) else value
    return None


def _raw_texts(intake: Intake) -> dict[str, str]:
    """Original wording per source label, so snippets quote the customer exactly."""
    return {"description": intake.problem_description, "environment": intake.location_environment}


def _score_tier(
    rules: tuple[Rule, ...],
    decoded: tuple[DecodedCode, ...],
    sources: list[_Source],
    raw: dict[str, str],
    scores: dict[str, float],
    evidence: dict[str, dict[str, Evidence]],
) -> None:
    """Add each matching rule's weights to ``scores`` and remember what triggered them."""
    for rule in rules:
        if any(s.field == f and _detail_hit(k, s.text) for s in sources for f, k in rule.unless):
            continue
        hits: list[tuple[Evidence, float]] = []
        for dc in decoded:
            if any(code_matches(dc.code.code, p) for p in rule.codes):
                factor = CODE_FACTOR if dc.specific else GENERIC_CODE_FACTOR
                hits.append(
                    (Evidence("code", dc.meaning, source=dc.code.code, short=dc.display), factor)
                )
        for src in sources:
            cited = _source_hit(rule.words, rule.details, src, raw.get(src.label, ""))
            if cited:
                hits.append(
                    (
                        Evidence(src.kind, cited, source=src.label, short=src.field),
                        TEXT_FACTOR,
                    )
                )
        for hit, factor in hits:
            for cause_id, weight in rule.causes:
                scores[cause_id] = scores.get(cause_id, 0.0) + weight * factor
                # One piece of evidence per source: a description that matches two rules is
                # still one clue (cited where it matched the strongest rule).
                known = evidence.setdefault(cause_id, {})
                previous = known.get(hit.source)
                if previous is None or previous.weight < weight:
                    known[hit.source] = Evidence(hit.kind, hit.text, weight, hit.source, hit.short)


def analyse_findings(
    kb: KnowledgeBase,
    profile: Profile,
    intake: Intake,
    codes: tuple[DetectedCode, ...],
    hints: tuple[str, ...] = (),
    book: bool = False,
    book_codes: tuple[BookCode, ...] = (),
) -> Findings:
    """Score every cause the category's rules reach (generic rules only if none does), drop what
    does not fit the machine, apply the owner's findings (ruled out, raised, tests done), adjust
    for wear and past repairs, rank, and derive confidence, percentages, alerts and data needed.
    ``hints`` are cause ids a maker's code points at (the code book's ``cause_hints``);
    ``book`` says a code book decodes the maker codes, so they are not asked about, and
    ``book_codes`` are its decodings (one per code, in the owner's language), cited as evidence."""
    decoded = tuple(kb.decode(c, profile) for c in codes)
    sources = _sources(intake)
    raw = _raw_texts(intake)
    scores: dict[str, float] = {}
    evidence: dict[str, dict[str, Evidence]] = {}
    tags = machine_tags(intake)

    own, generic = kb.rule_tiers(profile)
    _score_tier(own, decoded, sources, raw, scores, evidence)
    _apply_hints(kb, hints, decoded, book_codes, scores, evidence)
    _drop_unfit(kb, tags, scores)
    fallback = not scores
    if fallback:
        _score_tier(generic, decoded, sources, raw, scores, evidence)
        _drop_unfit(kb, tags, scores)

    owner = match_findings(intake, profile.groups)
    ruled_out = _apply_owner_findings(kb, profile, tags, owner, scores, evidence)
    tests_done = frozenset(t for f in owner for t in f.finding.tests_done)

    usage = parse_usage(intake)

    lowered: dict[str, list[Evidence]] = {}
    histories = [t for t in (intake.previous_repairs, intake.troubleshooting_steps) if t]
    # A repair a finding already reads (the hydraulic fluid changed) is stated once, as that fact.
    covered = {c for f in owner for c in f.finding.covers}
    for cause_id in list(scores):
        cause = kb.causes[cause_id]
        if cause.wear and usage is not None and usage >= (cause.wear_at or profile.wear_at):
            scores[cause_id] += 1.0
            evidence[cause_id]["usage"] = Evidence(
                "usage", f"{usage:,.0f}", 1, "usage", profile.usage_unit
            )
        for history in histories if cause_id not in covered else ():
            match = _repaired(cause, normalise(history))
            if match:
                scores[cause_id] *= HISTORY_FACTOR
                quoted = snippet(history, match)
                lowered[cause_id] = [Evidence("history", quoted, source="history")]
                break

    if not scores:
        scores[UNDETERMINED] = 1.0
        evidence[UNDETERMINED] = {}

    order = sorted(scores, key=lambda c: (-round(scores[c], 6), c))[:5]
    ranked = [
        RankedCause(
            kb.causes[c],
            round(scores[c], 6),
            tuple(sorted(evidence.get(c, {}).values(), key=_evidence_order)),
            tuple(lowered.get(c, ())),
        )
        for c in order
    ]
    confidence = _confidence(ranked, decoded, intake, usage, fallback)
    ranked_with_pct, other = _percentages(ranked, confidence)
    alerts = _alerts(kb, profile, decoded, sources)
    alerts = tuple(a for a in alerts if fits(a.needs, a.not_for, tags))
    data = (
        _data_needed(ranked, decoded, intake, profile, usage, tests_done, book)
        if confidence < CONFIDENCE_THRESHOLD
        else ()
    )
    return Findings(
        tuple(ranked_with_pct),
        decoded,
        alerts,
        confidence,
        other,
        data,
        usage,
        tags,
        owner,
        ruled_out,
        tuple((kb.causes[c], ev[0].text) for c, ev in lowered.items() if c in order),
        tests_done,
    )


def _apply_hints(
    kb: KnowledgeBase,
    hints: tuple[str, ...],
    codes: tuple[DecodedCode, ...],
    book_codes: tuple[BookCode, ...],
    scores: dict[str, float],
    evidence: dict[str, dict[str, Evidence]],
) -> None:
    """A maker code decoded by the code book names its cause directly: the strongest hint counts
    as a usual cause (weight 5) at code strength, the next ones less. The evidence cites the code
    as the code book prints it ("Flash code 3-1", in the owner's language), never diagpro's
    internal form (FLASH:3-1)."""
    maker_families = (CodeFamily.EQUIPMENT, CodeFamily.BLINK)
    maker = [i for i, d in enumerate(codes) if d.code.family in maker_families]
    if not maker:
        return
    index = maker[0]
    source = codes[index].code.code
    printed = book_codes[index] if index < len(book_codes) else None
    short = printed.code if printed else codes[index].display
    meaning = printed.meaning if printed and printed.meaning else short
    for rank, cause_id in enumerate(h for h in hints if h in kb.causes):
        weight = max(1, 5 - 2 * rank)
        scores[cause_id] = scores.get(cause_id, 0.0) + weight * CODE_FACTOR
        evidence.setdefault(cause_id, {})[source] = Evidence("code", meaning, weight, source, short)


def _drop_unfit(kb: KnowledgeBase, tags: frozenset[str], scores: dict[str, float]) -> None:
    for cause_id in list(scores):
        cause = kb.causes[cause_id]
        if not fits(cause.needs, cause.not_for, tags):
            del scores[cause_id]


def _apply_owner_findings(
    kb: KnowledgeBase,
    profile: Profile,
    tags: frozenset[str],
    owner: tuple[OwnerFinding, ...],
    scores: dict[str, float],
    evidence: dict[str, dict[str, Evidence]],
) -> tuple[tuple[Cause, str], ...]:
    """Raise what the owner's findings point at, then remove what they rule out."""
    ruled: dict[str, str] = {}
    reach = {c.id for c in kb.causes_for(profile)}
    for found in owner:
        for cause_id, weight in found.finding.raises.items():
            cause = kb.causes.get(cause_id)
            if cause is None or cause_id not in reach or not fits(cause.needs, cause.not_for, tags):
                continue
            scores[cause_id] = scores.get(cause_id, 0.0) + weight * CODE_FACTOR
            evidence.setdefault(cause_id, {})[f"finding:{found.finding.id}"] = Evidence(
                "finding", found.fact, weight, f"finding:{found.finding.id}", found.number
            )
        for cause_id, why in found.finding.rules_out.items():
            ruled.setdefault(cause_id, why)
    for cause_id in ruled:
        scores.pop(cause_id, None)
    return tuple((kb.causes[c], why) for c, why in ruled.items() if c in kb.causes)


def _evidence_order(ev: Evidence) -> tuple[int, int, str]:
    kinds = ("finding", "code", "symptom", "description", "detail", "usage")
    return (kinds.index(ev.kind) if ev.kind in kinds else len(kinds), -ev.weight, ev.text)


def _is_vague(intake: Intake, decoded: tuple[DecodedCode, ...]) -> bool:
    """No codes and hardly any words: whatever matched, matched on very little."""
    said = len(intake.problem_description.split()) + sum(len(s.split()) for s in intake.symptoms)
    return not decoded and said < VAGUE_WORDS


def _confidence(
    ranked: list[RankedCause],
    decoded: tuple[DecodedCode, ...],
    intake: Intake,
    usage: float | None,
    fallback: bool,
) -> int:
    richness = sum(
        2
        for given in (
            usage is not None,
            bool(intake.troubleshooting_steps),
            bool(intake.when_started or intake.frequency),
            bool(intake.make and intake.model),
        )
        if given
    )
    top = ranked[0]
    if top.cause.id == UNDETERMINED:
        return max(MIN_CONFIDENCE, min(35, 15 + richness + (5 if decoded else 0)))
    direct = sum(1 for e in top.evidence if e.kind == "code" and e.weight >= 3)
    supporting = sum(1 for e in top.evidence if e.kind == "code" and e.weight < 3)
    told = sum(1 for e in top.evidence if e.kind in ("symptom", "description", "finding"))
    details = sum(1 for e in top.evidence if e.kind in ("detail", "usage"))
    second = ranked[1].score if len(ranked) > 1 else 0.0
    lead = (top.score - second) / top.score if top.score else 0.0
    value = (
        30
        + min(24, 12 * direct)
        + min(8, 4 * supporting)
        + min(15, 5 * told)
        + min(6, 3 * details)
        + round(10 * lead)
        + richness
        - (5 if top.lowered_by else 0)
        # Generic rules know nothing about this kind of equipment; vague input proves little.
        - (10 if fallback else 0)
        - (10 if _is_vague(intake, decoded) else 0)
    )
    return max(MIN_CONFIDENCE, min(MAX_CONFIDENCE, value))


def _percentages(ranked: list[RankedCause], confidence: int) -> tuple[list[RankedCause], int]:
    """The top cause gets the confidence; the others share the rest with 'not listed'."""
    others = ranked[1:4]
    remaining = 100 - confidence
    unlisted_weight = 0.25 * sum(r.score for r in others) + 1.0
    total = sum(r.score for r in others) + unlisted_weight
    result = [
        RankedCause(
            ranked[0].cause, ranked[0].score, ranked[0].evidence, ranked[0].lowered_by, confidence
        )
    ]
    for r in others:
        # Never let an alternative outrank the primary on paper.
        pct = max(1, min(confidence - 1, int(remaining * r.score / total)))
        result.append(RankedCause(r.cause, r.score, r.evidence, r.lowered_by, pct))
    other = 100 - sum(r.pct for r in result)
    if other < 0:  # only with tiny remainders: take it back from the weakest alternatives
        for i in range(len(result) - 1, 0, -1):
            take = min(-other, result[i].pct - 1)
            r = result[i]
            result[i] = RankedCause(r.cause, r.score, r.evidence, r.lowered_by, r.pct - take)
            other += take
    return result, other


def _alerts(
    kb: KnowledgeBase, profile: Profile, decoded: tuple[DecodedCode, ...], sources: list[_Source]
) -> tuple[Alert, ...]:
    """The alerts that apply, STOP ones first (otherwise in the data's order)."""
    found = [
        alert
        for alert in kb.alerts_for(profile)
        if any(code_matches(d.code.code, p) for d in decoded for p in alert.codes)
        or any(find(w, s.text) for s in sources if _describes_problem(s) for w in alert.words)
    ]
    return tuple(sorted(found, key=lambda a: a.level != Urgency.STOP))


@dataclass(frozen=True)
class Need:
    """A piece of data that would raise the confidence: an English msgid and its values."""

    text: str
    values: tuple[tuple[str, str], ...] = ()


# Words of a data request that the intake already answers when the field is filled.
_ASKS_USAGE = re.compile(r"\b(?:mileage|miles|odometer|hours|hour meter|age of)\b")
_ASKS_PLUGS = re.compile(r"\bplugs?\b.*\b(?:last|changed|replaced|age)\b")
_ASKS_WHEN = re.compile(r"\bwhen (?:the problem|it) (?:started|began)\b")
# "When the fuel filters were last changed": when the owner's repair history names the part
# (every word of it: "fuel filter"), the request is answered already.
_ASKS_LAST_SERVICE = re.compile(
    r"\bwhen (?:was |were )?(?:the )?((?:[a-z-]+ ){0,3}?([a-z-]+?))s? "
    r"(?:was |were )?last (?:changed|replaced|serviced|cleaned|done)\b"
)
_STOP_WORDS = frozenset({"test", "check", "and", "the", "a", "of", "or", "with"})


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP_WORDS}


def already_given(text: str, intake: Intake, usage: float | None, done: frozenset[str]) -> bool:
    """Whether a data request asks for what the owner already gave or a test they already did."""
    low = text.lower()
    if usage is not None and _ASKS_USAGE.search(low):
        return True
    if _ASKS_PLUGS.search(low) and "plug" in intake.previous_repairs.lower():
        return True
    last = _ASKS_LAST_SERVICE.search(low)
    history = f"{intake.previous_repairs} {intake.troubleshooting_steps}".lower()
    if last and all(
        re.search(rf"\b{re.escape(word.rstrip('s'))}", history) for word in last.group(1).split()
    ):
        return True
    if _ASKS_WHEN.search(low) and intake.when_started:
        return True
    asked = _stems(low)
    for test in done:
        name = _stems(test)
        if name and len(name & asked) >= min(2, len(name)):
            return True
    return False


def _data_needed(
    ranked: list[RankedCause],
    decoded: tuple[DecodedCode, ...],
    intake: Intake,
    profile: Profile,
    usage: float | None,
    done: frozenset[str],
    book: bool,
) -> tuple[Need, ...]:
    wanted: list[Need] = []
    for r in ranked[:3]:
        items = r.cause.data if r is ranked[0] else r.cause.data[:1]
        wanted.extend(Need(d) for d in items if not already_given(d, intake, usage, done))
    for d in decoded:
        if book and d.code.family in (CodeFamily.EQUIPMENT, CodeFamily.BLINK):
            continue  # the maker code book decodes these
        if d.code.family in (CodeFamily.EQUIPMENT, CodeFamily.BLINK) or not d.specific:
            wanted.append(
                Need(
                    "What {code} means in {table}",
                    (("code", d.display), ("table", profile.code_table)),
                )
            )
    if not decoded:
        wanted.extend(
            Need(d) for d in profile.baseline_data[:1] if not already_given(d, intake, usage, done)
        )
    if not (intake.make and intake.model):
        wanted.append(Need("The make, model and year"))
    if usage is None:
        wanted.append(Need("The current {usage}", (("usage", intake.category.usage_label),)))
    if _is_vague(intake, decoded):
        wanted.append(
            Need(
                "What exactly happens and when (cold or warm, idle or under load), how often, "
                "and since when"
            )
        )
    elif not (intake.when_started or intake.frequency):
        wanted.append(Need("When the problem started and how often it happens"))
    return tuple(dict.fromkeys(wanted))[:MAX_DATA_NEEDED]
