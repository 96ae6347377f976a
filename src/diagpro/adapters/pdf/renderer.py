"""ReportRenderer with WeasyPrint: a ReportDocument becomes a US Letter PDF.

The view model (``view_model.py``) turns the document into plain text and tuples; Jinja2 escapes
every value (``autoescape=True``, no ``|safe`` anywhere), and the only URLs WeasyPrint may load
are our packaged assets, fonts included (see ``fetcher.py``).

Everything is built in the constructor and nothing at import time, so a child process (see
isolation.py) builds its own renderer.
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from collections.abc import Iterator
from typing import Any

import jinja2
from weasyprint import CSS
from weasyprint.formatting_structure.boxes import MarginBox

from diagpro.adapters.pdf.fetcher import ASSET_PREFIX, AssetOnlyFetcher, asset_url
from diagpro.adapters.pdf.fonts import font_configuration
from diagpro.adapters.pdf.user_agent import ReportHTML, report_user_agent_sheet
from diagpro.adapters.pdf.view_model import build_context
from diagpro.domain.errors import AnalysisInvalid, RenderFailed
from diagpro.domain.report import ReportDocument

TEMPLATE_NAME = "report.html"
STYLESHEET = "report.css"
LOGO = "logo.svg"
# The template's indentation: white space holding a line break between two tags. Autoescaping
# turns every "<" and ">" in a value into an entity, so in the output these are only tags; the
# template never relies on such white space between inline elements. WeasyPrint drops it
# between block boxes anyway, but only after parsing it into text nodes and building (then
# discarding) anonymous boxes for it: about 3% of a render.
_INDENTATION = re.compile(r">[ \t]*\n\s*<")
# A last page this empty holds only the closing note: the report is laid out once more with
# slightly tighter lines (COMPACT_CSS) and that layout is kept when it saves the page. A few
# reports pay a second layout; none ends on a near-empty page (the issue a technician raised).
LAST_PAGE_MIN_FILL = 0.3
COMPACT_CSS = "html { line-height: 1.25; } .section { margin-bottom: 2pt; }"
MAX_PAGE_SHEETS = 16  # one per report language; a bound, should a language ever vary per call


class WeasyPrintRenderer:
    """ReportRenderer: one per process, built where it is used (nothing is created at import
    time, so a child process builds its own). The Jinja environment, fetcher, font configuration
    (the packaged fonts, loaded once through the fetcher) and stylesheet are built in the
    constructor and reused by every render. Renders are serialised (WeasyPrint's shared
    stylesheet, font configuration and Pango are not documented as thread-safe)."""

    def __init__(self, fetcher: AssetOnlyFetcher | None = None) -> None:
        self._fetcher = fetcher if fetcher is not None else AssetOnlyFetcher()
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("diagpro.adapters.pdf", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self._template = self._env.get_template(TEMPLATE_NAME)
        # The @font-face rules are resolved here, once: the fonts are fetched from the package,
        # written to the configuration's private temporary folder and registered with it.
        self._font_config, font_folder = font_configuration()
        css = self._fetcher.asset_text(STYLESHEET)
        self._stylesheet = CSS(
            string=css,
            base_url=ASSET_PREFIX,
            url_fetcher=self._fetcher,
            font_config=self._font_config,
        )
        self._compact = CSS(string=COMPACT_CSS, font_config=self._font_config)
        # WeasyPrint only logs a font it could not load and falls back to whatever fontconfig
        # finds on the host: refuse to start instead (each loaded face is one file there).
        faces, loaded = css.count("@font-face"), len(list(font_folder.iterdir()))
        if loaded != faces:
            raise RenderFailed(f"only {loaded} of the {faces} packaged fonts could be loaded")
        self._user_agent_sheet = report_user_agent_sheet()
        self._page_sheets: dict[str, CSS] = {}
        self._image_cache: dict[str, Any] = {}  # packaged images only (the fetcher's allowlist)
        self._lock = threading.Lock()

    def html(self, document: ReportDocument) -> str:
        """The HTML handed to WeasyPrint (for tests and debugging). Raises RenderFailed."""
        return self._prepared(document)[0]

    def _prepared(self, document: ReportDocument) -> tuple[str, str]:
        """The HTML, and the running header and footer's CSS in the report's language (a
        stylesheet of its own, see _page_sheet). Raises RenderFailed."""
        try:
            document.analysis.check()
        except AnalysisInvalid as exc:
            raise RenderFailed(f"refusing to render an incomplete analysis: {exc.message}") from exc
        try:
            context = build_context(document)
            html = self._template.render({**context, "logo_url": asset_url(LOGO)})
            html = _INDENTATION.sub("><", html)
        except jinja2.TemplateError as exc:
            raise RenderFailed(f"report template failed: {type(exc).__name__}: {exc}") from exc
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise RenderFailed(
                f"report data could not be prepared: {type(exc).__name__}: {exc}"
            ) from exc
        return html, str(context["page_css"])

    def _page_sheet(self, page_css: str) -> CSS:
        """The running header and footer's stylesheet, parsed once per language rather than
        from a <style> in every report (a <style> is parsed and its selectors compiled on each
        render). Call it holding the lock. The text is our own translated words only."""
        sheet = self._page_sheets.get(page_css)
        if sheet is None:
            if len(self._page_sheets) >= MAX_PAGE_SHEETS:
                self._page_sheets.clear()
            sheet = CSS(string=page_css, url_fetcher=self._fetcher, font_config=self._font_config)
            self._page_sheets[page_css] = sheet
        return sheet

    def _laid_out(self, html: str, page_css: str, compact: bool = False) -> Any:
        """The WeasyPrint document, laid out and paginated (not yet written). Call it holding
        the lock. The page sheet comes after the report's, so its header words win. When the
        last page would be near-empty, the compact layout is returned if it saves that page."""
        sheets = [self._stylesheet, self._page_sheet(page_css)]
        if compact:
            sheets.append(self._compact)
        document = ReportHTML(
            string=html,
            base_url=ASSET_PREFIX,
            url_fetcher=self._fetcher,
            user_agent_sheet=self._user_agent_sheet,
        ).render(stylesheets=sheets, font_config=self._font_config, cache=self._image_cache)
        pages = document.pages
        if compact or len(pages) < 2 or page_fill(pages[-1]) >= LAST_PAGE_MIN_FILL:
            return document
        tighter = self._laid_out(html, page_css, compact=True)
        return tighter if len(tighter.pages) < len(pages) else document

    def render(self, document: ReportDocument) -> bytes:
        html, page_css = self._prepared(document)
        try:
            # One pause for layout and write, ended once the laid-out document is gone (it is a
            # temporary here), so the collector that follows has almost nothing left to scan.
            with self._lock, collector_paused():
                pdf = self._laid_out(html, page_css).write_pdf()
        except RenderFailed:
            raise
        except Exception as exc:  # WeasyPrint raises anything from its parsers and cffi
            raise RenderFailed(
                f"WeasyPrint could not render report {document.submission_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
            raise RenderFailed(f"WeasyPrint returned no PDF for report {document.submission_id}")
        return pdf

    def page_fills(self, document: ReportDocument) -> tuple[float, ...]:
        """How full each page's content area is (0 to 1), down to its lowest line: the report
        must have no near-empty page but the last (tests and bench/render_bench.py read it)."""
        html, page_css = self._prepared(document)
        with self._lock, collector_paused():
            return tuple(page_fill(page) for page in self._laid_out(html, page_css).pages)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for one render, back on after.

    A render builds tens of thousands of objects (the box tree, Pango layouts, PDF streams) that
    all live until the render ends. The collector runs every few hundred allocations
    (``gc.get_threshold()``) and scans the young objects each time, and the oldest generation the
    whole heap; during a render that was a sixth of its time for no garbage found. The objects
    are freed by reference counting when the render ends, and any cycle among them at the next
    collection after it. See https://docs.python.org/3/library/gc.html#gc.disable and
    https://devguide.python.org/internals/garbage-collector/ ("Optimization: generations")."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def page_fill(page: Any) -> float:
    """The share of the page's content height used, down to the bottom of its lowest box."""
    box = page._page_box  # WeasyPrint 66-70: the laid-out page box, its children the content
    top = box.content_box_y()
    height = box.height
    lowest = top
    stack = [child for child in box.children if not isinstance(child, MarginBox)]
    while stack:
        child = stack.pop()
        if child.height and child.position_y + child.margin_height() > lowest:
            children = getattr(child, "children", ())
            if children:
                stack.extend(children)
            else:
                lowest = max(lowest, child.position_y + child.margin_height())
    return min(1.0, (lowest - top) / height) if height else 0.0
