"""What the report template prints, built from a ReportDocument in plain Python.

Everything the customer or the model wrote is untrusted; it reaches the template only as text,
escaped by Jinja. The template gets a plain view built here (labels, formatted money and dates,
bounded text, capped rows), so it holds no logic worth testing. This module and the ones it uses
never import WeasyPrint, so the view is tested without it (tests/unit/test_report_view_model.py).

The layout: a cover (report id, date, contents), one "at a glance" page (urgency, safety flags,
most likely cause, confidence, cost range, the three next steps), the submission summary, the 15
sections, a disclaimer page. Sections with a structured field print it as a table, checklist or
callout (2 and 12 ranked causes, 3 shop tests, 4 shop questions, 6 costs, 13 safety flags, 15 next
steps); the section's narrative summary stays above it, and its narrative points are replaced by
the structure (except in 13, where the safety callout comes on top of the points). A section whose
structured field is empty prints its narrative summary and points, as a model's free text may
have nothing else.

Length is bounded whatever the input: every text is clipped by its printed width (so wide glyphs
cannot stretch it), every list and table capped, each section's narrative has a budget and the
at-a-glance page shares a line budget, so the worst case is about 20 pages (the original's ran to
36; tests/unit/test_pdf_renderer.py holds it under 25) and a typical report 8 to 11.
"""

from __future__ import annotations

from typing import Any

from diagpro.adapters.pdf.analysis_view import URGENCY_VIEWS, UrgencyView, analysis_view
from diagpro.adapters.pdf.intake_view import detail_label, intake_view, report_date
from diagpro.adapters.pdf.limits import COVER_NAME_LIMIT, HEADER_NAME_LIMIT
from diagpro.adapters.pdf.measure import clip, paragraphs, text_width
from diagpro.domain.report import ReportDocument

__all__ = [
    "URGENCY_VIEWS",
    "UrgencyView",
    "build_context",
    "clip",
    "detail_label",
    "paragraphs",
    "report_date",
    "text_width",
]


def build_context(document: ReportDocument) -> dict[str, Any]:
    """Everything the template prints, as plain text and tuples (escaped by Jinja)."""
    intake = document.intake
    return {
        "report_id": document.submission_id,
        "report_date": report_date(document.generated_at),
        "equipment_name": clip(intake.equipment_name, COVER_NAME_LIMIT),
        "header_name": clip(intake.equipment_name, HEADER_NAME_LIMIT),
        "intake": intake_view(intake, document.currency),
        "analysis": analysis_view(document.analysis, intake, document.currency),
    }
