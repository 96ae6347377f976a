"""What the intake already gives, so the report never asks the owner for it again.

The prompt lists the given fields by label ("never ask for these"); the parser drops a
``data_needed`` item that still asks for one (the master technician's review found reports
asking for mileage, hours and plug dates the owner had typed in). Matching is by the words such a
request uses, in English and Spanish (the languages with a full catalogue); a request in another
language passes unchecked, which costs a redundant line, never a wrong one.
"""

from __future__ import annotations

import re

from diagpro.domain.equipment import CATEGORY_BY_KEY, DETAIL_LABELS
from diagpro.domain.intake import Intake

_MILEAGE = re.compile(
    r"\b(mileage|odometer|kilometraje|od[oó]metro|engine hours|hour ?meter|hours of use"
    r"|horas de (uso|motor)|hor[oó]metro)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(model year|year of manufacture|año (del modelo|de fabricación))\b", re.I)
_MAKE_MODEL = re.compile(r"\b(make and model|marca y modelo)\b", re.IGNORECASE)
_SERIAL = re.compile(r"\b(vin|serial number|n[uú]mero de serie|hin|imei)\b", re.IGNORECASE)
_HISTORY = re.compile(
    r"\b((repair|service|maintenance) (history|records)|previous repairs"
    r"|historial de (reparaciones|mantenimiento)|reparaciones anteriores)\b",
    re.IGNORECASE,
)


def _detail_label(name: str) -> str:
    return re.sub(r"\s*\(.*?\)", "", DETAIL_LABELS.get(name, name)).strip()


def given_fields(intake: Intake) -> tuple[str, ...]:
    """Labels of the facts the intake gives, in intake order (for the prompt)."""
    category = CATEGORY_BY_KEY.get(intake.equipment_type)
    usage = category.usage_label if category else "Mileage / hours"
    identifier = category.identifier_label if category else "Serial number"
    pairs = (
        ("Make", intake.make),
        ("Model", intake.model),
        ("Year", intake.year),
        (usage, intake.mileage_hours),
        (identifier, intake.serial_number),
        ("Error codes", intake.error_codes),
        ("Symptoms", ", ".join(intake.symptoms)),
        ("When it started", intake.when_started),
        ("How often it happens", intake.frequency),
        ("Previous repairs", intake.previous_repairs),
        ("Tests the owner already did", intake.troubleshooting_steps),
        ("Shop quote", "" if intake.shop_quote_cents is None else "given"),
        ("Shop recommendation", intake.shop_recommendation),
    )
    # In the category's own order, then any other detail by name: the same intake always gives
    # the same list, whatever order its details arrived in.
    given = {name: value for name, value in intake.details if value.strip()}
    order = category.detail_fields if category else ()
    names = [*(n for n in order if n in given), *sorted(n for n in given if n not in order)]
    details = tuple(_detail_label(name) for name in names)
    return (*(label for label, value in pairs if value.strip()), *details)


def asks_for_given(item: str, intake: Intake) -> str | None:
    """The label of the given field ``item`` asks for, or None when it asks for something new."""
    checks = (
        ("mileage / hours", intake.mileage_hours, _MILEAGE),
        ("year", intake.year, _YEAR),
        ("make and model", intake.make and intake.model, _MAKE_MODEL),
        ("serial number", intake.serial_number, _SERIAL),
        ("previous repairs", intake.previous_repairs, _HISTORY),
    )
    for label, value, pattern in checks:
        if value and value.strip() and pattern.search(item):
            return label
    for name, value in intake.details:
        label = _detail_label(name)
        # One-word labels ("Transmission") also name parts a request may rightly ask about.
        if value.strip() and " " in label and re.search(rf"\b{re.escape(label)}\b", item, re.I):
            return label.lower()
    return None
