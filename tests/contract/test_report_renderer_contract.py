"""The ReportRenderer contract: a PDF from a complete analysis, for the real renderer and the
fast recording fake used in use-case tests."""

from __future__ import annotations

import pytest

from diagpro.adapters.pdf import WeasyPrintRenderer
from diagpro.domain.report import ReportDocument
from tests.builders import CURRENCY, T0, make_analysis, make_intake
from tests.doubles import RecordingRenderer


@pytest.fixture(scope="module", params=["weasyprint", "recording"])
def renderer(request):
    return WeasyPrintRenderer() if request.param == "weasyprint" else RecordingRenderer()


def test_a_document_becomes_pdf_bytes(renderer):
    document = ReportDocument(
        "diag_1795694400000_" + "ab" * 12, make_intake(), make_analysis(), T0, CURRENCY
    )
    pdf = renderer.render(document)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
