"""Gemini's answer -> the domain Analysis, or AnalysisInvalid (the analyzer retries; nothing raw
is ever printed).

The answer is decoded with msgspec into Structs that mirror ``schema.py`` field for field: strict
types (no "42" for 42), every field required, shares never negative, money and hours bounded
here (the schema leaves them open to stay small). Then the rules a schema cannot state are met:
what can be repaired is, and noted; the rest is refused. ``repair.py`` holds the one list of
which is which (likelihoods scaled to 100, text clipped, extra items and unusable rows dropped,
upside-down ranges turned; a URL, an empty cause, no next step refused). The answer also names
its language. Then the result goes through ``Analysis.check()``, and carries its repair notes
(``Analysis.corrections``).

Unknown fields are ignored rather than refused: every field the report uses is required, so a
misspelled field still fails as a missing one, and refusing an extra field would only buy a paid
retry. Lengths and counts are forgiving, shape is not.

The model's text is untrusted and never belongs in a log: error reasons and repair notes are
built only from field paths, type names and numbers, and the decoder's own message (which can
quote a bad value) is dropped, cause included.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated, NoReturn, TypeVar

import msgspec
from msgspec import Meta

from diagpro.adapters.gemini import schema as s
from diagpro.adapters.gemini.given import asks_for_given
from diagpro.adapters.gemini.repair import ELLIPSIS, MAX_SPREAD, Repairs
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

__all__ = ["ELLIPSIS", "MAX_ANSWER_CHARS", "parse_analysis"]

_T = TypeVar("_T")

# Far above anything the caps allow (about 40 KB); refuse before decoding rather than after.
MAX_ANSWER_CHARS = 200_000
CENTS = 100

# A share is never negative; one over 100 is scaled with the others (repair.py).
Pct = Annotated[int, Meta(ge=0)]
RepairUnits = Annotated[int, Meta(ge=0, le=s.MAX_REPAIR_UNITS)]
TestUnits = Annotated[int, Meta(ge=0, le=s.MAX_TEST_UNITS)]
Rate = Annotated[int, Meta(ge=0, le=s.MAX_LABOUR_RATE)]
Hours = Annotated[float, Meta(ge=0, le=s.MAX_LABOUR_HOURS)]


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
    cause_index: int  # a row pointing at no cause is dropped, not refused
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


def _clip(text: str, limit: int, where: str, fix: Repairs) -> str:
    return fix.clip(_UNPRINTABLE.sub("", text).strip(), limit, where)


def _required(text: str, limit: int, where: str, fix: Repairs) -> str:
    clipped = _clip(text, limit, where, fix)
    if not clipped:
        _refuse(f"{where} is empty")
    return clipped


def _items(items: list[str], limit: int, cap: int, where: str, fix: Repairs) -> tuple[str, ...]:
    """Non-blank items, each clipped, at most ``cap`` of them (blank and extra ones dropped)."""
    clipped = [_clip(item, limit, f"{where}[{i}]", fix) for i, item in enumerate(items)]
    return tuple(fix.cap(clipped, cap, where))


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


def _is_cleared(name: str, cleared: list[frozenset[str]]) -> bool:
    return any(_names_cleared(name, words) for words in cleared)


# --- the sections of the answer ---------------------------------------------------------------


def _language(answer: _Answer) -> str:
    tag = answer.language.strip()
    if not _LANGUAGE_TAG.match(tag):
        _refuse("language is not a BCP-47 tag")
    primary, _, rest = tag.partition("-")
    return f"{primary.lower()}-{rest}" if rest else primary.lower()


class _Ranking:
    """The ranked causes, most likely first, with ``other_pct``, and where each of the model's
    cause indexes went (``position``), so a repair row follows its cause."""

    def __init__(self, answer: _Answer, cleared: list[frozenset[str]], fix: Repairs) -> None:
        if not answer.causes:
            _refuse("causes is empty")
        named = [
            (i, c, _required(c.cause, s.NAME_TEXT, f"causes[{i}].cause", fix))
            for i, c in enumerate(answer.causes)
        ]
        kept = []
        for i, c, name in named:
            if _is_cleared(name, cleared):
                fix.note(f"causes[{i}] dropped: ruled_out clears it; its share went to other_pct")
            else:
                kept.append((i, c, name))
        if not kept:
            _refuse("every cause is one ruled_out clears")
        # "Ranked" is a promise the report makes: most likely first, ties in the model's order.
        kept.sort(key=lambda k: -k[1].pct)
        if len(kept) > MAX_CAUSES:
            fix.note(f"causes: kept the {MAX_CAUSES} most likely of {len(kept)}")
        dropped = sum(c.pct for _, c, _ in named) - sum(c.pct for _, c, _ in kept[:MAX_CAUSES])
        kept = kept[:MAX_CAUSES]
        raw = [c.pct for _, c, _ in kept] + [answer.other_pct + dropped]
        if sum(raw) == 0:
            _refuse("every likelihood is 0%")
        *shares, self.other_pct = fix.shares(raw, "likelihoods")
        self.position = {i: rank for rank, (i, _, _) in enumerate(kept)}
        self.causes = tuple(
            RankedCause(
                cause=name,
                likelihood_pct=pct,
                why=_required(c.why, s.REASON_TEXT, f"causes[{i}].why", fix),
                evidence_for=_items(c.for_, s.NAME_TEXT, s.MAX_EVIDENCE, f"causes[{i}].for", fix),
                evidence_against=_items(
                    c.against, s.NAME_TEXT, s.MAX_EVIDENCE, f"causes[{i}].against", fix
                ),
            )
            for (i, c, name), pct in zip(kept, shares, strict=True)
        )


def _ruled_out(answer: _Answer, fix: Repairs) -> tuple[RuledOut, ...]:
    if len(answer.ruled_out) > s.MAX_RULED_OUT:
        fix.note(f"ruled_out: kept the first {s.MAX_RULED_OUT} of {len(answer.ruled_out)}")
    return tuple(
        RuledOut(
            cause=_required(r.cause, s.NAME_TEXT, f"ruled_out[{i}].cause", fix),
            because=_required(r.because, s.REASON_TEXT, f"ruled_out[{i}].because", fix),
        )
        for i, r in enumerate(answer.ruled_out[: s.MAX_RULED_OUT])
    )


def _facts(answer: _Answer, fix: Repairs) -> tuple[OwnerFact, ...]:
    facts = []
    for i, f in enumerate(answer.facts_used):
        where = f"facts_used[{i}]"
        fact = OwnerFact(
            fact=_clip(f.fact, s.ITEM_TEXT, f"{where}.fact", fix),
            proves=_clip(f.proves, s.REASON_TEXT, f"{where}.proves", fix),
        )
        if fact.fact and fact.proves:
            facts.append(fact)
        else:
            fix.note(f"{where} dropped: a required text is empty")
    return tuple(_capped(facts, s.MAX_FACTS, "facts_used", fix))


def _codes(answer: _Answer, fix: Repairs) -> tuple[DecodedCode, ...]:
    codes = []
    for i, c in enumerate(answer.codes):
        where = f"codes[{i}]"
        code = _clip(c.code, s.CODE_TEXT, f"{where}.code", fix)
        if not code:
            fix.note(f"{where} dropped: the code is empty")
            continue
        codes.append(
            DecodedCode(
                code=code,
                system=_clip(c.system, s.NAME_TEXT, f"{where}.system", fix),
                meaning=_clip(c.meaning, s.ITEM_TEXT, f"{where}.meaning", fix),
                certainty=c.certainty,
                bearing=_clip(c.bearing, s.REASON_TEXT, f"{where}.bearing", fix),
            )
        )
    return tuple(_capped(codes, s.MAX_CODES, "codes", fix))


def _owner_checks(answer: _Answer, fix: Repairs) -> tuple[OwnerCheck, ...]:
    checks = []
    for i, c in enumerate(answer.owner_checks):
        where = f"owner_checks[{i}]"
        check = _clip(c.check, s.ITEM_TEXT, f"{where}.check", fix)
        if not check:
            fix.note(f"{where} dropped: the check is empty")
            continue
        tells = _clip(c.what_it_tells, s.ITEM_TEXT, f"{where}.what_it_tells", fix)
        checks.append(OwnerCheck(check=check, what_it_tells=tells))
    return tuple(_capped(checks, s.MAX_OWNER_CHECKS, "owner_checks", fix))


def _tests(answer: _Answer, fix: Repairs) -> tuple[ShopTest, ...]:
    tests: list[ShopTest] = []
    for i, t in enumerate(answer.shop_tests):
        where = f"shop_tests[{i}]"
        low, high = fix.ordered(t.cost_low, t.cost_high, f"{where}.cost")
        test = ShopTest(
            name=_clip(t.test, s.NAME_TEXT, f"{where}.test", fix),
            how=_clip(t.how, s.REASON_TEXT, f"{where}.how", fix),
            expected=_clip(t.confirms, s.REASON_TEXT, f"{where}.confirms", fix),
            cost_cents_low=int(low) * CENTS,
            cost_cents_high=int(high) * CENTS,
        )
        if test.name and test.how and test.expected:
            tests.append(test)
        else:
            fix.note(f"{where} dropped: a required text is empty")
    return tuple(_capped(tests, s.MAX_TESTS, "shop_tests", fix))


def _cost(c: _Repair, where: str, fix: Repairs) -> dict[str, float]:
    """The row's three ranges, each low <= high."""
    ends: dict[str, float] = {}
    for part in ("parts", "hours", "total"):
        low, high = fix.ordered(getattr(c, f"{part}_low"), getattr(c, f"{part}_high"), where)
        ends[f"{part}_low"], ends[f"{part}_high"] = low, high
    return ends


def _costs(
    answer: _Answer, ranking: _Ranking, cleared: list[frozenset[str]], fix: Repairs
) -> tuple[CostEstimate, ...]:
    costs: list[CostEstimate] = []
    for i, c in enumerate(answer.repair_costs):
        where = f"repair_costs[{i}]"
        ends = _cost(c, f"{where}.range", fix)
        repair = _clip(c.repair, s.NAME_TEXT, f"{where}.repair", fix)
        if ends["total_high"] > MAX_SPREAD * ends["total_low"]:
            dropped = f"its total range is wider than {MAX_SPREAD:g}x its low end"
        elif c.cause_index != -1 and c.cause_index not in ranking.position:
            dropped = "its cause_index points at no ranked cause"
        elif not repair:
            dropped = "the repair is empty"
        elif _is_cleared(repair, cleared):
            dropped = "it repairs a cause ruled_out clears"
        else:
            costs.append(
                CostEstimate(
                    repair=repair,
                    parts_cents_low=int(ends["parts_low"]) * CENTS,
                    parts_cents_high=int(ends["parts_high"]) * CENTS,
                    labour_hours_low=ends["hours_low"],
                    labour_hours_high=ends["hours_high"],
                    total_cents_low=int(ends["total_low"]) * CENTS,
                    total_cents_high=int(ends["total_high"]) * CENTS,
                    cause_index=ranking.position.get(c.cause_index, -1),
                    worst_case=c.worst_case,
                )
            )
            continue
        fix.note(f"{where} dropped: {dropped}")
    return tuple(_capped(costs, s.MAX_COSTS, "repair_costs", fix))


def _capped(items: list[_T], cap: int, where: str, fix: Repairs) -> list[_T]:
    if len(items) > cap:
        fix.note(f"{where}: kept the first {cap} of {len(items)} items")
    return items[:cap]


def _quote(answer: _Answer, fix: Repairs) -> QuoteCheck:
    q = answer.quote_check
    low, high = fix.ordered(q.fair_low, q.fair_high, "quote_check.fair")
    return QuoteCheck(
        shop_job=_clip(q.shop_job, s.ITEM_TEXT, "quote_check.shop_job", fix),
        fair_cents_low=int(low) * CENTS,
        fair_cents_high=int(high) * CENTS,
        verdict=q.verdict,
        explanation=_clip(q.explanation, s.REASON_TEXT, "quote_check.explanation", fix),
    )


def _data_needed(answer: _Answer, intake: Intake | None, fix: Repairs) -> tuple[str, ...]:
    kept: list[str] = []
    for i, item in enumerate(answer.data_needed):
        given = asks_for_given(item, intake) if intake is not None else None
        if given:
            fix.note(f"data_needed[{i}] dropped: the intake already gives {given}")
        else:
            kept.append(item)
    return _items(kept, s.ITEM_TEXT, s.MAX_DATA_NEEDED, "data_needed", fix)


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
    """Turn the model's answer into a checked Analysis, repaired where ``repair.py`` says it
    can be (the notes in ``Analysis.corrections``); raise AnalysisInvalid otherwise.

    ``codes`` are the ones extracted from the customer's text (``detected_codes``), never the
    model's. ``intake``, when given, is what ``data_needed`` must not ask for again. A ```json
    fence around the answer is tolerated. ``currency`` is the one the prompt asked amounts in.
    ``owner_cleared`` are the causes diagpro's rules found the owner's findings clear (the prompt
    states them): an answer that rules nothing out is refused. The model names causes in its own
    words and language, so the causes it ranks are checked against its own ``ruled_out``.
    """
    answer = _decode(text)
    fix = Repairs()
    ruled_out = _ruled_out(answer, fix)
    if owner_cleared and not ruled_out:
        names = "; ".join(c.cause for c in owner_cleared)
        _refuse(f"ruled_out is empty, but the owner's own findings clear: {names}")
    cleared = [_words(r.cause) for r in ruled_out]
    ranking = _Ranking(answer, cleared, fix)
    u = answer.urgency
    questions = _items(answer.shop_questions, s.ITEM_TEXT, s.MAX_QUESTIONS, "shop_questions", fix)
    if not questions:
        _refuse("shop_questions is empty")
    steps = _items(answer.next_steps, s.ITEM_TEXT, MAX_NEXT_STEPS, "next_steps", fix)
    if not steps:
        _refuse("next_steps has no usable item")
    analysis = Analysis(
        causes=ranking.causes,
        other_pct=ranking.other_pct,
        urgency=UrgencyAdvice(
            level=u.level,
            reason=_required(u.reason, s.REASON_TEXT, "urgency.reason", fix),
            stop_if=_items(u.stop_if, s.ITEM_TEXT, s.MAX_STOP_IF, "urgency.stop_if", fix),
        ),
        next_steps=steps,
        detected_codes=tuple(codes),
        language=_language(answer),
        equipment_assumed=_clip(answer.equipment_assumed, s.ITEM_TEXT, "equipment_assumed", fix),
        facts_used=_facts(answer, fix),
        codes=_codes(answer, fix),
        ruled_out=ruled_out,
        safety=_items(answer.safety, s.ITEM_TEXT, s.MAX_SAFETY, "safety", fix),
        owner_checks=_owner_checks(answer, fix),
        shop_tests=_tests(answer, fix),
        do_not=_items(answer.do_not, s.ITEM_TEXT, s.MAX_DO_NOT, "do_not", fix),
        costs=_costs(answer, ranking, cleared, fix),
        labour_rate_cents=answer.labour_rate * CENTS,
        quote_check=_quote(answer, fix),
        shop_questions=questions,
        how_it_works=_clip(answer.how_it_works, s.LONG_TEXT, "how_it_works", fix),
        sources=_items(answer.sources, s.ITEM_TEXT, s.MAX_SOURCES, "sources", fix),
        data_needed=_data_needed(answer, intake, fix),
        model=model,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        offline=False,
        currency=currency,
    )
    if any(_URL.search(value) for value in _strings(analysis)):
        _refuse("the answer contains a URL")
    analysis = replace(analysis, corrections=fix.notes)
    # The domain's own guarantee, kept as the last word (data needed below the confidence
    # threshold among others). Its messages quote text with repr(); strip any quoted text so a
    # domain rule cannot carry the model's words into a log.
    try:
        return analysis.check()
    except AnalysisInvalid as exc:
        _refuse(_QUOTED.sub("'…'", exc.message))
