"""The analysis as the report prints it: each finding once, in the report's language.

The first page answers the owner (the most likely cause and how sure, the one urgency
instruction, the likely repair's cost, the quote's verdict, the next three steps); the sections
after it print the rest of the fields, each once: the ranking is printed in one table, the next
steps only on the first page. A section with nothing to say is left out and the others are
numbered in order. Fixed text comes from the ``report`` catalogue; model text is shortened to
whole sentences (``measure.shorten``) and lists are capped (``limits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagpro.adapters.messages import Messages
from diagpro.adapters.pdf.limits import (
    CAUSE_LIMIT,
    CELL_LIMIT,
    EVIDENCE_LIMIT,
    HOW_IT_WORKS_LIMIT,
    ITEM_LIMIT,
    MAX_CAUSES,
    MAX_CODES,
    MAX_DATA_NEEDED,
    MAX_DO_NOT,
    MAX_EVIDENCE,
    MAX_FACTS,
    MAX_NEXT_STEPS,
    MAX_OWNER_CHECKS,
    MAX_QUESTIONS,
    MAX_REPAIRS,
    MAX_RULED_OUT,
    MAX_SAFETY,
    MAX_SHOP_TESTS,
    MAX_SOURCES,
    MAX_STOP_IF,
    MAX_WORST_CASES,
    MODEL_LIMIT,
    NAME_LIMIT,
    REASON_LIMIT,
)
from diagpro.adapters.pdf.measure import paragraphs, shorten
from diagpro.adapters.pdf.money import Money, hours
from diagpro.domain.analysis import (
    CONFIDENCE_THRESHOLD,
    Analysis,
    Certainty,
    CostEstimate,
    QuoteVerdict,
    Urgency,
)
from diagpro.domain.codes import CodeFamily
from diagpro.domain.intake import Intake


def N_(text: str) -> str:
    """Marks a msgid for extraction; translated where it is printed."""
    return text


@dataclass(frozen=True)
class UrgencyView:
    key: str  # css class
    badge: str  # "STOP"
    words: str  # the plain-words headline


# The headline only: the reason and the signs that make it a stop come from the analysis, so
# the page gives one instruction (a fixed "tow it" beside a model's "drive gently" contradicted).
URGENCY_VIEWS: dict[Urgency, UrgencyView] = {
    Urgency.STOP: UrgencyView("stop", N_("STOP"), N_("Stop using it until it is checked")),
    Urgency.SOON: UrgencyView("soon", N_("SOON"), N_("Get it checked within the next few days")),
    Urgency.CAN_WAIT: UrgencyView(
        "can-wait", N_("CAN WAIT"), N_("It can wait for a convenient appointment")
    ),
}

VERDICT_WORDS: dict[QuoteVerdict, str] = {
    QuoteVerdict.FAIR: N_("Fair for the job as the shop wrote it"),
    QuoteVerdict.HIGH: N_("High for the job as the shop wrote it"),
    QuoteVerdict.LOW: N_("Low for the job as the shop wrote it: ask what it leaves out"),
    QuoteVerdict.UNJUSTIFIED_SCOPE: N_("A fair price, but the evidence does not call for this job"),
    QuoteVerdict.NO_QUOTE: N_("No quote to compare"),
}

CERTAINTY_WORDS: dict[Certainty, str] = {
    Certainty.KNOWN: N_("Maker's meaning"),
    Certainty.TYPICAL: N_("Typical meaning"),
    Certainty.UNKNOWN: N_("Not decoded"),
}

FAMILY_LABELS: dict[str, str] = {
    CodeFamily.OBD2: "OBD-II",
    CodeFamily.J1939: "J1939",
    CodeFamily.EQUIPMENT: N_("equipment code"),
    CodeFamily.BLINK: N_("flash code"),
}

SECTION_TITLES: dict[str, str] = {
    "facts": N_("What your own checks tell us"),
    "codes": N_("Your codes, decoded"),
    "causes": N_("Likely causes, ranked"),
    "checks": N_("Checks and tests"),
    "costs": N_("Costs and your quote"),
    "shop": N_("At the shop"),
    "background": N_("How it works and where to confirm"),
    "intake": N_("What you told us"),
}


def _items(items: tuple[str, ...], count: int, limit: int) -> tuple[str, ...]:
    # Cap first: items past the cap are never printed, so they are not measured either.
    kept = [item for item in items if item.strip()][:count]
    return tuple(shorten(item, limit) for item in kept)


def not_printed(t: Messages, total: int, shown: int) -> str:
    """'2 more items not printed.' under a capped list, or '' (a real report never needs it:
    the caps are the most a model is asked for)."""
    extra = total - shown
    return (
        t.plural("{n} more item not printed.", "{n} more items not printed.", extra)
        if extra > 0
        else ""
    )


def _confidence_words(t: Messages, confidence: int) -> str:
    if confidence >= CONFIDENCE_THRESHOLD:
        return t("High confidence")
    if confidence >= 60:
        return t("Moderate confidence: the tests below would firm it up")
    return t("Low confidence: treat it as the first lead to test")


def _cost_row(cost: CostEstimate, money: Money, language: str) -> dict[str, Any]:
    return {
        "repair": shorten(cost.repair, NAME_LIMIT),
        "parts": money.range(cost.parts_cents_low, cost.parts_cents_high),
        "hours": hours(cost.labour_hours_low, cost.labour_hours_high, language),
        "total": money.range(cost.total_cents_low, cost.total_cents_high),
        "cause_index": cost.cause_index,
    }


def _money_view(analysis: Analysis, money: Money, t: Messages) -> dict[str, Any]:
    repairs = analysis.repairs
    worst = analysis.worst_cases
    rate = analysis.labour_rate_cents
    # The currency is named once, here, rather than after every amount.
    note = t("Amounts are in {currency}.", currency=money.name())
    if rate > 0:
        note = t(
            "Amounts are in {currency}, at an independent shop's labour rate of {rate} an hour.",
            currency=money.name(),
            rate=money.amount(rate),
        )
    language = analysis.language
    return {
        "repairs": tuple(_cost_row(c, money, language) for c in repairs[:MAX_REPAIRS]),
        "more_repairs": not_printed(t, len(repairs), MAX_REPAIRS),
        "worst_cases": tuple(_cost_row(c, money, language) for c in worst[:MAX_WORST_CASES]),
        "more_worst_cases": not_printed(t, len(worst), MAX_WORST_CASES),
        "note": note,
    }


def _quote_view(
    analysis: Analysis, intake: Intake, money: Money, quote_money: Money, t: Messages
) -> dict[str, Any] | None:
    check = analysis.quote_check
    quoted = intake.shop_quote_cents
    if check is None or check.verdict is QuoteVerdict.NO_QUOTE:
        if quoted is None:
            return None
        return {
            "verdict": "no_quote",
            "words": t(VERDICT_WORDS[QuoteVerdict.NO_QUOTE]),
            "quoted": quote_money.amount(quoted),
            "job": "",
            "fair": "",
            "explanation": shorten(check.explanation, REASON_LIMIT) if check else "",
        }
    return {
        "verdict": check.verdict.value,
        "words": t(VERDICT_WORDS[check.verdict]),
        "quoted": quote_money.amount(quoted) if quoted is not None else "",
        "job": shorten(check.shop_job, NAME_LIMIT),
        "fair": money.range(check.fair_cents_low, check.fair_cents_high)
        if check.fair_cents_high > 0
        else "",
        "explanation": shorten(check.explanation, REASON_LIMIT),
    }


def _causes(analysis: Analysis) -> tuple[dict[str, Any], ...]:
    return tuple(
        {
            "rank": rank,
            "cause": shorten(c.cause, NAME_LIMIT),
            "pct": max(0, min(100, c.likelihood_pct)),
            "why": shorten(c.why, CELL_LIMIT),
            "for": _items(c.evidence_for, MAX_EVIDENCE, EVIDENCE_LIMIT),
            "against": _items(c.evidence_against, MAX_EVIDENCE, EVIDENCE_LIMIT),
        }
        for rank, c in enumerate(analysis.causes[:MAX_CAUSES], start=1)
    )


def _codes(analysis: Analysis, t: Messages) -> tuple[dict[str, str], ...]:
    if analysis.codes:
        return tuple(
            {
                "code": shorten(c.code, 40),
                "system": shorten(c.system, NAME_LIMIT),
                "meaning": shorten(c.meaning, CELL_LIMIT) or t("Not decoded"),
                "certainty": c.certainty.value,
                "certainty_words": t(CERTAINTY_WORDS[c.certainty]),
                "bearing": shorten(c.bearing, CELL_LIMIT),
            }
            for c in analysis.codes[:MAX_CODES]
        )
    # Found in the text but not decoded by the analyzer: say so rather than guess.
    return tuple(
        {
            "code": shorten(c.code, 40),
            "system": t(FAMILY_LABELS.get(c.family, str(c.family))),
            "meaning": t("Not decoded"),
            "certainty": Certainty.UNKNOWN.value,
            "certainty_words": t(CERTAINTY_WORDS[Certainty.UNKNOWN]),
            "bearing": t("Confirm it in the maker's service literature for this model."),
        }
        for c in analysis.detected_codes[:MAX_CODES]
    )


def _shop_tests(analysis: Analysis, money: Money) -> tuple[dict[str, str], ...]:
    rows = []
    for test in analysis.shop_tests[:MAX_SHOP_TESTS]:
        low, high = test.cost_cents_low, max(test.cost_cents_low, test.cost_cents_high)
        rows.append(
            {
                "name": shorten(test.name, NAME_LIMIT),
                "how": shorten(test.how, CELL_LIMIT),
                "expected": shorten(test.expected, CELL_LIMIT),
                "cost": money.range(low, high) if high > 0 else "",
            }
        )
    return tuple(rows)


def _likely_cost(
    repairs: tuple[CostEstimate, ...], money: Money, t: Messages
) -> dict[str, str] | None:
    """The repair of the most likely cause, else the first priced repair, named with the cause
    it repairs so a cheap check is never mistaken for the top cause's fix."""
    if not repairs:
        return None
    repair = next((r for r in repairs if r.cause_index == 0), repairs[0])
    name = shorten(repair.repair, NAME_LIMIT)
    if repair.cause_index > 0:
        name = t("{repair} (cause {rank})", repair=name, rank=repair.cause_index + 1)
    return {"range": money.range(repair.total_cents_low, repair.total_cents_high), "repair": name}


STAND_IN_NOTE = N_(
    "The AI analysis was unavailable, so this report was written from diagpro's built-in "
    "knowledge base."
)


def written_by(analysis: Analysis, t: Messages) -> str:
    """Who wrote it, in neutral words: the offline knowledge base is named as what it is."""
    model = shorten(analysis.model, MODEL_LIMIT)
    if analysis.offline:
        if model:
            return t("Written by diagpro's offline knowledge base ({model})", model=model)
        return t("Written by diagpro's offline knowledge base")
    if model:
        return t("Written by an AI model ({model})", model=model)
    return t("Written by an AI model")


def analysis_view(analysis: Analysis, intake: Intake, currency: str) -> dict[str, Any]:
    """``currency`` is the submission's (the shop quote's); the analysis' own amounts are in the
    currency it names, else in that one."""
    language = analysis.language
    t = Messages(language, "report")
    money = Money(language, analysis.currency or currency)
    quote_money = Money(language, currency)
    confidence = max(0, min(100, analysis.confidence_pct))
    urgency = URGENCY_VIEWS[Urgency(analysis.urgency.level)]
    repairs = analysis.repairs
    low_confidence = confidence < CONFIDENCE_THRESHOLD
    view: dict[str, Any] = {
        "cause": shorten(analysis.most_likely_cause, CAUSE_LIMIT),
        "confidence": confidence,
        "confidence_words": _confidence_words(t, confidence),
        "low_confidence": low_confidence,
        "urgency": {
            "key": urgency.key,
            "badge": t(urgency.badge),
            "words": t(urgency.words),
            "reason": shorten(analysis.urgency.reason, REASON_LIMIT),
            "stop_if": _items(analysis.urgency.stop_if, MAX_STOP_IF, ITEM_LIMIT),
        },
        "steps": _items(analysis.next_steps, MAX_NEXT_STEPS, ITEM_LIMIT),
        "likely_cost": _likely_cost(repairs, money, t),
        "quote": _quote_view(analysis, intake, money, quote_money, t),
        "equipment_assumed": shorten(analysis.equipment_assumed, ITEM_LIMIT),
        "safety": _items(analysis.safety, MAX_SAFETY, ITEM_LIMIT),
        "facts": tuple(
            {"fact": shorten(f.fact, ITEM_LIMIT), "proves": shorten(f.proves, ITEM_LIMIT)}
            for f in analysis.facts_used[:MAX_FACTS]
        ),
        "ruled_out": tuple(
            {"cause": shorten(r.cause, NAME_LIMIT), "because": shorten(r.because, ITEM_LIMIT)}
            for r in analysis.ruled_out[:MAX_RULED_OUT]
        ),
        "codes": _codes(analysis, t),
        "causes": _causes(analysis),
        "other_pct": analysis.other_pct if len(analysis.causes) <= MAX_CAUSES else 0,
        "owner_checks": tuple(
            {"check": shorten(c.check, ITEM_LIMIT), "tells": shorten(c.what_it_tells, ITEM_LIMIT)}
            for c in analysis.owner_checks[:MAX_OWNER_CHECKS]
        ),
        "shop_tests": _shop_tests(analysis, money),
        "do_not": _items(analysis.do_not, MAX_DO_NOT, ITEM_LIMIT),
        "money": _money_view(analysis, money, t),
        "questions": _items(analysis.shop_questions, MAX_QUESTIONS, ITEM_LIMIT),
        "how_it_works": paragraphs(analysis.how_it_works, HOW_IT_WORKS_LIMIT),
        "sources": _items(analysis.sources, MAX_SOURCES, ITEM_LIMIT),
        "data_needed": _items(analysis.data_needed, MAX_DATA_NEEDED, ITEM_LIMIT),
        "offline": analysis.offline,
        "written_by": written_by(analysis, t),
        # The offline knowledge base stood in for a model that failed: said once, on page 1.
        "stand_in_note": t(STAND_IN_NOTE) if analysis.stands_in_for_model else "",
    }
    view["more"] = {
        "causes": not_printed(t, len(analysis.causes), MAX_CAUSES),
        "codes": not_printed(t, len(analysis.codes or analysis.detected_codes), MAX_CODES),
        "facts": not_printed(t, len(analysis.facts_used), MAX_FACTS),
        "shop_tests": not_printed(t, len(analysis.shop_tests), MAX_SHOP_TESTS),
        "questions": not_printed(t, len(analysis.shop_questions), MAX_QUESTIONS),
    }
    view["sections"] = _sections(view, t)
    return view


def _sections(view: dict[str, Any], t: Messages) -> tuple[dict[str, Any], ...]:
    """The sections that have something to print, numbered in order."""
    present = {
        "facts": bool(view["facts"] or view["ruled_out"]),
        "codes": bool(view["codes"]),
        "causes": bool(view["causes"]),
        "checks": bool(view["owner_checks"] or view["shop_tests"] or view["do_not"]),
        "costs": bool(view["money"]["repairs"] or view["money"]["worst_cases"] or view["quote"]),
        "shop": bool(view["questions"]),
        "background": bool(view["how_it_works"] or view["sources"] or view["data_needed"]),
        "intake": True,
    }
    keys = [key for key in SECTION_TITLES if present[key]]
    return tuple(
        {"key": key, "number": number, "title": t(SECTION_TITLES[key]), "anchor": key}
        for number, key in enumerate(keys, start=1)
    )
