"""How long a customer's personal data is kept, and exactly what erasing it blanks.

The rule (DIAGPRO_RETENTION_DAYS, 90 by default): an order's personal data is erased once the
order has not changed for that many days. The clock starts at the order's *last change*
(``updated_at``), not its creation, so a report is kept for the whole period after it was
delivered (or refunded, or failed for good), and a dispute or refund that arrives late restarts
it: the evidence stays while the money is still moving. An order that is paid but not finished
(``paid``/``processing``) is never erased: its intake is what the report it was paid for is made
from; it is erased once it is ready, failed or refunded and the period has passed again.

What is erased from the intake: every field the customer typed, because any of them can hold a
name, an address or an identifier: ``full_name``, ``email``, ``phone``, ``serial_number`` (VIN,
HIN, serial, IMEI), ``make``, ``model``, ``year``, ``mileage_hours``, ``error_codes``,
``symptoms`` (free text, one item each), ``location_environment``, ``problem_description``,
``previous_repairs``, ``modifications``, ``troubleshooting_steps``, ``shop_recommendation``,
``shop_quote_cents`` and every category detail (all free text, e.g. a semi truck's DOT number).
Kept: ``equipment_type`` and the four answers picked from a fixed list (``when_started``,
``frequency``, ``urgency_level``, ``usage_pattern``), which identify no one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from diagpro.domain.intake import Intake

DEFAULT_RETENTION_DAYS = 90

# What erasure keeps of an intake: nothing a customer can type freely.
KEPT_INTAKE_FIELDS = (
    "equipment_type",
    "when_started",
    "frequency",
    "urgency_level",
    "usage_pattern",
)


def erased_intake(intake: Intake) -> Intake:
    """The intake with every typed field blanked (the module docstring lists them)."""
    return Intake(
        equipment_type=intake.equipment_type,
        email="",
        when_started=intake.when_started,
        frequency=intake.frequency,
        urgency_level=intake.urgency_level,
        usage_pattern=intake.usage_pattern,
    )


def erase_before(now: datetime, retention_days: int) -> datetime:
    """Orders whose last change is before this time are due for erasure."""
    if retention_days < 1:
        raise ValueError(f"a retention period is at least 1 day, not {retention_days}")
    return now - timedelta(days=retention_days)
