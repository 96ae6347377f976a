"""Gemini's answer -> the domain Analysis, or AnalysisInvalid (the analyzer retries; nothing raw
is ever printed).

The answer is decoded with msgspec into Structs that mirror ``schema.py`` field for field: strict
types (no "42" for 42), every field required, percentages bounded, money and hours bounded here
(the schema leaves them open to stay small). Then the rules a schema cannot state are checked:

- the likelihoods are one distribution: causes plus ``other_pct`` are scaled to exactly 100
  (a model's 45 + 25 + 20 + 15 is a ranking, not an error worth a paid retry);
- a cause the owner's findings cleared (``ruled_out``) is neither ranked nor repaired: refused;
- ``data_needed`` never asks for what the intake already gives (mileage when the mileage is
  given): such an item is dropped, and logged by field name;
- a repair row is a narrow, named job: one whose high end is more than twice its low end is
  refused (the instruction asks for 1.5x; see ``MAX_SPREAD``);
- no text carries a URL (the instruction forbids them; a link in a report is an injection's
  favourite payload);
- the answer names its language.
Then the result goes through ``Analysis.check()``.

Unknown fields are ignored rather than refused: every field the report uses is required, so a
misspelled field still fails as a missing one, and refusing an extra field would only buy a paid
retry. Lengths are forgiving, shape is not: text over its cap is cut with an ellipsis and lists
over their cap are cut, but wrong types or a missing field are refused.

The model's text is untrusted and never belongs in a log: error reasons are built only from field
paths, type names and numbers, and the decoder's own message (which can quote a bad value) is
dropped, cause included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Annotated, NoReturn

import msgspec
from msgspec import Meta

from diagpro.adapters.gemini import schema as s
from diagpro.adapters.gemini.given import asks_for_given
from diagpro.domain.analysis import (
    MAX_CAUSES,
    MAX_NEXT_STEPS,
    Analysis,
    Certainty,
    CostEstimate,
    DecodedCode,
    OwnerCheck,
    OwnerFact,
    QuoteCheck,
    QuoteVerdict,
    RankedCause,
    RuledOut,
    ShopTest,
    Urgency,
    UrgencyAdvice,
)
from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import AnalysisInvalid
from diagpro.domain.intake import Intake

log = logging.getLogger("diagpro.analyzer.vertex")

ELLIPSIS = "…"
# Far above anything the caps allow (about 40 KB); refuse before decoding rather than after.
MAX_ANSWER_CHARS = 200_000
CENTS = 100
# The instruction asks for rows whose high end is at most 1.5x the low end; the parser refuses
# only past 2x, so a row a little over the ask is kept rather than paid for twice.
MAX_SPREAD = 2.0

Pct = Annotated[int, Meta(ge=0, le=100)]
RepairUnits = Annotated[int, Meta(ge=0, le=s.MAX_REPAIR_UNITS)]
TestUnits = Annotated[int, Meta(ge=0, le=s.MAX_TEST_UNITS)]
Rate = Annotated[int, Meta(ge=0, le=s.MAX_LABOUR_RATE)]
Hours = Annotated[float, Meta(ge=0, le=s.MAX_LABOUR_HOURS)]
CauseIndex = Annotated[int, Meta(ge=-1, lt=MAX_CAUSES)]


class _Fact(msgspec.Struct):
    fact: str
    proves: str


class _Code(msgspec.Struct):
    code: str
    system: str
    meaning: str
    certainty: Certainty
    bearing: str


class _RuledOut(msgspec.Struct):
    cause: str
    because: str


class _Cause(msgspec.Struct):
    cause: str
    pct: Pct
    why: str
    for_: list[str] = msgspec.field(name="for")
    against: list[str]


class _Urgency(msgspec.Struct):
    level: Urgency
    reason: str
    stop_if: list[str]


class _Check(msgspec.Struct):
    check: str
    what_it_tells: str


class _Test(msgspec.Struct):
    test: str
    how: str
    confirms: str
    cost_low: TestUnits
    cost_high: TestUnits


class _Repair(msgspec.Struct):
    repair: str
    cause_index: CauseIndex
    worst_case: bool
    parts_low: RepairUnits
    parts_high: RepairUnits
    hours_low: Hours
    hours_high: Hours
    total_low: RepairUnits
    total_high: RepairUnits


class _Quote(msgspec.Struct):
    shop_job: str
    fair_low: RepairUnits
    fair_high: RepairUnits
    verdict: QuoteVerdict
    explanation: str


class _Answer(msgspec.Struct):
    language: str
    equipment_assumed: str
    facts_used: list[_Fact]
    codes: list[_Code]
    ruled_out: list[_RuledOut]
    causes: list[_Cause]
    other_pct: Pct
    data_needed: list[str]
    urgency: _Urgency
    safety: list[str]
    owner_checks: list[_Check]
    shop_tests: list[_Test]
    do_not: list[str]
    labour_rate: Rate
    repair_costs: list[_Repair]
    quote_check: _Quote
    shop_questions: list[str]
    next_steps: list[str]
    how_it_works: str
    sources: list[str]


_DECODER = msgspec.json.Decoder(_Answer)
_FENCE = re.compile(r"\A```[A-Za-z]*[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)
_AT = re.compile(r" - at `(?P<path>\$[\w.\[\]]*)`\Z")
# Decoder messages that carry only type names, field names and numbers; anything else (an enum
# error quotes the value) is replaced by a fixed phrase.
_SAFE_KIND = re.compile(
    r"\A(Expected `[\w ]+`(?:, got `\w+`| of length [<>]=? \d+| [<>]=? [\d.-]+)?"
    r"|Object missing required field `\w+`)\Z"
)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Controls other than tab/newline, and bidi overrides, never belong in a printed report.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# A link, or a bare domain name a reader would type in: "https://", "www.", "ford.com/...".
_URL = re.compile(
    r"https?://|\bwww\.|\b[\w-]+\.(?:com|org|net|gov|edu|io|info|biz)\b", re.IGNORECASE
)
_LANGUAGE_TAG = re.compile(r"\A[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z")
# Words that carry no meaning when two cause names are compared (English and Spanish).
_FILLER = frozenset(
    {
        *("a", "an", "the", "of", "on", "in", "at", "to", "for", "and", "or", "with", "its"),
        *("bad", "failed", "failing", "faulty", "worn"),
        *("el", "la", "los", "las", "un", "una", "de", "del", "en", "y", "o", "con", "mal"),
    }
)


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
    try:
        return _DECODER.decode(_unfence(text))
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


def _words(name: str) -> frozenset[str]:
    """A cause's meaningful words, singular: 'Ignition coils on cylinder 1' -> coil, ignition,
    cylinder, 1."""
    words = re.findall(r"\w+", name.lower())
    return frozenset(
        w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words if w not in _FILLER
    )


def _names_cleared(name: str, cleared: frozenset[str]) -> bool:
    """Whether ``name`` names the cleared cause: the same words, or all of a two-word-or-longer
    cleared name ('ignition coil' in 'replace the ignition coils')."""
    words = _words(name)
    return bool(cleared) and (words == cleared or (len(cleared) >= 2 and cleared <= words))


# --- the sections of the answer ---------------------------------------------------------------


def _language(answer: _Answer) -> str:
    tag = answer.language.strip()
    if not _LANGUAGE_TAG.match(tag):
        _refuse("language is not a BCP-47 tag")
    primary, _, rest = tag.partition("-")
    return f"{primary.lower()}-{rest}" if rest else primary.lower()


def _distribution(answer: _Answer) -> tuple[list[int], int]:
    """The causes' shares and other_pct, scaled to add up to exactly 100 (largest remainder)."""
    # Causes past the cap are cut; their share goes to the causes not listed.
    cut = sum(c.pct for c in answer.causes[MAX_CAUSES:])
    raw = [c.pct for c in answer.causes[:MAX_CAUSES]] + [answer.other_pct + cut]
    total = sum(raw)
    if total == 0:
        _refuse("every likelihood is 0%")
    exact = [p * 100 / total for p in raw]
    shares = [int(x) for x in exact]
    by_remainder = sorted(range(len(raw)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in by_remainder[: 100 - sum(shares)]:
        shares[i] += 1
    return shares[:-1], shares[-1]


def _causes(answer: _Answer, cleared: list[frozenset[str]]) -> tuple[RankedCause, ...]:
    if not answer.causes:
        _refuse("causes is empty")
    shares, _ = _distribution(answer)
    ranked: list[RankedCause] = []
    for i, (c, pct) in enumerate(zip(answer.causes[:MAX_CAUSES], shares, strict=True)):
        name = _required(c.cause, s.NAME_TEXT, f"causes[{i}].cause")
        if any(_names_cleared(name, words) for words in cleared):
            _refuse(f"causes[{i}] is a cause ruled_out clears")
        ranked.append(
            RankedCause(
                cause=name,
                likelihood_pct=pct,
                why=_required(c.why, s.REASON_TEXT, f"causes[{i}].why"),
                evidence_for=_items(c.for_, s.NAME_TEXT, s.MAX_EVIDENCE),
                evidence_against=_items(c.against, s.NAME_TEXT, s.MAX_EVIDENCE),
            )
        )
    # "Ranked" is a promise the report makes; keep the model's order among equals. A repair's
    # cause_index points into the model's order, so it is remapped below.
    return tuple(ranked)


def _ruled_out(answer: _Answer) -> tuple[RuledOut, ...]:
    return tuple(
        RuledOut(
            cause=_required(r.cause, s.NAME_TEXT, f"ruled_out[{i}].cause"),
            because=_required(r.because, s.REASON_TEXT, f"ruled_out[{i}].because"),
        )
        for i, r in enumerate(answer.ruled_out[: s.MAX_RULED_OUT])
    )


def _codes(answer: _Answer) -> tuple[DecodedCode, ...]:
    return tuple(
        DecodedCode(
            code=_required(c.code, s.CODE_TEXT, f"codes[{i}].code"),
            system=_clip(c.system, s.NAME_TEXT),
            meaning=_clip(c.meaning, s.ITEM_TEXT),
            certainty=c.certainty,
            bearing=_clip(c.bearing, s.REASON_TEXT),
        )
        for i, c in enumerate(answer.codes[: s.MAX_CODES])
    )


def _tests(answer: _Answer) -> tuple[ShopTest, ...]:
    tests: list[ShopTest] = []
    for i, t in enumerate(answer.shop_tests[: s.MAX_TESTS]):
        where = f"shop_tests[{i}]"
        if t.cost_low > t.cost_high:
            _refuse(f"{where} cost range is not low <= high")
        tests.append(
            ShopTest(
                name=_required(t.test, s.NAME_TEXT, f"{where}.test"),
                how=_required(t.how, s.REASON_TEXT, f"{where}.how"),
                expected=_required(t.confirms, s.REASON_TEXT, f"{where}.confirms"),
                cost_cents_low=t.cost_low * CENTS,
                cost_cents_high=t.cost_high * CENTS,
            )
        )
    return tuple(tests)


def _costs(
    answer: _Answer, order: list[int], cleared: list[frozenset[str]]
) -> tuple[CostEstimate, ...]:
    costs: list[CostEstimate] = []
    for i, c in enumerate(answer.repair_costs[: s.MAX_COSTS]):
        where = f"repair_costs[{i}]"
        # Checked here, not left to Analysis.check(), whose message quotes the repair's name.
        for part in ("parts", "hours", "total"):
            if getattr(c, f"{part}_low") > getattr(c, f"{part}_high"):
                _refuse(f"{where}.{part} range is not low <= high")
        if c.total_high > MAX_SPREAD * c.total_low:
            _refuse(f"{where} total range is wider than {MAX_SPREAD:g}x its low end")
        if not c.cause_index < len(order):
            _refuse(f"{where}.cause_index points at no cause")
        repair = _required(c.repair, s.NAME_TEXT, f"{where}.repair")
        if any(_names_cleared(repair, words) for words in cleared):
            _refuse(f"{where} repairs a cause ruled_out clears")
        costs.append(
            CostEstimate(
                repair=repair,
                parts_cents_low=c.parts_low * CENTS,
                parts_cents_high=c.parts_high * CENTS,
                labour_hours_low=c.hours_low,
                labour_hours_high=c.hours_high,
                total_cents_low=c.total_low * CENTS,
                total_cents_high=c.total_high * CENTS,
                cause_index=order.index(c.cause_index) if c.cause_index >= 0 else -1,
                worst_case=c.worst_case,
            )
        )
    return tuple(costs)


def _quote(answer: _Answer) -> QuoteCheck:
    q = answer.quote_check
    if q.fair_low > q.fair_high:
        _refuse("quote_check fair range is not low <= high")
    return QuoteCheck(
        shop_job=_clip(q.shop_job, s.ITEM_TEXT),
        fair_cents_low=q.fair_low * CENTS,
        fair_cents_high=q.fair_high * CENTS,
        verdict=q.verdict,
        explanation=_clip(q.explanation, s.REASON_TEXT),
    )


def _data_needed(answer: _Answer, intake: Intake | None) -> tuple[str, ...]:
    kept: list[str] = []
    for i, item in enumerate(answer.data_needed):
        given = asks_for_given(item, intake) if intake is not None else None
        if given:
            log.info("dropped data_needed[%d]: the intake already gives %s", i, given)
        else:
            kept.append(item)
    return _items(kept, s.ITEM_TEXT, s.MAX_DATA_NEEDED)


def _strings(value: object) -> Iterator[str]:
    """Every text in a parsed value (dataclasses, tuples, strings), for the URL check."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple):
        for item in value:
            yield from _strings(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from _strings(getattr(value, name))


def parse_analysis(
    text: str,
    codes: tuple[DetectedCode, ...],
    *,
    currency: str,
    model: str,
    prompt_tokens: int,
    output_tokens: int,
    intake: Intake | None = None,
    owner_cleared: tuple[RuledOut, ...] = (),
) -> Analysis:
    """Turn the model's answer into a checked Analysis; raise AnalysisInvalid otherwise.

    ``codes`` are the ones extracted from the customer's text (``detected_codes``), never the
    model's. ``intake``, when given, is what ``data_needed`` must not ask for again. A ```json
    fence around the answer is tolerated. ``currency`` is the one the prompt asked amounts in.
    ``owner_cleared`` are the causes diagpro's rules found the owner's findings clear (the prompt
    states them): an answer that rules nothing out is refused. The model names causes in its own
    words and language, so the causes it ranks are checked against its own ``ruled_out``.
    """
    answer = _decode(text)
    ruled_out = _ruled_out(answer)
    if owner_cleared and not ruled_out:
        names = "; ".join(c.cause for c in owner_cleared)
        _refuse(f"ruled_out is empty, but the owner's own findings clear: {names}")
    cleared = [_words(r.cause) for r in ruled_out]
    causes = _causes(answer, cleared)
    # Sorted by likelihood, ties in the model's order; repairs follow their cause.
    order = sorted(range(len(causes)), key=lambda i: -causes[i].likelihood_pct)
    _, other_pct = _distribution(answer)
    u = answer.urgency
    questions = _items(answer.shop_questions, s.ITEM_TEXT, s.MAX_QUESTIONS)
    if not questions:
        _refuse("shop_questions is empty")
    steps = _items(answer.next_steps, s.ITEM_TEXT, MAX_NEXT_STEPS)
    if len(steps) != len(answer.next_steps):
        _refuse(f"next_steps has {len(answer.next_steps)} items, {len(steps)} usable")
    analysis = Analysis(
        causes=tuple(causes[i] for i in order),
        other_pct=other_pct,
        urgency=UrgencyAdvice(
            level=u.level,
            reason=_required(u.reason, s.REASON_TEXT, "urgency.reason"),
            stop_if=_items(u.stop_if, s.ITEM_TEXT, s.MAX_STOP_IF),
        ),
        next_steps=steps,
        detected_codes=tuple(codes),
        language=_language(answer),
        equipment_assumed=_clip(answer.equipment_assumed, s.ITEM_TEXT),
        facts_used=tuple(
            OwnerFact(
                fact=_required(f.fact, s.ITEM_TEXT, f"facts_used[{i}].fact"),
                proves=_required(f.proves, s.REASON_TEXT, f"facts_used[{i}].proves"),
            )
            for i, f in enumerate(answer.facts_used[: s.MAX_FACTS])
        ),
        codes=_codes(answer),
        ruled_out=ruled_out,
        safety=_items(answer.safety, s.ITEM_TEXT, s.MAX_SAFETY),
        owner_checks=tuple(
            OwnerCheck(
                check=_required(c.check, s.ITEM_TEXT, f"owner_checks[{i}].check"),
                what_it_tells=_clip(c.what_it_tells, s.ITEM_TEXT),
            )
            for i, c in enumerate(answer.owner_checks[: s.MAX_OWNER_CHECKS])
        ),
        shop_tests=_tests(answer),
        do_not=_items(answer.do_not, s.ITEM_TEXT, s.MAX_DO_NOT),
        costs=_costs(answer, order, cleared),
        labour_rate_cents=answer.labour_rate * CENTS,
        quote_check=_quote(answer),
        shop_questions=questions,
        how_it_works=_clip(answer.how_it_works, s.LONG_TEXT),
        sources=_items(answer.sources, s.ITEM_TEXT, s.MAX_SOURCES),
        data_needed=_data_needed(answer, intake),
        model=model,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        offline=False,
        currency=currency,
    )
    if any(_URL.search(value) for value in _strings(analysis)):
        _refuse("the answer contains a URL")
    # The domain's own guarantee, kept as the last word (data needed below the confidence
    # threshold among others). Its messages quote text with repr(); strip any quoted text so a
    # domain rule cannot carry the model's words into a log.
    try:
        return analysis.check()
    except AnalysisInvalid as exc:
        _refuse(_QUOTED.sub("'…'", exc.message))
