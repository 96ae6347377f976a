"""Small text helpers shared by the rules and the writer."""

from __future__ import annotations


def lower_first(text: str) -> str:
    """'A vacuum leak' -> 'a vacuum leak', keeping acronyms ('DPF ...', 'EVAP ...') as written."""
    return text if len(text) > 1 and text[1].isupper() else text[:1].lower() + text[1:]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def dollars(low: int, high: int | None = None) -> str:
    """Whole US dollars as the report prints them: '$65', '$65–$720' (an en dash, no cents and
    no currency code: the analysis states its currency once)."""
    text = f"${low:,}"
    return text if high is None or high == low else f"{text}\u2013${high:,}"
