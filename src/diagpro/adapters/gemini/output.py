"""Gemini's answer -> the domain Analysis, or AnalysisInvalid (the worker retries; nothing raw is
ever printed).

The answer is decoded with msgspec into Structs that mirror ``schema.py`` field for field: strict
types (no "42" for 42, no 42.0 for an integer), every field required, percentages and money
bounded. Then the rules a schema cannot state are checked (likelihoods adding up to 100 or less,
cost ranges low <= high, non-empty text, exactly three next steps, data needed below the
confidence threshold) and the result goes through ``Analysis.check()``.

Unknown fields are ignored rather than refused. Every field the report uses is required, so a
misspelled or renamed field still fails as a missing one; an extra field carries nothing the
report would print, and refusing it would only buy a paid retry (for instance while a newer
schema with an added field is being rolled out). Nothing unknown is ever kept.

Lengths are forgiving, shape is not: text over its cap is cut with an ellipsis and lists over their
cap are cut (the schema already asks for less), but wrong types, missing sections or an empty
answer are refused.

The model's text is untrusted (prompt injection can arrive through the customer's own text), and
never belongs in a log: error reasons are built only from field paths, type names and numbers,
and the decoder's own message (which can quote a bad value) is dropped, cause included.
"""

from __future__ import annotations

import re
from typing import Annotated, NoReturn

import msgspec
from msgspec import Meta

from diagpro.adapters.gemini import schema as s
from diagpro.domain.analysis import (
    CONFIDENCE_THRESHOLD,
    SECTIONS,
    Analysis,
    CostEstimate,
    RankedCause,
    Section,
    ShopTest,
    Urgency,
)
from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import AnalysisInvalid

ELLIPSIS = "…"
# Far above anything the caps allow (about 100 KB); refuse before decoding rather than after.
MAX_ANSWER_CHARS = 400_000

Pct = Annotated[int, Meta(ge=0, le=100)]
RepairCents = Annotated[int, Meta(ge=0, le=s.MAX_REPAIR_CENTS)]
TestCents = Annotated[int, Meta(ge=0, le=s.MAX_TEST_CENTS)]
Hours = Annotated[float, Meta(ge=0, le=s.MAX_LABOUR_HOURS)]


class _Cause(msgspec.Struct):
    cause: str
    likelihood_pct: Pct
    reasoning: str
    evidence: list[str]


class _Test(msgspec.Struct):
    name: str
    how: str
    expected: str
    cost_cents_low: TestCents
    cost_cents_high: TestCents


class _Cost(msgspec.Struct):
    repair: str
    parts_cents_low: RepairCents
    parts_cents_high: RepairCents
    labour_hours_low: Hours
    labour_hours_high: Hours
    total_cents_low: RepairCents
    total_cents_high: RepairCents
    note: str


class _Section(msgspec.Struct):
    summary: str
    points: list[str]


class _Answer(msgspec.Struct):
    ranked_causes: list[_Cause]
    most_likely_cause: str
    confidence_pct: Pct
    data_needed: list[str]
    urgency: Urgency
    safety_flags: list[str]
    shop_tests: list[_Test]
    costs: list[_Cost]
    shop_questions: list[str]
    next_steps: list[str]
    # Keyed by section key; checked against SECTIONS below (unknown keys ignored, as above).
    sections: dict[str, _Section]


_DECODER = msgspec.json.Decoder(_Answer)
_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)
_AT = re.compile(r" - at `(?P<path>\$[\w.\[\]]*)`\Z")
# Decoder messages that carry only type names, field names and numbers; anything else (an enum
# error quotes the value) is replaced by a fixed phrase.
_SAFE_KIND = re.compile(
    r"\A(Expected `[\w ]+`(?:, got `\w+`| of length [<>]=? \d+| [<>]=? [\d.]+)?"
    r"|Object missing required field `\w+`)\Z"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Controls other than tab/newline, and bidi overrides, never belong in a printed report.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def _refuse(reason: str) -> NoReturn:
    # ``from None``: the decoder error behind a refusal may quote the model's text, and a log
    # line with the traceback would print it.
    raise AnalysisInvalid(f"model output refused: {reason}") from None


def _unfence(text: str) -> str:
    text = text.strip().lstrip("\ufeff").strip()
    match = _FENCE.match(text)
    return match.group("body").strip() if match else text


def _decode_reason(error: msgspec.ValidationError) -> str:
    message = str(error)
    path = ""
    at = _AT.search(message)
    if at:
        path = at.group("path")
        message = message[: at.start()]
    kind = message if _SAFE_KIND.match(message) else "invalid value"
    return f"{kind} at {path}" if path else kind


def _decode(text: str) -> _Answer:
    if not text or not text.strip():
        _refuse("the answer is empty")
    if len(text) > MAX_ANSWER_CHARS:
        _refuse(f"the answer is {len(text)} characters long (limit {MAX_ANSWER_CHARS})")
    body = _unfence(text)
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        reason = _decode_reason(exc)
    except msgspec.DecodeError:
        reason = "the answer is not valid JSON"
    _refuse(reason)


def _clip(text: str, limit: int) -> str:
    text = _UNPRINTABLE.sub("", text).strip()
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _required(text: str, limit: int, where: str) -> str:
    clipped = _clip(text, limit)
    if not clipped:
        _refuse(f"{where} is empty")
    return clipped


def _items(items: list[str], limit: int, cap: int) -> tuple[str, ...]:
    """Non-blank items, each clipped, at most ``cap`` of them (blank entries are dropped)."""
    kept = (_clip(item, limit) for item in items)
    return tuple(item for item in kept if item)[:cap]


def _causes(answer: _Answer) -> tuple[RankedCause, ...]:
    causes = answer.ranked_causes[: s.MAX_CAUSES]
    if not causes:
        _refuse("ranked_causes is empty")
    total = sum(c.likelihood_pct for c in causes)
    if total > 100:
        _refuse(f"ranked_causes likelihoods add up to {total}% (more than 100%)")
    ranked = [
        RankedCause(
            cause=_required(c.cause, s.NAME_TEXT, f"ranked_causes[{i}].cause"),
            likelihood_pct=c.likelihood_pct,
            reasoning=_required(c.reasoning, s.REASONING_TEXT, f"ranked_causes[{i}].reasoning"),
            evidence=_items(c.evidence, s.NAME_TEXT, s.MAX_EVIDENCE),
        )
        for i, c in enumerate(causes)
    ]
    # "Ranked" is a promise the report makes; keep the model's order among equals.
    ranked.sort(key=lambda c: -c.likelihood_pct)
    return tuple(ranked)


def _tests(answer: _Answer) -> tuple[ShopTest, ...]:
    tests: list[ShopTest] = []
    for i, t in enumerate(answer.shop_tests[: s.MAX_TESTS]):
        where = f"shop_tests[{i}]"
        if t.cost_cents_low > t.cost_cents_high:
            _refuse(f"{where} cost range is not low <= high")
        tests.append(
            ShopTest(
                name=_required(t.name, s.NAME_TEXT, f"{where}.name"),
                how=_required(t.how, s.HOW_TEXT, f"{where}.how"),
                expected=_required(t.expected, s.EXPECTED_TEXT, f"{where}.expected"),
                cost_cents_low=t.cost_cents_low,
                cost_cents_high=t.cost_cents_high,
            )
        )
    if not tests:
        _refuse("shop_tests is empty")
    return tuple(tests)


def _costs(answer: _Answer) -> tuple[CostEstimate, ...]:
    costs: list[CostEstimate] = []
    for i, c in enumerate(answer.costs[: s.MAX_COSTS]):
        where = f"costs[{i}]"
        # Checked here, not left to Analysis.check(), whose message quotes the repair's name.
        for part in ("parts_cents", "labour_hours", "total_cents"):
            if getattr(c, f"{part}_low") > getattr(c, f"{part}_high"):
                _refuse(f"{where}.{part} range is not low <= high")
        costs.append(
            CostEstimate(
                repair=_required(c.repair, s.NAME_TEXT, f"{where}.repair"),
                parts_cents_low=c.parts_cents_low,
                parts_cents_high=c.parts_cents_high,
                labour_hours_low=c.labour_hours_low,
                labour_hours_high=c.labour_hours_high,
                total_cents_low=c.total_cents_low,
                total_cents_high=c.total_cents_high,
                note=_clip(c.note, s.NOTE_TEXT),
            )
        )
    if not costs:
        _refuse("costs is empty")
    return tuple(costs)


def _sections(answer: _Answer) -> tuple[Section, ...]:
    missing = [key for key, _ in SECTIONS if key not in answer.sections]
    if missing:
        _refuse(f"sections missing: {', '.join(missing)}")
    sections: list[Section] = []
    for key, title in SECTIONS:
        raw = answer.sections[key]
        section = Section(
            key=key,
            title=title,
            summary=_clip(raw.summary, s.SUMMARY_TEXT),
            points=_items(raw.points, s.POINT_TEXT, s.MAX_POINTS),
        )
        if not section.summary and not section.points:
            _refuse(f"section {key} is empty")
        sections.append(section)
    return tuple(sections)


def _next_steps(answer: _Answer) -> tuple[str, ...]:
    steps = answer.next_steps
    if len(steps) != s.NEXT_STEPS:
        _refuse(f"next_steps has {len(steps)} items; exactly {s.NEXT_STEPS} are required")
    return tuple(_required(step, s.ITEM_TEXT, f"next_steps[{i}]") for i, step in enumerate(steps))


def parse_analysis(
    text: str,
    codes: tuple[DetectedCode, ...],
    *,
    currency: str,
    model: str,
    prompt_tokens: int,
    output_tokens: int,
) -> Analysis:
    """Turn the model's answer into a checked Analysis; raise AnalysisInvalid otherwise.

    ``codes`` are the ones extracted from the customer's text, never the model's: a report must
    not list a code the customer did not give. A ```json fence around the answer is tolerated.
    ``currency`` is the one the prompt asked the amounts in.
    """
    answer = _decode(text)
    data_needed = _items(answer.data_needed, s.ITEM_TEXT, s.MAX_DATA_NEEDED)
    if answer.confidence_pct < CONFIDENCE_THRESHOLD and not data_needed:
        _refuse(
            f"confidence is {answer.confidence_pct}% (below {CONFIDENCE_THRESHOLD}%) "
            "and no data needed is listed"
        )
    questions = _items(answer.shop_questions, s.ITEM_TEXT, s.MAX_QUESTIONS)
    if not questions:
        _refuse("shop_questions is empty")
    analysis = Analysis(
        most_likely_cause=_required(answer.most_likely_cause, s.CAUSE_TEXT, "most_likely_cause"),
        confidence_pct=answer.confidence_pct,
        sections=_sections(answer),
        detected_codes=tuple(codes),
        data_needed=data_needed,
        model=model,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        offline=False,
        urgency=answer.urgency,
        safety_flags=_items(answer.safety_flags, s.ITEM_TEXT, s.MAX_SAFETY_FLAGS),
        ranked_causes=_causes(answer),
        shop_tests=_tests(answer),
        costs=_costs(answer),
        shop_questions=questions,
        next_steps=_next_steps(answer),
        currency=currency,
    )
    # Everything check() tests was tested above with reasons free of model text; this is the
    # domain's own guarantee, kept as the last word. Its messages quote text with repr(); strip
    # any quoted text so a future domain rule cannot carry the model's words into a log.
    try:
        return analysis.check()
    except AnalysisInvalid as exc:
        _refuse(_QUOTED.sub("'…'", exc.message))
