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
from diagpro.adapters.offline_analyzer.wording import lower_first
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, Urgency
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
_NEGATION = re.compile(r"(?:\bno|\bnot|\bnever|\bwithout|n't)\s+(?:[a-z]+\s+)?$")
_NUMBER = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(k\b)?", re.IGNORECASE)
# Verbs that turn "the thermostat" into a repair: "replaced the thermostat", "plugs were changed".
_REPAIR = r"(?:replac|new\b|chang|install|clean|swap|rebuil|fix|repair|flush|put in)"
_REPAIR_BEFORE = re.compile(r"(?<![a-z])" + _REPAIR + r"[^,;]*$")
_REPAIR_AFTER = re.compile(r"^[^,;]*?(?<![a-z])" + _REPAIR)
_NOT_DONE = re.compile(r"\b(?:not|never|didn't|haven't|hasn't|wasn't)\b")
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
    kind: str  # code | symptom | description | detail | usage | history
    text: str  # how the report cites it: 'code P0301 "Cylinder 1 misfire detected"'
    weight: int = 0  # the rule weight behind it (>= 3 means the input points straight at it)
    source: str = ""  # which code or field it came from, so one source counts once
    short: str = ""  # the same clue in a list of clues: 'P0301', '"Rough idle"'


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
    data_needed: tuple[str, ...]
    usage: float | None


@dataclass(frozen=True)
class _Source:
    kind: str
    label: str
    text: str  # normalised for matching
    field: str = ""
    short: str = ""


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


@cache
def _pattern(word: str) -> re.Pattern[str]:
    # Whole words with common endings ("stall" matches "stalls", "stalled"); a trailing '*'
    # opts into any ending ("hesitat*"). Left boundary always, so "ice" never matches "device".
    if word.endswith("*"):
        return re.compile(r"(?<![a-z0-9])" + re.escape(_normalise(word[:-1])))
    return re.compile(
        r"(?<![a-z0-9])" + re.escape(_normalise(word)) + r"(?:s|es|ed|d|ing)?(?![a-z0-9])"
    )


def find(word: str, text: str) -> re.Match[str] | None:
    """The first match of ``word`` in normalised ``text`` that is not negated ("no smoke")."""
    for match in _pattern(word).finditer(text):
        if not _NEGATION.search(text[max(0, match.start() - 24) : match.start()]):
            return match
    return None


def _code_matches(code: str, pattern: str) -> bool:
    return code.startswith(pattern[:-1]) if pattern.endswith("*") else code == pattern


def detail_label(field: str) -> str:
    """The form's label for a detail field ('DPF regeneration issues'), or one made from its id."""
    if field in DETAIL_LABELS:
        return DETAIL_LABELS[field]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", field).lower().split()
    label = " ".join(w.upper() if w in _ACRONYMS else w for w in words)
    return label[:1].upper() + label[1:]


def _detail_short(field: str, value: str) -> str:
    label = lower_first(detail_label(field))
    if value.lower() == "yes":
        return label
    return f"{label}: {value}" if len(value) <= 24 else f"your note on {label}"


def snippet(raw: str, match: re.Match[str] | None, width: int = 40) -> str:
    """The customer's words around ``match`` (positions in the normalised text), cut at word
    boundaries, so evidence quotes them rather than paraphrasing."""
    text = " ".join(raw.split())
    if len(text) <= 2 * width:
        return text
    if match is None:
        return text[: 2 * width].rsplit(" ", 1)[0] + "..."
    start, end = max(0, match.start() - width), min(len(text), match.end() + width)
    if start:
        start = text.find(" ", start) + 1 or start
    if end < len(text):
        end = text.rfind(" ", match.end(), end) if " " in text[match.end() : end] else end
    return ("..." if start else "") + text[start:end].strip() + ("..." if end < len(text) else "")


def _sources(intake: Intake) -> list[_Source]:
    sources = [
        _Source("symptom", f'your symptom "{s}"', _normalise(s), short=f'"{s}"')
        for s in intake.symptoms
    ]
    if intake.problem_description:
        sources.append(
            _Source(
                "description",
                "your description",
                _normalise(intake.problem_description),
                short="your description",
            )
        )
    if intake.location_environment:
        sources.append(
            _Source(
                "description",
                "your environment note",
                _normalise(intake.location_environment),
                short="your location note",
            )
        )
    for field, value in intake.details:
        label = f'your detail "{detail_label(field)}: {value}"'
        short = _detail_short(field, value)
        sources.append(_Source("detail", label, _normalise(value), field, short))
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
    """How the report cites ``src`` if it triggers the rule, else None."""
    for field, keyword in details:
        if src.field == field and _detail_hit(keyword, src.text):
            return src.label
    if not _describes_problem(src):
        return None
    for word in rule_words:
        match = find(word, src.text)
        if match:
            if src.kind == "description":
                return f'{src.label} ("{snippet(raw, match)}")'
            return src.label
    return None


def _repaired(cause: Cause, history: str) -> re.Match[str] | None:
    """Where the history says this cause's part was replaced, cleaned or fixed. Merely naming
    it ("charged the battery", "the coil might be bad") is not a repair and lowers nothing."""
    for term in cause.terms:
        for match in _pattern(term).finditer(history):
            before = history[: match.start()].rsplit(".", 1)[-1][-40:]
            after = history[match.end() :].split(".", 1)[0][:25]
            if _NOT_DONE.search(before):  # "did not replace the coil yet"
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
    texts = {"your description": intake.problem_description}
    texts["your environment note"] = intake.location_environment
    return texts


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
            if any(_code_matches(dc.code.code, p) for p in rule.codes):
                factor = CODE_FACTOR if dc.specific else GENERIC_CODE_FACTOR
                code_text = f'code {dc.display} "{dc.meaning}"'
                hits.append(
                    (Evidence("code", code_text, source=dc.code.code, short=dc.display), factor)
                )
        for src in sources:
            cited = _source_hit(rule.words, rule.details, src, raw.get(src.label, ""))
            if cited:
                hits.append(
                    (Evidence(src.kind, cited, source=src.label, short=src.short), TEXT_FACTOR)
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
    kb: KnowledgeBase, profile: Profile, intake: Intake, codes: tuple[DetectedCode, ...]
) -> Findings:
    """Score every cause the category's rules reach (generic rules only if none does), adjust
    for wear and past repairs, rank, and derive confidence, percentages, alerts and data needed."""
    decoded = tuple(kb.decode(c, profile) for c in codes)
    sources = _sources(intake)
    raw = _raw_texts(intake)
    scores: dict[str, float] = {}
    evidence: dict[str, dict[str, Evidence]] = {}

    own, generic = kb.rule_tiers(profile)
    _score_tier(own, decoded, sources, raw, scores, evidence)
    fallback = not scores
    if fallback:
        _score_tier(generic, decoded, sources, raw, scores, evidence)

    usage = parse_usage(intake)

    lowered: dict[str, list[Evidence]] = {}
    histories = [t for t in (intake.previous_repairs, intake.troubleshooting_steps) if t]
    for cause_id in list(scores):
        cause = kb.causes[cause_id]
        if cause.wear and usage is not None and usage >= (cause.wear_at or profile.wear_at):
            scores[cause_id] += 1.0
            unit = f"{usage:,.0f} {profile.usage_unit}"
            evidence[cause_id]["usage"] = Evidence(
                "usage",
                f"your usage ({unit}), an age at which this part commonly wears out",
                1,
                "usage",
                unit,
            )
        for history in histories:
            match = _repaired(cause, _normalise(history))
            if match:
                scores[cause_id] *= HISTORY_FACTOR
                quoted = snippet(history, match)
                lowered[cause_id] = [Evidence("history", f'you already reported "{quoted}"')]
                break

    if not scores:
        scores[UNDETERMINED] = 1.0
        given = [(s.label, s.short) for s in sources] or [("the codes you gave", "your codes")]
        evidence[UNDETERMINED] = {
            label: Evidence("description", label, source=label, short=short)
            for label, short in given
        }

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
    data = (
        _data_needed(ranked, decoded, intake, profile, usage)
        if confidence < CONFIDENCE_THRESHOLD
        else ()
    )
    return Findings(tuple(ranked_with_pct), decoded, alerts, confidence, other, data, usage)


def _evidence_order(ev: Evidence) -> tuple[int, int, str]:
    kinds = ("code", "symptom", "description", "detail", "usage")
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
    told = sum(1 for e in top.evidence if e.kind in ("symptom", "description"))
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
        if any(_code_matches(d.code.code, p) for d in decoded for p in alert.codes)
        or any(find(w, s.text) for s in sources if _describes_problem(s) for w in alert.words)
    ]
    return tuple(sorted(found, key=lambda a: a.level != Urgency.STOP))


def _data_needed(
    ranked: list[RankedCause],
    decoded: tuple[DecodedCode, ...],
    intake: Intake,
    profile: Profile,
    usage: float | None,
) -> tuple[str, ...]:
    wanted: list[str] = []
    for r in ranked[:3]:
        wanted.extend(r.cause.data if r is ranked[0] else r.cause.data[:1])
    for d in decoded:
        if d.code.family in (CodeFamily.EQUIPMENT, CodeFamily.BLINK) or not d.specific:
            wanted.append(f"What {d.display} means in {profile.code_table}")
    if not decoded:
        wanted.extend(profile.baseline_data[:1])
    if not (intake.make and intake.model):
        wanted.append("The make, model and year")
    if usage is None:
        wanted.append(f"The current {intake.category.usage_label.lower()}")
    if _is_vague(intake, decoded):
        wanted.append(
            "What exactly happens and when (cold or warm, idle or under load), how often, "
            "and since when"
        )
    elif not (intake.when_started or intake.frequency):
        wanted.append("When the problem started and how often it happens")
    return tuple(dict.fromkeys(wanted))[:MAX_DATA_NEEDED]
