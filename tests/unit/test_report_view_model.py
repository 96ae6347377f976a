"""The report's view model, without WeasyPrint: what the template is given for a document.

The PDF itself (pages, fonts, structure as poppler reads it) is tested in test_pdf_renderer.py;
here the rules are checked on the plain view: labels, money, clipping by printed width, capped
rows, the one-page glance budget.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from diagpro.adapters.pdf import limits
from diagpro.adapters.pdf.analysis_view import URGENCY_VIEWS
from diagpro.adapters.pdf.measure import clip, paragraphs, text_width
from diagpro.adapters.pdf.view_model import build_context, detail_label, report_date
from diagpro.domain.analysis import Urgency
from diagpro.domain.equipment import ALL_DETAIL_FIELDS, DETAIL_LABELS
from tests import builders
from tests.report_documents import REPORT_ID, make_document, worst_case_document

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


def test_the_cover_and_the_submission_summary() -> None:
    context = build_context(make_document())
    assert context["report_id"] == REPORT_ID
    assert context["report_date"] == "November 26, 2026"
    assert context["equipment_name"] == "2015 Ford F-150"
    intake = context["intake"]
    assert intake["shop_quote"] == "$1,250.00 USD"
    assert ("When it started", "Within the last week") in {
        (row.label, row.value) for row in intake["problem_rows"]
    }
    assert ("Check engine light on", "Yes") in {
        (row.label, row.value) for row in intake["detail_rows"]
    }
    assert intake["problem_description"] == (
        "Misfire on cylinder 1 since last week.",
        "Worse when cold.",
    )


def test_the_report_date_is_the_utc_day() -> None:
    late_in_new_york = datetime(2026, 11, 26, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert report_date(late_in_new_york) == "November 27, 2026"
    assert report_date(datetime(2026, 1, 2, tzinfo=UTC)) == "January 2, 2026"


def test_the_glance_gives_the_answer_with_money_that_never_wraps() -> None:
    glance = build_context(make_document())["analysis"]["glance"]
    assert glance["cause"] == "Leaking intake gasket at cylinder 1 (lean misfire)"
    assert glance["cost"]["range"] == (f"$205.00{NBSP}USD", f"to $690.00{NBSP}USD")
    assert glance["quote"] == f"$1,250.00{NBSP}USD"
    assert len(glance["steps"]) == 3
    assert [(o["rank"], o["pct"]) for o in glance["others"]] == [(2, 21), (3, 9)]


def test_sections_print_their_structure_in_place_of_their_points() -> None:
    analysis = build_context(make_document())["analysis"]
    assert analysis["urgency"] == URGENCY_VIEWS[Urgency.SOON]
    assert analysis["other_causes_pct"] == 8  # 100 - 62 - 21 - 9
    by_block = {s["block"]: s for s in analysis["sections"] if s["block"]}
    assert set(by_block) == {
        *("differential", "tests", "questions", "costs", "ranked", "safety", "steps")
    }
    assert by_block["ranked"]["points"] == ()  # the table replaces the narrative points
    assert len(by_block["safety"]["points"]) == 3  # the safety callout comes on top of them
    assert [row["rank"] for row in by_block["ranked"]["rows"]] == [1, 2, 3]
    assert by_block["differential"]["rows"][0]["cause"].startswith("Leaking or clogged")
    assert by_block["tests"]["rows"][1]["cost"] == (f"up to $50.00{NBSP}USD",)
    assert analysis["sections"][5]["heading"] == "6. COST BREAKDOWN"


def test_a_narrative_only_analysis_takes_its_steps_from_section_15() -> None:
    analysis = build_context(make_document(**builders.NARRATIVE_ONLY))["analysis"]
    assert all(section["block"] == "" for section in analysis["sections"])
    assert all(len(section["points"]) == 3 for section in analysis["sections"])
    assert analysis["glance"]["cost"] is None
    assert analysis["glance"]["steps"][0] == "Check fuel trims at idle and at 2500 rpm."


def test_wide_glyphs_are_clipped_by_their_printed_width() -> None:
    assert text_width("proceed") == pytest.approx(len("proceed"), rel=0.25)
    wide, narrow = clip("W" * 500, 100), clip("i" * 500, 100)
    assert wide.endswith(limits.CLIP_MARK) and narrow.endswith(limits.CLIP_MARK)
    assert len(wide) < len(narrow)  # same printed width, fewer wide characters
    assert text_width(wide.removesuffix(limits.CLIP_MARK)) <= 100
    cut = clip("word " * 40, 50)
    assert cut.endswith("word" + limits.CLIP_MARK)  # cut at a space, not inside a word
    assert set(cut.removesuffix(limits.CLIP_MARK).split(" ")) == {"word"}
    assert text_width(cut.removesuffix(limits.CLIP_MARK)) <= 50
    assert clip("short", 50) == "short"


def test_paragraphs_drop_blank_lines_and_join_the_excess() -> None:
    assert paragraphs("one\n\n\n  two  \n") == ("one", "two")
    many = paragraphs("\n".join(f"p{i}" for i in range(100)))
    assert len(many) == limits.MAX_PARAGRAPHS
    assert many[-1].startswith(f"p{limits.MAX_PARAGRAPHS - 1} ")


@pytest.mark.parametrize("word", ["WWWWWWW", "proceed"])
def test_the_worst_case_is_capped_everywhere(word: str) -> None:
    context = build_context(worst_case_document(word))
    analysis = context["analysis"]
    glance = analysis["glance"]
    lines = sum(
        -(-text_width(item) // limits.GLANCE_LINE_CHARS)
        for item in (*glance["flags"], *glance["data_needed"], *glance["steps"])
    )
    assert lines <= limits.GLANCE_LINES  # the at-a-glance page stays one page
    assert glance["more_flags"] > 0
    assert text_width(context["equipment_name"]) <= limits.COVER_NAME_LIMIT + 4
    for section in analysis["sections"]:
        assert len(section["points"]) <= limits.MAX_POINTS
        assert len(section["rows"]) <= max(limits.MAX_CAUSE_ROWS, limits.MAX_QUESTIONS)
        budget = (
            limits.PRIMARY_BUDGET if section["number"] == 1 else limits.SECTION_BUDGET
        ) + limits.POINT_LIMIT  # the point that crosses the budget is clipped, not dropped
        printed = sum(text_width(p) for p in section["summary"])
        printed += sum(text_width(p.lead) + text_width(p.text) for p in section["points"])
        assert printed <= budget, section["heading"]
    ranked = next(s for s in analysis["sections"] if s["block"] == "ranked")
    assert len(ranked["rows"]) == limits.MAX_CAUSE_ROWS
    assert ranked["more_rows"] == 40 - limits.MAX_CAUSE_ROWS
    assert len(context["intake"]["problem_description"]) <= limits.INTAKE_PARAGRAPHS


def test_an_analysis_without_a_shop_quote_says_so_with_an_empty_quote() -> None:
    document = make_document()
    document = replace(document, intake=replace(document.intake, shop_quote_cents=None))
    context = build_context(document)
    assert context["intake"]["shop_quote"] == ""
    assert context["analysis"]["glance"]["quote"] == ""
