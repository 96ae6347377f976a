"""The intake payload of ``POST /saveSubmission`` as JSON Schema, derived from the domain's rule
(domain/intake.py and domain/equipment.py) so the document and the validator cannot drift.

One object schema per equipment category (its detail fields differ), chosen by
``equipmentType`` (an OpenAPI discriminator). Every text field refuses the characters the rule
refuses: they are found by asking the rule itself, so a character it starts refusing appears
here without an edit.
"""

from __future__ import annotations

from functools import cache

from litestar.openapi.spec import Discriminator, OpenAPIType, Reference, Schema

from diagpro.domain.equipment import CATEGORIES, EquipmentCategory
from diagpro.domain.errors import IntakeInvalid
from diagpro.domain.intake import (
    CHOICES,
    DETAIL_TEXT,
    LONG_FIELDS,
    LONG_TEXT,
    MAX_SYMPTOMS,
    PAYLOAD_KEYS,
    SHORT_TEXT,
    validate_intake,
)

PAYLOAD = "IntakePayload"
# Where refused characters live: C0 and C1 controls, the General Punctuation block (zero-width,
# bidi, line and paragraph separators) and the byte order mark.
_CANDIDATES = (*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x2000, 0x2070), 0xFEFF)
_STRING, _NULL = OpenAPIType.STRING, OpenAPIType.NULL
# Spelled out rather than \\s, whose meaning differs between Python's re (the rule's) and the
# ECMA-262 patterns of JSON Schema.
_WHITESPACE = tuple(c for c in map(chr, range(0x3001)) if c.isspace())


@cache
def refused_characters() -> tuple[str, ...]:
    """Each character the intake rule refuses inside a text field."""
    base = {"equipmentType": CATEGORIES[0].key, "email": "a@b.co", "problemDescription": "x"}
    refused = []
    for point in _CANDIDATES:
        try:
            validate_intake({**base, "make": f"a{chr(point)}b"})
        except IntakeInvalid:
            refused.append(chr(point))
    return tuple(refused)


def _class(chars: tuple[str, ...] | str) -> str:
    """Characters as the inside of a regex class, runs written as ranges (a-b)."""
    points = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for point in points:
        if runs and point == runs[-1][1] + 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in runs)


def _spaces() -> str:
    """The whitespace the rule strips from each end and does not refuse."""
    refused = set(refused_characters())
    return "".join(c for c in _WHITESPACE if c not in refused)


def _text(limit: int) -> Schema:
    return Schema(
        type=[_STRING, _NULL],
        max_length=limit,
        pattern=f"^[^{_class(refused_characters())}]*$",
    )


def _fields() -> dict[str, Schema]:
    plain = _class(refused_characters())
    # Whitespace (Python's, as the rule strips and matches it) or a refused character.
    blank = _class((*_WHITESPACE, *refused_characters()))
    spaces = _class(_spaces())
    phone = "0-9+().\\-"
    fields: dict[str, Schema] = {
        key: _text(LONG_TEXT if key in LONG_FIELDS else SHORT_TEXT) for key in PAYLOAD_KEYS
    }
    fields["email"] = Schema(
        type=_STRING,
        max_length=254,
        pattern=f"^[^@{blank}]+@[^@{blank}]+\\.[^@.{blank}]{{2,}}$",
        description="Where the report is sent",
    )
    fields["year"] = Schema(
        type=[_STRING, _NULL],
        pattern="^((19|20|21)[0-9]{2}|older)?$",
        description="A four-digit year, or 'older'",
    )
    fields["phone"] = Schema(
        type=[_STRING, _NULL],
        # 5 to 40 digits, spaces and + ( ) . - once the ends are trimmed.
        pattern=f"^[{spaces}]*([{phone}][{phone}{spaces}]{{3,38}}[{phone}])?[{spaces}]*$",
    )
    for key, allowed in CHOICES.items():
        fields[key] = Schema(type=[_STRING, _NULL], enum=["", *allowed, None])
    symptom = f"[^,{plain}]{{0,{SHORT_TEXT}}}"
    fields["symptoms"] = Schema(
        any_of=[
            Schema(type=OpenAPIType.ARRAY, items=_text(SHORT_TEXT), max_items=MAX_SYMPTOMS),
            Schema(
                type=_STRING,
                pattern=f"^{symptom}(,{symptom}){{0,{MAX_SYMPTOMS - 1}}}$",
                description="The same list as one comma-separated text",
            ),
            Schema(type=_NULL),
        ]
    )
    fields["shopQuoteAmount"] = Schema(
        any_of=[
            Schema(type=OpenAPIType.NUMBER, minimum=0, maximum=10_000_000),
            Schema(
                type=_STRING,
                # Up to $9,999,999.99, with or without thousands separators.
                pattern="^(\\$?([0-9]{1,7}|[0-9]{1,3},[0-9]{3}|[0-9],[0-9]{3},[0-9]{3})"
                "(\\.[0-9]{1,2})?)?$",
            ),
            Schema(type=_NULL),
        ],
        description="What a shop quoted, in dollars",
    )
    return fields


def _something_to_analyse() -> list[Schema | Reference]:
    """problemDescription, symptoms or errorCodes with something in it."""
    blank = _class(_WHITESPACE)
    word = Schema(type=_STRING, pattern=f"[^{blank}]")
    symptoms = Schema(
        any_of=[
            Schema(type=OpenAPIType.ARRAY, contains=word),
            Schema(type=_STRING, pattern=f"[^,{blank}]"),
        ]
    )
    return [
        Schema(required=["problemDescription"], properties={"problemDescription": word}),
        Schema(required=["symptoms"], properties={"symptoms": symptoms}),
        Schema(required=["errorCodes"], properties={"errorCodes": word}),
    ]


def _category(category: EquipmentCategory, fields: dict[str, Reference]) -> Schema:
    detail = Schema(
        type=[_STRING, OpenAPIType.BOOLEAN, _NULL],
        max_length=DETAIL_TEXT,
        pattern=f"^[^{_class(refused_characters())}]*$",
    )
    properties: dict[str, Schema | Reference] = {
        **fields,
        "equipmentType": Schema(type=_STRING, const=category.key),
        **{name: detail for name in category.detail_fields},
    }
    return Schema(
        type=OpenAPIType.OBJECT,
        title=f"{category.label} intake",
        properties=properties,
        required=["email", "equipmentType"],
        additional_properties=False,
        any_of=_something_to_analyse(),
    )


def _name(category: EquipmentCategory) -> str:
    return "Intake_" + category.key.replace("-", "_")


def intake_components() -> dict[str, Schema]:
    """The payload schema and one schema per category, for the document's components."""
    # Each field once, referred to by every category.
    components: dict[str, Schema] = {
        f"IntakeField.{key}": schema for key, schema in _fields().items()
    }
    fields = {key: Reference(ref=f"#/components/schemas/IntakeField.{key}") for key in PAYLOAD_KEYS}
    components.update({_name(c): _category(c, fields) for c in CATEGORIES})
    refs = {c.key: f"#/components/schemas/{_name(c)}" for c in CATEGORIES}
    components[PAYLOAD] = Schema(
        one_of=[Reference(ref=ref) for ref in refs.values()],
        discriminator=Discriminator(property_name="equipmentType", mapping=refs),
        description="What the customer tells us: the equipment, the problem and where to "
        "send the report. Unknown fields are refused; an empty string means absent.",
    )
    return components


PAYLOAD_REF = Reference(ref=f"#/components/schemas/{PAYLOAD}")
