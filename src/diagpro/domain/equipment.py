"""The 15 equipment categories, the detail fields each one asks for, and their readable labels.

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

# Readable labels for the detail fields, shared by the intake form and the PDF report.
DETAIL_LABELS: dict[str, str] = {
    "fuelType": "Fuel type",
    "transmission": "Transmission",
    "drivetrain": "Drivetrain",
    "checkEngineLightOn": "Check engine light on",
    "towingContext": "Towing",
    "defSystemStatus": "DEF system status",
    "dpfRegenIssues": "DPF regeneration issues",
    "turboType": "Turbo type",
    "engineMake": "Engine make",
    "dotNumber": "DOT number",
    "engineBrakeType": "Engine brake type",
    "eldEcmFaultCodes": "ELD / ECM fault codes",
    "engineConfiguration": "Engine configuration",
    "driveType": "Drive type",
    "absEquipped": "ABS equipped",
    "driveMode": "Drive mode",
    "accessories": "Accessories",
    "rvClass": "RV class",
    "chassisMake": "Chassis make",
    "generatorMakeModel": "Generator make / model",
    "generatorHours": "Generator hours",
    "problemArea": "Problem area",
    "engineMounting": "Engine mounting",
    "waterType": "Water type",
    "winterizationStatus": "Winterization status",
    "engineHours": "Engine hours",
    "ptoTypeHours": "PTO type / hours",
    "hydraulicSystemPressure": "Hydraulic system pressure",
    "implementAttached": "Implement attached",
    "terrainType": "Terrain type",
    "attachmentType": "Attachment type",
    "hydraulicFlowRate": "Hydraulic flow rate",
    "trackOrWheel": "Tracks or wheels",
    "engineType": "Engine type",
    "deckBladeSize": "Deck / blade size",
    "selfPropelled": "Self-propelled",
    "powerSource": "Power source",
    "batteryVoltage": "Battery voltage",
    "toolAge": "Tool age",
    "systemType": "System type",
    "fuelSource": "Fuel source",
    "refrigerantType": "Refrigerant type",
    "unitAge": "Unit age",
    "underWarranty": "Under warranty",
    "thermostatType": "Thermostat type",
    "batteryAge": "Battery age",
    "controllerType": "Controller type",
    "deviceType": "Device type",
    "osAndVersion": "OS and version",
    "storageCapacity": "Storage capacity",
    "batteryHealthPercent": "Battery health (%)",
    "errorMessages": "Error messages",
}

CATEGORY_BY_KEY: dict[str, EquipmentCategory] = {c.key: c for c in CATEGORIES}

ALL_DETAIL_FIELDS: frozenset[str] = frozenset(f for c in CATEGORIES for f in c.detail_fields)


def categories_with_detail(field: str) -> tuple[str, ...]:
    return tuple(c.key for c in CATEGORIES if field in c.detail_fields)
