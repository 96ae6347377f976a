"""Steps shared by the feature files, in the customer's and operator's words."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from diagpro.domain.errors import AnalysisUnavailable
from tests.harness import AUTOMOTIVE, Harness


@pytest.fixture
def harness(tmp_path):
    return Harness.build(tmp_path)


@pytest.fixture
def ctx():
    return {}


@given(
    parsers.parse('I have described my 2015 Ford F-150 with the codes "{codes}"'),
    target_fixture="submission_id",
)
def described_f150(harness, codes):
    return harness.save({**AUTOMOTIVE, "errorCodes": codes}).id


@given("I have paid for a report on my 2015 Ford F-150", target_fixture="submission_id")
def paid_f150(harness):
    sub = harness.save()
    harness.deliver(harness.checkout_and_pay(sub.id))
    return sub.id


@given(parsers.parse("the analyzer fails {count:d} times"))
def analyzer_fails(harness, count):
    harness.analyzer.fail_next(*[AnalysisUnavailable("the model answered 503")] * count)


@given("the analyzer is down for good")
def analyzer_down(harness):
    analyzer_fails(harness, 1000)


@when("the worker runs")
def worker_runs(harness):
    harness.work()


@when("the worker keeps trying through the whole retry budget")
def worker_keeps_trying(harness):
    for _ in range(10):
        harness.work()
        harness.clock.advance(minutes=3)


@then(parsers.parse('the submission is "{status}"'))
def submission_is(harness, submission_id, status):
    assert harness.submission(submission_id).status.value == status


@then(parsers.parse('the status says "{words}"'))
def status_says(harness, submission_id, words):
    assert words in harness.container.describe()(submission_id).explanation


@then(parsers.parse("{count:d} job is queued"))
@then(parsers.parse("{count:d} jobs are queued"))
def jobs_queued(harness, submission_id, count):
    assert len(harness.container.jobs().jobs_for(submission_id)) == count
