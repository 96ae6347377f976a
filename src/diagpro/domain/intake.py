"""The intake rule: what a customer must and may tell us, stated once for every entrypoint.

The original UI and backend disagreed on required fields and customers got a 400 they could not
fix. Here there is one rule: ``equipmentType`` (one of the 15), a valid ``email`` and something to
analyse (``problemDescription``, ``symptoms`` or ``errorCodes``). Everything else is optional and
an empty string means absent. Every bad field is reported at once, unknown keys included.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from diagpro.domain.equipment import (
    ALL_DETAIL_FIELDS,
    CATEGORY_BY_KEY,
    EquipmentCategory,
    categories_with_detail,
)
from diagpro.domain.errors import FieldProblem, IntakeInvalid

# The 22 keys the original frontend sends (DiagnosticReview.tsx), wire names kept.
PAYLOAD_KEYS: tuple[str, ...] = (
    "equipmentType",
    "make",
    "model",
    "year",
    "mileageHours",
    "serialNumber",
    "errorCodes",
    "symptoms",
    "whenStarted",
    "frequency",
    "urgencyLevel",
    "locationEnvironment",
    "usagePattern",
    "problemDescription",
    "previousRepairs",
    "modifications",
    "troubleshootingSteps",
    "shopQuoteAmount",
    "shopRecommendation",
    "fullName",
    "email",
    "phone",
)

CHOICES: dict[str, tuple[str, ...]] = {
    "whenStarted": ("today", "week", "month", "gradual", "sudden"),
    "frequency": ("always", "often", "sometimes", "rarely", "once"),
    "urgencyLevel": ("low", "normal", "high", "emergency"),
    "usagePattern": (
        "daily",
        "weekly",
        "occasional",
        "heavy",
        "light",
        "commercial",
        "recreational",
    ),
}

# The words a customer reads for each choice value: the intake form shows them, the report and
# the prompt quote them, and the message catalogue (domain "intake", context = the field name)
# translates them. The one copy: the form, the renderer and the analyzers all read it here.
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "whenStarted": {
        "today": "Today",
        "week": "In the last week",
        "month": "In the last month",
        "gradual": "Gradually, over time",
        "sudden": "Suddenly, all at once",
    },
    "frequency": {
        "always": "All the time",
        "often": "Often",
        "sometimes": "Sometimes",
        "rarely": "Rarely",
        "once": "It happened once",
    },
    "urgencyLevel": {
        "low": "Can wait",
        "normal": "Needs attention soon",
        "high": "Critical issue",
        "emergency": "Safety concern",
    },
    "usagePattern": {
        "daily": "Daily",
        "weekly": "Weekly",
        "occasional": "Occasionally",
        "heavy": "Heavy duty",
        "light": "Light duty",
        "commercial": "Commercial",
        "recreational": "Recreational",
    },
}

# The label each field carries where a customer reads it (the intake form, the summary before
# paying, the report's copy of the intake); the "intake" catalogue translates it (no context).
# The category's own words replace serialNumber's and mileageHours' ("VIN", "Engine Hours").
FIELD_LABELS: dict[str, str] = {
    "equipmentType": "Equipment type",
    "make": "Make",
    "model": "Model",
    "year": "Year",
    "mileageHours": "Mileage / hours",
    "serialNumber": "VIN / serial number",
    "errorCodes": "Error codes",
    "symptoms": "Symptoms",
    "whenStarted": "When it started",
    "frequency": "How often it happens",
    "urgencyLevel": "How urgent is it?",
    "locationEnvironment": "Where it is used",
    "usagePattern": "How it is used",
    "problemDescription": "What's wrong?",
    "previousRepairs": "Previous repairs",
    "modifications": "Modifications",
    "troubleshootingSteps": "What you have already tried",
    "shopQuoteAmount": "Shop quote",
    "shopRecommendation": "What the shop recommends",
    "fullName": "Your name",
    "email": "Email",
    "phone": "Phone",
}

# Limits keep one submission from becoming a multi-megabyte prompt or a 100-page PDF.
LONG_TEXT = 5000
SHORT_TEXT = 200
# The fields that take a long text (LONG_TEXT characters); the rest take SHORT_TEXT.
LONG_FIELDS = frozenset(
    {
        "problemDescription",
        "previousRepairs",
        "modifications",
        "troubleshootingSteps",
        "shopRecommendation",
        "errorCodes",
    }
)
MAX_SYMPTOMS = 30
DETAIL_TEXT = 500
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^[0-9+().\-\s]{5,40}$")
# Characters that make a text read differently from what it holds (Unicode Technical Report #36,
# "Unicode Security Considerations", https://www.unicode.org/reports/tr36/). The bidi formatting
# characters of UAX #9 (https://www.unicode.org/reports/tr9/#Bidirectional_Character_Types)
# reorder what the report shows: embeddings, overrides, isolates and the marks LRM, RLM, ALM.
_BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
# Zero-width characters hide inside words, so two texts that look alike differ; U+2028 and
# U+2029 are line breaks that most readers do not show as one.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u2028\u2029")
_ZWJ = "\u200d"
# The one exception: a ZWJ that joins two emoji (👨 + ZWJ + 🔧 is one "mechanic"), with the emoji
# presentation selector or a skin-tone modifier allowed before it (UTS #51, "Emoji ZWJ Sequences",
# https://www.unicode.org/reports/tr51/#Emoji_ZWJ_Sequences).
_EMOJI_TRAILERS = frozenset("\ufe0f") | frozenset(map(chr, range(0x1F3FB, 0x1F400)))
HIDDEN_CHARACTERS = "contains invisible or control characters: type it again rather than pasting it"
_YEAR = re.compile(r"^(19|20|21)\d\d$")


@dataclass(frozen=True)
class Intake:
    """A validated description of the customer's problem (snake_case, normalised)."""

    equipment_type: str
    email: str
    make: str = ""
    model: str = ""
    year: str = ""
    mileage_hours: str = ""
    serial_number: str = ""
    error_codes: str = ""
    symptoms: tuple[str, ...] = ()
    when_started: str = ""
    frequency: str = ""
    urgency_level: str = ""  # empty: the customer did not say (never assumed "normal")
    location_environment: str = ""
    usage_pattern: str = ""
    problem_description: str = ""
    previous_repairs: str = ""
    modifications: str = ""
    troubleshooting_steps: str = ""
    shop_quote_cents: int | None = None
    shop_recommendation: str = ""
    full_name: str = ""
    phone: str = ""
    details: tuple[tuple[str, str], ...] = field(default=())

    @property
    def category(self) -> EquipmentCategory:
        return CATEGORY_BY_KEY[self.equipment_type]

    @property
    def equipment_name(self) -> str:
        """'2015 Ford F-150', or the category label when nothing more is known."""
        year = "" if self.year == "older" else self.year  # "older" reads badly on a cover
        words = [w for w in (year, self.make, self.model) if w]
        name = " ".join(words) if words else self.category.label
        return f"{name} (older model year)" if self.year == "older" else name

    def detail(self, name: str) -> str:
        return dict(self.details).get(name, "")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def email_key(email: str) -> str:
    """How one customer's submissions are found by email (``diagpro forget``): ASCII letters
    compared without case, as every store can index it (SQLite's ``lower()`` folds ASCII only)."""
    return email.strip().translate(_ASCII_LOWER)


_CAMEL_HUMP = re.compile(r"(?<!^)(?=[A-Z])")


@functools.cache
def _camel_to_snake(name: str) -> str:
    # Cached: the same few dozen field names, on every submission.
    return _CAMEL_HUMP.sub("_", name).lower()


def _text(value: object, name: str, limit: int, problems: list[FieldProblem]) -> str:
    if value is None:
        return ""
    # Text only: a phone or serial number sent as a JSON number has lost its leading zeros and
    # its "+", and the API's document says text (entrypoints/http/intake_schema.py).
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be text"))
        return ""
    text = value.strip()
    if len(text) > limit:
        problems.append(FieldProblem(name, f"is {len(text)} characters long; the limit is {limit}"))
        return ""
    if _has_hidden_characters(text):
        problems.append(FieldProblem(name, HIDDEN_CHARACTERS))
        return ""
    return text


def _is_emoji(ch: str) -> bool:
    # The standard library has no Emoji property; emoji are "Other Symbol" (So), which is
    # close enough to let a family or a mechanic (👨‍🔧) through and keep letters out.
    return unicodedata.category(ch) == "So"


def _joins_emoji(text: str, at: int) -> bool:
    """Whether the ZWJ at ``at`` joins two emoji, the one place a customer may type one."""
    before = at - 1
    while before >= 0 and text[before] in _EMOJI_TRAILERS:
        before -= 1
    after = at + 1
    return before >= 0 and after < len(text) and _is_emoji(text[before]) and _is_emoji(text[after])


# The ASCII part of the rule in one search: C0 controls but tab and line breaks, and DEL.
_ASCII_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _has_hidden_characters(text: str) -> bool:
    """Control characters (C0 but tab and line breaks, DEL, C1), bidi controls and invisible
    characters; a ZWJ only where it does not join two emoji."""
    if text.isascii():  # most text: one search in C instead of a look at every character
        return _ASCII_CONTROL.search(text) is not None
    for at, ch in enumerate(text):
        if ch in "\n\r\t":
            continue
        if unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS:
            return True
        if ch in _INVISIBLE and not (ch == _ZWJ and _joins_emoji(text, at)):
            return True
    return False


def _symptoms(value: object, problems: list[FieldProblem]) -> tuple[str, ...]:
    # The original sent both a list and a comma-joined string; accept either, keep a list.
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        problems.append(
            FieldProblem("symptoms", "must be a list of text or a comma-separated text")
        )
        return ()
    # Counted as sent, blanks and repeats included: the limit a client reads in the API's
    # document (maxItems) is the one applied.
    if len(items) > MAX_SYMPTOMS:
        problems.append(
            FieldProblem("symptoms", f"has {len(items)} entries; the limit is {MAX_SYMPTOMS}")
        )
        return ()
    cleaned: list[str] = []
    for i, item in enumerate(items):
        text = _text(item, f"symptoms[{i}]", SHORT_TEXT, problems)
        if text and text not in cleaned:
            cleaned.append(text)
    return tuple(cleaned)


def _money_cents(value: object, problems: list[FieldProblem]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(FieldProblem("shopQuoteAmount", "must be an amount in dollars"))
        return None
    raw = str(value).strip().replace("$", "").replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        problems.append(
            FieldProblem("shopQuoteAmount", f"{value!r} is not an amount in dollars, e.g. 1250.00")
        )
        return None
    if not amount.is_finite() or amount < 0 or amount > 10_000_000:
        problems.append(FieldProblem("shopQuoteAmount", "must be between $0 and $10,000,000"))
        return None
    if amount != amount.quantize(Decimal("0.01")):
        # Rounded, 1250.004 would be a quote the shop never gave: refused, never rounded.
        problems.append(FieldProblem("shopQuoteAmount", "has more than two decimals"))
        return None
    return int((amount * 100).quantize(Decimal(1)))


def _detail_value(value: object, name: str, problems: list[FieldProblem]) -> str:
    # Checkbox details (checkEngineLightOn, absEquipped, ...) arrive as booleans.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _text(value, name, DETAIL_TEXT, problems)


def validate_intake(raw: object) -> Intake:
    """Validate a payload as the original frontend sends it; raise IntakeInvalid naming every
    bad field. Nothing is partially accepted."""
    if not isinstance(raw, Mapping):
        raise IntakeInvalid([FieldProblem("payload", "must be an object of intake fields")])
    problems: list[FieldProblem] = []
    values: dict[str, object] = {}

    equipment = raw.get("equipmentType")
    category = CATEGORY_BY_KEY.get(equipment) if isinstance(equipment, str) else None
    if equipment in (None, ""):
        problems.append(FieldProblem("equipmentType", "is required"))
    elif category is None:
        problems.append(
            FieldProblem(
                "equipmentType",
                f"{equipment!r} is not one of: {', '.join(CATEGORY_BY_KEY)}",
            )
        )

    details: list[tuple[str, str]] = []
    for key in raw:
        if not isinstance(key, str):
            problems.append(FieldProblem(str(key), "is not a field name"))
        elif key in ALL_DETAIL_FIELDS:
            value = raw[key]
            if value in (None, ""):
                continue
            if category is not None and key not in category.detail_fields:
                owners = ", ".join(categories_with_detail(key))
                problems.append(
                    FieldProblem(key, f"is not a detail of {category.key} (it belongs to {owners})")
                )
                continue
            text = _detail_value(value, key, problems)
            if text:
                details.append((key, text))
        elif key not in PAYLOAD_KEYS:
            problems.append(FieldProblem(key, "is not a known field"))

    for key in PAYLOAD_KEYS:
        if key in ("equipmentType", "symptoms", "shopQuoteAmount"):
            continue
        limit = LONG_TEXT if key in LONG_FIELDS else SHORT_TEXT
        values[_camel_to_snake(key)] = _text(raw.get(key), key, limit, problems)

    symptoms = _symptoms(raw.get("symptoms"), problems)
    quote = _money_cents(raw.get("shopQuoteAmount"), problems)

    email = str(values["email"])
    if "email" in {p.field for p in problems}:
        pass  # refused already (too long, not text): one problem per field
    elif not email:
        problems.append(FieldProblem("email", "is required"))
    elif not _EMAIL.match(email) or len(email) > 254:
        problems.append(FieldProblem("email", f"{email!r} is not a valid email address"))

    phone = str(values["phone"])
    if phone and not _PHONE.match(phone):
        problems.append(FieldProblem("phone", "may hold only digits, spaces and + ( ) . -"))

    year = str(values["year"])
    if year and year != "older" and not _YEAR.match(year):
        problems.append(FieldProblem("year", f"{year!r} is not a four-digit year or 'older'"))

    for key, allowed in CHOICES.items():
        chosen = str(values[_camel_to_snake(key)])
        if chosen and chosen not in allowed:
            problems.append(FieldProblem(key, f"{chosen!r} is not one of: {', '.join(allowed)}"))

    named = {p.field.split("[")[0] for p in problems}
    something = ("problemDescription", "symptoms", "errorCodes")
    if not (values["problem_description"] or symptoms or values["error_codes"]) and not any(
        field in named for field in something
    ):
        problems.append(
            FieldProblem(
                "problemDescription",
                "describe the problem, or give symptoms or error codes: we need something "
                "to analyse",
            )
        )

    if problems or category is None:
        raise IntakeInvalid(problems)
    values["email"] = email.lower() if email.isascii() else email
    return Intake(
        equipment_type=category.key,
        symptoms=symptoms,
        shop_quote_cents=quote,
        details=tuple(sorted(details)),
        **{k: str(v) for k, v in values.items()},
    )


def intake_to_payload(intake: Intake) -> dict[str, object]:
    """The wire shape back: the 22 camelCase keys plus the category details."""
    payload: dict[str, object] = {}
    for key in PAYLOAD_KEYS:
        snake = _camel_to_snake(key)
        if key == "shopQuoteAmount":
            cents = intake.shop_quote_cents
            payload[key] = "" if cents is None else f"{cents / 100:.2f}"
        elif key == "symptoms":
            payload[key] = list(intake.symptoms)
        else:
            payload[key] = getattr(intake, snake)
    payload.update(dict(intake.details))
    return payload
