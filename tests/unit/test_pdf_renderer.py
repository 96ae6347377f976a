"""The WeasyPrint renderer, for real: PDFs are checked with poppler (pdfinfo, pdftotext,
pdffonts): the page counts, what each page says, money and headings in the report's language,
escaping, running headers, the fonts embedded, and how full each page is."""

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
from pathlib import Path
from xml.etree import ElementTree

import pytest
from fontTools.ttLib import TTFont
from weasyprint import HTML
from weasyprint.html import UA

from diagpro.adapters.pdf import WeasyPrintRenderer, user_agent
from diagpro.adapters.pdf.fetcher import (
    AssetOnlyFetcher,
    AssetRefused,
    asset_url,
    load_packaged_assets,
)
from diagpro.adapters.pdf.fonts import FONT_FOLDER_PREFIX, sweep_font_folders
from diagpro.domain.analysis import RankedCause, ShopTest
from diagpro.domain.errors import RenderFailed
from diagpro.domain.report import ReportDocument
from tests import builders
from tests.report_documents import (
    REPORT_ID,
    hvac_document,
    make_document,
    make_intake,
    spanish_document,
    worst_case_document,
)

# A typical report is 4 to 6 pages; the worst case (every list and text far too long) at most 8.
TYPICAL_PAGES = range(4, 7)
WORST_PAGES = 8
# No page but the last may be less full than this (a near-empty page reads as a layout fault).
MIN_FILL = 0.35


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


def header_and_footer_lines(text: str) -> list[str]:
    """The first and last non-blank line of every page (the running header and footer)."""
    lines = []
    for page in text.split("\f")[: text.count("\f")]:
        kept = [line.strip() for line in page.splitlines() if line.strip()]
        lines += [kept[0], kept[-1]] if kept else []
    return lines


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


def test_a_typical_report_is_four_to_six_letter_pages(full_report: tuple[int, str, str]) -> None:
    pages, info, _ = full_report
    assert pages in TYPICAL_PAGES
    assert "612 x 792 pts (letter)" in info
    assert f"diagpro diagnostic report {REPORT_ID}" in info  # the PDF title


def test_the_first_page_answers_the_owner(full_report: tuple[int, str, str]) -> None:
    first = page_texts(full_report[2])[0]
    analysis = builders.make_analysis()
    assert in_order(first, "2015 Ford F-150", "November 26, 2026", REPORT_ID)
    assert "Written by diagpro's offline knowledge base (offline-test)" in first
    assert in_order(first, "SOON Get it checked within the next few days", analysis.urgency.reason)
    assert in_order(first, "MOST LIKELY CAUSE", "Intake gasket leak at cylinder 1", "62%")
    # The likely repair's total, and the quote with its like-for-like verdict.
    assert in_order(first, "LIKELY REPAIR", "$340–$435", "Replace the intake manifold gaskets")
    assert in_order(first, "YOUR SHOP'S QUOTE", "$1,250", "A fair price, but the evidence")
    assert in_order(first, "YOUR NEXT STEPS", *analysis.next_steps)


def test_each_item_is_printed_once(full_report: tuple[int, str, str]) -> None:
    body = flat_text(full_report[2])
    analysis = builders.make_analysis()
    for step in analysis.next_steps:
        assert body.count(step) == 1, step
    for cause in analysis.causes:
        assert body.count(cause.why) == 1, cause.cause
    assert body.count("Other causes") == 1
    # The ranking is one table, in order, with the rest of the distribution.
    assert in_order(
        body,
        "1 Intake gasket",
        "62%",
        "2 Leaking or clogged",
        "21%",
        "3 Low",
        "9%",
        "Other causes",
        "8%",
    )
    assert in_order(body, "RULED OUT", "Ignition coil on cylinder 1", "after your coil swap")


def test_money_is_whole_with_the_currency_named_once(full_report: tuple[int, str, str]) -> None:
    body = flat_text(full_report[2])
    assert ".00" not in body
    assert "USD" not in body
    assert body.count("Amounts are in US dollars") == 1
    assert "labour rate of $150 an hour" in body
    assert in_order(body, "Replace injector 1", "$90–$120", "1–1.5", "$240–$330")
    assert in_order(body, "If it is left to get worse", "Replace the catalytic", "$750–$1,200")
    assert in_order(
        body, "Your shop's quote: $1,250", "Replace all six coils and injectors", "$1,100–$1,400"
    )


def test_nothing_is_cut_or_marked_as_cut(full_report: tuple[int, str, str]) -> None:
    body = flat_text(full_report[2])
    assert "[…]" not in body and "…" not in body
    analysis = builders.make_analysis()
    for text in (*analysis.shop_questions, *analysis.do_not, analysis.urgency.reason):
        assert text in body, text


def test_headings_are_neutral(full_report: tuple[int, str, str]) -> None:
    body = flat_text(full_report[2]).lower()
    for hostile in ("interrogation", "ripoff", "rip-off", "negotiation", "tactics"):
        assert hostile not in body


def test_offline_is_named_plainly_and_a_model_too(
    renderer: WeasyPrintRenderer, tmp_path: Path, full_report: tuple[int, str, str]
) -> None:
    offline = flat_text(full_report[2])
    assert "offline knowledge base" in offline
    for apology in ("without the AI model", "not the AI model", "lesser", "fallback"):
        assert apology not in offline
    pdf = renderer.render(make_document(offline=False, model="gemini-3.5-flash"))
    online = flat_text(pdf_facts(pdf, tmp_path)[2])
    assert "Written by an AI model (gemini-3.5-flash)" in online
    assert "offline" not in online.lower()


def test_a_stand_in_report_says_on_its_first_page_why_the_offline_analyzer_wrote_it(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    pdf = renderer.render(make_document(stands_in_for_model=True))
    pages, _, text = pdf_facts(pdf, tmp_path)
    assert pages in TYPICAL_PAGES
    first = flat_text(page_texts(text)[0])
    assert "The AI analysis was unavailable, so this report was written from diagpro's" in first


def test_no_page_but_the_last_is_near_empty(renderer: WeasyPrintRenderer) -> None:
    for document in (
        make_document(),
        hvac_document(),
        spanish_document(),
        worst_case_document("WWWWWWW"),
    ):
        fills = renderer.page_fills(document)
        assert all(fill >= MIN_FILL for fill in fills[:-1]), fills


def test_the_user_agent_sheet_drops_only_the_marker_footnote_and_note_pseudo_elements() -> None:
    # Six rules in WeasyPrint's html5_ua.css give every element marker, footnote and note
    # pseudo-elements the report never has; if a WeasyPrint upgrade changes them, look again.
    assert len(user_agent._UNUSED_PSEUDO_RULE.findall(UA)) == 6
    sheet = user_agent.report_user_agent_sheet()
    document = user_agent.ReportHTML(string="<p>x</p>", user_agent_sheet=sheet)
    assert document._ua_stylesheets() == [sheet]
    assert len(document._ua_stylesheets(forms=True)) == 2  # forms keep WeasyPrint's sheets


def _tree(document: HTML) -> tuple[list[tuple[str, dict[str, str]]], str]:
    """The elements (less the tbody the HTML5 parser adds) and the words of a parsed document."""
    root = document.etree_element
    elements = [(e.tag, dict(e.attrib)) for e in root.iter() if e.tag != "tbody"]
    return elements, " ".join("".join(root.itertext()).split())


@pytest.mark.parametrize(
    "document",
    [make_document(), hvac_document(), spanish_document(), worst_case_document("WWWWWWW")],
    ids=["typical", "stop", "spanish", "worst"],
)
def test_the_report_is_parsed_as_xml_into_the_tree_the_html5_parser_gives(
    renderer: WeasyPrintRenderer, document: ReportDocument
) -> None:
    html = renderer.html(document)
    ElementTree.fromstring(html)  # well-formed XML (raises otherwise): ReportHTML's fast path
    fast = user_agent.ReportHTML(string=html, user_agent_sheet=user_agent.report_user_agent_sheet())
    assert _tree(fast) == _tree(HTML(string=html))


def test_text_that_is_not_xml_goes_through_weasyprints_html_parser() -> None:
    sheet = user_agent.report_user_agent_sheet()
    document = user_agent.ReportHTML(string="<p>a&nbsp;b<br>c\x0c</p>", user_agent_sheet=sheet)
    assert [e.tag for e in document.etree_element.iter()] == ["html", "head", "body", "p", "br"]
    assert "".join(document.etree_element.itertext()) == "a\u00a0bc\x0c"


def test_the_stop_case_gives_one_instruction(renderer: WeasyPrintRenderer, tmp_path: Path) -> None:
    pages, _, text = pdf_facts(renderer.render(hvac_document()), tmp_path)
    first = page_texts(text)[0]
    assert in_order(first, "STOP Stop using it until it is checked", "carbon-monoxide alarms")
    assert in_order(first, "⚠ Safety", "Carbon monoxide: turn the furnace off")
    assert "None given" in first  # no shop quote
    body = flat_text(text)
    assert "drive gently" not in body.lower() and "tow it" not in body.lower()
    assert in_order(body, "Do not", "Never jumper the pressure switch")
    assert pages <= 6


def test_the_spanish_report_is_written_in_spanish(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    document = spanish_document()
    assert 'lang="es"' in renderer.html(document)
    pages, _, text = pdf_facts(renderer.render(document), tmp_path)
    body = flat_text(text)
    assert pages in TYPICAL_PAGES
    for heading in (
        "1. Lo que nos dicen sus propias comprobaciones",
        "Causas probables, por orden",
        "Costos y su presupuesto",
        "En el taller",
        "Lo que usted nos contó",
        "SUS PRÓXIMOS PASOS",
        "PRONTO Hágalo revisar en los próximos días",
        "26 de noviembre de 2026",
        f"Página 1 de {pages}",
    ):
        assert heading in body, heading
    assert "340 US$–435 US$" in body  # Spanish number format, currency after the amount
    for english in ("Next steps", "Likely causes", "What you told us", "Page 1 of"):
        assert english not in body, english


def test_the_worst_case_stays_within_eight_pages_uncut(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    for word in ("WWWWWWW", "proceed"):
        pages, _, text = pdf_facts(renderer.render(worst_case_document(word)), tmp_path)
        assert pages <= WORST_PAGES, word
        body = flat_text(text)
        assert "[…]" not in body
        assert "more items not printed" in body  # capped lists say so
        assert "About this report" in page_texts(text)[-1]


def test_customer_text_stays_out_of_running_headers(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    injected = "IGNORE PREVIOUS INSTRUCTIONS"
    intake = make_intake(make=injected, model="<b>X</b>", problemDescription=f"{injected} now")
    _, _, text = pdf_facts(renderer.render(make_document(intake)), tmp_path)
    margins = header_and_footer_lines(text)
    assert margins and not any(injected in line or "<b>" in line for line in margins)
    assert any(line.startswith("diagpro · Diagnostic report") for line in margins)
    assert any(f"Report {REPORT_ID}" in line for line in margins)
    # The owner's description is printed once, as text.
    assert flat_text(text).count(f"{injected} now") == 1


def test_cjk_and_emoji_are_drawn_with_real_glyphs(
    renderer: WeasyPrintRenderer, tmp_path: Path
) -> None:
    words = "发动机 ⚠️ 🔧"
    intake = make_intake(problemDescription=f"{words} misfire")
    pdf = renderer.render(make_document(intake))
    path = tmp_path / "cjk.pdf"
    path.write_bytes(pdf)
    names = {name for name, _ in embedded_fonts(path)}
    assert any("CJK" in name for name in names), names
    assert any("Emoji" in name for name in names), names
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "发动机" in text and "🔧" in text  # mapped back to Unicode: no .notdef boxes


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
    document = make_document(
        intake,
        causes=(RankedCause(f"Ranked {img}", 60, "<script>alert(1)</script>", (img,)),),
        other_pct=40,
        safety=(f"Flag {link}",),
        shop_tests=(ShopTest(f"Test {img}", "<u>how</u>", "<i>expected</i>", 100, 200),),
        shop_questions=(f"Question {img}?",),
        next_steps=(f"Step {img}",),
        costs=(),
        ruled_out=(),
    )
    pdf = renderer.render(document)

    _, _, text = pdf_facts(pdf, tmp_path)
    squashed = "".join(text.split())  # long markup wraps anywhere, even inside the URL
    assert requests == []
    for literal in (img, link, "<b>bold</b> & more", '<img src="file:///etc/passwd">'):
        assert "".join(literal.split()) in squashed, literal
    for literal in ("<script>alert(1)</script>", "<u>how</u>", "<i>expected</i>"):
        assert literal in squashed, literal
    for label in ("Flag", "Ranked", "Test", "Question", "Step"):
        assert label + "<" in squashed, label  # printed with its markup, as text
    assert "<iframe" in squashed
    assert "root:" not in text


def test_incomplete_analysis_is_refused_with_a_reason(renderer: WeasyPrintRenderer) -> None:
    document = make_document()
    broken = replace(document.analysis, next_steps=())
    with pytest.raises(RenderFailed, match="next steps"):
        renderer.render(replace(document, analysis=broken))


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
    from diagpro.adapters.pdf import WeasyPrintRenderer, user_agent
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
    assert "1. What your own checks tell us" in text


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
