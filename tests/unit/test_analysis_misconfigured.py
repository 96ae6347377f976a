"""A configuration problem (a retired model, a rejected schema, a missing permission) or a model
that refuses the request fails the job at once: retrying cannot fix it and is billed again. A
configuration problem also makes the service report itself degraded until an analysis works."""

from __future__ import annotations

import logging

import pytest

from diagpro.application.status import report_jobs
from diagpro.domain.errors import AnalysisMisconfigured, AnalysisRefused, AnalysisUnavailable
from diagpro.domain.jobs import JobState
from diagpro.domain.submission import Status
from tests.harness import Harness

NOT_FOUND = AnalysisMisconfigured(
    "the model gemini-2.5-flash was not found in location global for project p (404)",
    "set VAI_MODEL to a current GA model (e.g. gemini-3.5-flash)",
)


@pytest.fixture(params=["memory", "sqlite"])
def h(request, tmp_path):
    return Harness.build(tmp_path, memory=request.param == "memory")


def paid(h: Harness) -> str:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def test_a_misconfigured_analyzer_fails_the_job_at_once_with_the_reason(h, caplog):
    caplog.set_level(logging.ERROR, logger="diagpro.processing")
    sid = paid(h)
    h.analyzer.fail_next(NOT_FOUND)
    h.work()
    failed = h.submission(sid)
    assert failed.status == Status.FAILED
    assert failed.failure_reason == (
        f"Could not be made: the analyzer is misconfigured: {NOT_FOUND.message}"
    )
    assert "VAI_MODEL" in failed.failure_reason  # what the operator must change
    (job,) = report_jobs(h.container.jobs(), sid)
    assert job.state == JobState.DEAD and job.attempts == 1  # the retry budget is untouched
    assert len(h.analyzer.calls) == 1
    h.clock.advance(minutes=30)
    assert h.work() == 0  # nothing left to retry
    assert any("misconfigured" in r.getMessage() for r in caplog.records)
    # The customer is not told about VAI_MODEL: that is the operator's to read.
    explanation = h.container.describe()(sid).explanation
    assert explanation.startswith("Failed: We could not make your report.")
    assert "VAI_MODEL" not in explanation and "misconfigured" not in explanation


def test_a_misconfigured_analyzer_degrades_health_until_an_analysis_works(h):
    health = h.container.health()
    assert health.problems() == ()
    h.analyzer.fail_next(NOT_FOUND)
    paid(h)
    h.work()
    assert health.problems() == (f"analyzer: {NOT_FOUND.message}",)
    # The operator fixes VAI_MODEL; the next paid report works and clears the problem.
    sid = paid(h)
    h.work()
    assert h.submission(sid).status == Status.READY
    assert health.problems() == ()


def test_a_refused_request_fails_at_once_without_degrading_health(h):
    sid = paid(h)
    h.analyzer.fail_next(AnalysisRefused("the model stopped its answer (finish reason SAFETY)"))
    h.work()
    failed = h.submission(sid)
    assert failed.status == Status.FAILED
    assert "refused the request" in failed.failure_reason and "SAFETY" in failed.failure_reason
    assert len(h.analyzer.calls) == 1
    assert h.container.health().problems() == ()


def test_a_passing_outage_still_uses_the_retry_budget(h):
    sid = paid(h)
    h.analyzer.fail_next(AnalysisUnavailable("Vertex answered 503"))
    h.work()
    assert h.submission(sid).status == Status.PROCESSING
    assert h.container.health().problems() == ()


def test_a_misconfigured_analyzer_is_refunded_at_once_when_enabled(tmp_path):
    auto = Harness.build(tmp_path, env={"DIAGPRO_AUTO_REFUND": "true"})
    refunds = auto.record_refunds()
    sid = paid(auto)
    auto.analyzer.fail_next(NOT_FOUND)
    auto.work()
    refunded = auto.submission(sid)
    assert refunded.status == Status.REFUNDED
    assert len(refunds.asked) == 1
    assert "misconfigured" in refunded.failure_reason


def test_each_container_has_its_own_health(tmp_path):
    first = Harness.build(tmp_path / "a")
    second = Harness.build(tmp_path / "b")
    first.container.health().report("analyzer", "broken")
    assert second.container.health().problems() == ()
