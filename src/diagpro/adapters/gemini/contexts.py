"""Equipment context for the prompt: who the model speaks as, and what it must know per category.

The original set a diagnostic frame, code guidance, source guidance and safety points for each of
the 15 categories (``getEquipmentPromptContext``); they live as data in ``contexts.json``, shipped
in the package and loaded with importlib.resources, so they can be reviewed without reading code.
The file is checked once at first use: every category present, every entry complete, no URL
anywhere (the model must name sources, never link them).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from diagpro.domain.equipment import CATEGORY_BY_KEY

DEFAULT = "default"
_PACKAGE = "diagpro.adapters.gemini"
_FILE = "contexts.json"
_TEXT_FIELDS = ("persona", "approach", "code_format")
_LIST_FIELDS = ("sources", "safety")
_URL = re.compile(r"https?://|www\.|\.(?:com|gov|org|net)\b", re.IGNORECASE)


class ContextsInvalid(RuntimeError):
    """contexts.json is incomplete or malformed: a packaging bug, loud at first use."""


@dataclass(frozen=True)
class EquipmentContext:
    key: str
    persona: str  # "an ASE-certified master automotive technician ..."
    approach: str  # how that technician works a problem
    code_format: str  # which codes this equipment reports and how to read them
    sources: tuple[str, ...]  # kinds of authoritative source to name; never URLs
    safety: tuple[str, ...]  # hazards to check first


def _entry(key: str, raw: object) -> EquipmentContext:
    if not isinstance(raw, dict):
        raise ContextsInvalid(f"{_FILE}: {key} is not an object")
    expected = {*_TEXT_FIELDS, *_LIST_FIELDS}
    if set(raw) != expected:
        raise ContextsInvalid(f"{_FILE}: {key} must have exactly {sorted(expected)}")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = raw[name]
        if not isinstance(value, str) or not value.strip():
            raise ContextsInvalid(f"{_FILE}: {key}.{name} must be non-empty text")
        texts[name] = value
    lists: dict[str, tuple[str, ...]] = {}
    for name in _LIST_FIELDS:
        items = raw[name]
        if (
            not isinstance(items, list)
            or not items
            or not all(isinstance(i, str) and i.strip() for i in items)
        ):
            raise ContextsInvalid(f"{_FILE}: {key}.{name} must be a non-empty list of text")
        lists[name] = tuple(items)
    for text in (*texts.values(), *lists["sources"], *lists["safety"]):
        if _URL.search(text):
            raise ContextsInvalid(f"{_FILE}: {key} contains a URL; name sources instead")
    return EquipmentContext(
        key=key,
        persona=texts["persona"],
        approach=texts["approach"],
        code_format=texts["code_format"],
        sources=lists["sources"],
        safety=lists["safety"],
    )


@cache
def load_contexts() -> dict[str, EquipmentContext]:
    """Every category's context plus the default, keyed by category key."""
    raw = json.loads(resources.files(_PACKAGE).joinpath(_FILE).read_text(encoding="utf-8"))
    entries = {k: v for k, v in raw.items() if not k.startswith("_")}
    wanted = {*CATEGORY_BY_KEY, DEFAULT}
    if set(entries) != wanted:
        missing = sorted(wanted - set(entries))
        unknown = sorted(set(entries) - wanted)
        raise ContextsInvalid(f"{_FILE}: missing {missing}, unknown {unknown}")
    return {key: _entry(key, entries[key]) for key in (*CATEGORY_BY_KEY, DEFAULT)}


def context_for(equipment_type: str) -> EquipmentContext:
    """The category's context, or the default for a key outside the 15."""
    contexts = load_contexts()
    return contexts.get(equipment_type, contexts[DEFAULT])
