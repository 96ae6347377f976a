"""Test doubles for the analyzer and renderer ports that record what they were asked.

``ScriptedAnalyzer`` fails the way a real model does (unavailable, invalid output) as many times
as a test says, then answers through a real analyzer; ``RecordingRenderer`` makes a minimal PDF
without WeasyPrint so use-case tests stay in milliseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.intake import Intake
from diagpro.domain.ports import Analyzer
from diagpro.domain.report import ReportDocument


class ScriptedAnalyzer:
    def __init__(self, inner: Analyzer, failures: Iterable[Exception] = ()) -> None:
        self._inner = inner
        self._failures = list(failures)
        self._lock = threading.Lock()
        self.calls: list[Intake] = []

    def fail_next(self, *errors: Exception) -> None:
        with self._lock:
            self._failures.extend(errors)

    def recover(self) -> None:
        """The outage is over: no more scripted failures."""
        with self._lock:
            self._failures.clear()

    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        with self._lock:
            self.calls.append(intake)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            raise failure
        return self._inner.analyse(intake, codes, currency)


class RecordingRenderer:
    def __init__(self) -> None:
        self.rendered: list[ReportDocument] = []
        self._failures: list[Exception] = []

    def fail_next(self, *errors: Exception) -> None:
        self._failures.extend(errors)

    def render(self, document: ReportDocument) -> bytes:
        if self._failures:
            raise self._failures.pop(0)
        self.rendered.append(document)
        titles = "\n".join(f"% {s.title}" for s in document.analysis.sections)
        return f"%PDF-1.7\n% report {document.submission_id}\n{titles}\n%%EOF\n".encode()
