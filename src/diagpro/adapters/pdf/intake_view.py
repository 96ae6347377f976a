"""What the owner told us, as the report's last section prints it: once, in the report's language.

The owner's words may be hostile (markup, injected instructions); they are printed here once, as
text escaped by Jinja, and nowhere else (not in running headers). Choice values are spelled out
with the one copy of their labels (``domain.intake.CHOICE_LABELS``) translated by the ``intake``
catalogue; detail, category and field labels likewise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagpro.adapters.messages import Messages
from diagpro.adapters.pdf.analysis_view import not_printed
from diagpro.adapters.pdf.limits import (
    HISTORY_TEXT_LIMIT,
    INTAKE_PARAGRAPHS,
    INTAKE_TEXT_LIMIT,
    MAX_SYMPTOMS,
    PERSON_LIMIT,
    SHORT_FIELD_LIMIT,
    SYMPTOM_LIMIT,
    TITLE_LIMIT,
)
from diagpro.adapters.pdf.measure import paragraphs, shorten
from diagpro.adapters.pdf.money import Money
from diagpro.domain.equipment import DETAIL_LABELS
from diagpro.domain.intake import CHOICE_LABELS, Intake


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


@dataclass(frozen=True)
class Row:
    label: str
    value: str


def _rows(*pairs: tuple[str, str]) -> tuple[Row, ...]:
    return tuple(Row(label, value) for label, value in pairs if value)


def equipment_name(intake: Intake) -> str:
    """'2015 Ford F-150' for the report's title, or the category when none is given."""
    name = " ".join(part for part in (intake.year, intake.make, intake.model) if part.strip())
    return shorten(name, TITLE_LIMIT)


def _long_text(text: str, limit: int) -> tuple[str, ...]:
    kept = paragraphs(text, limit)
    if len(kept) > INTAKE_PARAGRAPHS:
        kept = (*kept[: INTAKE_PARAGRAPHS - 1], " ".join(kept[INTAKE_PARAGRAPHS - 1 :]))
    return kept


def intake_view(intake: Intake, currency: str, language: str) -> dict[str, Any]:
    """``currency``: the submission's, which the customer's shop quote is in."""
    t = Messages(language, "report")
    labels = Messages(language, "intake")

    def choice(field: str, value: str) -> str:
        label = CHOICE_LABELS.get(field, {}).get(value)
        return labels.choice(field, label) if label else shorten(value, SHORT_FIELD_LIMIT)

    def yes_no(value: str) -> str:
        return {"yes": t("Yes"), "no": t("No")}.get(value, shorten(value, SHORT_FIELD_LIMIT))

    category = intake.category
    details = dict(intake.details)
    ordered = [name for name in category.detail_fields if name in details]
    ordered += sorted(name for name in details if name not in category.detail_fields)
    quote = (
        Money(language, currency).amount(intake.shop_quote_cents)
        if intake.shop_quote_cents is not None
        else ""
    )
    return {
        "category": labels(category.label),
        "rows": _rows(
            (t("Category"), labels(category.label)),
            (labels(category.identifier_label), shorten(intake.serial_number, SHORT_FIELD_LIMIT)),
            (labels(category.usage_label), shorten(intake.mileage_hours, SHORT_FIELD_LIMIT)),
            (t("Usage"), choice("usagePattern", intake.usage_pattern)),
            (t("Where it works"), shorten(intake.location_environment, SHORT_FIELD_LIMIT)),
            *((labels(detail_label(n)), yes_no(details[n])) for n in ordered),
            (t("When it started"), choice("whenStarted", intake.when_started)),
            (t("How often"), choice("frequency", intake.frequency)),
            (t("Your urgency"), choice("urgencyLevel", intake.urgency_level)),
            (t("Shop's quote"), quote),
        ),
        "description": _long_text(intake.problem_description, INTAKE_TEXT_LIMIT),
        "symptoms": tuple(shorten(s, SYMPTOM_LIMIT) for s in intake.symptoms[:MAX_SYMPTOMS]),
        "more_symptoms": not_printed(t, len(intake.symptoms), MAX_SYMPTOMS),
        "texts": tuple(
            (label, _long_text(text, HISTORY_TEXT_LIMIT))
            for label, text in (
                (t("Codes as you entered them"), intake.error_codes),
                (t("Tests you already did"), intake.troubleshooting_steps),
                (t("Previous repairs"), intake.previous_repairs),
                (t("Modifications"), intake.modifications),
                (t("What the shop recommended"), intake.shop_recommendation),
            )
            if text.strip()
        ),
        "full_name": shorten(intake.full_name, PERSON_LIMIT),
    }
