"""One currency per order: the one the submission was priced in (DIAGPRO_CURRENCY when it was
saved). The shop quote is read in it, the model is asked for amounts in it, the report prints
with it; the offline analyzer's built-in prices are US dollars and say so, and are never set
against a quote in another currency as if they were."""

from __future__ import annotations

import json
from dataclasses import replace

from diagpro.adapters.gemini.output import parse_analysis
from diagpro.adapters.gemini.prompt import build_prompt, customer_data
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.offline_analyzer.pricing import PRICE_DATA_CURRENCY
from diagpro.adapters.pdf.view_model import build_context
from diagpro.domain.analysis import QuoteVerdict
from diagpro.domain.codes import extract_codes
from diagpro.entrypoints.http import intake_form
from tests.analysis_text import analysis_text
from tests.builders import make_intake
from tests.harness import Harness
from tests.report_documents import make_document
from tests.unit.test_gemini_output import answer

QUOTE_CENTS = 125000  # make_intake's shop quote: "1250.00"


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
    quote = analysis.quote_check
    assert quote is not None and quote.verdict != QuoteVerdict.NO_QUOTE
    # Priced like for like: the job exactly as the shop wrote it, beside the customer's quote.
    assert quote.shop_job == intake.shop_recommendation
    assert "$1,250" in quote.explanation
    assert 0 < quote.fair_cents_low <= quote.fair_cents_high


def test_a_quote_in_another_currency_is_never_compared_with_the_dollar_data() -> None:
    intake = make_intake()
    analysis = OfflineAnalyzer().analyse(intake, extract_codes(intake), "eur")
    assert analysis.currency == "usd"  # its amounts stay US dollars, and say so
    quote = analysis.quote_check
    assert quote is not None and quote.verdict == QuoteVerdict.NO_QUOTE
    # The quote is shown as the customer gave it, and said not to be compared:
    assert "1,250.00 EUR is not compared" in quote.explanation
    assert "US dollars" in quote.explanation
    text = analysis_text(analysis)
    assert text.count("EUR") == quote.explanation.count("EUR") >= 1
    assert all("EUR" not in step for step in analysis.next_steps)


def test_the_report_prints_the_quote_in_its_currency_and_the_analysis_in_its_own() -> None:
    document = make_document(currency="eur", offline=True)
    offline = replace(document, analysis=replace(document.analysis, currency="usd"))
    context = build_context(offline)
    rows = {row.label: row.value for row in context["intake"]["rows"]}
    assert rows["Shop's quote"] == "€1,250"
    assert context["analysis"]["quote"]["quoted"] == "€1,250"
    assert context["analysis"]["likely_cost"]["range"] == "$340–$435"
    assert "US dollars" in context["analysis"]["money"]["note"]


def test_an_analysis_without_its_own_currency_prints_in_the_reports() -> None:
    context = build_context(make_document(currency="eur"))
    assert context["analysis"]["likely_cost"]["range"] == "€340–€435"
    assert context["analysis"]["shop_tests"][0]["cost"] == "€80–€120"
    assert "euros" in context["analysis"]["money"]["note"]


def test_the_intake_summary_and_form_use_the_price_currency() -> None:
    rows = {
        row.label: row.value
        for section in intake_form.summary(make_intake(), "eur")
        for row in section.rows
    }
    assert rows["Shop quote"] == "1,250.00 EUR"
    labels = intake_form.form_context({}, (), "eur")["labels"]
    assert labels["shopQuoteAmount"] == "Shop quote (EUR)"
