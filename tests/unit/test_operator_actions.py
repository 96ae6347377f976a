"""An operator's actions on one order (application/operator_actions.py): run a stuck order now,
run a failed one again, refund one in full; each recorded on the order and refused with a reason
when the order's state does not allow it. Over the memory fakes and the embedded SQLite store."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers

from diagpro.application.operator_actions import CANCELLED_BY_REFUND
from diagpro.application.payments import Outcome
from diagpro.application.status import report_jobs
from diagpro.domain.actions import NAME_LIMIT, UNNAMED, ActionKind, describe, operator_name
from diagpro.domain.email import EmailEvent
from diagpro.domain.errors import (
    AlreadyRefunded,
    AnalysisUnavailable,
    IllegalTransition,
    JobLeased,
    PaymentProviderError,
    RefundRefused,
)
from diagpro.domain.jobs import Job, JobState
from diagpro.domain.payment import PaymentStatus
from diagpro.domain.ports import Analyzer
from diagpro.domain.submission import Status
from tests.harness import Harness

LEASE = 30.0


@pytest.fixture(params=["memory", "sqlite"])
def h(request: pytest.FixtureRequest, tmp_path) -> Harness:
    return Harness.build(tmp_path, memory=request.param == "memory")


def paid(h: Harness) -> str:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def waiting_for_its_retry(h: Harness) -> str:
    """A paid order whose first analysis failed: its job waits for its retry time."""
    sid = paid(h)
    h.analyzer.fail_next(AnalysisUnavailable("the model is overloaded"))
    assert h.work() == 1
    [job] = report_jobs(h.container.jobs(), sid)
    assert job.state is JobState.QUEUED and job.not_before > h.clock.now()
    return sid


def failed(h: Harness) -> str:
    sid = paid(h)
    h.analyzer.fail_next(*[AnalysisUnavailable("the model is overloaded")] * 20)
    for _ in range(20):
        h.work()
        if h.submission(sid).status == Status.FAILED:
            h.analyzer.recover()
            return sid
        h.clock.advance(hours=1)
    raise AssertionError("the order never failed")


def report_job(h: Harness, sid: str) -> Job:
    return report_jobs(h.container.jobs(), sid)[-1]


class RecordingAnnouncer:
    def __init__(self, works: bool = True) -> None:
        self.announced: list[Job] = []
        self._works = works

    def announce(self, job: Job) -> bool:
        self.announced.append(job)
        return self._works


# -- the operator's name -------------------------------------------------------------------------


def test_the_operator_name_is_one_trimmed_line_of_limited_length() -> None:
    assert operator_name("  ana  ") == "ana"
    assert operator_name("ana\r\nX-Injected: 1\t\x00") == "ana X-Injected: 1"
    assert operator_name("") == operator_name(" \t ") == UNNAMED
    assert len(operator_name("a" * 500)) == NAME_LIMIT


# -- run now / run again -------------------------------------------------------------------------


def test_run_now_makes_a_waiting_retry_due_and_records_who_did_it(h: Harness) -> None:
    sid = waiting_for_its_retry(h)
    retry_at = report_job(h, sid).not_before
    h.clock.advance(1)
    assert h.work() == 0  # nothing due before the retry time

    done = h.container.requeue_order()(sid, by=" ana ")

    assert done.action.what is ActionKind.RAN_NOW
    assert done.action.by == "ana"
    assert done.action.at == h.clock.now()
    assert f"{retry_at:%Y-%m-%d %H:%M:%S} UTC" in done.action.detail
    assert report_job(h, sid).not_before == h.clock.now()
    assert h.submission(sid).actions == (done.action,)
    assert h.work() == 1  # due now, not at its retry time
    assert h.submission(sid).status == Status.READY
    assert h.submission(sid).actions == (done.action,)  # kept by the later changes


def test_run_now_announces_the_job_so_push_mode_gets_a_message(h: Harness) -> None:
    sid = waiting_for_its_retry(h)
    announcer = RecordingAnnouncer()
    h.container.job_announcer.override(providers.Object(announcer))

    done = h.container.requeue_order()(sid, by="ana")

    assert [job.id for job in announcer.announced] == [report_job(h, sid).id]
    assert done.action.detail.endswith("; announced")


def test_a_failed_announcement_is_said_and_the_job_stays_due(h: Harness) -> None:
    sid = waiting_for_its_retry(h)
    h.container.job_announcer.override(providers.Object(RecordingAnnouncer(works=False)))

    done = h.container.requeue_order()(sid, by="ana")

    assert "not announced, the next sweep sends it" in done.action.detail
    assert h.work() == 1


def test_run_now_refuses_a_job_a_worker_is_on_saying_who_and_until_when(h: Harness) -> None:
    sid = paid(h)
    jobs = h.container.jobs()
    held = jobs.claim("worker-7", h.clock.now(), LEASE)
    assert held is not None
    before = h.submission(sid)

    with pytest.raises(JobLeased) as refused:
        h.container.requeue_order()(sid, by="ana")

    assert "worker-7" in refused.value.message
    assert held.lease_until is not None
    assert f"{held.lease_until:%H:%M:%S}" in refused.value.message
    assert h.submission(sid) == before  # nothing recorded
    jobs.complete(held, h.clock.now())  # the worker still holds it


def test_run_now_frees_a_job_whose_worker_died(h: Harness) -> None:
    sid = paid(h)
    dead = h.container.jobs().claim("worker-7", h.clock.now(), LEASE)
    assert dead is not None
    h.clock.advance(LEASE + 5)

    done = h.container.requeue_order()(sid, by="ana")

    assert "the lease of worker-7 ran out" in done.action.detail
    assert report_job(h, sid).lease_owner == ""
    assert h.work() == 1
    assert h.submission(sid).status == Status.READY


def test_a_paid_order_without_a_job_gets_one(h: Harness) -> None:
    sid = paid(h)
    lost = h.container.jobs().cancel(sid, "lost, as a crash between two steps would")
    assert lost is not None

    done = h.container.requeue_order()(sid, by="ana")

    assert done.action.what is ActionKind.REQUEUED
    assert "had no queued report job" in done.action.detail
    assert report_job(h, sid).id in done.action.detail
    assert h.work() == 1
    assert h.submission(sid).status == Status.READY


def test_a_failed_order_runs_again_and_is_logged(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    sid = failed(h)

    with caplog.at_level(logging.WARNING, logger="diagpro.operator"):
        done = h.container.requeue_order()(sid, by="ana")

    assert done.action.what is ActionKind.REQUEUED
    assert done.submission.status == Status.PAID
    assert f"operator action: requeued {sid} by ana" in caplog.text
    assert h.work() == 1
    assert h.submission(sid).status == Status.READY


@pytest.mark.parametrize("state", ["pending", "refunded"])
def test_an_order_that_cannot_run_is_refused_and_nothing_recorded(h: Harness, state: str) -> None:
    sid = h.save().id if state == "pending" else paid(h)
    if state == "refunded":
        h.container.refund_order()(sid, by="ana")
    before = h.submission(sid)

    with pytest.raises(IllegalTransition):
        h.container.requeue_order()(sid, by="ana")

    assert h.submission(sid) == before


# -- refund --------------------------------------------------------------------------------------


def test_a_stuck_order_is_refunded_its_job_cancelled_and_the_customer_told(h: Harness) -> None:
    refunds = h.record_refunds()
    sid = waiting_for_its_retry(h)
    job = report_job(h, sid)
    h.clock.advance(minutes=30)

    done = h.container.refund_order()(sid, by="ana")

    sub = h.submission(sid)
    assert sub.status == Status.REFUNDED
    assert [p.checkout_session_id for p in refunds.asked] == [sub.payment.checkout_session_id]
    assert sub.refund_id and sub.refund_id in done.action.detail
    assert done.action.what is ActionKind.REFUNDED
    assert f"report job {job.id} cancelled" in done.action.detail
    assert sub.actions == (done.action,)
    cancelled = h.container.jobs().job(job.id)
    assert cancelled is not None
    assert cancelled.state is JobState.DEAD
    assert cancelled.last_error == CANCELLED_BY_REFUND
    h.clock.advance(hours=1)
    assert h.work() == 0  # no report is made after the refund
    assert h.submission(sid).status == Status.REFUNDED
    [email] = h.emails()
    assert f"<{sid}.{EmailEvent.REFUNDED.value}@" in email["Message-ID"]


def test_the_refund_webhook_that_follows_is_a_duplicate(h: Harness) -> None:
    sid = paid(h)
    h.container.refund_order()(sid, by="ana")
    refunded = h.submission(sid)

    receipt = h.deliver(h.refund_event(sid))

    assert receipt.outcome == Outcome.ALREADY_REFUNDED
    after = h.submission(sid)
    assert after.status == Status.REFUNDED
    assert after.refund_id == refunded.refund_id
    assert after.actions == refunded.actions
    h.work()
    assert len(h.emails()) == 1  # one refund email, not two


def test_a_failed_order_can_be_refunded(h: Harness) -> None:
    sid = failed(h)
    done = h.container.refund_order()(sid, by="ana")
    assert done.submission.status == Status.REFUNDED
    assert "cancelled" not in done.action.detail  # its job was buried when it failed


def test_a_ready_order_is_refused_without_asking_the_provider(h: Harness) -> None:
    refunds = h.record_refunds()
    sid = paid(h)
    h.work()
    before = h.submission(sid)

    with pytest.raises(RefundRefused) as refused:
        h.container.refund_order()(sid, by="ana")

    assert "Stripe dashboard" in refused.value.message
    assert refunds.asked == []
    assert h.submission(sid) == before


def test_an_order_refunded_already_is_refused_with_its_refund_id(h: Harness) -> None:
    sid = paid(h)
    first = h.container.refund_order()(sid, by="ana")

    with pytest.raises(AlreadyRefunded) as refused:
        h.container.refund_order()(sid, by="bo")

    assert first.submission.refund_id in refused.value.message
    assert h.submission(sid).actions == (first.action,)


def test_an_unpaid_order_is_refused(h: Harness) -> None:
    sid = h.save().id
    with pytest.raises(RefundRefused, match="never paid"):
        h.container.refund_order()(sid, by="ana")


def test_a_refund_the_provider_refuses_leaves_the_order_as_it_was(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    refunds = h.record_refunds()
    refunds.fail_next(PaymentProviderError("Stripe: the charge was disputed"))
    sid = waiting_for_its_retry(h)
    before = h.submission(sid)
    job = report_job(h, sid)

    with (
        caplog.at_level(logging.ERROR, logger="diagpro.operator"),
        pytest.raises(PaymentProviderError, match="disputed"),
    ):
        h.container.refund_order()(sid, by="ana")

    assert h.submission(sid) == before
    assert report_job(h, sid) == job  # still queued for its retry
    assert "the order is unchanged" in caplog.text


class RefundingMidAnalysis:
    """An analyzer during whose call the operator refunds the order (a worker holds its job)."""

    def __init__(self, inner: Analyzer, refund: object) -> None:
        self._inner = inner
        self._refund = refund

    def analyse(self, *args: object) -> object:
        self._refund()  # type: ignore[operator]
        return self._inner.analyse(*args)  # type: ignore[arg-type]


def test_a_worker_holding_the_job_does_not_make_a_refunded_order_ready(h: Harness) -> None:
    sid = paid(h)
    done = []
    h.container.analyzer.override(
        providers.Object(
            RefundingMidAnalysis(
                h.analyzer, lambda: done.append(h.container.refund_order()(sid, by="ana"))
            )
        )
    )

    h.work()

    sub = h.submission(sid)
    assert sub.status == Status.REFUNDED
    assert sub.ready_at is None
    [action] = done
    assert "cancelled" in action.action.detail  # taken from the worker holding it
    assert report_job(h, sid).state is JobState.DEAD


class ReadyDuringTheRefund:
    """A provider during whose refund call a worker finishes the report."""

    def __init__(self, h: Harness) -> None:
        self._h = h

    def refund(self, payment: object) -> str:
        assert self._h.work() == 1
        return "re_during"


def test_a_report_made_during_the_refund_is_said_and_the_refund_recorded(h: Harness) -> None:
    sid = paid(h)
    h.container.refunds.override(providers.Object(ReadyDuringTheRefund(h)))

    done = h.container.refund_order()(sid, by="ana")

    assert done.submission.status == Status.REFUNDED  # the money went back: recorded
    assert done.submission.refund_id == "re_during"
    assert "its report was made while the refund was under way" in done.action.detail


# -- the record ----------------------------------------------------------------------------------


def test_erasure_keeps_the_record_of_actions(h: Harness) -> None:
    sid = paid(h)
    done = h.container.refund_order()(sid, by="ana")
    h.clock.advance(timedelta(days=400).total_seconds())

    h.container.forget_customer()(sid)

    sub = h.submission(sid)
    assert sub.erased
    assert sub.actions == (done.action,)
    assert describe(done.action).endswith(f"refunded by ana: {done.action.detail}")


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def on_disk(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Harness:
    """The embedded SQLite store and local checkout, which the CLI opens too."""
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("USER", "ana")
    return Harness.build(tmp_path, memory=False)


def test_diagpro_refund_asks_for_yes_then_refunds_and_status_shows_it(
    on_disk: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagpro.entrypoints import cli

    sid = paid(on_disk)

    assert cli.main(["refund", sid]) == 2
    assert "--yes" in capsys.readouterr().err
    assert on_disk.submission(sid).status == Status.PAID

    assert cli.main(["refund", sid, "--yes"]) == 0
    sub = on_disk.submission(sid)
    assert sub.status == Status.REFUNDED
    assert f"{sid}: refunded; refund {sub.refund_id}" in capsys.readouterr().out
    [action] = sub.actions
    assert action.by == "ana (cli)"

    assert cli.main(["status", sid]) == 0
    assert f"operator: {describe(action)}" in capsys.readouterr().out

    assert cli.main(["refund", sid, "--yes"]) == 2
    assert f"refunded already (refund {sub.refund_id})" in capsys.readouterr().err

    # The operator's list shows the action too: the table's last column and the JSON.
    assert cli.main(["orders"]) == 0
    table = capsys.readouterr().out
    assert "LAST ACTION" in table and "refunded by ana (cli)" in table
    assert cli.main(["orders", "--json"]) == 0
    [order] = json.loads(capsys.readouterr().out)["orders"]
    assert order["lastAction"] == describe(action)


def test_diagpro_refund_says_when_the_provider_refuses(
    on_disk: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagpro.entrypoints import cli

    sid = paid(on_disk)
    book = on_disk.container.checkout_book()
    session = book.get(on_disk.submission(sid).payment.checkout_session_id)
    book.put(
        replace(session, payment_status=PaymentStatus.UNPAID)
    )  # nothing the provider can refund

    assert cli.main(["refund", sid, "--yes"]) == 1

    err = capsys.readouterr().err
    assert "the refund did not go through, the order is unchanged" in err
    assert "no payment to refund" in err
    assert on_disk.submission(sid).status == Status.PAID


def test_diagpro_requeue_runs_a_waiting_job_now(
    on_disk: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagpro.entrypoints import cli

    # The CLI runs on the real clock: the order's retry is put an hour after it.
    on_disk.clock.advance((datetime.now(UTC) - on_disk.clock.now()).total_seconds() + 3600)
    sid = waiting_for_its_retry(on_disk)

    assert cli.main(["requeue", sid]) == 0

    out = capsys.readouterr().out
    job = report_job(on_disk, sid)
    assert f"{sid}: processing; run now: job {job.id} due now (it waited for its retry" in out
    assert job.not_before <= datetime.now(UTC)
    [action] = on_disk.submission(sid).actions
    assert action.what is ActionKind.RAN_NOW and action.by == "ana (cli)"


# -- through the Stripe adapter, against the local Stripe stub -----------------------------------


def test_an_operator_refund_through_stripe_and_its_webhook_is_a_duplicate(tmp_path) -> None:
    from diagpro.adapters.stripe_events import build_event, sign_event
    from tests.stubs.stripe_stub import StripeStub

    secret = "whsec_operator_refund_test"
    with StripeStub() as stripe:
        h = Harness.build(
            tmp_path,
            env={
                "STRIPE_SECRET_KEY": "sk_test_operator_refund_key_0001",
                "STRIPE_WEBHOOK_SECRET": secret,
                "DIAGPRO_STRIPE_API_BASE": stripe.api_base,
                "DIAGPRO_ANALYZER": "offline",
                "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example.com",
                "DIAGPRO_API_KEYS": "dpk_operator_refund_test_key",
            },
        )
        h.clock.advance((datetime.now(UTC) - h.clock.now()).total_seconds())  # Stripe's clock
        sid = h.save().id
        session = h.container.open_checkout()(sid)
        paid_session = stripe.pay(session.id)
        now = datetime.now(UTC)
        completed = sign_event(
            build_event("evt_op_paid", "checkout.session.completed", paid_session, now), secret
        )
        assert h.deliver(completed).outcome == Outcome.FULFILLED

        done = h.container.refund_order()(sid, by="ana")

        [refund] = stripe.refunds.values()
        intent = paid_session["payment_intent"]
        assert refund["payment_intent"] == intent
        assert refund["amount"] == 499
        [call] = stripe.calls("POST", "/v1/refunds")
        assert call.header("Idempotency-Key") == f"refund:{intent}"
        assert done.submission.refund_id == refund["id"]
        assert f"refund {refund['id']}" in done.action.detail

        [charge] = stripe.charges.values()
        assert charge["refunded"]
        refunded = sign_event(
            build_event("evt_op_refunded", "charge.refunded", charge, now), secret
        )
        before = h.submission(sid)
        assert h.deliver(refunded).outcome == Outcome.ALREADY_REFUNDED
        assert h.submission(sid).status == Status.REFUNDED
        assert h.submission(sid).refund_id == before.refund_id

        with pytest.raises(AlreadyRefunded, match=refund["id"]):
            h.container.refund_order()(sid, by="ana")
        assert len(stripe.calls("POST", "/v1/refunds")) == 1  # refused before asking Stripe
