"""The pages show money in the price currency (DIAGPRO_CURRENCY): the shop quote is asked for and
shown back in it, as the price is."""

from __future__ import annotations

from collections.abc import Callable

from tests.http.conftest import AUTOMOTIVE, Api


def test_the_form_and_the_review_use_the_price_currency(make_api: Callable[..., Api]) -> None:
    api = make_api(env={"DIAGPRO_CURRENCY": "eur"})
    form = api.get("/").text
    assert "Shop quote (EUR)" in form
    assert "USD" not in form
    sid = api.save({**AUTOMOTIVE, "shopQuoteAmount": "1250.00"})
    review = api.get(f"/review/{sid}").text
    assert "1,250.00 EUR" in review
    assert "USD" not in review


def test_dollars_by_default(make_api: Callable[..., Api]) -> None:
    api = make_api()
    assert "Shop quote (USD)" in api.get("/").text
    sid = api.save({**AUTOMOTIVE, "shopQuoteAmount": "1250.00"})
    assert "$1,250.00 USD" in api.get(f"/review/{sid}").text
