"""The intake form's side of the pages: form fields <-> the intake payload, and the summary rows.

The form posts every category's detail fieldset under a namespaced name
(``marine.fuelType``), so categories that share a detail id never collide. Only the chosen
category's details go into the payload; a value typed into another category's box is not
dropped in silence: it is reported next to that box. The intake rule itself stays in the domain.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from diagpro.domain.equipment import (
    ALL_DETAIL_FIELDS,
    CATEGORIES,
    CATEGORY_BY_KEY,
    DETAIL_LABELS,
    EquipmentCategory,
)
from diagpro.domain.errors import FieldProblem
from diagpro.domain.intake import (
    CHOICE_LABELS,
    CHOICES,
    FIELD_LABELS,
    PAYLOAD_KEYS,
    Intake,
    intake_to_payload,
)
from diagpro.domain.payment import format_money

BLURBS: dict[str, str] = {
    "automotive": "Cars, SUVs, minivans",
    "gas-trucks": "Gas pickups and vans",
    "diesel-trucks": "Diesel pickups, DEF, DPF",
    "semi-trucks": "Class 8 tractors, fleets",
    "motorcycles": "Street, dirt, touring",
    "atvs-utvs": "Quads, side-by-sides",
    "rvs": "Motorhomes, campers",
    "marine": "Outboards, inboards, PWC",
    "farm-ag": "Tractors, combines",
    "compact-equipment": "Skid steers, mini-excavators",
    "lawn-garden": "Mowers, trimmers, blowers",
    "power-tools": "Corded and cordless tools",
    "hvac": "Furnaces, AC, heat pumps",
    "golf-carts": "Electric and gas carts",
    "electronics": "Phones, laptops, consoles",
}

CODE_HINTS: dict[str, str] = {
    "diesel-trucks": "e.g. P20EE, P2463, SPN 3251 FMI 0",
    "semi-trucks": "e.g. SPN 3031 FMI 18, SPN 5246 FMI 0",
    "farm-ag": "e.g. SPN 639 FMI 9, or the dash code",
    "compact-equipment": "e.g. SPN 639 FMI 9, or the dash code",
    "hvac": "e.g. blink code 3, E1, LS",
    "electronics": "e.g. ERR-42, 0xc000021a, or the message",
    "lawn-garden": "e.g. blink code 2, or the display code",
    "power-tools": "e.g. flashing red light, E2",
    "golf-carts": "e.g. controller code 1-2, blink code 4",
}
DEFAULT_CODE_HINT = "e.g. P0301, P0171, C1234"

# The form's collapsed "more details" section holds these and the category details.
OPTIONAL_HISTORY = (
    "previousRepairs",
    "troubleshootingSteps",
    "modifications",
    "shopQuoteAmount",
    "shopRecommendation",
)

YES_NO_DETAILS = frozenset({"checkEngineLightOn", "absEquipped", "selfPropelled", "underWarranty"})

# Problems a customer can fix by editing a sentence that starts with the field's name.
_VERBS = ("is ", "has ", "must ", "may ", "contains ", "belongs ")


def form_context(
    values: dict[str, str], problems: Iterable[FieldProblem], currency: str
) -> dict[str, Any]:
    """What form.html prints: the values typed, each problem beside its box, the choices. The
    shop quote is asked for in ``currency``, the one the report is priced in."""
    category = CATEGORY_BY_KEY.get(values.get("equipmentType", ""))
    errors = problems_by_input(problems, category)
    optional = [*OPTIONAL_HISTORY, *(name for name in values if "." in name)]
    return {
        "values": values,
        "errors": errors,
        "error_list": [(name, summary_line(name, text)) for name, text in sorted(errors.items())],
        # The "more details" section opens when it holds something the customer should see.
        "details_open": category is not None
        or any(values.get(name) or name in errors for name in optional),
        "chosen": category,
        "categories": CATEGORIES,
        "blurbs": BLURBS,
        "labels": {**FIELD_LABELS, "shopQuoteAmount": f"Shop quote ({currency.upper()})"},
        "detail_labels": DETAIL_LABELS,
        "yes_no": YES_NO_DETAILS,
        "code_hints": CODE_HINTS,
        "default_code_hint": DEFAULT_CODE_HINT,
        "options": {field: choice_options(field) for field in CHOICE_LABELS},
        "detail_input": detail_input,
    }


def detail_input(category: str, field: str) -> str:
    """The form name of a category's detail box: ``marine.fuelType``."""
    return f"{category}.{field}"


def first(value: object) -> str:
    """One posted value (a repeated name keeps its first)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _symptom_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


@dataclass(frozen=True)
class FormReading:
    payload: dict[str, object]  # what the intake rule is given
    values: dict[str, str]  # what the form shows back, by input name
    strays: tuple[FieldProblem, ...]  # details typed into another category's box


def read_form(form: Mapping[str, object]) -> FormReading:
    """Turn a posted form into the intake payload (empty strings stay empty)."""
    values = {key: first(form.get(key)).strip() for key in PAYLOAD_KEYS}
    chosen = CATEGORY_BY_KEY.get(values["equipmentType"])
    payload: dict[str, object] = dict(values)
    payload["symptoms"] = _symptom_list(values["symptoms"]) or ""
    strays: list[FieldProblem] = []
    for category in CATEGORIES:
        for field in category.detail_fields:
            name = detail_input(category.key, field)
            value = first(form.get(name)).strip()
            values[name] = value
            if category is chosen:
                payload[field] = value
            elif value:
                wanted = f"you chose {chosen.label}" if chosen else "no equipment type is chosen"
                strays.append(
                    FieldProblem(
                        name,
                        f"belongs to {category.label}, but {wanted}: clear it, or choose "
                        f"{category.label}",
                    )
                )
    return FormReading(payload, values, tuple(strays))


def form_values(intake: Intake) -> dict[str, str]:
    """A saved description as form values (the Edit link)."""
    payload = intake_to_payload(intake)
    values = {key: str(payload.get(key) or "") for key in PAYLOAD_KEYS}
    values["symptoms"] = "\n".join(intake.symptoms)
    for field, value in intake.details:
        values[detail_input(intake.equipment_type, field)] = value
    return values


def label_of(field: str) -> str:
    """The label a form input shows ('marine.fuelType' -> 'Fuel type')."""
    if "." in field:
        field = field.split(".", 1)[1]
    return FIELD_LABELS.get(field) or DETAIL_LABELS.get(field) or field


def _sentence(field: str, problem: str) -> str:
    if problem.startswith(_VERBS):
        return f"{label_of(field)} {problem}."
    return f"{problem[:1].upper()}{problem[1:]}."


def problems_by_input(
    problems: Iterable[FieldProblem], category: EquipmentCategory | None
) -> dict[str, str]:
    """Each problem as a sentence, keyed by the form input it belongs to ("" for the form)."""
    found: dict[str, list[str]] = {}
    for problem in problems:
        field = problem.field.split("[")[0]
        if field in ALL_DETAIL_FIELDS and category is not None:
            name = detail_input(category.key, field)
        elif field in PAYLOAD_KEYS or "." in field:
            name = field
        else:
            name = ""
        found.setdefault(name, []).append(_sentence(field, problem.problem))
    return {name: " ".join(sentences) for name, sentences in found.items()}


def summary_line(name: str, message: str) -> str:
    """A problem as the list above the form shows it: one that quotes a value names its field,
    since it stands apart from its box ("Year: '15' is not a four-digit year...")."""
    if name and message[:1] in "'\"":
        return f"{label_of(name)}: {message}"
    return message


# -- the summary a customer checks before paying ----------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    value: str
    multiline: bool = False


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[Row, ...]


def _choice(field: str, value: str) -> str:
    return CHOICE_LABELS.get(field, {}).get(value, value)


def _rows(*rows: Row) -> tuple[Row, ...]:
    return tuple(row for row in rows if row.value)


def summary(intake: Intake, currency: str) -> tuple[Section, ...]:
    """What was saved, in the customer's words and the form's order; empty rows left out. The
    shop quote is shown in ``currency``, the one the submission was priced in."""
    category = intake.category
    details = dict(intake.details)
    cents = intake.shop_quote_cents
    quote = format_money(cents, currency) if cents is not None else ""
    sections = (
        Section(
            "Equipment",
            _rows(
                Row("Type", category.label),
                Row("Make", intake.make),
                Row("Model", intake.model),
                Row("Year", "2014 or older" if intake.year == "older" else intake.year),
                Row(category.identifier_label, intake.serial_number),
                Row(category.usage_label, intake.mileage_hours),
                Row(FIELD_LABELS["usagePattern"], _choice("usagePattern", intake.usage_pattern)),
                Row(FIELD_LABELS["locationEnvironment"], intake.location_environment),
            ),
        ),
        Section(
            "The problem",
            _rows(
                Row("Description", intake.problem_description, multiline=True),
                Row("Symptoms", "\n".join(intake.symptoms), multiline=True),
                Row("Error codes", intake.error_codes),
                Row(FIELD_LABELS["whenStarted"], _choice("whenStarted", intake.when_started)),
                Row(FIELD_LABELS["frequency"], _choice("frequency", intake.frequency)),
                Row("Urgency", _choice("urgencyLevel", intake.urgency_level)),
            ),
        ),
        Section(
            f"{category.label} details",
            _rows(
                *(
                    Row(DETAIL_LABELS.get(name, name), _yes_no(details.get(name, "")))
                    for name in category.detail_fields
                )
            ),
        ),
        Section(
            "History and the shop's opinion",
            _rows(
                Row("Previous repairs", intake.previous_repairs, multiline=True),
                Row("Already tried", intake.troubleshooting_steps, multiline=True),
                Row("Modifications", intake.modifications, multiline=True),
                Row("Shop quote", quote),
                Row("Shop recommends", intake.shop_recommendation, multiline=True),
            ),
        ),
        Section(
            "Contact",
            _rows(
                Row("Name", intake.full_name),
                Row("Email", intake.email),
                Row("Phone", intake.phone),
            ),
        ),
    )
    return tuple(section for section in sections if section.rows)


def _yes_no(value: str) -> str:
    return {"yes": "Yes", "no": "No"}.get(value, value)


def choice_options(field: str) -> tuple[tuple[str, str], ...]:
    """(value, label) pairs for a select, in the domain's order."""
    return tuple((value, _choice(field, value)) for value in CHOICES[field])
