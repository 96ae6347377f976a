"""The analysis as the report prints it: plain words for the urgency, money through
``format_money``, capped rows, each section's narrative within its budget, and the at-a-glance
page fitted to one page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from diagpro.adapters.pdf.limits import (
    CAUSE_LIMIT,
    CELL_LIMIT,
    DATA_NEEDED_ITEM_LIMIT,
    DATA_NEEDED_LIMIT,
    EVIDENCE_LIMIT,
    GLANCE_CAUSE_LIMIT,
    GLANCE_DATA_LIMIT,
    GLANCE_DATA_NEEDED,
    GLANCE_FLAG_LIMIT,
    GLANCE_FLAGS,
    GLANCE_LINE_CHARS,
    GLANCE_LINES,
    GLANCE_OTHER_CAUSES,
    GLANCE_OTHER_LIMIT,
    GLANCE_REPAIR_LIMIT,
    GLANCE_SHORT_STEP_LIMIT,
    GLANCE_STEP_LIMIT,
    ITEM_LIMIT,
    KEEP_INTRO_LIMIT,
    LEAD_LIMIT,
    MAX_CAUSE_ROWS,
    MAX_COST_ROWS,
    MAX_EVIDENCE,
    MAX_NEXT_STEPS,
    MAX_POINTS,
    MAX_QUESTIONS,
    MAX_SAFETY_FLAGS,
    MAX_TEST_ROWS,
    NAME_LIMIT,
    NEXT_STEP_LIMIT,
    NOTE_LIMIT,
    POINT_LIMIT,
    PRIMARY_BUDGET,
    SECTION_BUDGET,
    SUMMARY_LIMIT,
)
from diagpro.adapters.pdf.measure import clip, paragraphs, text_width
from diagpro.domain.analysis import (
    CONFIDENCE_THRESHOLD,
    SECTION_TITLES,
    Analysis,
    CostEstimate,
    RankedCause,
    Section,
    ShopTest,
    Urgency,
)
from diagpro.domain.codes import CodeFamily
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money

_FAMILY_LABELS: dict[str, str] = {
    CodeFamily.OBD2: "OBD-II",
    CodeFamily.J1939: "J1939",
    CodeFamily.EQUIPMENT: "equipment",
    CodeFamily.BLINK: "blink",
}


@dataclass(frozen=True)
class UrgencyView:
    key: str  # css class
    badge: str  # "STOP"
    words: str  # the plain-words headline
    advice: str


URGENCY_VIEWS: dict[Urgency, UrgencyView] = {
    Urgency.STOP: UrgencyView(
        "stop",
        "STOP",
        "Stop using it until it is checked",
        "Do not drive, run or use it until a technician has checked it. Tow it if it must move.",
    ),
    Urgency.SOON: UrgencyView(
        "soon",
        "SOON",
        "Get it checked within the next few days",
        "Book an inspection now; until then use it as little and as gently as possible.",
    ),
    Urgency.CAN_WAIT: UrgencyView(
        "can-wait",
        "CAN WAIT",
        "It can wait for a convenient appointment",
        "Book a visit when convenient; stop using it if a warning sign in section 13 appears.",
    ),
}


@dataclass(frozen=True)
class _Lead:
    """A list item split as 'Label: rest' so the label can be set in bold."""

    lead: str
    text: str


def _lead(point: str) -> _Lead:
    # 'Approve now: the diagnosis ...' -> ('Approve now', 'the diagnosis ...'). Only short labels
    # without sentence punctuation, so ordinary sentences with a colon stay as they are.
    label, sep, rest = point.partition(": ")
    if sep and rest and 0 < len(label) <= LEAD_LIMIT and not any(ch in label for ch in '."“”'):
        return _Lead(label, rest)
    return _Lead("", point)


def money(cents: int, currency: str) -> str:
    """format_money, with a no-break space so an amount never wraps away from its currency."""
    return format_money(cents, currency).replace(" ", "\u00a0")


def money_lines(low: int, high: int, currency: str) -> tuple[str, ...]:
    """A range as lines for a narrow cell: ('$65.00 USD', 'to $720.00 USD'), or one line."""
    if low == high:
        return (money(low, currency),)
    return (money(low, currency), f"to {money(high, currency)}")


def _hours(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _hours_range(low: float, high: float) -> str:
    if low == high:
        return f"{_hours(low)} h"
    return f"{_hours(low)}–{_hours(high)} h"


def _pct(value: int) -> int:
    return max(0, min(100, value))


def _capped(items: tuple[str, ...], count: int, limit: int) -> tuple[str, ...]:
    return tuple(clip(item, limit) for item in items if item.strip())[:count]


def _omitted(total: int, shown: int) -> int:
    return max(0, total - shown)


def _cause_rows(causes: tuple[RankedCause, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "rank": rank,
            "cause": clip(c.cause, NAME_LIMIT),
            "pct": _pct(c.likelihood_pct),
            "reasoning": clip(c.reasoning, CELL_LIMIT),
            "evidence": _capped(c.evidence, MAX_EVIDENCE, EVIDENCE_LIMIT),
        }
        for rank, c in enumerate(causes[:MAX_CAUSE_ROWS], start=1)
    )


def _test_rows(tests: tuple[ShopTest, ...], currency: str) -> tuple[dict[str, Any], ...]:
    rows = []
    for test in tests[:MAX_TEST_ROWS]:
        low, high = test.cost_cents_low, max(test.cost_cents_low, test.cost_cents_high)
        if high <= 0:
            cost: tuple[str, ...] = ("—",)
        elif low <= 0:
            cost = (f"up to {money(high, currency)}",)
        else:
            cost = money_lines(low, high, currency)
        rows.append(
            {
                "name": clip(test.name, NAME_LIMIT),
                "how": clip(test.how, CELL_LIMIT),
                "expected": clip(test.expected, CELL_LIMIT),
                "cost": cost,
            }
        )
    return tuple(rows)


def _cost_rows(costs: tuple[CostEstimate, ...], currency: str) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "repair": clip(c.repair, NAME_LIMIT),
            "note": clip(c.note, NOTE_LIMIT),
            "parts": money_lines(c.parts_cents_low, c.parts_cents_high, currency),
            "labour": _hours_range(c.labour_hours_low, c.labour_hours_high),
            "total": money_lines(c.total_cents_low, c.total_cents_high, currency),
        }
        for c in costs[:MAX_COST_ROWS]
    )


def _narrative(section: Section) -> tuple[tuple[str, ...], tuple[_Lead, ...], int]:
    """(summary paragraphs, points, points omitted), within the section's character budget."""
    budget = PRIMARY_BUDGET if section.key == "primary_diagnosis" else SECTION_BUDGET
    summary = paragraphs(section.summary, min(SUMMARY_LIMIT, budget))
    budget -= round(sum(text_width(p) for p in summary))
    points = [p.strip() for p in section.points if p.strip()]
    kept: list[str] = []
    for point in points[:MAX_POINTS]:
        if budget <= 0:
            break
        clipped = clip(point, min(POINT_LIMIT, max(budget, 80)))
        kept.append(clipped)
        budget -= round(text_width(clipped))
    return summary, tuple(_lead(p) for p in kept), len(points) - len(kept)


# The structured field each section prints, when the analysis has it.
_BLOCKS: dict[str, str] = {
    "differential_diagnosis": "differential",
    "diagnostic_verification": "tests",
    "shop_interrogation": "questions",
    "cost_breakdown": "costs",
    "likely_causes_ranked": "ranked",
    "recommendations": "safety",
    "next_steps_summary": "steps",
}


def contents_title(title: str) -> str:
    """'OEM PARTS STRATEGY' -> 'OEM parts strategy' for the contents list."""
    words = title.lower().split()
    words = [w.upper() if w == "oem" else w for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _next_steps(analysis: Analysis) -> tuple[str, ...]:
    """The three next steps: the structured field, else section 15's narrative."""
    if any(step.strip() for step in analysis.next_steps):
        return _capped(analysis.next_steps, MAX_NEXT_STEPS, NEXT_STEP_LIMIT)
    try:
        section = analysis.section("next_steps_summary")
    except KeyError:
        return ()
    steps = _capped(section.points, MAX_NEXT_STEPS, NEXT_STEP_LIMIT)
    return steps or paragraphs(section.summary, NEXT_STEP_LIMIT)[:MAX_NEXT_STEPS]


def _confidence_words(confidence: int) -> str:
    if confidence >= CONFIDENCE_THRESHOLD:
        return "High confidence"
    if confidence >= 60:
        return "Moderate confidence: more data would firm it up"
    return "Low confidence: treat this as a lead to test, not a verdict"


def _glance_lines(items: tuple[str, ...]) -> int:
    return sum(math.ceil(text_width(item) / GLANCE_LINE_CHARS) for item in items)


def _fit_glance(
    flags: tuple[str, ...], data: tuple[str, ...], steps: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Flags, data needed and steps for the glance, within GLANCE_LINES lines: drop the data
    needed (it is in section 1), then the flags after the first (section 13), then shorten
    the steps (section 15)."""
    flags = tuple(clip(f, GLANCE_FLAG_LIMIT) for f in flags[:GLANCE_FLAGS])
    data = tuple(clip(d, GLANCE_DATA_LIMIT) for d in data[:GLANCE_DATA_NEEDED])
    steps = tuple(clip(s, GLANCE_STEP_LIMIT) for s in steps)

    def lines() -> int:
        return _glance_lines(flags) + _glance_lines(data) + _glance_lines(steps)

    while data and lines() > GLANCE_LINES:
        data = data[:-1]
    while len(flags) > 1 and lines() > GLANCE_LINES:
        flags = flags[:-1]
    if lines() > GLANCE_LINES:
        steps = tuple(clip(s, GLANCE_SHORT_STEP_LIMIT) for s in steps)
    return flags, data, steps


def _glance_view(
    analysis: Analysis,
    intake: Intake,
    ranked: tuple[dict[str, Any], ...],
    data_needed: tuple[str, ...],
    currencies: tuple[str, str],
) -> dict[str, Any]:
    amounts, quote_currency = currencies
    all_flags = tuple(f for f in analysis.safety_flags if f.strip())
    flags, data, steps = _fit_glance(all_flags, data_needed, _next_steps(analysis))
    cost = None
    if analysis.cost_range_cents is not None:
        low, high = analysis.cost_range_cents
        cost = {
            "range": money_lines(low, high, amounts),
            "repair": clip(analysis.costs[0].repair, GLANCE_REPAIR_LIMIT),
        }
    cents = intake.shop_quote_cents
    quote = money(cents, quote_currency) if cents is not None else ""
    others = tuple(
        {"cause": clip(row["cause"], GLANCE_OTHER_LIMIT), "pct": row["pct"], "rank": row["rank"]}
        for row in ranked[1 : 1 + GLANCE_OTHER_CAUSES]
    )
    return {
        "cause": clip(analysis.most_likely_cause, GLANCE_CAUSE_LIMIT),
        "flags": flags,
        "more_flags": _omitted(len(all_flags), len(flags)),
        "data_needed": data,
        "more_data_needed": _omitted(len(data_needed), len(data)),
        "cost": cost,
        "quote": quote,
        "steps": steps,
        "others": others,
    }


def analysis_view(analysis: Analysis, intake: Intake, currency: str) -> dict[str, Any]:
    """``currency`` is the submission's (the shop quote's); the analysis' own amounts are in the
    currency it names, else in that one. Every amount prints with its currency code, so a quote
    and an offline analysis' dollar ranges are never mistaken for one another."""
    amounts = analysis.currency or currency
    confidence = _pct(analysis.confidence_pct)
    ranked = _cause_rows(analysis.ranked_causes)
    ranked_total = sum(_pct(c.likelihood_pct) for c in analysis.ranked_causes)
    structures: dict[str, Any] = {
        "differential": ranked[1:],
        "tests": _test_rows(analysis.shop_tests, amounts),
        "questions": _capped(analysis.shop_questions, MAX_QUESTIONS, ITEM_LIMIT),
        "costs": _cost_rows(analysis.costs, amounts),
        "ranked": ranked,
        "safety": _capped(analysis.safety_flags, MAX_SAFETY_FLAGS, ITEM_LIMIT),
        "steps": _capped(analysis.next_steps, MAX_NEXT_STEPS, NEXT_STEP_LIMIT),
    }
    omitted = {
        "differential": _omitted(len(analysis.ranked_causes) - 1, len(ranked) - 1),
        "tests": _omitted(len(analysis.shop_tests), MAX_TEST_ROWS),
        "questions": _omitted(len(analysis.shop_questions), MAX_QUESTIONS),
        "costs": _omitted(len(analysis.costs), MAX_COST_ROWS),
        "ranked": _omitted(len(analysis.ranked_causes), MAX_CAUSE_ROWS),
        "safety": _omitted(len(analysis.safety_flags), MAX_SAFETY_FLAGS),
        "steps": 0,
    }
    sections = []
    for number, section in enumerate(analysis.sections, start=1):
        title = SECTION_TITLES.get(section.key, section.title)
        block = _BLOCKS.get(section.key, "")
        rows = structures.get(block, ())
        summary, points, more_points = _narrative(section)
        # The structure replaces the narrative points, except the safety callout, which comes
        # on top of the recommendations.
        show_points = not rows or block == "safety"
        sections.append(
            {
                "number": number,
                "heading": f"{number}. {title}",
                "contents_title": contents_title(title),
                "anchor": f"section-{number}",
                "block": block if rows else "",
                "rows": rows,
                "more_rows": omitted.get(block, 0) if rows else 0,
                "summary": summary,
                "keep_intro": sum(text_width(p) for p in summary) <= KEEP_INTRO_LIMIT,
                "points": points if show_points else (),
                "more_points": more_points if show_points else 0,
            }
        )
    low = confidence < CONFIDENCE_THRESHOLD
    data_needed = (
        _capped(analysis.data_needed, DATA_NEEDED_LIMIT, DATA_NEEDED_ITEM_LIMIT) if low else ()
    )
    return {
        "most_likely_cause": clip(analysis.most_likely_cause, CAUSE_LIMIT),
        "confidence": confidence,
        "confidence_words": _confidence_words(confidence),
        "low_confidence": low,
        "threshold": CONFIDENCE_THRESHOLD,
        "data_needed": data_needed,
        "urgency": URGENCY_VIEWS[Urgency(analysis.urgency)],
        "glance": _glance_view(analysis, intake, ranked, data_needed, (amounts, currency)),
        "other_causes_pct": 100 - ranked_total
        if ranked and len(analysis.ranked_causes) <= MAX_CAUSE_ROWS and ranked_total < 100
        else 0,
        "codes": tuple(
            (code.code, _FAMILY_LABELS.get(code.family, str(code.family)))
            for code in analysis.detected_codes
        ),
        "offline": analysis.offline,
        "model": clip(analysis.model, 80),
        # Who wrote it, the same words for either analyzer: printed on the cover and last page.
        "written_by": clip(analysis.written_by, 120),
        "sections": tuple(sections),
    }
