"""How many output tokens an answer may need, derived from the response schema's own limits.

The schema (``schema.py``) bounds every list (``maxItems``) and states a character limit for every
text ("At most N characters."), so the longest answer that follows it can be counted: each
property name, each text at its limit with its quotes, each number at its widest, the braces,
brackets, colons and commas between them. That count becomes the output cap, instead of a
number picked once and forgotten (8192 could not hold a full answer: a schema-sized answer is
several times larger, and the answer was cut off with finish reason MAX_TOKENS).

Tokens from characters: Gemini's tokenizer averages about 4 characters of English per token
(Vertex AI, "Count tokens and billable characters"); JSON punctuation, numbers and key names
split into more, so 3 characters per token is used. On top of that ``HEADROOM`` allows for a model
that overruns a stated text limit (``parse_analysis`` cuts such text afterwards, but it must
first arrive whole) and for escapes inside strings. The cap costs nothing unless used: output is
billed per token generated, not per token allowed.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from diagpro.adapters.gemini.schema import MAX_REPAIR_UNITS, response_schema

CHARS_PER_TOKEN = 3
HEADROOM = 1.25
# The largest max_output_tokens the Gemini 2.5 and 3 Flash and Pro models accept on Vertex AI.
MODEL_OUTPUT_CEILING = 65_536

# Digits of a number the schema leaves unbounded (the parser bounds it): "-1" to "500000".
OPEN_NUMBER_DIGITS = len(str(MAX_REPAIR_UNITS))

_TEXT_LIMIT = re.compile(r"At most (\d+) characters\.")


def longest_answer_chars(schema: dict[str, Any] | None = None) -> int:
    """Characters in the longest JSON answer ``schema`` allows (the response schema when None).
    Raises ValueError naming a text or list with no limit: the answer would then be unbounded."""
    return _longest(response_schema() if schema is None else schema, "$")


def answer_tokens() -> int:
    """Output tokens for the longest answer the schema allows, with headroom."""
    return math.ceil(longest_answer_chars() / CHARS_PER_TOKEN * HEADROOM)


def output_cap(thinking_allowance: int) -> int:
    """``max_output_tokens`` for one request: the answer plus what thinking may take (thinking
    tokens count against the cap), never above what the models accept."""
    return min(MODEL_OUTPUT_CEILING, answer_tokens() + thinking_allowance)


def _longest(node: dict[str, Any], path: str) -> int:
    kind = node.get("type")
    if kind == "object":
        props: dict[str, Any] = node["properties"]
        inner = sum(len(json.dumps(k)) + 1 + _longest(v, f"{path}.{k}") for k, v in props.items())
        return 2 + inner + max(len(props) - 1, 0)  # {} and the commas
    if kind == "array":
        if "maxItems" not in node:
            raise ValueError(f"{path} is a list with no maxItems: the answer would be unbounded")
        count = int(node["maxItems"])
        return 2 + count * _longest(node["items"], f"{path}[]") + max(count - 1, 0)
    if kind == "string":
        if "enum" in node:
            return max(len(json.dumps(option)) for option in node["enum"])
        match = _TEXT_LIMIT.search(node.get("description", ""))
        if match is None:
            raise ValueError(f"{path} is a text with no stated limit ('At most N characters.')")
        return int(match.group(1)) + 2
    if kind == "integer":
        return len(str(int(node["maximum"]))) if "maximum" in node else OPEN_NUMBER_DIGITS
    if kind == "number":
        return OPEN_NUMBER_DIGITS + 3  # a decimal point and two places
    if kind == "boolean":
        return len("false")
    raise ValueError(f"{path} has a type the budget cannot count: {kind!r}")
