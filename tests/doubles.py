"""Test doubles: fakes that script failures and record what they were asked.

They live with the tests, not in ``src/``: the in-memory stores in ``diagpro.adapters.memory``
serve as offline adapters, these only ever serve a test (or a benchmark).

- ``ScriptedAnalyzer`` fails the way a real model does (unavailable, invalid output) as many
  times as a test says, then answers through a real analyzer;
- ``RecordingRenderer`` makes a minimal PDF without WeasyPrint so use-case tests stay in
  milliseconds;
- ``FixedClock`` is a clock the test moves by hand, ``CountingIds`` ids it can predict;
- ``RecordingRefunds`` records every refund it is asked for and fails on command. On its own it
  answers ``re_memory_…`` ids (one per payment: asking twice returns the same id, as the real
  adapters do); given an ``inner`` Refunds it passes the refund on and records it too.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.ids import format_submission_id
from diagpro.domain.intake import Intake
from diagpro.domain.ports import Analyzer, Refunds
from diagpro.domain.report import ReportDocument
from diagpro.domain.submission import Payment


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
        causes = "\n".join(f"% {c.cause}" for c in document.analysis.causes)
        return f"%PDF-1.7\n% report {document.submission_id}\n{causes}\n%%EOF\n".encode()


class FixedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now


class CountingIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def submission_id(self, now: datetime) -> str:
        return format_submission_id(now, f"{next(self._counter):024x}")

    def token(self) -> str:
        return f"{next(self._counter):016x}"


class RecordingRefunds:
    def __init__(self, inner: Refunds | None = None) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._failures: list[Exception] = []
        self._issued: dict[str, str] = {}  # checkout session id -> refund id
        self.asked: list[Payment] = []

    def fail_next(self, *errors: Exception) -> None:
        with self._lock:
            self._failures.extend(errors)

    @property
    def issued(self) -> dict[str, str]:
        """Refunds made, by checkout session id."""
        with self._lock:
            return dict(self._issued)

    def refund(self, payment: Payment) -> str:
        with self._lock:
            self.asked.append(payment)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            raise failure
        if self._inner is not None:
            refund_id = self._inner.refund(payment)
        else:
            refund_id = f"re_memory_{payment.checkout_session_id}"
        with self._lock:
            self._issued.setdefault(payment.checkout_session_id, refund_id)
            return self._issued[payment.checkout_session_id]
