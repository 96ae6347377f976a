"""Fair prices: parts plus labour at one independent-shop rate, tests by the hour, to the
nearest $5.

All amounts here are whole US dollars (``PRICE_DATA_CURRENCY``) until they leave as cents for the
domain's fields. One labour rate per category (``Profile.labour_usd``, an independent shop in
2026) is stated once on the report, instead of an independent-to-dealer span that doubled every
range. A repair whose fair total still spans more than ``MAX_SPREAD`` is split into two named
jobs (an aftermarket part on a straightforward job; the OEM part or the harder job), so no range
is too wide to judge a quote with.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagpro.adapters.offline_analyzer.knowledge import Cause, Procedure, Profile

# The knowledge base's prices are US dollars whatever the submission was priced in; every amount
# this analyzer writes is in this currency, and says so (``Analysis.currency``).
PRICE_DATA_CURRENCY = "usd"
# A quote this far above the fair range's top is high, not just at the top of the range.
HIGH_RATIO = 1.25
# A cost row's high end at most this many times its low end (the report's rule).
MAX_SPREAD = 1.5
# Each half of a split row spans this much: well inside MAX_SPREAD once rounded to $5.
_SPLIT_SPREAD = 1.25


# The two named jobs a wide repair is split into (msgids, translated by the writer); short,
# because the report prints them after the repair's name in a narrow column.
STANDARD_GRADE = "aftermarket, easy job"
OEM_GRADE = "OEM or harder job"
GRADES = (STANDARD_GRADE, OEM_GRADE)


@dataclass(frozen=True)
class Job:
    """One priced job: parts and hours ranges and the totals they give at the labour rate."""

    name: str  # the English repair text (a msgid)
    grade: str  # "" for a single row, else the split's English qualifier (a msgid)
    parts: tuple[int, int]
    hours: tuple[float, float]
    total: tuple[int, int]


def to_five(dollars: float) -> int:
    return int(5 * round(dollars / 5))


def _total(parts: tuple[float, float], hours: tuple[float, float], rate: int) -> tuple[int, int]:
    return to_five(parts[0] + hours[0] * rate), to_five(parts[1] + hours[1] * rate)


def jobs(
    name: str, parts: tuple[int, int], hours: tuple[float, float], profile: Profile
) -> tuple[Job, ...]:
    """The repair as one row, or two named rows when one would span more than MAX_SPREAD."""
    rate = profile.labour_usd
    total = _total(parts, hours, rate)
    if total[1] <= MAX_SPREAD * total[0]:
        return (Job(name, "", parts, hours, total),)
    low_parts = (parts[0], to_five(parts[0] * _SPLIT_SPREAD))
    low_hours = (hours[0], round(hours[0] * _SPLIT_SPREAD, 1))
    high_parts = (to_five(parts[1] / _SPLIT_SPREAD), parts[1])
    high_hours = (round(hours[1] / _SPLIT_SPREAD, 1), hours[1])
    return (
        Job(
            name,
            STANDARD_GRADE,
            low_parts,
            low_hours,
            _total(low_parts, low_hours, rate),
        ),
        Job(
            name,
            OEM_GRADE,
            high_parts,
            high_hours,
            _total(high_parts, high_hours, rate),
        ),
    )


def fair_range(cause: Cause, profile: Profile, quantity: int = 1) -> tuple[int, int]:
    """The whole job for ``quantity`` units of the cause's part: parts times the quantity, and
    labour for the first unit plus a third for each further one (they share the access work)."""
    hours_factor = 1 + (quantity - 1) / 3
    parts = (cause.parts_usd[0] * quantity, cause.parts_usd[1] * quantity)
    hours = (cause.labor_hours[0] * hours_factor, cause.labor_hours[1] * hours_factor)
    return _total(parts, hours, profile.labour_usd)


def procedure_cost(test: Procedure, profile: Profile) -> tuple[int, int]:
    """What the test costs if billed on its own: its hours at the labour rate."""
    return to_five(test.hours[0] * profile.labour_usd), to_five(test.hours[1] * profile.labour_usd)
