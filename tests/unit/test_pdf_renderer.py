"""The WeasyPrint renderer, for real: PDFs are checked with poppler (pdfinfo, pdftotext)."""

from __future__ import annotations

import http.server
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from weasyprint import HTML

from diagpro.adapters.pdf import WeasyPrintRenderer
from diagpro.adapters.pdf.fetcher import AssetOnlyFetcher, AssetRefused, asset_url
from diagpro.adapters.pdf.renderer import DETAIL_LABELS
from diagpro.domain.analysis import SECTIONS, Analysis, Section
from diagpro.domain.codes import extract_codes
from diagpro.domain.equipment import ALL_DETAIL_FIELDS
from diagpro.domain.errors import RenderFailed
from diagpro.domain.intake import Intake, validate_intake
from diagpro.domain.report import ReportDocument

REPORT_ID = "diag_1764115200000_0123456789abcdef01234567"
SYMPTOM = "Rough idle when cold, shakes at stoplights"


def make_intake(**overrides: object) -> Intake:
    payload: dict[str, object] = {
        "equipmentType": "automotive",
        "email": "pat@example.com",
        "fullName": "Pat Rivera",
        "make": "Ford",
        "model": "F-150",
        "year": "2015",
        "mileageHours": "112,400",
        "serialNumber": "1FTEW1EG5FFA00000",
        "errorCodes": "P0301, P0171",
        "symptoms": [SYMPTOM, "Check engine light flashing under load"],
        "whenStarted": "week",
        "frequency": "often",
        "urgencyLevel": "high",
        "usagePattern": "daily",
        "problemDescription": "Misfire on cylinder 1 since last week.\n\nWorse when cold.",
        "previousRepairs": "Spark plugs replaced at 100k miles.",
        "troubleshootingSteps": "Swapped coil 1 and 2; code stayed on cylinder 1.",
        "shopQuoteAmount": "1250.00",
        "shopRecommendation": "Replace all six injectors and the intake gasket.",
        "fuelType": "gasoline",
        "checkEngineLightOn": True,
    }
    payload.update(overrides)
    return validate_intake(payload)


def make_analysis(intake: Intake, **overrides: Any) -> Analysis:
    sections = tuple(
        Section(
            key=key,
            title=title,
            summary=f"{title.title()} for the misfire on cylinder 1: the evidence so far points "
            "to an injector or a vacuum leak near the intake, not to the ignition system.",
            points=(
                "Check fuel trims at idle and at 2500 rpm.",
                "Smoke-test the intake for vacuum leaks.",
                "Measure injector 1 resistance against the others.",
            ),
        )
        for key, title in SECTIONS
    )
    analysis = Analysis(
        most_likely_cause="Leaking intake gasket at cylinder 1 (lean misfire)",
        confidence_pct=72,
        sections=sections,
        detected_codes=extract_codes(intake),
        data_needed=("Freeze-frame data for P0301", "Long-term fuel trim at idle"),
        model="gemini-2.5-pro",
    )
    return replace(analysis, **overrides)


def make_document(intake: Intake | None = None, **analysis_overrides: Any) -> ReportDocument:
    intake = intake or make_intake()
    return ReportDocument(
        submission_id=REPORT_ID,
        intake=intake,
        analysis=make_analysis(intake, **analysis_overrides),
        generated_at=datetime(2026, 11, 26, 14, 3, tzinfo=UTC),
    )


def pdf_facts(pdf: bytes, tmp: Path) -> tuple[int, str, str]:
    """(pages, pdfinfo output, pdftotext output) for a rendered PDF."""
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = int(next(ln for ln in info.stdout.splitlines() if ln.startswith("Pages:")).split()[1])
    return pages, info.stdout, text


@pytest.fixture(scope="module")
def renderer() -> WeasyPrintRenderer:
    return WeasyPrintRenderer()


@pytest.fixture(scope="module")
def full_report(
    renderer: WeasyPrintRenderer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, str, str]:
    pdf = renderer.render(make_document())
    assert pdf.startswith(b"%PDF-")
    return pdf_facts(pdf, tmp_path_factory.mktemp("full"))


def test_full_report_is_letter_sized_with_a_sane_page_count(
    full_report: tuple[int, str, str],
) -> None:
    pages, info, _ = full_report
    assert 3 <= pages <= 25
    assert "612 x 792 pts (letter)" in info
    assert f"diagpro Diagnostic Report {REPORT_ID}" in info  # the PDF title


def test_full_report_prints_every_section_heading_in_order(
    full_report: tuple[int, str, str],
) -> None:
    _, _, text = full_report
    positions = [text.find(f"{n}. {title}") for n, (_, title) in enumerate(SECTIONS, start=1)]
    assert -1 not in positions, [SECTIONS[i] for i, p in enumerate(positions) if p == -1]
    assert positions == sorted(positions)


def test_full_report_prints_the_submission(full_report: tuple[int, str, str]) -> None:
    pages, _, text = full_report
    flat = " ".join(text.split())
    for expected in (
        "diagpro Diagnostic Report",
        "diagpro — Diagnostic Report",  # the running header
        REPORT_ID,
        "November 26, 2026",
        "2015 Ford F-150",
        "Cars & SUVs",
        "P0301",
        "P0171",
        SYMPTOM,
        "VIN 1FTEW1EG5FFA00000",
        "Mileage 112,400",
        "Check engine light on Yes",
        "Fuel type gasoline",
        "$1,250.00 USD",
        "Within the last week",
        "Urgency High",
        "Leaking intake gasket at cylinder 1",
        "72%",
        "Freeze-frame data for P0301",  # data needed: confidence is below 80
        "for informational purposes only",
        "does not replace diagnosis by a qualified technician",
        "Page 1 of",
        f"Page {pages} of {pages}",
    ):
        assert expected in flat, expected
    assert f"Report {REPORT_ID}" in flat  # footer
    assert "Offline analysis" not in flat


def test_offline_analysis_is_labelled_and_data_needed_is_omitted_when_confident(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    pdf = renderer.render(make_document(offline=True, confidence_pct=85, data_needed=()))
    _, _, text = pdf_facts(pdf, tmp_path)
    flat = " ".join(text.split())
    assert "Offline analysis — produced without the AI model" in flat
    assert "85%" in flat
    assert "would raise it" not in flat


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - one server per test, reset by the fixture

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[tuple[int, list[str]]]:
    _RecordingHandler.requests = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.server_address[1], _RecordingHandler.requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_hostile_markup_is_printed_as_text_and_fetches_nothing(
    renderer: WeasyPrintRenderer, recording_server: tuple[int, list[str]], tmp_path: Path
) -> None:
    port, requests = recording_server
    img = f'<img src="http://127.0.0.1:{port}/x.png">'
    link = f'<link rel=stylesheet href="http://127.0.0.1:{port}/a.css">'
    intake = make_intake(
        problemDescription=f"Engine stalls {img} then {link} and <b>bold</b> & more",
        symptoms=[f"{img}", '<img src="file:///etc/passwd">'],
        modifications='<iframe src="file:///etc/passwd"></iframe>',
    )
    hostile_section = Section(
        key="primary_diagnosis",
        title="PRIMARY DIAGNOSIS",
        summary=f"Model text with {img}",
        points=(f"<style>@import url(http://127.0.0.1:{port}/b.css);</style>",),
    )
    analysis = make_analysis(intake)
    analysis = replace(analysis, sections=(hostile_section, *analysis.sections[1:]))
    document = replace(make_document(intake), analysis=analysis)

    pdf = renderer.render(document)

    _, _, text = pdf_facts(pdf, tmp_path)
    squashed = "".join(text.split())  # long markup wraps anywhere, even inside the URL
    assert requests == []
    for literal in (img, link, "<b>bold</b> & more", '<img src="file:///etc/passwd">'):
        assert "".join(literal.split()) in squashed, literal
    assert "<iframe" in squashed
    assert "@import" in squashed
    assert "root:" not in text


def test_fetcher_alone_stops_raw_html_from_fetching(
    recording_server: tuple[int, list[str]], tmp_path: Path
) -> None:
    # The second wall: even markup that escaped the template would fetch nothing.
    port, requests = recording_server
    raw = (
        f'<link rel=stylesheet href="http://127.0.0.1:{port}/a.css">'
        f"<style>@import url(http://127.0.0.1:{port}/b.css);</style>"
        f'<img src="http://127.0.0.1:{port}/x.png"><img src="file:///etc/passwd">'
        f'<p style="background: url(http://127.0.0.1:{port}/bg.png)">text</p>'
    )
    pdf = HTML(string=raw, url_fetcher=AssetOnlyFetcher()).write_pdf()
    _, _, text = pdf_facts(pdf, tmp_path)
    assert requests == []
    assert "root:" not in text


def test_fetcher_serves_packaged_assets_only() -> None:
    fetcher = AssetOnlyFetcher()
    assert {"report.css", "logo.svg"} <= fetcher.asset_names
    response = fetcher.fetch(asset_url("logo.svg"))
    assert response.content_type == "image/svg+xml"
    assert response.read().startswith(b"<svg")
    css = Path(__file__).parents[2] / "src/diagpro/adapters/pdf/assets/report.css"
    for url in (
        "http://127.0.0.1:9/x.png",
        "https://example.com/a.css",
        "ftp://example.com/a",
        "file:///etc/passwd",
        css.as_uri(),  # even our own asset, addressed as a file
        "data:text/css,body{color:red}",
        "data:image/png;base64,iVBORw0KGgo=",
        asset_url("../renderer.py"),
        asset_url("missing.png"),
        "diagpro-asset-evil:logo.svg",
        "logo.svg",
    ):
        with pytest.raises(AssetRefused):
            fetcher.fetch(url)
        with pytest.raises(AssetRefused):
            fetcher(url)  # WeasyPrint calls the fetcher itself


def test_longest_possible_intake_stays_bounded(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    unbroken = "X" * 5000  # one "word" as wide as 50 lines
    many_lines = "\n".join(["y"] * 2500)  # 4,999 characters, 2,500 lines
    intake = make_intake(
        problemDescription=many_lines,
        previousRepairs=unbroken,
        modifications="word " * 999,
        troubleshootingSteps="P0301 " * 833,
        shopRecommendation="a" * 5000,
        errorCodes="P0171 " * 833,
        symptoms=[f"{i:02d} " + "s" * 197 for i in range(30)],
        make="M" * 200,
        model="m" * 200,
    )
    huge = Section("primary_diagnosis", "PRIMARY DIAGNOSIS", "z" * 100_000, ("p" * 10_000,) * 200)
    analysis = make_analysis(intake)
    analysis = replace(analysis, sections=(huge, *analysis.sections[1:]))
    pdf = renderer.render(replace(make_document(intake), analysis=analysis))
    pages, _, text = pdf_facts(pdf, tmp_path)
    assert pages <= 40
    assert "further point(s) omitted" in " ".join(text.split())


def test_every_detail_field_has_a_readable_label() -> None:
    assert set(DETAIL_LABELS) == ALL_DETAIL_FIELDS


def test_incomplete_analysis_is_refused_with_a_reason(renderer: WeasyPrintRenderer) -> None:
    document = make_document()
    broken = replace(document.analysis, sections=document.analysis.sections[:14])
    with pytest.raises(RenderFailed, match="next_steps_summary"):
        renderer.render(replace(document, analysis=broken))
