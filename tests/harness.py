"""The one way tests wire a container, and the customer's and Stripe's actions on it.

``container_for_tests`` loads settings for a data folder (plus any environment) and, unless told
otherwise, puts every store on its in-memory fake; every test helper that needs a container
(the HTTP apps, the end-to-end runs, the config tests) starts from it. ``Harness`` adds a clock
the test moves, predictable ids, an analyzer that fails on command, and a fast renderer:

    h = Harness.build(tmp_path)
    sub = h.save(payload); h.deliver(h.checkout_and_pay(sub.id)); h.work()
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from dependency_injector import providers

from diagpro.adapters.email import OutboxFolder
from diagpro.adapters.memory.emails import MemoryEmailSender
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.application.payments import EventReceipt
from diagpro.config import load_settings, with_local_secrets
from diagpro.container import Container, use_memory_adapters
from diagpro.domain.jobs import JobKind
from diagpro.domain.payment import SignedEvent
from diagpro.domain.submission import Submission
from tests.doubles import (
    CountingIds,
    FixedClock,
    RecordingRefunds,
    RecordingRenderer,
    ScriptedAnalyzer,
)

AUTOMOTIVE = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "errorCodes": "P0301 P0171",
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "email": "owner@example.com",
}


def container_for_tests(
    data_dir: Path | str | None = None,
    *,
    memory: bool = True,
    env: Mapping[str, str] | None = None,
    container: Container | None = None,
) -> Container:
    """A container on settings loaded from ``env`` (with ``DIAGPRO_DATA_DIR=data_dir`` when
    given), every store on its in-memory fake unless ``memory=False`` (then the embedded SQLite
    and local-folder defaults, or whatever cloud adapters ``env`` configures). Given an existing
    ``container``, it is rewired from scratch: overrides and singletons reset."""
    if container is None:
        container = Container()
    else:
        container.reset_override()
        container.reset_singletons()
    values = dict(env or {})
    if data_dir is not None:
        values["DIAGPRO_DATA_DIR"] = str(data_dir)
    container.settings.override(providers.Object(with_local_secrets(load_settings(values))))
    if memory:
        use_memory_adapters(container)
    return container


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
        start: datetime | None = None,
    ) -> Harness:
        """``start``: where the clock starts (a fixed day in November 2026 unless given)."""
        container = container_for_tests(data_dir, memory=memory, env=env)
        clock = FixedClock(start)
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
        self_checkout = self.container.self_checkout()
        assert self_checkout is not None, "paying needs the local checkout (no Stripe key)"
        return self_checkout.pay(session.id)

    def deliver(self, event: SignedEvent) -> EventReceipt:
        return self.container.receive_payment_event()(event.payload, event.signature)

    def refund_event(self, submission_id: str, cents: int | None = None) -> SignedEvent:
        """A signed charge.refunded for the submission's payment: all of it, or ``cents``."""
        from tests.features.drivers.base import charge_refunded

        sub = self.submission(submission_id)
        secret = self.container.settings().local_webhook_secret
        return charge_refunded(
            sub.id, sub.price_cents, sub.currency, secret, self.clock.now(), cents
        )

    def work(self, max_jobs: int = 50) -> int:
        """Run the worker until nothing is due now (the test moves the clock for backoff).
        Returns how many report jobs it worked; the email jobs those queue are worked too, and
        not counted (``emails()`` shows what they sent)."""
        process = self.container.process_jobs()
        worked = 0
        while worked < max_jobs and (job := process()) is not None:
            worked += job.kind is JobKind.REPORT
        return worked

    def emails(self) -> list[EmailMessage]:
        """Every email sent, oldest first: what the in-memory sender was given, or (on the
        embedded defaults) the outbox folder's files."""
        sender = self.container.email_sender()
        sender = getattr(sender, "inner", sender)  # a test's wrapper around the real one
        if isinstance(sender, MemoryEmailSender):
            return list(sender.sent)
        assert isinstance(sender, OutboxFolder), sender
        parse = BytesParser(policy=policy.default).parsebytes
        files = sorted(sender.folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [parse(path.read_bytes()) for path in files]  # type: ignore[misc]

    def submission(self, submission_id: str) -> Submission:
        return self.container.submissions().get(submission_id)

    def record_refunds(self) -> RecordingRefunds:
        """Record (and let the test fail) refunds, passing them on to the configured adapter."""
        recorder = RecordingRefunds(self.container.refunds())
        self.container.refunds.override(providers.Object(recorder))
        return recorder
