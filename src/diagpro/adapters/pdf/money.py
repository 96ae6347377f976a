"""Money, hours and dates as the report prints them, in the report's language (Babel, CLDR data).

Whole amounts print without decimals ("$65", "65 US$"), ranges with an en dash ("$65–$720"), and
the currency is named once per report (``Money.note``) instead of after every amount. The locale
is the report's language, so Spanish gets "1.250 US$" and "26 de noviembre de 2026".
See https://babel.pocoo.org/en/latest/numbers.html and https://cldr.unicode.org/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_name

RANGE_DASH = "–"
NBSP = "\u00a0"


@cache
def report_locale(language: str) -> Locale:
    """The CLDR locale for a BCP-47 language tag; English when Babel does not know it."""
    try:
        return Locale.parse(language.replace("-", "_") or "en")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


@cache
def _whole_pattern(locale: Locale) -> str:
    """The locale's currency pattern without its decimals: '¤#,##0.00' -> '¤#,##0'."""
    pattern: str = locale.currency_formats["standard"].pattern
    return pattern.split(";")[0].replace(".00", "")


class Money:
    """Amounts in cents of one currency, formatted for one language."""

    def __init__(self, language: str, currency: str) -> None:
        self.locale = report_locale(language)
        self.currency = (currency or "usd").upper()

    def amount(self, cents: int) -> str:
        """'$65' for whole amounts, '$64.50' otherwise; no-break spaces inside."""
        if cents % 100 == 0:
            text = format_currency(
                cents // 100,
                self.currency,
                format=_whole_pattern(self.locale),
                locale=self.locale,
                currency_digits=False,
            )
        else:
            text = format_currency(cents / 100, self.currency, locale=self.locale)
        return text.replace(" ", NBSP)

    def range(self, low: int, high: int) -> str:
        """'$65–$720', or one amount when both ends are equal."""
        if low >= high:
            return self.amount(low)
        return f"{self.amount(low)}{RANGE_DASH}{self.amount(high)}"

    def name(self) -> str:
        """The currency's name in the report's language: 'US dollars' is 'US dollar' in CLDR's
        singular display name, so the plural form for 2 is asked for."""
        return get_currency_name(self.currency, count=2, locale=self.locale)


def hours(low: float, high: float, language: str) -> str:
    """'1.5–3' hours in the report's number format ('1,5–3' in Spanish)."""
    locale = report_locale(language)
    first = format_decimal(low, format="#,##0.#", locale=locale)
    if low >= high:
        return first
    return f"{first}{RANGE_DASH}{format_decimal(high, format='#,##0.#', locale=locale)}"


def report_date(moment: datetime, language: str) -> str:
    """'November 26, 2026' / '26 de noviembre de 2026', the UTC day when the time is aware."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return format_date(moment.date(), format="long", locale=report_locale(language))
