"""The WeasyPrint renderer, for real: PDFs are checked with poppler (pdfinfo, pdftotext,
pdffonts): the text, the page each part lands on, the structure (tables, checklist, callouts)
and the fonts embedded."""

from __future__ import annotations

import gc
import http.server
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from weasyprint import HTML

from diagpro.adapters.pdf import WeasyPrintRenderer
from diagpro.adapters.pdf.fetcher import (
    AssetOnlyFetcher,
    AssetRefused,
    asset_url,
    load_packaged_assets,
)
from diagpro.adapters.pdf.fonts import FONT_FOLDER_PREFIX, sweep_font_folders
from diagpro.adapters.pdf.view_model import URGENCY_VIEWS
from diagpro.domain.analysis import (
    SECTIONS,
    CostEstimate,
    RankedCause,
    Section,
    ShopTest,
    Urgency,
)
from diagpro.domain.errors import RenderFailed
from diagpro.domain.report import ReportDocument
from tests import builders
from tests.report_documents import (
    REPORT_ID,
    SYMPTOM,
    make_analysis,
    make_document,
    make_intake,
    worst_case_document,
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


def flat_text(text: str) -> str:
    return " ".join(text.split())


def page_texts(text: str) -> list[str]:
    """pdftotext's output split at its form feeds: one flattened string per page."""
    return [flat_text(page) for page in text.split("\f")][: text.count("\f")]


def section_text(text: str, number: int) -> str:
    """Flattened text from heading ``number`` to the next heading (or the disclaimer)."""
    body = flat_text(text)
    start = body.index(f"{number}. {SECTIONS[number - 1][1]}")
    end = (
        body.index(f"{number + 1}. {SECTIONS[number][1]}", start)
        if number < len(SECTIONS)
        else body.index("Disclaimer", start)
    )
    return body[start:end]


def in_order(text: str, *parts: str) -> bool:
    """Every part occurs in ``text``, each after the previous one."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        if found == -1:
            return False
        position = found + len(part)
    return True


def embedded_fonts(pdf: Path) -> list[tuple[str, str]]:
    """(font name without the subset tag, emb column) for each font ``pdffonts`` lists."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines()[2:] if line.strip()]
    return [(row[0].split("+", 1)[-1], row[-5]) for row in rows]


@pytest.fixture(scope="module")
def renderer() -> WeasyPrintRenderer:
    return WeasyPrintRenderer()


@pytest.fixture(scope="module")
def full_pdf(renderer: WeasyPrintRenderer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pdf = renderer.render(make_document())
    assert pdf.startswith(b"%PDF-")
    path = tmp_path_factory.mktemp("full") / "report.pdf"
    path.write_bytes(pdf)
    return path


@pytest.fixture(scope="module")
def full_report(full_pdf: Path) -> tuple[int, str, str]:
    return pdf_facts(full_pdf.read_bytes(), full_pdf.parent)


def test_full_report_is_letter_sized_with_a_sane_page_count(
    full_report: tuple[int, str, str],
) -> None:
    pages, info, _ = full_report
    assert (
        5 <= pages <= 10
    )  # a typical report: cover, at a glance, summary, 15 sections, disclaimer
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
    # The cover and the last page say which analyzer wrote it, model id included.
    assert "Analysis by AI model (gemini-3.5-flash)" in flat
    assert "This analysis was written by an AI model" in flat
    assert "offline" not in flat.lower()


def test_offline_analysis_is_labelled_and_data_needed_is_omitted_when_confident(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    pdf = renderer.render(make_document(offline=True, confidence_pct=85, data_needed=()))
    _, _, text = pdf_facts(pdf, tmp_path)
    flat = " ".join(text.split())
    assert "Analysis by diagpro's offline knowledge base" in flat
    assert "with no AI model involved" in flat
    # Neutral words: nothing suggests the customer was owed something else.
    assert "without the AI model" not in flat and "not the AI model" not in flat
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
    analysis = make_analysis(
        intake,
        most_likely_cause=f"Cause {img}",
        safety_flags=(f"Flag {link}",),
        ranked_causes=(RankedCause(f"Ranked {img}", 60, "<script>alert(1)</script>", (img,)),),
        shop_tests=(ShopTest(f"Test {img}", "<u>how</u>", "<i>expected</i>", 100, 200),),
        costs=(CostEstimate(f"Repair {img}", 1, 2, 1.0, 2.0, 3, 4, f"note {link}"),),
        shop_questions=(f"Question {img}?",),
        next_steps=(f"Step {img}",),
    )
    analysis = replace(analysis, sections=(hostile_section, *analysis.sections[1:]))
    document = replace(make_document(intake), analysis=analysis)

    pdf = renderer.render(document)

    _, _, text = pdf_facts(pdf, tmp_path)
    squashed = "".join(text.split())  # long markup wraps anywhere, even inside the URL
    assert requests == []
    for literal in (img, link, "<b>bold</b> & more", '<img src="file:///etc/passwd">'):
        assert "".join(literal.split()) in squashed, literal
    for literal in ("<script>alert(1)</script>", "<u>how</u>", "<i>expected</i>"):
        assert literal in squashed, literal
    for label in ("Cause", "Flag", "Ranked", "Test", "Repair", "Question", "Step"):
        assert label + "<" in squashed, label  # printed with its markup, as text
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
    fonts = {f"fonts/DejaVuSans{style}.ttf" for style in ("", "-Bold", "-Oblique", "Mono")}
    assert {"report.css", "logo.svg", *fonts} <= fetcher.asset_names
    assert "fonts/LICENSE-DejaVu.txt" not in fetcher.asset_names  # shipped, never served
    response = fetcher.fetch(asset_url("logo.svg"))
    assert response.content_type == "image/svg+xml"
    assert response.read().startswith(b"<svg")
    font = fetcher.fetch(asset_url("fonts/DejaVuSans.ttf"))
    assert font.content_type == "font/ttf"
    assert font.read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font
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
        asset_url("fonts/../report.css"),
        asset_url("fonts/LICENSE-DejaVu.txt"),
        asset_url("missing.png"),
        "diagpro-asset-evil:logo.svg",
        "logo.svg",
    ):
        with pytest.raises(AssetRefused):
            fetcher.fetch(url)
        with pytest.raises(AssetRefused):
            fetcher(url)  # WeasyPrint calls the fetcher itself


@pytest.mark.parametrize("word", ["WWWWWWW", "proceed"])
def test_worst_case_report_stays_bounded_and_keeps_its_layout(
    renderer: WeasyPrintRenderer, tmp_path: Path, word: str
) -> None:
    # The original ran to 36 pages; every text is clipped by its printed width and every list
    # and table is capped, so even wide glyphs in every field stay within 25 pages.
    pdf = renderer.render(worst_case_document(word))
    pages, _, text = pdf_facts(pdf, tmp_path)
    assert pages <= 25
    by_page = page_texts(text)
    assert "At a glance" in by_page[1]  # the cover is one page
    assert "YOUR NEXT THREE STEPS" in by_page[1]  # the glance is one page: its last part...
    assert "Submission summary" in by_page[2]  # ...is on page 2, and page 3 is the summary
    assert "Disclaimer" in by_page[-1]
    assert f"Page {pages} of {pages}" in by_page[-1]
    body = flat_text(text)
    assert "further point(s) omitted" in body
    assert "more safety note(s) in section 13" in by_page[1]
    assert "further cause(s) omitted" in body
    assert "further question(s) omitted" in body
    headings = [body.find(f"{n}. {title}") for n, (_, title) in enumerate(SECTIONS, start=1)]
    assert -1 not in headings
    assert headings == sorted(headings)


def test_incomplete_analysis_is_refused_with_a_reason(renderer: WeasyPrintRenderer) -> None:
    document = make_document()
    broken = replace(document.analysis, sections=document.analysis.sections[:14])
    with pytest.raises(RenderFailed, match="next_steps_summary"):
        renderer.render(replace(document, analysis=broken))


# ---- Structure: the at-a-glance page, tables, checklist, callouts, fonts ----


@pytest.fixture(scope="module")
def full_pages(full_report: tuple[int, str, str]) -> list[str]:
    return page_texts(full_report[2])


def test_at_a_glance_is_page_two_with_the_answer(full_pages: list[str]) -> None:
    glance = full_pages[1]
    assert glance.startswith("diagpro — Diagnostic Report 2015 Ford F-150 At a glance")
    soon = URGENCY_VIEWS[Urgency.SOON]
    assert f"{soon.badge} {soon.words}" in glance  # "SOON Get it checked within ..."
    # Labels are upper-cased by the stylesheet, and pdftotext prints them so.
    assert in_order(glance, "MOST LIKELY CAUSE", "Leaking intake gasket at cylinder 1 (lean")
    assert in_order(glance, "72%", "Moderate confidence")
    # The fair cost range (the first estimate's total, through format_money) and its repair:
    assert in_order(glance, "FAIR COST RANGE", "$205.00 USD", "to $690.00 USD", "Replace the")
    assert in_order(glance, "YOUR SHOP'S QUOTE", "$1,250.00 USD")
    assert "Freeze-frame data for P0301" in glance  # below 80%: the data that would raise it
    assert in_order(
        glance,
        "YOUR NEXT THREE STEPS",
        "1 Drive gently and as little as possible while the light flashes.",
        "2 Ask for a smoke test and fuel trims before approving any parts.",
        "3 Compare the quote with the fair range for the intake gaskets.",
    )
    assert in_order(glance, "OTHER POSSIBILITIES", "2. Leaking or clogged", "21%", "3. Worn", "9%")
    assert "⚠ Safety" in glance
    assert "Submission summary" in full_pages[2]  # the glance is one page


def test_stop_urgency_and_safety_flags_lead_the_report(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    document = ReportDocument(
        REPORT_ID,
        builders.make_hvac_intake(),
        builders.make_hvac_analysis(),
        datetime(2026, 11, 26, 14, 3, tzinfo=UTC),
        builders.CURRENCY,
    )
    _, _, text = pdf_facts(renderer.render(document), tmp_path)
    glance = page_texts(text)[1]
    assert "At a glance" in glance
    assert "STOP Stop using it until it is checked" in glance
    assert in_order(glance, "⚠ Safety", "Carbon monoxide: turn the furnace off", "Do not run")
    assert "None given" in glance  # no shop quote
    assert in_order(glance, "$110.00 USD", "to $630.00 USD")
    assert "1 Turn the furnace off now and keep the CO alarm on." in glance
    recommendations = section_text(text, 13)
    assert in_order(recommendations, "⚠ Safety", "Carbon monoxide", "If you smell gas")


def test_ranked_causes_are_a_table_in_order_with_their_likelihoods(
    full_report: tuple[int, str, str],
) -> None:
    ranked = section_text(full_report[2], 12)
    assert in_order(ranked, "# Cause Likelihood Why")
    assert in_order(
        ranked,
        "1 Intake gasket",
        "62%",
        "2 Leaking or clogged",
        "21%",
        "3 Worn spark plug",
        "9%",
        "Other or less common causes",
        "8%",  # 100 - 62 - 21 - 9
    )
    assert "Smoke-test the intake" not in ranked  # the table replaces the narrative points
    differential = section_text(full_report[2], 2)
    assert in_order(differential, "Alternative cause Evidence for it Why it ranks lower")
    assert in_order(
        differential, "Leaking or clogged", "21% likely", "Worn spark plug", "9% likely"
    )
    assert "62% likely" not in differential  # the primary is not its own alternative


def test_shop_tests_and_costs_are_tables(full_report: tuple[int, str, str]) -> None:
    tests = section_text(full_report[2], 3)
    assert "Test How Expected reading Cost" in tests
    assert in_order(tests, "Smoke test of the", "$80.00 USD", "to $150.00 USD")
    assert in_order(tests, "Fuel trims at idle", "up to $50.00 USD")
    assert in_order(tests, "Injector balance", "$50.00 USD", "to $120.00 USD")
    costs = section_text(full_report[2], 6)
    assert "Repair Parts Labour Total" in costs
    # One row per estimate: repair (the first tagged), parts, labour hours, total.
    assert in_order(
        costs,
        "Replace the intake manifold gaskets $40.00 USD 1.5–3 h $205.00 USD MOST LIKELY",
        "to $120.00 USD to $690.00 USD Independent shop to dealer rates.",
        "Replace injector 1 $90.00 USD 1–2.5 h $200.00 USD to $250.00 USD to $725.00 USD",
        "Replace the spark plug on cylinder 1 $15.00 USD 0.3–0.8 h $50.00 USD",
    )
    assert "Your shop's quote: $1,250.00 USD" in costs.replace("’", "'")


def test_shop_questions_are_a_checklist(full_report: tuple[int, str, str]) -> None:
    questions = section_text(full_report[2], 4)
    asked = builders.make_analysis().shop_questions
    assert in_order(questions, *(f"☐ {q}" for q in asked))
    assert questions.count("☐") == len(asked)
    assert questions.count("Answer:") == len(asked)  # room to write the shop's answer


def test_next_steps_close_the_analysis(full_report: tuple[int, str, str]) -> None:
    steps = section_text(full_report[2], 15)
    assert in_order(
        steps, *(f"{n} {s}" for n, s in enumerate(builders.make_analysis().next_steps, 1))
    )


def test_a_narrative_only_analysis_still_prints_all_15_sections(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    document = make_document(**builders.NARRATIVE_ONLY)
    pages, _, text = pdf_facts(renderer.render(document), tmp_path)
    body = flat_text(text)
    headings = [body.find(f"{n}. {title}") for n, (_, title) in enumerate(SECTIONS, start=1)]
    assert -1 not in headings
    assert headings == sorted(headings)
    for number in range(1, 16):
        section = section_text(text, number)
        assert "Smoke-test the intake for vacuum leaks." in section, number  # the points
    assert "☐" not in body
    assert "Likelihood" not in body
    glance = page_texts(text)[1]
    assert "At a glance" in glance
    assert "No estimate" in glance
    assert in_order(  # the next steps come from section 15's narrative
        glance,
        "1 Check fuel trims at idle and at 2500 rpm.",
        "2 Smoke-test the intake",
        "3 Measure injector 1",
    )
    assert 5 <= pages <= 10


def test_the_fonts_embedded_are_the_packaged_dejavu(full_pdf: Path) -> None:
    fonts = embedded_fonts(full_pdf)
    names = {name for name, _ in fonts}
    assert {"diagpro-sans", "diagpro-sans-Bold", "diagpro-mono-Bold"} <= names
    assert names <= {
        "diagpro-sans",
        "diagpro-sans-Bold",
        "diagpro-sans-Italic",
        "diagpro-mono",
        "diagpro-mono-Bold",
    }
    assert all(emb == "yes" for _, emb in fonts)


_DECOY_RENDER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from diagpro.adapters.pdf import WeasyPrintRenderer
    from diagpro.domain.report import ReportDocument
    from tests import builders

    document = ReportDocument(
        sys.argv[2],
        builders.make_intake(),
        builders.make_analysis(),
        builders.T0,
        builders.CURRENCY,
    )
    with open(sys.argv[1], "wb") as out:
        out.write(WeasyPrintRenderer().render(document))
    """
)


@pytest.mark.process
def test_rendering_does_not_use_the_hosts_fonts(tmp_path: Path) -> None:
    # A fontconfig that knows one font only, a renamed copy of DejaVu Sans Mono ("Decoy Mono"):
    # any text not set in the packaged fonts would come out in it.
    decoy_dir = tmp_path / "fonts"
    decoy_dir.mkdir()
    decoy = TTFont(
        Path(__file__).parents[2] / "src/diagpro/adapters/pdf/assets/fonts/DejaVuSansMono.ttf"
    )
    for record in decoy["name"].names:
        if record.nameID in (1, 3, 4, 16):
            record.string = "Decoy Mono"
        elif record.nameID == 6:
            record.string = "DecoyMono"
    decoy.save(decoy_dir / "Decoy.ttf")
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        f"<fontconfig><dir>{decoy_dir}</dir><cachedir>{tmp_path / 'cache'}</cachedir>"
        "</fontconfig>\n"
    )
    pdf = tmp_path / "report.pdf"
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "PYTHONWARNINGS": "ignore"}
    subprocess.run(
        [sys.executable, "-c", _DECOY_RENDER, str(pdf), REPORT_ID],
        cwd=Path(__file__).parents[2],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    names = {name for name, _ in embedded_fonts(pdf)}
    assert "diagpro-sans" in names
    assert not any("Decoy" in name for name in names), names
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "1. PRIMARY DIAGNOSIS" in text


def test_a_renderer_without_its_fonts_refuses_to_start() -> None:
    assets = {k: v for k, v in load_packaged_assets().items() if not k.startswith("fonts/")}
    with pytest.raises(RenderFailed, match="packaged fonts"):
        WeasyPrintRenderer(AssetOnlyFetcher(assets))


def test_font_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    dead = tmp_path / f"{FONT_FOLDER_PREFIX}999999999-abc"  # above any pid_max
    alive = tmp_path / f"{FONT_FOLDER_PREFIX}{os.getpid()}-abc"
    other = tmp_path / "weasyprint-abc"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "font").write_bytes(b"x")
    sweep_font_folders(tmp_path)
    assert not dead.exists()
    assert alive.exists()
    assert other.exists()


def test_the_renderer_cleans_its_font_folder(tmp_path: Path) -> None:
    renderer = WeasyPrintRenderer()
    folder = renderer._font_config._folder
    assert folder.name.startswith(f"{FONT_FOLDER_PREFIX}{os.getpid()}-")
    assert len(list(folder.iterdir())) == 5
    del renderer
    gc.collect()
    assert not folder.exists()
