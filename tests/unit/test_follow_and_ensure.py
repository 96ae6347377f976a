"""The success page follows a checkout with one look at the provider; ``/reports/ensure`` and
``/analyzeDiagnostic`` keep their rules in EnsureReport, not in the handler; a ready report
whose file was lost is made again from its kept analysis, whoever asks for it."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
from dependency_injector import providers
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.oauth2 import service_account

from diagpro.adapters.gcs import GcsReportStore
from diagpro.application.status import REPORT_BEING_REMADE, report_jobs
from diagpro.domain.errors import (
    IllegalTransition,
    NotPaid,
    ReportBeingRemade,
    ReportMissing,
    ReportNotReady,
)
from diagpro.domain.jobs import JobState
from diagpro.domain.payment import CheckoutSession, PaymentStatus
from diagpro.domain.ports import PaymentGateway, ReportStore
from diagpro.domain.report import DownloadLinks
from diagpro.domain.submission import Status
from diagpro.entrypoints import cli
from tests.harness import Harness
from tests.lost_reports import VanishingReports, lose_report
from tests.signing import pin_signing_clock, service_account_info


class CountingGateway:
    """The configured gateway, counting how often a checkout session is looked up."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner
        self.retrieved: list[str] = []

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        self.retrieved.append(session_id)
        return self._inner.retrieve_checkout(session_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


@pytest.fixture(params=["memory", "sqlite"])
def h(request, tmp_path):
    return Harness.build(tmp_path, memory=request.param == "memory")


@pytest.fixture
def gateway(h):
    counting = CountingGateway(h.container.gateway())
    h.container.gateway.override(providers.Object(counting))
    return counting


def test_following_a_paid_checkout_looks_it_up_once_and_fulfils(h, gateway):
    sub = h.save()
    session = h.container.open_checkout()(sub.id)
    h.container.self_checkout().pay(session.id)  # paid; the webhook has not arrived
    gateway.retrieved.clear()

    followed = h.container.follow_checkout()(session.id)

    assert gateway.retrieved == [session.id]
    assert followed.session.payment_status == PaymentStatus.PAID
    assert followed.submission is not None and followed.submission.status == Status.PAID
    assert len(report_jobs(h.container.jobs(), sub.id)) == 1


def test_following_an_unpaid_checkout_changes_nothing(h, gateway):
    sub = h.save()
    session = h.container.open_checkout()(sub.id)
    gateway.retrieved.clear()

    followed = h.container.follow_checkout()(session.id)

    assert gateway.retrieved == [session.id]
    assert followed.session.payment_status == PaymentStatus.UNPAID
    assert followed.submission is None
    assert h.submission(sub.id).status == Status.PENDING


def test_following_again_after_fulfilment_queues_nothing_more(h, gateway):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    session_id = h.submission(sub.id).checkout.session_id

    followed = h.container.follow_checkout()(session_id)

    assert followed.submission is not None and followed.submission.status == Status.PAID
    assert len(report_jobs(h.container.jobs(), sub.id)) == 1


def test_ensure_refuses_an_unpaid_submission(h):
    sub = h.save()
    with pytest.raises(NotPaid) as refused:
        h.container.ensure_report()(sub.id)
    assert (refused.value.code, refused.value.status) == ("NOT_PAID", "pending")
    assert report_jobs(h.container.jobs(), sub.id) == []


def test_ensure_leaves_a_ready_report_alone_and_requeues_a_failed_one(h, tmp_path):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    assert h.container.ensure_report()(sub.id) is False  # ready: nothing queued

    failed = h.save()
    h.deliver(h.checkout_and_pay(failed.id))
    h.container.submissions().update(
        h.submission(failed.id).mark_failed("the analyzer gave up", h.clock.now())
    )
    assert h.container.ensure_report()(failed.id) is True
    assert h.submission(failed.id).status == Status.PAID


# -- a ready report whose file was lost -----------------------------------------------------
# Each way a customer or operator asks for it queues it to be made again from the kept analysis.
def _ask_links(h: Harness, sid: str) -> None:
    with pytest.raises(ReportBeingRemade):
        h.container.download_links()(sid)


ASKS = {
    "its status": lambda h, sid: h.container.describe()(sid),
    "its links": _ask_links,
    "ensure": lambda h, sid: h.container.ensure_report()(sid),
    "requeue": lambda h, sid: h.container.requeue()(sid),
}


def lost(h: Harness) -> str:
    """A paid, ready submission whose report file is then lost."""
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    assert h.submission(sub.id).status == Status.READY
    lose_report(h.container, sub.id)
    return sub.id


@pytest.mark.parametrize("ask", ASKS.values(), ids=ASKS.keys())
def test_a_lost_report_file_is_made_again_from_the_kept_analysis_whoever_asks(h, ask):
    sid = lost(h)
    kept = h.submission(sid).analysis

    ask(h, sid)

    again = h.submission(sid)
    assert again.status == Status.PAID and again.analysis == kept
    queued = [j for j in report_jobs(h.container.jobs(), sid) if j.state == JobState.QUEUED]
    assert len(queued) == 1
    assert h.work() == 1
    assert h.submission(sid).status == Status.READY
    assert h.container.reports().exists(sid)
    assert h.container.download_links()(sid).submission_id == sid
    assert len(h.analyzer.calls) == 1  # rendered again from the kept analysis, never re-asked


def test_meanwhile_it_reads_as_being_prepared_never_as_not_found(h):
    sid = lost(h)

    with pytest.raises(ReportNotReady) as not_ready:  # never ReportMissing (REPORT_NOT_FOUND)
        h.container.download_links()(sid)
    assert "being prepared" in not_ready.value.message
    view = h.container.describe()(sid)
    assert view.submission.status == Status.PAID and view.remaking and view.links is None
    assert view.explanation == REPORT_BEING_REMADE
    assert h.container.ensure_report()(sid) is True  # still on its way: nothing more queued
    assert len(report_jobs(h.container.jobs(), sid)) == 2  # the first run's job and this one


def test_a_ready_report_whose_file_is_there_is_left_alone(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    h.container.describe()(sub.id)
    h.container.download_links()(sub.id)
    assert h.container.ensure_report()(sub.id) is False
    with pytest.raises(IllegalTransition):
        h.container.requeue()(sub.id)
    assert h.submission(sub.id).status == Status.READY
    assert len(report_jobs(h.container.jobs(), sub.id)) == 1


class MeetingReports:
    """The configured report store, holding every caller that finds the file missing until
    ``parties`` callers have: the requests then race to queue the re-render."""

    def __init__(self, inner: ReportStore, parties: int) -> None:
        self._inner = inner
        self._barrier = threading.Barrier(parties)

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        try:
            return self._inner.links(submission_id, ttl_seconds, now)
        except ReportMissing:
            self._barrier.wait(timeout=10)
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_link_requests_at_once_queue_one_re_render(h):
    sid = lost(h)
    parties = 4
    h.container.reports.override(providers.Object(MeetingReports(h.container.reports(), parties)))
    answers: list[BaseException] = []

    def ask() -> None:
        try:
            h.container.download_links()(sid)
        except BaseException as exc:
            answers.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert len(answers) == parties and all(isinstance(a, ReportNotReady) for a in answers)
    remade = h.submission(sid)
    assert (remade.status, remade.requeue_count) == (Status.PAID, 1)  # moved once
    queued = [j for j in report_jobs(h.container.jobs(), sid) if j.state == JobState.QUEUED]
    assert len(queued) == 1
    h.container.reports.reset_override()
    assert h.work() == 1 and h.submission(sid).status == Status.READY
    assert len(h.analyzer.calls) == 1


def test_a_file_lost_as_it_is_looked_at_still_reads_as_being_prepared(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    h.container.reports.override(providers.Object(VanishingReports(h.container.reports())))

    view = h.container.describe()(sub.id)
    assert view.report_missing and view.explanation == REPORT_BEING_REMADE
    with pytest.raises(ReportBeingRemade):
        h.container.download_links()(sub.id)


@pytest.mark.emulator
def test_a_lost_bucket_object_is_made_again_from_the_kept_analysis(
    tmp_path, monkeypatch, gcs_emulator
):
    """The same on Cloud Storage (gcp-storage-emulator): the object deleted from the bucket."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    client = storage.Client(project="demo-proj", credentials=AnonymousCredentials())
    bucket = client.create_bucket(f"diagpro-lost-{uuid.uuid4().hex[:12]}")
    h = Harness.build(tmp_path, memory=False)
    pin_signing_clock(monkeypatch, h.clock.now)
    signer = service_account.Credentials.from_service_account_info(
        service_account_info("demo-proj", "diagpro-signer@demo-proj.iam.gserviceaccount.com")
    )
    store = GcsReportStore(client, bucket.name, signing_credentials=signer)
    h.container.reports.override(providers.Object(store))
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    assert h.container.download_links()(sub.id).submission_id == sub.id
    bucket.blob(f"reports/{sub.id}.pdf").delete()

    with pytest.raises(ReportBeingRemade):
        h.container.download_links()(sub.id)
    assert h.work() == 1

    assert h.submission(sub.id).status == Status.READY
    assert store.read(sub.id).startswith(b"%PDF")
    assert h.container.download_links()(sub.id).submission_id == sub.id
    assert len(h.analyzer.calls) == 1


def test_diagpro_requeue_makes_a_lost_report_again(tmp_path, monkeypatch, capsys):
    h = Harness.build(tmp_path, memory=False)
    sid = lost(h)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path))

    assert cli.main(["requeue", sid]) == 0

    out = capsys.readouterr().out
    assert f"{sid}: paid; queued again; the report is made from its kept analysis" in out
    h.clock.advance(seconds=(datetime.now(UTC) - h.clock.now()).total_seconds() + 1)
    assert h.work() == 1  # the command queued on the real clock: the worker catches up to it
    assert h.submission(sid).status == Status.READY
    assert h.container.reports().exists(sid)
    assert len(h.analyzer.calls) == 1


def test_ensure_refuses_a_refunded_submission(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.container.submissions().update(h.submission(sub.id).mark_refunded(h.clock.now()))
    with pytest.raises(IllegalTransition):
        h.container.ensure_report()(sub.id)
