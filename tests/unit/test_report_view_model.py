"""The report's view model, without WeasyPrint: what the template is given for a document.

The PDF itself (pages, fonts, what each page says) is tested in test_pdf_renderer.py; here the
rules are checked on the plain view: translated labels, money and dates in the report's locale,
sections present only when they have something to say, shortening to whole sentences, caps.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from diagpro.adapters.pdf import limits
from diagpro.adapters.pdf.measure import paragraphs, shorten, text_width
from diagpro.adapters.pdf.money import Money, hours
from diagpro.adapters.pdf.view_model import build_context, css_string, detail_label, report_date
from diagpro.domain.equipment import ALL_DETAIL_FIELDS, DETAIL_LABELS
from tests.report_documents import (
    REPORT_ID,
    hvac_document,
    make_document,
    spanish_document,
    worst_case_document,
)

NBSP = "\u00a0"


@pytest.mark.process
def test_the_view_model_is_built_without_importing_weasyprint() -> None:
    # A fresh interpreter: in this one another test may have imported WeasyPrint already.
    probe = (
        "import sys\n"
        "from diagpro.adapters.pdf.view_model import build_context\n"
        "from tests.report_documents import make_document\n"
        "build_context(make_document())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'weasyprint'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_every_detail_field_has_a_readable_label() -> None:
    assert set(DETAIL_LABELS) == ALL_DETAIL_FIELDS
    assert detail_label("checkEngineLightOn") == "Check engine light on"
    assert detail_label("someNewFlag") == "Some new flag"  # camelCase split when not declared


def test_money_is_whole_and_ranged_in_the_reports_locale() -> None:
    dollars = Money("en", "usd")
    assert dollars.amount(6_500) == "$65"
    assert dollars.range(6_500, 72_000) == "$65–$720"
    assert dollars.amount(125_050) == "$1,250.50"  # cents only when there are some
    assert dollars.range(8_000, 8_000) == "$80"
    assert Money("es", "usd").range(34_000, 43_500) == f"340{NBSP}US$–435{NBSP}US$"
    assert Money("en", "usd").name() == "US dollars"
    assert hours(1.5, 3, "en") == "1.5–3" and hours(1.5, 3, "es") == "1,5–3"


def test_dates_are_the_utc_day_in_the_reports_language() -> None:
    late_in_new_york = datetime(2026, 11, 26, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert report_date(late_in_new_york, "en") == "November 27, 2026"
    assert report_date(datetime(2026, 1, 2, tzinfo=UTC), "es") == "2 de enero de 2026"


def test_the_first_page_view() -> None:
    context = build_context(make_document())
    assert context["report_id"] == REPORT_ID
    assert context["lang"] == "en"
    assert context["equipment_name"] == "2015 Ford F-150"
    analysis = context["analysis"]
    assert analysis["cause"] == "Intake gasket leak at cylinder 1"
    assert analysis["likely_cost"] == {
        "range": "$340–$435",
        "repair": "Replace the intake manifold gaskets",
    }
    assert analysis["quote"]["quoted"] == "$1,250"
    assert analysis["quote"]["fair"] == "$1,100–$1,400"
    assert analysis["quote"]["verdict"] == "unjustified_scope"
    assert len(analysis["steps"]) == 3


def test_sections_are_numbered_from_what_the_analysis_has() -> None:
    typical = build_context(make_document())["analysis"]["sections"]
    assert [s["key"] for s in typical] == [
        *("facts", "codes", "causes", "checks", "costs", "shop", "background", "intake")
    ]
    assert [s["number"] for s in typical] == list(range(1, 9))
    hvac = build_context(hvac_document())["analysis"]["sections"]
    assert "facts" not in [s["key"] for s in hvac]  # no owner facts, nothing ruled out
    assert hvac[0]["title"] == "Your codes, decoded" and hvac[0]["number"] == 1


def test_a_repair_for_another_cause_is_named_with_it() -> None:
    likely = build_context(hvac_document())["analysis"]["likely_cost"]
    assert likely["repair"] == "Clear and reseal the flue and vent pipe (cause 2)"


def test_the_spanish_view_translates_fixed_text_and_keeps_the_models() -> None:
    context = build_context(spanish_document())
    analysis = context["analysis"]
    assert context["lang"] == "es"
    assert context["report_date"] == "26 de noviembre de 2026"
    assert analysis["urgency"]["words"] == "Hágalo revisar en los próximos días"
    assert analysis["sections"][0]["title"] == "Lo que nos dicen sus propias comprobaciones"
    assert analysis["money"]["note"].startswith("Los importes están en dólares estadounidenses")
    assert context["t"]("Page {page} of {pages}") == "Página {page} de {pages}"
    assert '"P\\e1 gina " counter(page) " de " counter(pages)' in context["page_css"]


def test_a_report_the_offline_analyzer_wrote_for_a_failed_model_says_so_in_its_language() -> None:
    english = build_context(make_document(stands_in_for_model=True))["analysis"]
    assert english["stand_in_note"] == (
        "The AI analysis was unavailable, so this report was written from diagpro's built-in "
        "knowledge base."
    )
    spanish = spanish_document()
    stand_in = replace(spanish, analysis=replace(spanish.analysis, stands_in_for_model=True))
    assert build_context(stand_in)["analysis"]["stand_in_note"].startswith(
        "El análisis con IA no estaba disponible"
    )
    # An offline report by choice (DIAGPRO_ANALYZER=offline) apologises for nothing.
    assert build_context(make_document())["analysis"]["stand_in_note"] == ""


def test_page_css_escapes_every_character_a_translation_could_break_out_with() -> None:
    assert css_string('a"b') == '"a\\22 b"'
    assert "</style>" not in css_string("</style><script>")
    assert css_string("Page 1") == '"Page 1"'


def test_shortening_keeps_whole_sentences() -> None:
    assert shorten("One two. Three four five six. Seven", 20) == "One two."
    assert shorten("short", 20) == "short"
    cut = shorten("word " * 100, 50)  # one sentence longer than the limit: cut at a word
    assert cut.endswith("word" + limits.SHORTENED_MARK)
    assert text_width(cut) <= 50
    wide, narrow = shorten("W" * 500, 100), shorten("i" * 500, 100)
    assert len(wide) < len(narrow)  # same printed width, fewer wide characters


def test_paragraphs_drop_blank_lines_and_join_the_excess() -> None:
    assert paragraphs("one\n\n\n  two  \n") == ("one", "two")
    many = paragraphs("\n".join(f"p{i}" for i in range(100)))
    assert len(many) == limits.MAX_PARAGRAPHS
    assert many[-1].startswith(f"p{limits.MAX_PARAGRAPHS - 1} ")


@pytest.mark.parametrize("word", ["WWWWWWW", "proceed"])
def test_the_worst_case_is_capped_everywhere(word: str) -> None:
    context = build_context(worst_case_document(word))
    analysis = context["analysis"]
    assert len(analysis["causes"]) == limits.MAX_CAUSES
    assert len(analysis["facts"]) == limits.MAX_FACTS
    assert len(analysis["codes"]) == limits.MAX_CODES
    assert len(analysis["shop_tests"]) == limits.MAX_SHOP_TESTS
    assert len(analysis["questions"]) == limits.MAX_QUESTIONS
    assert len(analysis["money"]["repairs"]) == limits.MAX_REPAIRS
    assert analysis["more"]["questions"] == "55 more items not printed."
    assert text_width(analysis["cause"]) <= limits.CAUSE_LIMIT
    for step in analysis["steps"]:
        assert text_width(step) <= limits.ITEM_LIMIT
    assert len(context["intake"]["description"]) <= limits.INTAKE_PARAGRAPHS
    assert len(context["intake"]["symptoms"]) == limits.MAX_SYMPTOMS


def test_a_report_without_a_shop_quote_has_no_quote_view() -> None:
    assert build_context(hvac_document())["analysis"]["quote"] is None
