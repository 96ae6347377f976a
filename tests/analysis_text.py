"""Every text an analysis puts in front of a customer, flattened: what "the report says" checks
(a code is cited, a must-not-say phrase is absent) search in."""

from __future__ import annotations

import dataclasses
from enum import Enum

from diagpro.domain.analysis import Analysis

# Bookkeeping, not customer text.
_NOT_SAID = frozenset({"detected_codes", "model", "language", "currency"})


def _texts(value: object) -> list[str]:
    if isinstance(value, Enum):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, tuple):
        return [text for item in value for text in _texts(item)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            text
            for field in dataclasses.fields(value)
            if field.name not in _NOT_SAID
            for text in _texts(getattr(value, field.name))
        ]
    return []


def analysis_text(analysis: Analysis) -> str:
    """One line per text field, in field order."""
    return "\n".join(t for t in _texts(analysis) if t.strip())
