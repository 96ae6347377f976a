"""What diagpro reads from a Gemini model id (family, tier, retired or not) and the output cap it
counts from the response schema."""

import pytest

from diagpro.adapters.gemini.models import THINKING_ALLOWANCE_TOKENS, model_family
from diagpro.adapters.gemini.output_budget import (
    CHARS_PER_TOKEN,
    HEADROOM,
    MODEL_OUTPUT_CEILING,
    answer_tokens,
    longest_answer_chars,
    output_cap,
)
from diagpro.adapters.gemini.schema import MAX_REPAIR_UNITS


@pytest.mark.parametrize(
    ("model", "family", "tier", "retired"),
    [
        ("gemini-3.5-flash", "3.5", "flash", False),
        ("gemini-3.1-flash-lite", "3.1", "flash", False),
        ("publishers/google/models/gemini-3-pro-preview", "3.0", "pro", False),
        ("gemini-2.5-flash", "2.5", "flash", True),
        ("gemini-2.5-pro-002", "2.5", "pro", True),
        ("gemini-1.5-flash-001", "1.5", "flash", True),
        ("Gemini-3.5-Flash", "3.5", "flash", False),
    ],
)
def test_the_family_is_read_from_the_id(model, family, tier, retired):
    read = model_family(model)
    assert (read.family, read.tier, read.retired) == (family, tier, retired)
    assert (read.problem() is not None) == retired


def test_an_id_of_no_known_family_is_named_and_gets_no_thinking_config():
    read = model_family("claude-or-whatever")
    assert not read.known
    assert read.thinking() is None
    assert "not a Gemini model id" in (read.problem() or "")


def test_a_retired_family_names_a_current_example():
    problem = model_family("gemini-2.5-flash").problem() or ""
    assert "retired" in problem and "gemini-3.5-flash" in problem


def test_the_cap_is_counted_from_the_schema_limits():
    tiny = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "description": "Text. At most 10 characters."},
            "b": {
                "type": "array",
                "maxItems": 2,
                "items": {"type": "integer", "minimum": 0, "maximum": 100},
            },
        },
    }
    # {"a":"0123456789","b":[100,100]}
    assert longest_answer_chars(tiny) == len('{"a":"0123456789","b":[100,100]}')
    assert answer_tokens() == -(-longest_answer_chars() * HEADROOM // CHARS_PER_TOKEN)
    assert output_cap(10**6) == MODEL_OUTPUT_CEILING


@pytest.mark.parametrize(
    "node",
    [
        {"type": "string", "description": "No limit stated."},
        {"type": "array", "items": {"type": "integer", "maximum": 1}},
    ],
)
def test_an_unbounded_text_or_list_is_refused_by_name(node):
    with pytest.raises(ValueError, match=r"\$"):
        longest_answer_chars({"type": "object", "properties": {"x": node}})


def test_open_numbers_and_flags_are_counted_at_their_widest():
    node = {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "h": {"type": "number"}, "b": {"type": "boolean"}},
    }
    widest = len(str(MAX_REPAIR_UNITS))
    assert longest_answer_chars(node) == len('{"n":,"h":,"b":false}') + widest + widest + 3


def test_the_answer_cap_fits_the_compact_schema_with_room_to_think():
    # The old 15-section schema needed 41,750 answer tokens; the compact one about a quarter.
    assert answer_tokens() < 15_000
    assert output_cap(THINKING_ALLOWANCE_TOKENS) < MODEL_OUTPUT_CEILING


@pytest.mark.parametrize(
    ("model", "level", "budget", "temperature"),
    [
        ("gemini-3.5-flash", "MEDIUM", None, None),
        ("gemini-3.1-pro-preview", "MEDIUM", None, None),
        ("gemini-3-pro-preview", "LOW", None, None),  # 3.0 Pro takes only LOW and HIGH
        ("gemini-2.5-flash", None, 0, 0.2),
        ("gemini-2.5-pro", None, 128, 0.2),
    ],
)
def test_each_family_gets_its_own_thinking_and_temperature(model, level, budget, temperature):
    family = model_family(model)
    thinking = family.thinking()
    assert thinking is not None
    assert (thinking.thinking_level or None) == level
    # Gemini 3 is never sent a budget alongside its level (the request would be refused).
    assert thinking.thinking_budget == budget
    assert family.temperature() == temperature


def test_an_unknown_family_gets_the_models_defaults():
    family = model_family("acme-reasoner-7")
    assert family.thinking() is None and family.temperature() is None
