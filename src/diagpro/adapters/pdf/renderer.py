"""ReportRenderer with WeasyPrint: a ReportDocument becomes a US Letter PDF.

Everything the customer or the model wrote is untrusted. It reaches the PDF only as text:
Jinja2 escapes every value (``autoescape=True``, no ``|safe`` anywhere), and the only URLs
WeasyPrint may load are our packaged assets, fonts included (see ``fetcher.py``). The template
gets a plain view built here (labels, formatted money and dates, bounded text, capped rows), so it
holds no logic worth testing.

The layout: a cover (report id, date, contents), one "at a glance" page (urgency, safety flags,
most likely cause, confidence, cost range, the three next steps), the submission summary, the 15
sections, a disclaimer page. Sections with a structured field print it as a table, checklist or
callout (2 and 12 ranked causes, 3 shop tests, 4 shop questions, 6 costs, 13 safety flags, 15 next
steps); the section's narrative summary stays above it, and its narrative points are replaced by
the structure (except in 13, where the safety callout comes on top of the points). A section whose
structured field is empty prints its narrative summary and points, as a model's free text may
have nothing else.

Length is bounded whatever the input: every text is clipped by its printed width (so wide glyphs
cannot stretch it), every list and table capped, each section's narrative has a budget and the
at-a-glance page shares a line budget, so the worst case is about 20 pages (the original's ran to
36; tests/unit/test_pdf_renderer.py holds it under 25) and a typical report 8 to 11.

Everything is built in the constructor and nothing at import time, so a child process (see
isolation.py) builds its own renderer.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import io
import math
import os
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fontTools.ttLib import TTFont
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from diagpro.adapters.pdf.fetcher import ASSET_PREFIX, AssetOnlyFetcher, asset_url
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
from diagpro.domain.equipment import DETAIL_LABELS as DETAIL_LABELS  # re-exported for tests
from diagpro.domain.errors import AnalysisInvalid, RenderFailed
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money
from diagpro.domain.report import ReportDocument

TEMPLATE_NAME = "report.html"
STYLESHEET = "report.css"
LOGO = "logo.svg"
BODY_FONT = "assets/fonts/DejaVuSans.ttf"  # the font the page bound is measured with
CURRENCY = "usd"  # the analysis' cents are US dollars (the price and the quotes are)

# Every limit below exists so that the worst case (every field at its maximum) stays near 25
# pages; tests/unit/test_pdf_renderer.py renders that case.
#
# Intake text is bounded by the domain (5000 characters); line breaks are not, and 5000 blank
# lines would be 100 pages. Keep at most this many paragraphs per field; the rest is joined.
MAX_PARAGRAPHS = 40
# The customer's long answers are reprinted for the mechanic: at most this many characters and
# paragraphs per field (the customer has the full text; the shop needs the gist). The problem
# description gets the most room; history, codes as typed and the shop's words less.
INTAKE_TEXT_LIMIT = 1500
HISTORY_TEXT_LIMIT = 800
INTAKE_PARAGRAPHS = 12
SYMPTOM_LIMIT = 120
# The analysis has no length limits in the domain: bound what one section can print.
SUMMARY_LIMIT = 3000
POINT_LIMIT = 600
MAX_POINTS = 16
# Summary plus points of one section, in characters (the tightest of these limits wins): the
# primary diagnosis gets more room than the others. A realistic section is 500 to 2000
# characters. The point that crosses the budget is clipped and the rest are counted as omitted.
SECTION_BUDGET = 1800
PRIMARY_BUDGET = 3000
# A section intro (heading and summary) at most this long is kept on the page of the table or
# list that follows it; a longer one may be split from it (keeping it would leave a blank page).
KEEP_INTRO_LIMIT = 700
CAUSE_LIMIT = 400
DATA_NEEDED_LIMIT = 10
DATA_NEEDED_ITEM_LIMIT = 300
COVER_NAME_LIMIT = 90
HEADER_NAME_LIMIT = 60  # the equipment name in the running header
COVER_PERSON_LIMIT = 80
CLIP_MARK = " […]"
WORD_BREAK_SEARCH = 24  # a clipped text ends at the last space this close to the limit
# "Approve now: ..." prints its label in bold when the label is at most this long.
LEAD_LIMIT = 56

# Structured fields: rows per table or list, and characters per cell.
MAX_CAUSE_ROWS = 5  # section 12; section 2 shows the alternatives among them
MAX_EVIDENCE = 2
MAX_TEST_ROWS = 5
MAX_COST_ROWS = 4
MAX_QUESTIONS = 8
MAX_SAFETY_FLAGS = 5
MAX_NEXT_STEPS = 3
NAME_LIMIT = 100  # a cause, a test or a repair
CELL_LIMIT = 240  # reasoning, how to test, expected reading
NOTE_LIMIT = 160  # a cost estimate's note
ITEM_LIMIT = 240  # a question, a safety flag
NEXT_STEP_LIMIT = 400  # one of the three next steps
EVIDENCE_LIMIT = 120
# The at-a-glance page must stay one page whatever the input: it shows fewer and shorter items
# (each in full elsewhere: the cause in section 1, flags in 13, steps in 15, data needed in 1).
# Safety flags, data needed and next steps share GLANCE_LINES full-width lines (of about
# GLANCE_LINE_CHARS prose characters); when they need more, data needed goes first, then the
# flags after the first, then the steps are shortened (see _fit_glance).
GLANCE_LINES = 14
GLANCE_LINE_CHARS = 90
GLANCE_CAUSE_LIMIT = 120
GLANCE_FLAGS = 2
GLANCE_FLAG_LIMIT = 230
GLANCE_DATA_NEEDED = 2
GLANCE_DATA_LIMIT = 120
GLANCE_STEP_LIMIT = 230
GLANCE_SHORT_STEP_LIMIT = 170
GLANCE_OTHER_CAUSES = 3
GLANCE_OTHER_LIMIT = 45
GLANCE_REPAIR_LIMIT = 64

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_FAMILY_LABELS: dict[str, str] = {
    CodeFamily.OBD2: "OBD-II",
    CodeFamily.J1939: "J1939",
    CodeFamily.EQUIPMENT: "equipment",
    CodeFamily.BLINK: "blink",
}

_CHOICE_LABELS: dict[str, dict[str, str]] = {
    "when_started": {
        "today": "Today",
        "week": "Within the last week",
        "month": "Within the last month",
        "gradual": "Gradually, over time",
        "sudden": "Suddenly",
    },
    "frequency": {
        "always": "Always",
        "often": "Often",
        "sometimes": "Sometimes",
        "rarely": "Rarely",
        "once": "Once",
    },
    "urgency_level": {
        "low": "Low",
        "normal": "Normal",
        "high": "High",
        "emergency": "Emergency",
    },
}


def detail_label(name: str) -> str:
    """'checkEngineLightOn' -> 'Check engine light on' (DETAIL_LABELS, else split camelCase)."""
    if name in DETAIL_LABELS:
        return DETAIL_LABELS[name]
    words: list[str] = []
    for ch in name:
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.lower())
    text = "".join(words)
    return text[:1].upper() + text[1:]


# Limits count characters of ordinary prose. Printed width is what fills pages, and "WWWW" is
# twice as wide as prose, so text is measured in prose-character widths (from the packaged
# font's advance widths) and clipped by that measure: hostile wide text cannot stretch the
# page bound, ordinary text is clipped where a character count would clip it.
_PROSE_SAMPLE = (
    "The shop should smoke-test the intake before replacing the injectors; "
    "fuel trims at idle were +14% on bank 1, so ask for the readings."
)
_UNKNOWN_WIDTH = 2.0  # a glyph the body font lacks (CJK, emoji): about one em, two prose chars


@functools.cache
def _glyph_widths() -> dict[int, float]:
    """Code point -> advance width in average prose characters, for the body font."""
    data = importlib.resources.files("diagpro.adapters.pdf").joinpath(BODY_FONT).read_bytes()
    font = TTFont(io.BytesIO(data), lazy=True)
    metrics = font["hmtx"]
    advances = {cp: metrics[name][0] for cp, name in font.getBestCmap().items()}
    unit = sum(advances[ord(ch)] for ch in _PROSE_SAMPLE) / len(_PROSE_SAMPLE)
    return {cp: width / unit for cp, width in advances.items()}


def text_width(text: str) -> float:
    """Printed width of ``text`` in average prose characters (len() for ordinary prose)."""
    widths = _glyph_widths()
    return sum(widths.get(ord(ch), _UNKNOWN_WIDTH) for ch in text)


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` prose characters wide (and never more than 2 × limit characters: zero-
    width marks count too), ending with CLIP_MARK when cut; cut at a word break when one is near."""
    text = text.strip()
    widths = _glyph_widths()
    total = 0.0
    for index, ch in enumerate(text[: 2 * limit + 1]):
        total += widths.get(ord(ch), _UNKNOWN_WIDTH)
        if total > limit or index >= 2 * limit:
            cut = text[:index]
            space = cut.rfind(" ", max(0, index - WORD_BREAK_SEARCH))
            return (cut[:space] if space > 0 else cut).rstrip(" ,;:") + CLIP_MARK
    return text


def paragraphs(text: str, limit: int | None = None) -> tuple[str, ...]:
    """Customer or model text as paragraphs: blank lines dropped, at most MAX_PARAGRAPHS."""
    if limit is not None:
        text = _clip(text, limit)
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line]
    if len(kept) > MAX_PARAGRAPHS:
        kept = [*kept[: MAX_PARAGRAPHS - 1], " ".join(kept[MAX_PARAGRAPHS - 1 :])]
    return tuple(kept)


def _choice(field: str, value: str) -> str:
    return _CHOICE_LABELS.get(field, {}).get(value, value[:1].upper() + value[1:])


def _yes_no(value: str) -> str:
    return {"yes": "Yes", "no": "No"}.get(value, value)


def report_date(moment: datetime) -> str:
    """'November 26, 2026' (UTC when the time is aware); no locale involved."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


@dataclass(frozen=True)
class _Row:
    label: str
    value: str


def _rows(*pairs: tuple[str, str]) -> tuple[_Row, ...]:
    return tuple(_Row(label, value) for label, value in pairs if value)


def _intake_view(intake: Intake) -> dict[str, Any]:
    category = intake.category
    details = dict(intake.details)
    ordered = [name for name in category.detail_fields if name in details]
    ordered += sorted(name for name in details if name not in category.detail_fields)
    quote = (
        format_money(intake.shop_quote_cents, CURRENCY)
        if intake.shop_quote_cents is not None
        else ""
    )

    def long_text(text: str, limit: int = HISTORY_TEXT_LIMIT) -> tuple[str, ...]:
        kept = paragraphs(text, limit)
        if len(kept) > INTAKE_PARAGRAPHS:
            kept = (*kept[: INTAKE_PARAGRAPHS - 1], " ".join(kept[INTAKE_PARAGRAPHS - 1 :]))
        return kept

    return {
        "category": category.label,
        "equipment_rows": _rows(
            ("Category", category.label),
            ("Make", intake.make),
            ("Model", intake.model),
            ("Year", _choice("year", intake.year)),
            (category.identifier_label, intake.serial_number),
            (category.usage_label, intake.mileage_hours),
            ("Usage pattern", _choice("usage_pattern", intake.usage_pattern)),
            ("Location / environment", intake.location_environment),
        ),
        "detail_rows": _rows(*((detail_label(n), _yes_no(details[n])) for n in ordered)),
        "problem_rows": _rows(
            ("When it started", _choice("when_started", intake.when_started)),
            ("How often", _choice("frequency", intake.frequency)),
            ("Urgency", _choice("urgency_level", intake.urgency_level)),
        ),
        "problem_description": long_text(intake.problem_description, INTAKE_TEXT_LIMIT),
        "symptoms": tuple(_clip(symptom, SYMPTOM_LIMIT) for symptom in intake.symptoms),
        "codes_as_entered": long_text(intake.error_codes),
        "history": tuple(
            (label, long_text(text))
            for label, text in (
                ("Previous repairs", intake.previous_repairs),
                ("Modifications", intake.modifications),
                ("Troubleshooting already done", intake.troubleshooting_steps),
            )
            if text
        ),
        "shop_quote": quote,
        "shop_recommendation": long_text(intake.shop_recommendation),
        "full_name": _clip(intake.full_name, COVER_PERSON_LIMIT),
    }


# ---- The analysis: plain words for the urgency, money through format_money, capped rows ----


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


def money(cents: int) -> str:
    """format_money, with a no-break space so an amount never wraps away from its currency."""
    return format_money(cents, CURRENCY).replace(" ", "\u00a0")


def money_lines(low: int, high: int) -> tuple[str, ...]:
    """A range as lines for a narrow cell: ('$65.00 USD', 'to $720.00 USD'), or one line."""
    if low == high:
        return (money(low),)
    return (money(low), f"to {money(high)}")


def _hours(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _hours_range(low: float, high: float) -> str:
    if low == high:
        return f"{_hours(low)} h"
    return f"{_hours(low)}–{_hours(high)} h"


def _pct(value: int) -> int:
    return max(0, min(100, value))


def _capped(items: tuple[str, ...], count: int, limit: int) -> tuple[str, ...]:
    return tuple(_clip(item, limit) for item in items if item.strip())[:count]


def _omitted(total: int, shown: int) -> int:
    return max(0, total - shown)


def _cause_rows(causes: tuple[RankedCause, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "rank": rank,
            "cause": _clip(c.cause, NAME_LIMIT),
            "pct": _pct(c.likelihood_pct),
            "reasoning": _clip(c.reasoning, CELL_LIMIT),
            "evidence": _capped(c.evidence, MAX_EVIDENCE, EVIDENCE_LIMIT),
        }
        for rank, c in enumerate(causes[:MAX_CAUSE_ROWS], start=1)
    )


def _test_rows(tests: tuple[ShopTest, ...]) -> tuple[dict[str, Any], ...]:
    rows = []
    for test in tests[:MAX_TEST_ROWS]:
        low, high = test.cost_cents_low, max(test.cost_cents_low, test.cost_cents_high)
        if high <= 0:
            cost: tuple[str, ...] = ("—",)
        elif low <= 0:
            cost = (f"up to {money(high)}",)
        else:
            cost = money_lines(low, high)
        rows.append(
            {
                "name": _clip(test.name, NAME_LIMIT),
                "how": _clip(test.how, CELL_LIMIT),
                "expected": _clip(test.expected, CELL_LIMIT),
                "cost": cost,
            }
        )
    return tuple(rows)


def _cost_rows(costs: tuple[CostEstimate, ...]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "repair": _clip(c.repair, NAME_LIMIT),
            "note": _clip(c.note, NOTE_LIMIT),
            "parts": money_lines(c.parts_cents_low, c.parts_cents_high),
            "labour": _hours_range(c.labour_hours_low, c.labour_hours_high),
            "total": money_lines(c.total_cents_low, c.total_cents_high),
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
        clipped = _clip(point, min(POINT_LIMIT, max(budget, 80)))
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
    flags = tuple(_clip(f, GLANCE_FLAG_LIMIT) for f in flags[:GLANCE_FLAGS])
    data = tuple(_clip(d, GLANCE_DATA_LIMIT) for d in data[:GLANCE_DATA_NEEDED])
    steps = tuple(_clip(s, GLANCE_STEP_LIMIT) for s in steps)

    def lines() -> int:
        return _glance_lines(flags) + _glance_lines(data) + _glance_lines(steps)

    while data and lines() > GLANCE_LINES:
        data = data[:-1]
    while len(flags) > 1 and lines() > GLANCE_LINES:
        flags = flags[:-1]
    if lines() > GLANCE_LINES:
        steps = tuple(_clip(s, GLANCE_SHORT_STEP_LIMIT) for s in steps)
    return flags, data, steps


def _glance_view(
    analysis: Analysis,
    intake: Intake,
    ranked: tuple[dict[str, Any], ...],
    data_needed: tuple[str, ...],
) -> dict[str, Any]:
    all_flags = tuple(f for f in analysis.safety_flags if f.strip())
    flags, data, steps = _fit_glance(all_flags, data_needed, _next_steps(analysis))
    cost = None
    if analysis.cost_range_cents is not None:
        low, high = analysis.cost_range_cents
        cost = {
            "range": money_lines(low, high),
            "repair": _clip(analysis.costs[0].repair, GLANCE_REPAIR_LIMIT),
        }
    quote = money(intake.shop_quote_cents) if intake.shop_quote_cents is not None else ""
    others = tuple(
        {"cause": _clip(row["cause"], GLANCE_OTHER_LIMIT), "pct": row["pct"], "rank": row["rank"]}
        for row in ranked[1 : 1 + GLANCE_OTHER_CAUSES]
    )
    return {
        "cause": _clip(analysis.most_likely_cause, GLANCE_CAUSE_LIMIT),
        "flags": flags,
        "more_flags": _omitted(len(all_flags), len(flags)),
        "data_needed": data,
        "more_data_needed": _omitted(len(data_needed), len(data)),
        "cost": cost,
        "quote": quote,
        "steps": steps,
        "others": others,
    }


def _analysis_view(analysis: Analysis, intake: Intake) -> dict[str, Any]:
    confidence = _pct(analysis.confidence_pct)
    ranked = _cause_rows(analysis.ranked_causes)
    ranked_total = sum(_pct(c.likelihood_pct) for c in analysis.ranked_causes)
    structures: dict[str, Any] = {
        "differential": ranked[1:],
        "tests": _test_rows(analysis.shop_tests),
        "questions": _capped(analysis.shop_questions, MAX_QUESTIONS, ITEM_LIMIT),
        "costs": _cost_rows(analysis.costs),
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
        "most_likely_cause": _clip(analysis.most_likely_cause, CAUSE_LIMIT),
        "confidence": confidence,
        "confidence_words": _confidence_words(confidence),
        "low_confidence": low,
        "threshold": CONFIDENCE_THRESHOLD,
        "data_needed": data_needed,
        "urgency": URGENCY_VIEWS[Urgency(analysis.urgency)],
        "glance": _glance_view(analysis, intake, ranked, data_needed),
        "other_causes_pct": 100 - ranked_total
        if ranked and len(analysis.ranked_causes) <= MAX_CAUSE_ROWS and ranked_total < 100
        else 0,
        "codes": tuple(
            (code.code, _FAMILY_LABELS.get(code.family, str(code.family)))
            for code in analysis.detected_codes
        ),
        "offline": analysis.offline,
        "model": _clip(analysis.model, 80),
        "sections": tuple(sections),
    }


def build_context(document: ReportDocument) -> dict[str, Any]:
    """Everything the template prints, as plain text and tuples (escaped by Jinja)."""
    intake = document.intake
    return {
        "report_id": document.submission_id,
        "report_date": report_date(document.generated_at),
        "equipment_name": _clip(intake.equipment_name, COVER_NAME_LIMIT),
        "header_name": _clip(intake.equipment_name, HEADER_NAME_LIMIT),
        "intake": _intake_view(intake),
        "analysis": _analysis_view(document.analysis, intake),
        "logo_url": asset_url(LOGO),
    }


FONT_FOLDER_PREFIX = "diagpro-fonts-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_font_folders(parent: Path | None = None) -> None:
    """Remove font folders left by renderers whose process is gone (a render process killed on
    a timeout never runs its clean-up). Only our own ``diagpro-fonts-<pid>-*`` folders."""
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    with contextlib.suppress(OSError):
        for folder in parent.glob(f"{FONT_FOLDER_PREFIX}*"):
            pid = folder.name.removeprefix(FONT_FOLDER_PREFIX).split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def _font_configuration() -> tuple[FontConfiguration, Path]:
    """A FontConfiguration whose @font-face files go to a folder named after this process, removed
    when the configuration is collected or the interpreter exits, and swept by a later renderer
    if the process was killed. (WeasyPrint writes every @font-face font to a private temporary
    folder; by default that is ``weasyprint-*``, left behind by a SIGKILL.)"""
    sweep_font_folders()
    config = FontConfiguration()
    folder = Path(tempfile.mkdtemp(prefix=f"{FONT_FOLDER_PREFIX}{os.getpid()}-"))
    config._folder = folder  # WeasyPrint 66-70: add_font_face writes here when it is set
    weakref.finalize(config, shutil.rmtree, folder, True)
    return config, folder


class WeasyPrintRenderer:
    """ReportRenderer: one per process, built where it is used (nothing is created at import
    time, so a child process builds its own). The Jinja environment, fetcher, font configuration
    (the packaged fonts, loaded once through the fetcher) and stylesheet are built in the
    constructor and reused by every render. Renders are serialised (WeasyPrint's shared
    stylesheet, font configuration and Pango are not documented as thread-safe)."""

    def __init__(self, fetcher: AssetOnlyFetcher | None = None) -> None:
        self._fetcher = fetcher if fetcher is not None else AssetOnlyFetcher()
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("diagpro.adapters.pdf", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._template = self._env.get_template(TEMPLATE_NAME)
        # The @font-face rules are resolved here, once: the fonts are fetched from the package,
        # written to the configuration's private temporary folder and registered with it.
        self._font_config, font_folder = _font_configuration()
        css = self._fetcher.asset_text(STYLESHEET)
        self._stylesheet = CSS(
            string=css,
            base_url=ASSET_PREFIX,
            url_fetcher=self._fetcher,
            font_config=self._font_config,
        )
        # WeasyPrint only logs a font it could not load and falls back to whatever fontconfig
        # finds on the host: refuse to start instead (each loaded face is one file there).
        faces, loaded = css.count("@font-face"), len(list(font_folder.iterdir()))
        if loaded != faces:
            raise RenderFailed(f"only {loaded} of the {faces} packaged fonts could be loaded")
        self._image_cache: dict[str, Any] = {}  # packaged images only (the fetcher's allowlist)
        self._lock = threading.Lock()

    def html(self, document: ReportDocument) -> str:
        """The HTML handed to WeasyPrint (for tests and debugging). Raises RenderFailed."""
        try:
            document.analysis.check()
        except AnalysisInvalid as exc:
            raise RenderFailed(f"refusing to render an incomplete analysis: {exc.message}") from exc
        try:
            return self._template.render(build_context(document))
        except jinja2.TemplateError as exc:
            raise RenderFailed(f"report template failed: {type(exc).__name__}: {exc}") from exc
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise RenderFailed(
                f"report data could not be prepared: {type(exc).__name__}: {exc}"
            ) from exc

    def render(self, document: ReportDocument) -> bytes:
        html = self.html(document)
        try:
            with self._lock:
                pdf = HTML(string=html, base_url=ASSET_PREFIX, url_fetcher=self._fetcher).write_pdf(
                    stylesheets=[self._stylesheet],
                    font_config=self._font_config,
                    cache=self._image_cache,
                )
        except Exception as exc:  # WeasyPrint raises anything from its parsers and cffi
            raise RenderFailed(
                f"WeasyPrint could not render report {document.submission_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
            raise RenderFailed(f"WeasyPrint returned no PDF for report {document.submission_id}")
        return pdf
