"""A container wired for tests: in-memory fakes (or the embedded SQLite defaults), a clock the
test moves, predictable ids, an analyzer that fails on command, and a fast renderer.

    h = Harness.memory(tmp_path)
    sub = h.save(payload); h.pay(sub.id); h.work(); h.status(sub.id)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dependency_injector import providers

from diagpro.adapters.memory.analysis import RecordingRenderer, ScriptedAnalyzer
from diagpro.adapters.memory.clock import CountingIds, FixedClock
from diagpro.adapters.memory.refunds import RecordingRefunds
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.application.payments import EventReceipt
from diagpro.config import load_settings, with_local_secrets
from diagpro.container import Container, use_memory_adapters
from diagpro.domain.payment import SignedEvent
from diagpro.domain.submission import Submission

AUTOMOTIVE = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "errorCodes": "P0301 P0171",
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "email": "owner@example.com",
}


@dataclass
class Harness:
    container: Container
    clock: FixedClock
    analyzer: ScriptedAnalyzer

    @classmethod
    def build(
        cls,
        data_dir: Path,
        *,
        memory: bool = True,
        real_renderer: bool = False,
        env: dict[str, str] | None = None,
    ) -> Harness:
        container = Container()
        settings = with_local_secrets(
            load_settings({"DIAGPRO_DATA_DIR": str(data_dir), **(env or {})})
        )
        container.settings.override(providers.Object(settings))
        if memory:
            use_memory_adapters(container)
        clock = FixedClock()
        analyzer = ScriptedAnalyzer(OfflineAnalyzer())
        container.clock.override(providers.Object(clock))
        container.ids.override(providers.Object(CountingIds()))
        container.analyzer.override(providers.Object(analyzer))
        if not real_renderer:
            container.renderer.override(providers.Object(RecordingRenderer()))
        return cls(container, clock, analyzer)

    # -- the customer's and Stripe's actions, in words -----------------------------------------
    def save(self, payload: dict[str, object] | None = None) -> Submission:
        return self.container.save_submission()(payload or AUTOMOTIVE)

    def checkout_and_pay(self, submission_id: str) -> SignedEvent:
        session = self.container.open_checkout()(submission_id)
        return self.container.gateway().pay(session.id)

    def deliver(self, event: SignedEvent) -> EventReceipt:
        return self.container.handle_payment_event()(event.payload, event.signature)

    def work(self, max_jobs: int = 50) -> int:
        """Run the worker until nothing is due now (the test moves the clock for backoff)."""
        process = self.container.process_jobs()
        worked = 0
        while worked < max_jobs and process.run_once() is not None:
            worked += 1
        return worked

    def submission(self, submission_id: str) -> Submission:
        return self.container.submissions().get(submission_id)

    def record_refunds(self) -> RecordingRefunds:
        """Record (and let the test fail) refunds, passing them on to the configured adapter."""
        recorder = RecordingRefunds(self.container.refunds())
        self.container.refunds.override(providers.Object(recorder))
        return recorder
