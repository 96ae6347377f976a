"""One currency per order: the one the submission was priced in (DIAGPRO_CURRENCY when it was
saved). The shop quote is read in it, the model is asked for amounts in it, the report prints
with it; the offline analyzer's built-in prices are US dollars and say so, and are never set
against a quote in another currency as if they were."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from diagpro.adapters.gemini.output import parse_analysis
from diagpro.adapters.gemini.prompt import build_prompt, customer_data
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.offline_analyzer.pricing import PRICE_DATA_CURRENCY
from diagpro.adapters.pdf.view_model import build_context
from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import extract_codes
from diagpro.entrypoints.http import intake_form
from tests.builders import make_intake
from tests.harness import Harness
from tests.report_documents import make_document
from tests.unit.test_gemini_output import answer

NBSP = "\u00a0"
QUOTE_CENTS = 125000  # make_intake's shop quote: "1250.00"
AMOUNT = re.compile(r"\$?[\d,]+\.\d\d (USD|EUR)")


def _text(analysis: Analysis) -> str:
    return "\n".join(f"{s.summary}\n" + "\n".join(s.points) for s in analysis.sections)


def test_the_submission_is_priced_and_processed_in_the_configured_currency(tmp_path) -> None:
    h = Harness.build(tmp_path, env={"DIAGPRO_CURRENCY": "eur"})
    sub = h.save()
    assert sub.currency == "eur"
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    rendered = h.container.renderer().rendered[-1]
    assert rendered.currency == "eur"  # the report document carries the submission's currency
    assert rendered.analysis.currency == PRICE_DATA_CURRENCY  # the offline analyzer's own


def test_the_prompt_asks_for_every_amount_in_the_submissions_currency() -> None:
    intake = make_intake()
    prompt = build_prompt(intake, extract_codes(intake), "eur")
    assert "Money is in EUR, in whole units" in prompt.system_instruction
    assert "1,250.00 EUR is 1250" in prompt.system_instruction
    assert "USD" not in prompt.system_instruction and "$" not in prompt.system_instruction
    data = customer_data(intake, extract_codes(intake), "eur")
    assert data["intake"]["Shop quote"] == "1,250.00 EUR"  # type: ignore[index]
    assert '"Shop quote": "1,250.00 EUR"' in prompt.user_text


def test_the_models_amounts_are_in_the_currency_it_was_asked_for() -> None:
    analysis = parse_analysis(
        json.dumps(answer()), (), currency="eur", model="m", prompt_tokens=1, output_tokens=1
    )
    assert analysis.currency == "eur"
    assert analysis.costs[0].total_cents_low > 0


def test_the_offline_analyzer_writes_dollars_and_says_so_for_a_dollar_order() -> None:
    intake = make_intake()
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), "usd")
    assert analysis.currency == "usd"
    text = _text(analysis)
    verdict = r"Your shop quote of \$1,250\.00 USD is (below|within|\$[\d,.]+ USD above)"
    assert re.search(verdict, text)


def test_a_quote_in_another_currency_is_never_compared_with_the_dollar_data() -> None:
    intake = make_intake()
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), "eur")
    assert analysis.currency == "usd"  # its amounts stay US dollars, and say so
    text = _text(analysis)
    # The quote is shown as the customer gave it, and said not to be compared:
    assert "Your shop quote of 1,250.00 EUR is not compared with these ranges" in text
    assert "USD figures from the built-in price data" in text
    # No verdict on it (within, above, second quote) and no price check against dollars:
    assert not re.search(r"1,250\.00 EUR is (below|within|\S+ \S+ above)", text)
    assert "Price check:" not in text
    assert "Your quote of" not in text
    # Every other amount is in dollars, labelled as such; the only EUR figure is the quote.
    currencies = [m.group(1) for m in AMOUNT.finditer(text)]
    assert currencies.count("EUR") == text.count("1,250.00 EUR") >= 1
    assert set(currencies) == {"USD", "EUR"}
    assert all(step.count("EUR") == 0 for step in analysis.next_steps)


def test_the_report_prints_the_quote_in_its_currency_and_the_analysis_in_its_own() -> None:
    document = make_document(currency="eur", offline=True)
    offline = replace(document, analysis=replace(document.analysis, currency="usd"))
    context = build_context(offline)
    assert context["intake"]["shop_quote"] == "1,250.00 EUR"
    glance = context["analysis"]["glance"]
    assert glance["quote"] == f"1,250.00{NBSP}EUR"
    assert glance["cost"]["range"] == (f"$205.00{NBSP}USD", f"to $690.00{NBSP}USD")


def test_an_analysis_without_its_own_currency_prints_in_the_reports() -> None:
    context = build_context(make_document(currency="eur"))
    glance = context["analysis"]["glance"]
    assert glance["cost"]["range"] == (f"205.00{NBSP}EUR", f"to 690.00{NBSP}EUR")
    tests = next(s for s in context["analysis"]["sections"] if s["block"] == "tests")
    assert tests["rows"][1]["cost"] == (f"up to 50.00{NBSP}EUR",)


def test_the_intake_summary_and_form_use_the_price_currency() -> None:
    rows = {
        row.label: row.value
        for section in intake_form.summary(make_intake(), "eur")
        for row in section.rows
    }
    assert rows["Shop quote"] == "1,250.00 EUR"
    labels = intake_form.form_context({}, (), "eur")["labels"]
    assert labels["shopQuoteAmount"] == "Shop quote (EUR)"
