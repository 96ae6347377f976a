"""The Analyzer and ReportRenderer ports, timed and counted on a Meter.

Wrapping the ports in the composition root keeps the use cases free of timing code, and counts
every call, whichever analyzer or renderer is configured. The outcome labels name the failure
kinds the domain already has (domain/errors.py), so an operator's "model errors" panel and the
processing log speak of the same things.
"""

from __future__ import annotations

import logging
import time

from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
)
from diagpro.domain.intake import Intake
from diagpro.domain.ports import Analyzer, Meter, ReportRenderer
from diagpro.domain.report import ReportDocument

log = logging.getLogger("diagpro.model")

# Most specific first: the label of the first class the failure is an instance of.
_MODEL_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (AnalysisMisconfigured, "misconfigured"),  # a model not found, no credentials: an operator
    (AnalysisRefused, "refused"),
    (AnalysisInvalid, "invalid"),
    (AnalysisUnavailable, "unavailable"),
)


def model_failure(exc: Exception) -> str:
    """The outcome label of a failed analysis."""
    return next((label for cls, label in _MODEL_FAILURES if isinstance(exc, cls)), "error")


class MeteredAnalyzer:
    """An Analyzer that reports each call's outcome, latency and tokens to the meter."""

    def __init__(self, analyzer: Analyzer, meter: Meter) -> None:
        self._analyzer = analyzer
        self._meter = meter

    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        started = time.perf_counter()
        try:
            analysis = self._analyzer.analyse(intake, codes, currency)
        except Exception as exc:
            outcome, seconds = model_failure(exc), time.perf_counter() - started
            self._meter.model_call(outcome, seconds, 0, 0)
            # One stable line per failed call, retried or not (deploy/alerts/ matches it): the
            # kind and the class only, never the model's words.
            log.warning(
                "model call failed (%s, %s) after %.1f s", outcome, type(exc).__name__, seconds
            )
            raise
        self._meter.model_call(
            "ok", time.perf_counter() - started, analysis.prompt_tokens, analysis.output_tokens
        )
        return analysis


class MeteredRenderer:
    """A ReportRenderer that reports each render's outcome and duration to the meter."""

    def __init__(self, renderer: ReportRenderer, meter: Meter) -> None:
        self._renderer = renderer
        self._meter = meter

    def render(self, document: ReportDocument) -> bytes:
        started = time.perf_counter()
        try:
            pdf = self._renderer.render(document)
        except Exception:
            self._meter.render("failed", time.perf_counter() - started)
            raise
        self._meter.render("ok", time.perf_counter() - started)
        return pdf
