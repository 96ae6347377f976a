"""What the report template prints, built from a ReportDocument in plain Python.

Everything the customer or the model wrote is untrusted; it reaches the template only as text,
escaped by Jinja. The template gets a plain view built here (translated labels, formatted money
and dates, shortened text, capped lists), so it holds no logic worth testing. This module and the
ones it uses never import WeasyPrint, so the view is tested without it
(tests/unit/test_report_view_model.py).

The layout, 4 to 6 pages for a typical case: a first page that answers (the most likely cause,
the urgency, the likely cost, the quote's verdict, the next three steps), then about eight
sections built from the analysis' fields, each item printed once (see ``analysis_view``), the
owner's own submission, and a short note on what the report is.
"""

from __future__ import annotations

import re
from typing import Any

from diagpro.adapters.messages import Messages
from diagpro.adapters.pdf.analysis_view import URGENCY_VIEWS, UrgencyView, analysis_view
from diagpro.adapters.pdf.intake_view import detail_label, equipment_name, intake_view
from diagpro.adapters.pdf.measure import paragraphs, shorten, text_width
from diagpro.adapters.pdf.money import report_date
from diagpro.domain.report import ReportDocument

__all__ = [
    "URGENCY_VIEWS",
    "UrgencyView",
    "build_context",
    "css_string",
    "detail_label",
    "page_css",
    "paragraphs",
    "report_date",
    "shorten",
    "text_width",
]


def css_string(text: str) -> str:
    """``text`` as a CSS string literal with every character but letters, digits and spaces
    escaped (CSS Syntax 3, 4.3.7), so no translation can end the string or the style element."""
    return (
        '"'
        + "".join(
            ch if (ch.isalnum() and ch.isascii()) or ch == " " else f"\\{ord(ch):x} " for ch in text
        )
        + '"'
    )


_PAGE_FIELD = re.compile(r"\{(page|pages)\}")


def page_css(t: Messages) -> str:
    """The running header and footer's fixed words, in the report's language, as a stylesheet
    (renderer.py parses it once per language): our own text only (the report id comes from the
    page via string-set; nothing the customer wrote is here)."""
    parts = []
    for index, piece in enumerate(_PAGE_FIELD.split(t("Page {page} of {pages}"))):
        if index % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(css_string(piece))
    title = css_string(t("diagpro · Diagnostic report"))
    report = css_string(t("Report") + " ")
    # Built only from css_string() literals (every character outside [A-Za-z0-9 ] escaped) and
    # fixed CSS; no customer or model text reaches it.
    return (
        f"@page {{ @top-left {{ content: {title}; }} "
        f"@bottom-left {{ content: {report} string(report-id); }} "
        f"@bottom-right {{ content: {' '.join(parts)}; }} }} "
        # The first page has its own title: no running title there.
        "@page :first { @top-left { content: none; } }"
    )


def build_context(document: ReportDocument) -> dict[str, Any]:
    """Everything the template prints, as plain text and tuples (escaped by Jinja), and ``t``,
    the report catalogue in the analysis' language, for the template's own fixed text."""
    intake = document.intake
    language = document.analysis.language
    t = Messages(language, "report")
    return {
        "t": t,
        "page_css": page_css(t),
        # The <html lang>: what the report is written in (hyphenation, fonts for CJK).
        "lang": language or "en",
        "report_id": document.submission_id,
        "report_date": report_date(document.generated_at, language),
        "equipment_name": equipment_name(intake) or t("Your equipment"),
        "intake": intake_view(intake, document.currency, language),
        "analysis": analysis_view(document.analysis, intake, document.currency),
        "retention_days": document.retention_days,
    }
