"""Small text helpers shared by the rules, the structured facts and the section writer."""

from __future__ import annotations

from collections.abc import Sequence


def lower_first(text: str) -> str:
    """'A vacuum leak' -> 'a vacuum leak', keeping acronyms ('DPF ...', 'EVAP ...') as written."""
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def clip(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rstrip() + "..."
