"""Scenarios that move the clock and break the analyzer: in-process only (@in-process)."""

import logging

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from diagpro.application.payments import Outcome
from diagpro.application.status import report_jobs
from diagpro.domain.errors import RefundRefused
from tests.features.conftest import F150, in_process
from tests.features.drivers import Delivery
from tests.harness import Harness

scenarios("processing.feature")

LEASE_SECONDS = 60


@pytest.fixture
def harness_options():
    # A short lease, so a dead worker's job comes back within the scenario.
    return {"env": {"DIAGPRO_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}}


@given("automatic refunds are on")
def automatic_refunds_on(driver, tmp_path):
    # DIAGPRO_AUTO_REFUND=true: the refund goes through the local checkout, whose book marks the
    # session refunded.
    in_process(driver).harness = Harness.build(
        tmp_path / "auto-refund",
        memory=False,
        env={"DIAGPRO_JOB_LEASE_SECONDS": str(LEASE_SECONDS), "DIAGPRO_AUTO_REFUND": "true"},
    )


class WorkerDied(BaseException):
    """Like SIGKILL as far as the job is concerned: nothing after it runs, no cleanup."""


@given("a worker took the job and died before finishing it")
def worker_died(driver):
    harness = in_process(driver).harness
    harness.analyzer.fail_next(WorkerDied())
    with pytest.raises(WorkerDied):
        harness.work()  # claimed, started processing, died in the middle of the analysis


@when("I pay on the checkout")
def pay(driver, submission_id):
    driver.pay(submission_id)


@when("the next worker runs before the lease runs out")
def next_worker_early(driver):
    harness = in_process(driver).harness
    harness.clock.advance(LEASE_SECONDS - 1)
    assert harness.work() == 0


@when("the lease runs out and the next worker runs")
def next_worker_after_lease(driver):
    harness = in_process(driver).harness
    harness.clock.advance(2)
    assert harness.work() == 1


@when("the operator re-queues it once the analyzer is back")
def operator_requeues(driver, submission_id):
    harness = in_process(driver).harness
    harness.analyzer.recover()
    harness.container.requeue()(submission_id)
    harness.work()


@when("the analyzer is back and I ask for the report to be made again", target_fixture="answer")
def analyzer_back_ask_again(driver, submission_id):
    in_process(driver).harness.analyzer.recover()
    return driver.ask_again(submission_id)


@then(parsers.parse("the analyzer was asked {count:d} times"))
def analyzer_asked(driver, count):
    assert len(in_process(driver).harness.analyzer.calls) == count


@then(parsers.parse("the job was attempted {count:d} times"))
def job_attempted(driver, submission_id, count):
    jobs = report_jobs(in_process(driver).harness.container.jobs(), submission_id)
    assert jobs[-1].attempts == count


@then("my payment was refunded once")
def refunded_once(driver, submission_id):
    harness = in_process(driver).harness
    sub = harness.submission(submission_id)
    assert sub.refund_id.startswith("re_local_")
    session = harness.container.checkout_book().get(sub.payment.checkout_session_id)
    assert session.payment_status == "refunded"
    # Asking again (a second worker, a retry) returns the same refund, never a second one.
    assert harness.container.refunds().refund(sub.payment) == sub.refund_id


@when("the refund's own webhook arrives", target_fixture="before_webhook")
def refund_webhook_arrives(driver, submission_id):
    before = in_process(driver).harness.submission(submission_id)
    assert driver.deliver_refund(submission_id) == Delivery(Outcome.ALREADY_REFUNDED, False)
    return before


@then("the webhook changed nothing")
def webhook_changed_nothing(driver, submission_id, before_webhook):
    assert in_process(driver).harness.submission(submission_id) == before_webhook


# -- the operator's hand (application/operator_actions.py) -------------------------------------
OPERATOR = "ops on call"


@when("the operator runs it now")
def operator_runs_now(driver, submission_id):
    harness = in_process(driver).harness
    assert harness.work() == 0  # left alone, it waits for its retry time
    harness.container.requeue_order()(submission_id, by=OPERATOR)
    assert harness.work() == 1  # due now


@when("the operator refunds it")
def operator_refunds(driver, submission_id):
    in_process(driver).harness.container.refund_order()(submission_id, by=OPERATOR)


@when("the operator tries to refund it", target_fixture="refusal")
def operator_tries_to_refund(driver, submission_id):
    with pytest.raises(RefundRefused) as refused:
        in_process(driver).harness.container.refund_order()(submission_id, by=OPERATOR)
    return refused.value


@then("the operator is told to refund it in the Stripe dashboard")
def told_stripe_dashboard(refusal):
    assert "Stripe dashboard" in refusal.message


@then(parsers.parse('the order records that the operator "{what}"'))
def order_records(driver, submission_id, what):
    action = in_process(driver).harness.submission(submission_id).last_action
    assert action is not None
    assert (action.what.value, action.by) == (what, OPERATOR)


# -- the operator told of an overdue order (application/overdue.py) ------------------------------


def _check_overdue(driver, caplog, minutes: int) -> list[logging.LogRecord]:
    harness = in_process(driver).harness
    harness.clock.advance(minutes=minutes)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="diagpro.orders"):
        harness.container.check_overdue_orders()()
    return [r for r in caplog.records if r.name == "diagpro.orders"]


@when("9 minutes pass without a worker and the sweep runs", target_fixture="told")
def nine_minutes_pass(driver, caplog):
    return _check_overdue(driver, caplog, 9)


@when("another minute passes and the sweep runs", target_fixture="told")
def another_minute_passes(driver, caplog):
    return _check_overdue(driver, caplog, 1)


@then("the operator is told of no overdue order")
def told_of_none(told):
    assert [r.getMessage() for r in told] == [
        "paid orders checked: 0 without a report after 10 min"
    ]


@then("the operator is told my order has had no report for 10 minutes, and why")
def told_of_mine(told, submission_id):
    [overdue] = [r for r in told if r.levelname == "WARNING"]
    assert overdue.getMessage().startswith(
        f"overdue paid order {submission_id}: no report after 10 min (paid, 0 attempt(s)): "
        "no attempt yet: no worker has claimed its job"
    )


@then("the operator is not told my email address or my machine")
def not_told_about_me(told):
    text = " ".join(r.getMessage() for r in told)
    for personal in (F150["email"], F150["make"], F150["model"]):
        assert str(personal) not in text
