"""Fair prices: parts plus labour at one independent-shop rate, tests by the hour, to the
nearest $5.

All amounts here are whole US dollars (``PRICE_DATA_CURRENCY``) until they leave as cents for the
domain's fields. One labour rate per category (``Profile.labour_usd``, an independent shop in
2026) is stated once on the report, instead of an independent-to-dealer span that doubled every
range. A repair whose fair total would still span more than ``MAX_SPREAD`` is priced as the
named jobs a shop does (``jobs.py``, ``data/jobs.json``), so no range is too wide to judge a
quote with.
"""

from __future__ import annotations

from dataclasses import dataclass

from diagpro.adapters.offline_analyzer.knowledge import Procedure, Profile

# The knowledge base's prices are US dollars whatever the submission was priced in; every amount
# this analyzer writes is in this currency, and says so (``Analysis.currency``).
PRICE_DATA_CURRENCY = "usd"
# A quote this far above the fair range's top is high, not just at the top of the range.
HIGH_RATIO = 1.25
# A cost row's high end at most this many times its low end (the report's rule).
MAX_SPREAD = 1.5


@dataclass(frozen=True)
class Job:
    """One priced job: parts and hours ranges and the totals they give at the labour rate."""

    name: str  # the English repair text (a msgid)
    parts: tuple[int, int]
    hours: tuple[float, float]
    total: tuple[int, int]


def to_five(dollars: float) -> int:
    return int(5 * round(dollars / 5))


def _total(parts: tuple[float, float], hours: tuple[float, float], rate: int) -> tuple[int, int]:
    return to_five(parts[0] + hours[0] * rate), to_five(parts[1] + hours[1] * rate)


def price(name: str, parts: tuple[int, int], hours: tuple[float, float], profile: Profile) -> Job:
    """The job at the category's labour rate. Narrow by construction: a repair that would span
    more than MAX_SPREAD is written as named jobs (``jobs.py``), never split here."""
    return Job(name, parts, hours, _total(parts, hours, profile.labour_usd))


def procedure_cost(test: Procedure, profile: Profile) -> tuple[int, int]:
    """What the test costs if billed on its own: its hours at the labour rate."""
    return to_five(test.hours[0] * profile.labour_usd), to_five(test.hours[1] * profile.labour_usd)
