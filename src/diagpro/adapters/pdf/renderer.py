"""ReportRenderer with WeasyPrint: a ReportDocument becomes a US Letter PDF.

Everything the customer or the model wrote is untrusted. It reaches the PDF only as text:
Jinja2 escapes every value (``autoescape=True``, no ``|safe`` anywhere), and the only URLs
WeasyPrint may load are our packaged assets (see ``fetcher.py``). The template gets a plain view
built here (labels, formatted money and dates, bounded text), so it holds no logic worth testing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
from weasyprint import CSS, HTML

from diagpro.adapters.pdf.fetcher import ASSET_PREFIX, AssetOnlyFetcher, asset_url
from diagpro.domain.analysis import CONFIDENCE_THRESHOLD, SECTION_TITLES, Analysis
from diagpro.domain.codes import CodeFamily
from diagpro.domain.equipment import DETAIL_LABELS as DETAIL_LABELS  # re-exported for tests
from diagpro.domain.errors import AnalysisInvalid, RenderFailed
from diagpro.domain.intake import Intake
from diagpro.domain.payment import format_money
from diagpro.domain.report import ReportDocument

TEMPLATE_NAME = "report.html"
STYLESHEET = "report.css"
LOGO = "logo.svg"

# Intake text is bounded by the domain (5000 characters); line breaks are not, and 5000 blank
# lines would be 100 pages. Keep at most this many paragraphs per field; the rest is joined.
MAX_PARAGRAPHS = 40
# The analysis has no length limits in the domain: bound what one section can print.
SUMMARY_LIMIT = 3000
POINT_LIMIT = 600
MAX_POINTS = 12
CAUSE_LIMIT = 400
DATA_NEEDED_LIMIT = 10
COVER_NAME_LIMIT = 120
CLIP_MARK = " […]"

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_FAMILY_LABELS: dict[str, str] = {
    CodeFamily.OBD2: "OBD-II",
    CodeFamily.J1939: "J1939",
    CodeFamily.EQUIPMENT: "equipment",
    CodeFamily.BLINK: "blink",
}

_CHOICE_LABELS: dict[str, dict[str, str]] = {
    "when_started": {
        "today": "Today",
        "week": "Within the last week",
        "month": "Within the last month",
        "gradual": "Gradually, over time",
        "sudden": "Suddenly",
    },
    "frequency": {
        "always": "Always",
        "often": "Often",
        "sometimes": "Sometimes",
        "rarely": "Rarely",
        "once": "Once",
    },
    "urgency_level": {
        "low": "Low",
        "normal": "Normal",
        "high": "High",
        "emergency": "Emergency",
    },
}


def detail_label(name: str) -> str:
    """'checkEngineLightOn' -> 'Check engine light on' (DETAIL_LABELS, else split camelCase)."""
    if name in DETAIL_LABELS:
        return DETAIL_LABELS[name]
    words: list[str] = []
    for ch in name:
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.lower())
    text = "".join(words)
    return text[:1].upper() + text[1:]


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + CLIP_MARK


def paragraphs(text: str, limit: int | None = None) -> tuple[str, ...]:
    """Customer or model text as paragraphs: blank lines dropped, at most MAX_PARAGRAPHS."""
    if limit is not None:
        text = _clip(text, limit)
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line]
    if len(kept) > MAX_PARAGRAPHS:
        kept = [*kept[: MAX_PARAGRAPHS - 1], " ".join(kept[MAX_PARAGRAPHS - 1 :])]
    return tuple(kept)


def _choice(field: str, value: str) -> str:
    return _CHOICE_LABELS.get(field, {}).get(value, value[:1].upper() + value[1:])


def _yes_no(value: str) -> str:
    return {"yes": "Yes", "no": "No"}.get(value, value)


def report_date(moment: datetime) -> str:
    """'November 26, 2026' (UTC when the time is aware); no locale involved."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}"


@dataclass(frozen=True)
class _Row:
    label: str
    value: str


def _rows(*pairs: tuple[str, str]) -> tuple[_Row, ...]:
    return tuple(_Row(label, value) for label, value in pairs if value)


def _intake_view(intake: Intake) -> dict[str, Any]:
    category = intake.category
    details = dict(intake.details)
    ordered = [name for name in category.detail_fields if name in details]
    ordered += sorted(name for name in details if name not in category.detail_fields)
    quote = (
        format_money(intake.shop_quote_cents, "usd") if intake.shop_quote_cents is not None else ""
    )
    return {
        "category": category.label,
        "equipment_rows": _rows(
            ("Category", category.label),
            ("Make", intake.make),
            ("Model", intake.model),
            ("Year", _choice("year", intake.year)),
            (category.identifier_label, intake.serial_number),
            (category.usage_label, intake.mileage_hours),
            ("Usage pattern", _choice("usage_pattern", intake.usage_pattern)),
            ("Location / environment", intake.location_environment),
        ),
        "detail_rows": _rows(*((detail_label(n), _yes_no(details[n])) for n in ordered)),
        "problem_rows": _rows(
            ("When it started", _choice("when_started", intake.when_started)),
            ("How often", _choice("frequency", intake.frequency)),
            ("Urgency", _choice("urgency_level", intake.urgency_level)),
        ),
        "problem_description": paragraphs(intake.problem_description),
        "symptoms": intake.symptoms,
        "codes_as_entered": paragraphs(intake.error_codes),
        "history": tuple(
            (label, paragraphs(text))
            for label, text in (
                ("Previous repairs", intake.previous_repairs),
                ("Modifications", intake.modifications),
                ("Troubleshooting already done", intake.troubleshooting_steps),
            )
            if text
        ),
        "shop_quote": quote,
        "shop_recommendation": paragraphs(intake.shop_recommendation),
        "full_name": intake.full_name,
    }


def _analysis_view(analysis: Analysis) -> dict[str, Any]:
    confidence = max(0, min(100, analysis.confidence_pct))
    sections = []
    for number, section in enumerate(analysis.sections, start=1):
        points = [p for p in section.points if p.strip()]
        clipped_points = len(points) > MAX_POINTS
        sections.append(
            {
                "heading": f"{number}. {SECTION_TITLES.get(section.key, section.title)}",
                "anchor": f"section-{number}",
                "summary": paragraphs(section.summary, SUMMARY_LIMIT),
                "points": tuple(_clip(p, POINT_LIMIT) for p in points[:MAX_POINTS]),
                "more_points": len(points) - MAX_POINTS if clipped_points else 0,
            }
        )
    low = confidence < CONFIDENCE_THRESHOLD
    return {
        "most_likely_cause": _clip(analysis.most_likely_cause, CAUSE_LIMIT),
        "confidence": confidence,
        "low_confidence": low,
        "threshold": CONFIDENCE_THRESHOLD,
        "data_needed": tuple(
            _clip(item, POINT_LIMIT) for item in analysis.data_needed[:DATA_NEEDED_LIMIT]
        )
        if low
        else (),
        "codes": tuple(
            (code.code, _FAMILY_LABELS.get(code.family, str(code.family)))
            for code in analysis.detected_codes
        ),
        "offline": analysis.offline,
        "sections": tuple(sections),
    }


def build_context(document: ReportDocument) -> dict[str, Any]:
    """Everything the template prints, as plain text and tuples (escaped by Jinja)."""
    intake = document.intake
    return {
        "report_id": document.submission_id,
        "report_date": report_date(document.generated_at),
        "equipment_name": _clip(intake.equipment_name, COVER_NAME_LIMIT),
        "intake": _intake_view(intake),
        "analysis": _analysis_view(document.analysis),
        "logo_url": asset_url(LOGO),
    }


class WeasyPrintRenderer:
    """ReportRenderer: one per process; the Jinja environment, fetcher and stylesheet are
    built once and reused by every render. Renders are serialised (WeasyPrint's shared
    stylesheet and Pango are not documented as thread-safe)."""

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
        self._stylesheet = CSS(
            string=self._fetcher.asset_text(STYLESHEET),
            base_url=ASSET_PREFIX,
            url_fetcher=self._fetcher,
        )
        self._lock = threading.Lock()

    def html(self, document: ReportDocument) -> str:
        """The HTML handed to WeasyPrint (for tests and debugging). Raises RenderFailed."""
        try:
            document.analysis.check()
        except AnalysisInvalid as exc:
            raise RenderFailed(f"refusing to render an incomplete analysis: {exc.message}") from exc
        try:
            return self._template.render(build_context(document))
        except jinja2.TemplateError as exc:
            raise RenderFailed(f"report template failed: {type(exc).__name__}: {exc}") from exc
        except (KeyError, AttributeError, TypeError, ValueError) as exc:
            raise RenderFailed(
                f"report data could not be prepared: {type(exc).__name__}: {exc}"
            ) from exc

    def render(self, document: ReportDocument) -> bytes:
        html = self.html(document)
        try:
            with self._lock:
                pdf = HTML(string=html, base_url=ASSET_PREFIX, url_fetcher=self._fetcher).write_pdf(
                    stylesheets=[self._stylesheet]
                )
        except Exception as exc:  # WeasyPrint raises anything from its parsers and cffi
            raise RenderFailed(
                f"WeasyPrint could not render report {document.submission_id}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
            raise RenderFailed(f"WeasyPrint returned no PDF for report {document.submission_id}")
        return pdf
