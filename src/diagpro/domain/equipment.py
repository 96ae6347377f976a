"""The 15 equipment categories and the detail fields each one asks for.

Names and detail field ids are the original frontend's (equipment-configs.ts), so its payloads
keep working; the original dropped the detail fields, diagpro keeps and uses them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EquipmentCategory:
    key: str
    label: str
    detail_fields: tuple[str, ...]
    identifier_label: str
    usage_label: str


_AUTOMOTIVE_DETAILS = ("fuelType", "transmission", "drivetrain", "checkEngineLightOn")

CATEGORIES: tuple[EquipmentCategory, ...] = (
    EquipmentCategory("automotive", "Cars & SUVs", _AUTOMOTIVE_DETAILS, "VIN", "Mileage"),
    EquipmentCategory(
        "gas-trucks", "Gas Trucks", (*_AUTOMOTIVE_DETAILS, "towingContext"), "VIN", "Mileage"
    ),
    EquipmentCategory(
        "diesel-trucks",
        "Diesel Trucks",
        ("defSystemStatus", "dpfRegenIssues", "turboType", "drivetrain", "checkEngineLightOn"),
        "VIN",
        "Mileage",
    ),
    EquipmentCategory(
        "semi-trucks",
        "Semi Trucks",
        ("engineMake", "dotNumber", "engineBrakeType", "eldEcmFaultCodes"),
        "VIN",
        "Engine Hours / Mileage",
    ),
    EquipmentCategory(
        "motorcycles",
        "Motorcycles",
        ("engineConfiguration", "driveType", "absEquipped"),
        "VIN",
        "Mileage",
    ),
    EquipmentCategory(
        "atvs-utvs", "ATVs / UTVs", ("driveMode", "accessories"), "VIN", "Engine Hours / Mileage"
    ),
    EquipmentCategory(
        "rvs",
        "RVs",
        ("rvClass", "chassisMake", "generatorMakeModel", "generatorHours", "problemArea"),
        "VIN",
        "Mileage",
    ),
    EquipmentCategory(
        "marine",
        "Marine",
        ("engineMounting", "fuelType", "waterType", "winterizationStatus", "engineHours"),
        "HIN",
        "Engine Hours",
    ),
    EquipmentCategory(
        "farm-ag",
        "Farm & Ag",
        ("ptoTypeHours", "hydraulicSystemPressure", "implementAttached", "terrainType"),
        "Serial Number",
        "Engine Hours",
    ),
    EquipmentCategory(
        "compact-equipment",
        "Compact Equipment",
        ("attachmentType", "hydraulicFlowRate", "trackOrWheel"),
        "Serial Number",
        "Engine Hours",
    ),
    EquipmentCategory(
        "lawn-garden",
        "Lawn & Garden",
        ("engineType", "deckBladeSize", "selfPropelled"),
        "Serial Number",
        "Engine Hours",
    ),
    EquipmentCategory(
        "power-tools",
        "Power Tools",
        ("powerSource", "batteryVoltage", "toolAge"),
        "Serial Number",
        "Age (years)",
    ),
    EquipmentCategory(
        "hvac",
        "HVAC",
        (
            "systemType",
            "fuelSource",
            "refrigerantType",
            "unitAge",
            "underWarranty",
            "thermostatType",
        ),
        "Serial Number",
        "Age (years)",
    ),
    EquipmentCategory(
        "golf-carts",
        "Golf Carts",
        ("powerSource", "batteryAge", "controllerType"),
        "Serial Number",
        "Age (years)",
    ),
    EquipmentCategory(
        "electronics",
        "Electronics",
        ("deviceType", "osAndVersion", "storageCapacity", "batteryHealthPercent", "errorMessages"),
        "Serial / IMEI",
        "Age (years)",
    ),
)

CATEGORY_BY_KEY: dict[str, EquipmentCategory] = {c.key: c for c in CATEGORIES}

ALL_DETAIL_FIELDS: frozenset[str] = frozenset(f for c in CATEGORIES for f in c.detail_fields)


def categories_with_detail(field: str) -> tuple[str, ...]:
    return tuple(c.key for c in CATEGORIES if field in c.detail_fields)
