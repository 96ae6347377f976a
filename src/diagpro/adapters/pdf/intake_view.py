"""The submission summary as the report prints it: labels in the customer's words, choices
spelled out, long answers clipped for the mechanic (the customer keeps the full text)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from diagpro.adapters.pdf.limits import (
    COVER_PERSON_LIMIT,
    HISTORY_TEXT_LIMIT,
    INTAKE_PARAGRAPHS,
    INTAKE_TEXT_LIMIT,
    SYMPTOM_LIMIT,
)
from diagpro.adapters.pdf.measure import clip, paragraphs
from diagpro.domain.equipment import DETAIL_LABELS
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money

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


def intake_view(intake: Intake, currency: str) -> dict[str, Any]:
    """``currency``: the submission's, which the customer's shop quote is in."""
    category = intake.category
    details = dict(intake.details)
    ordered = [name for name in category.detail_fields if name in details]
    ordered += sorted(name for name in details if name not in category.detail_fields)
    quote = (
        format_money(intake.shop_quote_cents, currency)
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
        "symptoms": tuple(clip(symptom, SYMPTOM_LIMIT) for symptom in intake.symptoms),
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
        "full_name": clip(intake.full_name, COVER_PERSON_LIMIT),
    }
