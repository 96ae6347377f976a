"""What the Gherkin suite did, counted twice: by the product's meter, and by the suite itself.

A pytest plugin, off unless loaded (tests/e2e/test_suite_metrics.py runs the in-process suite
with it)::

    pytest tests/features -m "not process" -p no:randomly \\
        -p tests.features.suite_metrics --suite-metrics=DIR

Then every in-process scenario's container counts into one session-wide meter (the product's
``prometheus_meter``, as ``/metrics`` serves it), and the scenario's ports are watched by spies
that keep a ledger of what happened there, without asking the meter:

- orders: the submission store's writes (a new submission; a payment recorded; a report made
  for the first time; a submission turning failed, or refunded);
- payment events: each delivery's event type and the outcome the service answered;
- model calls: each call the analyzer stub answered, with its tokens, or the error it raised;
- renders: each call the renderer answered or refused;
- payment to report: for each order, its payment's and its report's times as stored;
- emails: each email handed to the sender (the outbox folder), by its event, sent or refused.

At the end of the session ``GET /metrics`` is scraped through the real HTTP app with an operator
key; DIR gets ``metrics.txt`` (the exposition text) and ``ledger.json``.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from prometheus_client import CollectorRegistry

from diagpro.adapters.metrics.prometheus import prometheus_meter
from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.email import OutgoingEmail
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
    EmailRejected,
    EmailUnavailable,
)
from diagpro.domain.intake import Intake
from diagpro.domain.payment import SignedEvent
from diagpro.domain.report import ReportDocument
from diagpro.domain.submission import Status, Submission
from diagpro.entrypoints.http.app import create_app
from tests.harness import Harness, container_for_tests

OPERATOR_KEY = "op_key_for_the_suite_metrics_scrape"
# Token prices for the suite's meter, so the estimated cost is counted too (US$ per million).
INPUT_USD_PER_MILLION = 0.30
OUTPUT_USD_PER_MILLION = 2.50

# What the Meter port calls each failure of the analyzer (domain/ports.py): the domain's error
# kinds, most specific first.
_MODEL_FAILURES: tuple[tuple[type[Exception], str], ...] = (
    (AnalysisMisconfigured, "misconfigured"),
    (AnalysisRefused, "refused"),
    (AnalysisInvalid, "invalid"),
    (AnalysisUnavailable, "unavailable"),
)


@dataclass
class Ledger:
    """The suite's own count; label tuples in the order the metrics name them."""

    scenarios: int = 0
    orders: Counter[str] = field(default_factory=Counter)
    payment_events: Counter[tuple[str, str]] = field(default_factory=Counter)  # type, outcome
    model_calls: Counter[str] = field(default_factory=Counter)
    input_tokens: int = 0
    output_tokens: int = 0
    renders: Counter[str] = field(default_factory=Counter)
    # Seconds from the payment to the report first ready, per order (the store's two times).
    paid_to_ready: list[float] = field(default_factory=list)
    emails: Counter[tuple[str, str]] = field(default_factory=Counter)  # event, outcome
    # Requests to the webhook route: the in-process driver hands events to the use case.
    webhook_requests: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "scenarios": self.scenarios,
            "orders": dict(self.orders),
            "paymentEvents": [[*key, n] for key, n in sorted(self.payment_events.items())],
            "modelCalls": dict(self.model_calls),
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "prices": {"input": INPUT_USD_PER_MILLION, "output": OUTPUT_USD_PER_MILLION},
            "renders": dict(self.renders),
            "paidToReadySeconds": self.paid_to_ready,
            "emails": [[*key, n] for key, n in sorted(self.emails.items())],
            "webhookRequests": self.webhook_requests,
        }


# -- the spies: each passes every call on, and writes down what came back ---------------------
class LedgerSubmissions:
    """The submission store, noting each write: which lifecycle step it recorded."""

    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner = inner
        self._ledger = ledger

    def add(self, submission: Submission) -> None:
        self.inner.add(submission)
        self._ledger.orders["saved"] += 1

    def update(self, submission: Submission) -> None:
        before = self.inner.get(submission.id)  # what this compare-and-set replaces
        self.inner.update(submission)
        after, orders = submission, self._ledger.orders
        if before.payment is None and after.payment is not None:
            orders["paid"] += 1
        if before.ready_at is None and after.ready_at is not None:
            orders["ready"] += 1  # its report made the first time (a remake keeps ready_at)
            if after.payment is not None:
                waited = after.ready_at - after.payment.paid_at
                self._ledger.paid_to_ready.append(waited.total_seconds())
        for status in (Status.FAILED, Status.REFUNDED):
            if after.status == status and before.status != status:
                orders[status.value] += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class LedgerAnalyzer:
    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner = inner
        self._ledger = ledger

    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        # A BaseException that is not an Exception (a worker dying mid-call) is not noted: the
        # process it stands for is gone, and its counts with it.
        try:
            analysis = self.inner.analyse(intake, codes, currency)
        except Exception as exc:
            kind = next((label for cls, label in _MODEL_FAILURES if isinstance(exc, cls)), "error")
            self._ledger.model_calls[kind] += 1
            raise
        self._ledger.model_calls["ok"] += 1
        self._ledger.input_tokens += analysis.prompt_tokens
        self._ledger.output_tokens += analysis.output_tokens
        return analysis


class LedgerRenderer:
    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner = inner
        self._ledger = ledger

    def render(self, document: ReportDocument) -> bytes:
        try:
            pdf = self.inner.render(document)
        except Exception:
            self._ledger.renders["failed"] += 1
            raise
        self._ledger.renders["ok"] += 1
        return bytes(pdf)


class LedgerEmailSender:
    """The email sender (``inner``: what Harness.emails() reads), noting each email by the
    event its Message-ID names (``<{submission}.{event}[.resendN]@{domain}>``)."""

    def __init__(self, inner: Any, ledger: Ledger) -> None:
        self.inner = inner
        self._ledger = ledger

    def send(self, email: OutgoingEmail) -> str:
        event = email.message_id.strip("<>").split("@")[0].split(".")[1]
        try:
            sent = self.inner.send(email)
        except EmailUnavailable:
            self._ledger.emails[(event, "unavailable")] += 1
            raise
        except EmailRejected:
            self._ledger.emails[(event, "rejected")] += 1
            raise
        self._ledger.emails[(event, "sent")] += 1
        return str(sent)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _noting_deliveries(deliver: Callable[[SignedEvent], Any], ledger: Ledger) -> Any:
    def noted(event: SignedEvent) -> Any:
        receipt = deliver(event)
        event_type = json.loads(event.payload)["type"]
        outcome = "duplicate" if receipt.duplicate else str(receipt.outcome)
        ledger.payment_events[(event_type, outcome)] += 1
        return receipt

    return noted


# -- the session -------------------------------------------------------------------------------
class SuiteRun:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.ledger = Ledger()
        # No gauge of paid orders waiting: each scenario has a database of its own, and the
        # gauge reads one store at scrape time; it is not a count the suite caused.
        self.meter = prometheus_meter(
            CollectorRegistry(), None, INPUT_USD_PER_MILLION, OUTPUT_USD_PER_MILLION
        )

    def watch(self, harness: Harness) -> None:
        """Count this scenario's container on the session's meter, and spy on its ports."""
        c, ledger = harness.container, self.ledger
        ledger.scenarios += 1
        c.meter.override(providers.Object(self.meter))
        c.submissions.override(providers.Object(LedgerSubmissions(c.submissions(), ledger)))
        c.analyzer.override(providers.Object(LedgerAnalyzer(c.analyzer(), ledger)))
        c.renderer.override(providers.Object(LedgerRenderer(c.renderer(), ledger)))
        c.email_sender.override(providers.Object(LedgerEmailSender(c.email_sender(), ledger)))
        harness.deliver = _noting_deliveries(harness.deliver, ledger)  # type: ignore[method-assign]

    def scrape(self) -> str:
        """``GET /metrics`` as an operator's Prometheus would, on an app counting on the meter."""
        with tempfile.TemporaryDirectory() as data_dir:
            container = container_for_tests(data_dir, env={"DIAGPRO_OPERATOR_KEYS": OPERATOR_KEY})
            container.meter.override(providers.Object(self.meter))
            with TestClient(create_app(container, start_worker=False)) as client:
                response = client.get(
                    "/metrics", headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
                )
        assert response.status_code == 200, response.text
        return response.text

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "metrics.txt").write_text(self.scrape())
        (self.out / "ledger.json").write_text(json.dumps(self.ledger.as_json(), indent=2))


_RUN = pytest.StashKey[SuiteRun]()


def observe(config: pytest.Config, harness: Harness) -> None:
    """Called for each in-process scenario's harness; does nothing unless the plugin is on."""
    run = config.stash.get(_RUN, None)
    if run is not None:
        run.watch(harness)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--suite-metrics",
        metavar="DIR",
        help="count the in-process scenarios on one meter, keep the suite's own ledger, and "
        "write DIR/metrics.txt (a /metrics scrape) and DIR/ledger.json at the end",
    )


def pytest_configure(config: pytest.Config) -> None:
    out = config.getoption("suite_metrics")
    if out:
        config.stash[_RUN] = SuiteRun(Path(out))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(_RUN, None)
    if run is not None:
        run.write()
