"""The JSON schema Gemini's answer must follow, and the limits the parser enforces with it.

It is the OpenAPI subset Gemini's structured output accepts (``type``, ``properties``,
``required``, ``items``, ``enum``, ``minimum``/``maximum``, ``minItems``/``maxItems``,
``description``), written in lower-case JSON Schema spelling so the same dict serves as
``response_json_schema`` and as ``response_schema`` (google-genai reads type names
case-insensitively), and so ``jsonschema`` can check examples against it in tests.

Every property is required: Gemini then always emits it, and a parser that never has to guess a
default cannot print half a report. ``required`` lists properties in the order the model should
write them (Gemini emits required properties in that order): the ranked causes and their
reasoning come before the conclusion drawn from them, the structured facts before the 15
narrative sections that explain them.

Item counts and text lengths are capped so a report stays bounded (the original's free text ran to
33 pages). The caps are constants here, stated to the model in each description and enforced by
``output.parse_analysis``: lists beyond a cap are cut, text beyond a cap is cut with an ellipsis.
"""

from __future__ import annotations

import copy
from typing import Any

from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTIONS, Urgency

# How many items each list may hold.
MAX_CAUSES = 6
MAX_EVIDENCE = 5
MAX_TESTS = 8
MAX_COSTS = 6
MIN_QUESTIONS = 3
MAX_QUESTIONS = 10
NEXT_STEPS = 3
MAX_POINTS = 8
MAX_SAFETY_FLAGS = 6
MAX_DATA_NEEDED = 8

# Bounds on numbers. A Class 8 or marine engine replacement fits under the repair ceiling.
MAX_REPAIR_CENTS = 50_000_000  # $500,000
MAX_TEST_CENTS = 500_000  # $5,000
MAX_LABOUR_HOURS = 400

# How long each piece of text may be, in characters.
CAUSE_TEXT = 300  # most_likely_cause
ITEM_TEXT = 300  # a safety flag, a data-needed item, a question, a next step
NAME_TEXT = 200  # a cause, a test's name, a repair, an evidence item
REASONING_TEXT = 800
HOW_TEXT = 600
EXPECTED_TEXT = 400
NOTE_TEXT = 400
SUMMARY_TEXT = 1000
POINT_TEXT = 400

# What each of the 15 sections holds (the original prompt v2's guidance, in plain language).
SECTION_GUIDANCE: dict[str, str] = {
    "primary_diagnosis": (
        "The most likely root cause in plain words with the confidence percentage; how each of "
        "the customer's codes and symptoms points to it; the failing component and why it "
        "fails; how age, mileage or hours bear on it."
    ),
    "differential_diagnosis": (
        "The other plausible causes in ranked order, each ruled in or out by the customer's own "
        "codes, symptoms, history and details."
    ),
    "diagnostic_verification": (
        "Tests the shop must do before replacing parts: the tool, the procedure, the reading "
        "that confirms or rules out each cause, and what each test should cost."
    ),
    "shop_interrogation": (
        "Technical questions that show whether the shop tested before quoting, the evidence to "
        "ask to see (scan reports, readings, the old parts) and answers that should worry the "
        "customer."
    ),
    "conversation_scripting": (
        "How to talk to the shop: a friendly opening, word-for-word questions asked out of "
        "curiosity ('I've done some research and want to understand ...'; never 'my AI report "
        "says ...'), how to handle a defensive answer, and a polite way to leave."
    ),
    "cost_breakdown": (
        "Fair parts prices (OEM and quality aftermarket), labour hours at typical US shop "
        "rates, the total range, and what would signal an overcharge; compare with the shop's "
        "quote when there is one."
    ),
    "ripoff_detection": (
        "Signs of replacing parts without diagnosis, skipped tests, padded labour or inflated "
        "prices, tied to this case and to the shop's recommendation."
    ),
    "authorization_guide": (
        "What to approve now, what to refuse until a test proves it, and when to get a second "
        "opinion."
    ),
    "technical_education": (
        "How the system works, how this failure happens and how to prevent it, in plain language."
    ),
    "oem_parts_strategy": (
        "When OEM parts matter and when a quality aftermarket part is fine, how to get the "
        "correct part number for this VIN or serial number from a dealer parts counter, and "
        "where to compare prices. Never invent a part number."
    ),
    "negotiation_tactics": (
        "How to compare quotes, questions that make the shop justify its labour time, and the "
        "point at which to walk away."
    ),
    "likely_causes_ranked": (
        "The primary, secondary and tertiary causes, each with its likelihood percentage and "
        "reasoning: the same ranking as ranked_causes."
    ),
    "recommendations": (
        "Immediate actions, the maintenance that prevents a repeat, and the warning signs that "
        "mean stop and get help."
    ),
    "source_verification": (
        "Two or three authoritative sources named specifically (the bulletin topic, recall "
        "search, manual procedure or standard) and what to look for in each. No URLs; never a "
        "generic 'look up a TSB'."
    ),
    "next_steps_summary": "The same three actions as next_steps, in the same order.",
}


def _text(description: str, limit: int) -> dict[str, Any]:
    return {"type": "string", "description": f"{description} At most {limit} characters."}


def _integer(description: str, low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high, "description": description}


def _number(description: str, low: float, high: float) -> dict[str, Any]:
    return {"type": "number", "minimum": low, "maximum": high, "description": description}


def _array(items: dict[str, Any], description: str, low: int, high: int) -> dict[str, Any]:
    return {
        "type": "array",
        "items": items,
        "minItems": low,
        "maxItems": high,
        "description": description,
    }


def _object(properties: dict[str, dict[str, Any]], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "description": description,
    }


def _cents(description: str, high: int) -> dict[str, Any]:
    return _integer(f"{description} In US cents, an integer ($1,250.00 is 125000).", 0, high)


def _section(key: str, title: str) -> dict[str, Any]:
    return _object(
        {
            "summary": _text("One to three sentences in plain language.", SUMMARY_TEXT),
            "points": _array(
                _text("One concrete point, usually one or two sentences.", POINT_TEXT),
                "Three to six concrete points specific to this case.",
                1,
                MAX_POINTS,
            ),
        },
        f"{title}: {SECTION_GUIDANCE[key]}",
    )


def _build() -> dict[str, Any]:
    cause = _object(
        {
            "cause": _text("The cause in a few words (component and failure).", NAME_TEXT),
            "likelihood_pct": _integer(
                "How likely this cause is, 0-100. The causes' likelihoods add up to 100 or less.",
                0,
                100,
            ),
            "reasoning": _text(
                "Why it ranks here, citing the customer's own codes, symptoms and details.",
                REASONING_TEXT,
            ),
            "evidence": _array(
                _text("One fact from the customer's data (a code, symptom or detail).", NAME_TEXT),
                "The customer's facts that point to or against this cause.",
                0,
                MAX_EVIDENCE,
            ),
        },
        "One candidate cause.",
    )
    test = _object(
        {
            "name": _text("What to test.", NAME_TEXT),
            "how": _text("The tool and the procedure.", HOW_TEXT),
            "expected": _text(
                "The reading or result that confirms or rules out the cause, with units.",
                EXPECTED_TEXT,
            ),
            "cost_cents_low": _cents("Low end of what the test should cost.", MAX_TEST_CENTS),
            "cost_cents_high": _cents(
                "High end of what the test should cost; not below the low end.", MAX_TEST_CENTS
            ),
        },
        "A test the shop must do before replacing parts.",
    )
    cost = _object(
        {
            "repair": _text("The repair this estimate is for.", NAME_TEXT),
            "parts_cents_low": _cents("Parts, low end.", MAX_REPAIR_CENTS),
            "parts_cents_high": _cents("Parts, high end; not below the low end.", MAX_REPAIR_CENTS),
            "labour_hours_low": _number("Labour hours, low end.", 0, MAX_LABOUR_HOURS),
            "labour_hours_high": _number(
                "Labour hours, high end; not below the low end.", 0, MAX_LABOUR_HOURS
            ),
            "total_cents_low": _cents(
                "Total (parts, labour, typical fees), low end.", MAX_REPAIR_CENTS
            ),
            "total_cents_high": _cents("Total, high end; not below the low end.", MAX_REPAIR_CENTS),
            "note": _text(
                "What moves the price (OEM or aftermarket, labour rate, related parts); empty "
                "if nothing to add.",
                NOTE_TEXT,
            ),
        },
        "A fair cost range for one repair in US shops.",
    )
    sections = _object(
        {key: _section(key, title) for key, title in SECTIONS},
        "The 15 report sections, every one filled for this case.",
    )
    return _object(
        {
            "ranked_causes": _array(
                cause,
                "Candidate causes, most likely first.",
                1,
                MAX_CAUSES,
            ),
            "most_likely_cause": _text(
                "The single most likely root cause in plain words (the first ranked cause).",
                CAUSE_TEXT,
            ),
            "confidence_pct": _integer(
                "Your confidence in most_likely_cause from this data alone, 0-100. Below "
                f"{CONFIDENCE_THRESHOLD}, data_needed must list what would raise it.",
                0,
                100,
            ),
            "data_needed": _array(
                _text(
                    "One piece of data or one test result that would raise the confidence.",
                    ITEM_TEXT,
                ),
                f"Required (at least one item) when confidence_pct is below "
                f"{CONFIDENCE_THRESHOLD}; may be empty otherwise.",
                0,
                MAX_DATA_NEEDED,
            ),
            "urgency": {
                "type": "string",
                "enum": [u.value for u in Urgency],
                "description": (
                    "stop: do not drive, operate or leave the dock until checked; soon: book a "
                    "repair within days; can_wait: schedule it and watch for the warning signs."
                ),
            },
            "safety_flags": _array(
                _text("One hazard and what to do about it.", ITEM_TEXT),
                "Safety hazards in this case, most serious first; empty if there are none.",
                0,
                MAX_SAFETY_FLAGS,
            ),
            "shop_tests": _array(test, "Tests to ask for, in the order to do them.", 1, MAX_TESTS),
            "costs": _array(cost, "Cost estimates, the most likely repair first.", 1, MAX_COSTS),
            "shop_questions": _array(
                _text("A question to ask the shop, word for word.", ITEM_TEXT),
                "Questions for the shop.",
                MIN_QUESTIONS,
                MAX_QUESTIONS,
            ),
            "next_steps": _array(
                _text("One action, starting with a verb.", ITEM_TEXT),
                "Exactly three actions, most important first.",
                NEXT_STEPS,
                NEXT_STEPS,
            ),
            "sections": sections,
        },
        "A diagnostic second opinion for one customer's equipment problem.",
    )


_SCHEMA = _build()


def response_schema() -> dict[str, Any]:
    """A fresh copy of the schema, safe for a caller to hand to an SDK that mutates it."""
    return copy.deepcopy(_SCHEMA)
