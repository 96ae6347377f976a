"""Fair prices: parts plus labor at the category's rates, tests by the hour, to the nearest $5.

All amounts here are whole US dollars (``PRICE_DATA_CURRENCY``); they become text only through
``money`` and ``money_cents`` (which call the domain's ``format_money``) and cents only when they
leave for the domain's structured fields.
"""

from __future__ import annotations

from diagpro.adapters.offline_analyzer.knowledge import Cause, Procedure, Profile
from diagpro.domain.payment import format_money

# The knowledge base's prices (parts_usd, labor_usd, diag_fee_usd) are US dollars whatever the
# submission was priced in; every amount this analyzer writes is in this currency, and says so.
PRICE_DATA_CURRENCY = "usd"

# A quote this far above the fair range's top is worth a second opinion, not just a question.
SECOND_OPINION_RATIO = 1.25


def money(dollars: float) -> str:
    return format_money(round(dollars * 100), PRICE_DATA_CURRENCY)


def money_cents(cents: int) -> str:
    """Price-data cents (a cost estimate's, a shop test's) as text."""
    return format_money(cents, PRICE_DATA_CURRENCY)


def money_range(low: float, high: float) -> str:
    return f"{money(low)} to {money(high)}"


def to_five(dollars: float) -> int:
    return 5 * round(dollars / 5)


def walk_away(high: int) -> int:
    """Above this a second opinion is worth more than the hassle of getting one."""
    return to_five(high * SECOND_OPINION_RATIO)


def fair_range(cause: Cause, profile: Profile) -> tuple[int, int]:
    """Parts plus labor at the category's independent-to-dealer rates."""
    low = cause.parts_usd[0] + cause.labor_hours[0] * profile.labor_usd[0]
    high = cause.parts_usd[1] + cause.labor_hours[1] * profile.labor_usd[1]
    return to_five(low), to_five(high)


def procedure_cost(test: Procedure, profile: Profile) -> tuple[int, int]:
    """What the test costs if billed on its own: its hours at the category's labor rates."""
    return (
        to_five(test.hours[0] * profile.labor_usd[0]),
        to_five(test.hours[1] * profile.labor_usd[1]),
    )


def hours_text(hours: tuple[float, float]) -> str:
    low, high = hours
    return f"{low:g}-{high:g} h"
