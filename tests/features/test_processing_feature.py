import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.harness import Harness

scenarios("processing.feature")

LEASE_SECONDS = 60


@pytest.fixture
def harness(tmp_path):
    # The embedded SQLite defaults: leases and backoff are exercised where they really live.
    return Harness.build(
        tmp_path, memory=False, env={"DIAGPRO_JOB_LEASE_SECONDS": str(LEASE_SECONDS)}
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
