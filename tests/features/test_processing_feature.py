import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from diagpro.adapters.stripe_events import build_event, sign_event
from diagpro.application.payments import Outcome
from tests.harness import Harness

scenarios("processing.feature")

LEASE_SECONDS = 60


@pytest.fixture
def harness(tmp_path):
    # The embedded SQLite defaults: leases and backoff are exercised where they really live.
    return Harness.build(
        tmp_path, memory=False, env={"DIAGPRO_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
    )


@given("automatic refunds are on", target_fixture="harness")
def automatic_refunds_on(tmp_path):
    # The embedded defaults again, with DIAGPRO_AUTO_REFUND=true: the refund goes through the
    # local checkout, whose book marks the session refunded.
    return Harness.build(
        tmp_path / "auto-refund",
        memory=False,
        env={"DIAGPRO_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "DIAGPRO_AUTO_REFUND": "true"},
    )


@given(
    "I have paid for a report on my 2015 Ford F-150, stored in the embedded database",
    target_fixture="submission_id",
)
def paid_in_sqlite(harness):
    sub = harness.save()
    harness.deliver(harness.checkout_and_pay(sub.id))
    return sub.id


class WorkerDied(BaseException):
    """Like SIGKILL as far as the job is concerned: nothing after it runs, no cleanup."""


@given("a worker took the job and died before finishing it")
def worker_died(harness):
    harness.analyzer.fail_next(WorkerDied())
    with pytest.raises(WorkerDied):
        harness.work()  # claimed, started processing, died in the middle of the analysis


@when("the next worker runs before the lease runs out")
def next_worker_early(harness):
    harness.clock.advance(LEASE_SECONDS - 1)
    assert harness.work() == 0


@when("the lease runs out and the next worker runs")
def next_worker_after_lease(harness):
    harness.clock.advance(2)
    assert harness.work() == 1


@when("the operator re-queues it once the analyzer is back")
def operator_requeues(harness, submission_id):
    harness.analyzer.recover()
    harness.container.requeue()(submission_id)
    harness.work()


@then(parsers.parse("the analyzer was asked {count:d} times"))
def analyzer_asked(harness, count):
    assert len(harness.analyzer.calls) == count


@then(parsers.parse("the job was attempted {count:d} times"))
def job_attempted(harness, submission_id, count):
    assert harness.container.jobs().jobs_for(submission_id)[-1].attempts == count


@then("my payment was refunded once")
def refunded_once(harness, submission_id):
    sub = harness.submission(submission_id)
    assert sub.refund_id.startswith("re_local_")
    session = harness.container.checkout_book().get(sub.payment.checkout_session_id)
    assert session.payment_status == "refunded"
    # Asking again (a second worker, a retry) returns the same refund, never a second one.
    assert harness.container.refunds().refund(sub.payment) == sub.refund_id


@when("the refund's own webhook arrives", target_fixture="before_webhook")
def refund_webhook_arrives(harness, submission_id):
    before = harness.submission(submission_id)
    charge = {
        "id": "ch_auto_refund",
        "object": "charge",
        "amount_refunded": before.price_cents,
        "currency": before.currency,
        "metadata": {"submissionId": submission_id},
    }
    secret = harness.container.settings().local_webhook_secret
    event = sign_event(
        build_event("evt_auto_refund", "charge.refunded", charge, harness.clock.now()), secret
    )
    assert harness.deliver(event).outcome == Outcome.ALREADY_REFUNDED
    return before


@then("the webhook changed nothing")
def webhook_changed_nothing(harness, submission_id, before_webhook):
    assert harness.submission(submission_id) == before_webhook
