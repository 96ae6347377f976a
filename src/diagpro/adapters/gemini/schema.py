"""The JSON schema Gemini's answer must follow: one structured item per finding, printed once.

It is the OpenAPI subset Gemini's structured output accepts (``type``, ``properties``,
``required``, ``items``, ``enum``, ``minimum``/``maximum``, ``minItems``/``maxItems``,
``description``), written in lower-case JSON Schema spelling so the same dict serves as
``response_json_schema`` and as ``response_schema`` (google-genai reads type names
case-insensitively), and so ``jsonschema`` can check examples against it in tests.

Every property is required and ``required`` lists them in the order the model should write them
(Gemini emits required properties in that order): the owner's findings (``facts_used``), the
decoded codes and the causes those findings cleared (``ruled_out``) come before the ranked causes,
so the percentages are written after the reasoning that sets them, not before.

Small on purpose. Vertex AI refuses a schema whose constraints have "too many states" (long
property names, many bounded numbers, many ``maxItems``: "Control generated output",
https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output), so
only percentages carry ``minimum``/``maximum``; money and hours are bounded by the parser. The
descriptions say what a field holds and its size, never a rule: the rules are stated once, in the
system instruction (``prompt.py``).

Money is in whole units of the currency the instruction names (dollars, not cents: a model
writing cents slips by x100); ``output.parse_analysis`` converts to cents.
"""

from __future__ import annotations

import copy
from typing import Any

from diagpro.domain.analysis import MAX_CAUSES, MAX_NEXT_STEPS, Certainty, QuoteVerdict, Urgency

# How many items each list may hold.
MAX_FACTS = 5
MAX_CODES = 6
MAX_RULED_OUT = 4
MAX_EVIDENCE = 3
MAX_STOP_IF = 3
MAX_SAFETY = 3
MAX_OWNER_CHECKS = 3
MAX_TESTS = 4
MAX_DO_NOT = 3
MAX_COSTS = 4  # up to three repairs and a worst case
MIN_QUESTIONS = 3
MAX_QUESTIONS = 5
MAX_SOURCES = 3
MAX_DATA_NEEDED = 4

# Bounds the parser enforces on numbers the schema leaves open (see the module docstring).
MAX_REPAIR_UNITS = 500_000  # a Class 8 or marine engine replacement fits under it
MAX_TEST_UNITS = 5_000
MAX_LABOUR_RATE = 1_000
MAX_LABOUR_HOURS = 400

# How long each piece of text may be, in characters.
TAG_TEXT = 20  # a BCP-47 language tag
CODE_TEXT = 40
NAME_TEXT = 120  # a cause, a test, a repair, an evidence item, a system
ITEM_TEXT = 200  # a safety point, a question, a next step, a check, a source
REASON_TEXT = 300  # what a fact proves, why a cause ranks, how a test is done
LONG_TEXT = 500  # how the system works


def _text(description: str, limit: int) -> dict[str, Any]:
    return {"type": "string", "description": f"{description} At most {limit} characters."}


def _pct(description: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": 100, "description": description}


def _integer(description: str) -> dict[str, Any]:
    return {"type": "integer", "description": description}


def _number(description: str) -> dict[str, Any]:
    return {"type": "number", "description": description}


def _enum(values: list[str], description: str) -> dict[str, Any]:
    return {"type": "string", "enum": values, "description": description}


def _list(items: dict[str, Any], description: str, high: int, low: int = 0) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "array", "items": items, "description": description}
    if low:
        node["minItems"] = low
    node["maxItems"] = high
    return node


def _texts(description: str, limit: int, high: int, low: int = 0) -> dict[str, Any]:
    return _list(_text("One item.", limit), description, high, low)


def _object(properties: dict[str, dict[str, Any]], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "description": description,
    }


def _build() -> dict[str, Any]:
    fact = _object(
        {
            "fact": _text("A test, swap, repair or reading the owner reported.", ITEM_TEXT),
            "proves": _text("What it proves or rules out.", REASON_TEXT),
        },
        "An owner's finding.",
    )
    code = _object(
        {
            "code": _text("The code as the maker writes it.", CODE_TEXT),
            "system": _text("Whose code: standard, maker and model family.", NAME_TEXT),
            "meaning": _text("Its meaning on this machine; empty if unknown.", ITEM_TEXT),
            "certainty": _enum([c.value for c in Certainty], "How sure the meaning is."),
            "bearing": _text("What it says about this case, or where to confirm it.", REASON_TEXT),
        },
        "A code the owner gave, decoded.",
    )
    ruled_out = _object(
        {
            "cause": _text("The cleared cause.", NAME_TEXT),
            "because": _text("The owner's finding that clears it.", REASON_TEXT),
        },
        "A cause the owner's findings cleared.",
    )
    cause = _object(
        {
            "cause": _text("Component and failure.", NAME_TEXT),
            "pct": _pct("Share of the likelihood, 0-100."),
            "why": _text("Why it ranks here.", REASON_TEXT),
            "for": _texts("The owner's facts for it.", NAME_TEXT, MAX_EVIDENCE),
            "against": _texts("The owner's facts against it.", NAME_TEXT, MAX_EVIDENCE),
        },
        "A candidate cause.",
    )
    urgency = _object(
        {
            "level": _enum([u.value for u in Urgency], "How soon to act."),
            "reason": _text("Why, from this case's data.", REASON_TEXT),
            "stop_if": _texts("Signs that make it a stop.", ITEM_TEXT, MAX_STOP_IF),
        },
        "The one urgency instruction.",
    )
    check = _object(
        {
            "check": _text("What the owner looks at or tries.", ITEM_TEXT),
            "what_it_tells": _text("What each result means.", ITEM_TEXT),
        },
        "A free check the owner can do in ten minutes.",
    )
    test = _object(
        {
            "test": _text("What the shop tests.", NAME_TEXT),
            "how": _text("Tool and procedure.", REASON_TEXT),
            "confirms": _text("The reading that confirms or clears a cause.", REASON_TEXT),
            "cost_low": _integer("Whole currency units."),
            "cost_high": _integer("Whole currency units."),
        },
        "A test before any part is replaced.",
    )
    repair = _object(
        {
            "repair": _text("One named job.", NAME_TEXT),
            "cause_index": _integer("Index in causes it repairs; -1 for none."),
            "worst_case": {"type": "boolean", "description": "A cascade cost, not the repair."},
            "parts_low": _integer("Whole currency units."),
            "parts_high": _integer("Whole currency units."),
            "hours_low": _number("Labour hours."),
            "hours_high": _number("Labour hours."),
            "total_low": _integer("Whole currency units."),
            "total_high": _integer("Whole currency units."),
        },
        "A fair cost for one job.",
    )
    quote = _object(
        {
            "shop_job": _text("The job exactly as the shop wrote it; empty if none.", ITEM_TEXT),
            "fair_low": _integer("Whole currency units."),
            "fair_high": _integer("Whole currency units."),
            "verdict": _enum([v.value for v in QuoteVerdict], "The quote against fair."),
            "explanation": _text("Why.", REASON_TEXT),
        },
        "The shop's quote, like for like.",
    )
    return _object(
        {
            "language": _text("BCP-47 tag of the text values.", TAG_TEXT),
            "equipment_assumed": _text("The configuration the advice is for.", ITEM_TEXT),
            "facts_used": _list(fact, "The owner's findings.", MAX_FACTS),
            "codes": _list(code, "Every code given.", MAX_CODES),
            "ruled_out": _list(ruled_out, "Causes cleared.", MAX_RULED_OUT),
            "causes": _list(cause, "Ranked, most likely first.", MAX_CAUSES, 1),
            "other_pct": _pct("The share left for causes not listed."),
            "data_needed": _texts("Data that would raise confidence.", ITEM_TEXT, MAX_DATA_NEEDED),
            "urgency": urgency,
            "safety": _texts("Hazards the data shows.", ITEM_TEXT, MAX_SAFETY),
            "owner_checks": _list(check, "Free owner checks.", MAX_OWNER_CHECKS),
            "shop_tests": _list(test, "Tests, in order.", MAX_TESTS),
            "do_not": _texts("Do-not-do warnings for this machine.", ITEM_TEXT, MAX_DO_NOT),
            "labour_rate": _integer("Hourly labour rate the costs assume, whole units."),
            "repair_costs": _list(repair, "Jobs, most likely first.", MAX_COSTS),
            "quote_check": quote,
            "shop_questions": _texts(
                "Questions for the shop.", ITEM_TEXT, MAX_QUESTIONS, MIN_QUESTIONS
            ),
            "next_steps": _texts("Actions, most important first.", ITEM_TEXT, MAX_NEXT_STEPS, 1),
            "how_it_works": _text("How the system at fault works.", LONG_TEXT),
            "sources": _texts("Where to confirm; no URLs.", ITEM_TEXT, MAX_SOURCES),
        },
        "A diagnostic second opinion.",
    )


_SCHEMA = _build()


def response_schema() -> dict[str, Any]:
    """A fresh copy of the schema, safe for a caller to hand to an SDK that mutates it."""
    return copy.deepcopy(_SCHEMA)
