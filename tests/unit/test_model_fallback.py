"""A model that keeps failing never costs a paid report: the offline analyzer stands in (the
default), or the payment is refunded, and the submission records which happened. A
misconfiguration stays loud even when the customer gets the offline report."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace

import pytest
from dependency_injector import providers

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.application.status import report_jobs
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
)
from diagpro.domain.jobs import JobState
from diagpro.domain.submission import ModelFallback, Status
from diagpro.entrypoints import cli
from diagpro.entrypoints.doctor import vertex_checks
from tests.harness import Harness, container_for_tests

WRONG_SHAPE = AnalysisInvalid(
    "Gemini kept answering in the wrong shape: attempts used up after 4 attempt(s) in 9.0 s; "
    "last: model output refused: Expected `int`, got `str` at $.other_pct"
)
NOT_FOUND = AnalysisMisconfigured(
    "the model gemini-2.5-flash was not found in location global for project p (404)",
    "set VAI_MODEL to a current GA model (e.g. gemini-3.5-flash)",
)
VERTEX = {
    "DIAGPRO_ANALYZER": "vertex",
    "GCP_PROJECT": "p",
    "VAI_MODEL": "gemini-3.5-flash",
    "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example.com",
    "DIAGPRO_API_KEYS": "k" * 32,
}


class FailingAnalyzer:
    def analyse(self, intake, codes, currency):
        raise RuntimeError("the knowledge base is corrupt")


def with_model(tmp_path, env=None) -> Harness:
    """A harness whose scripted analyzer plays the model, with the offline analyzer standing in
    for it the way the container wires it for DIAGPRO_ANALYZER=vertex."""
    h = Harness.build(tmp_path, env=env)
    stand_in = h.container.stand_in_analyzer  # kept unless the setting turns it off
    settings = h.container.settings()
    if settings.model_fallback == "offline":
        stand_in.override(providers.Object(OfflineAnalyzer()))
    return h


def paid(h: Harness) -> str:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def test_wrong_shaped_answers_every_time_give_the_offline_report_at_once(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="diagpro.processing")
    h = with_model(tmp_path)
    sid = paid(h)
    h.analyzer.fail_next(WRONG_SHAPE)
    h.work()
    sub = h.submission(sid)
    assert sub.status == Status.READY
    assert sub.analysis is not None and sub.analysis.offline and sub.analysis.stands_in_for_model
    assert sub.analysis_fallback is ModelFallback.OFFLINE
    assert sub.model_failure == f"Could not be made: {WRONG_SHAPE.message}"
    assert len(h.analyzer.calls) == 1  # not asked (and billed) again
    (job,) = report_jobs(h.container.jobs(), sid)
    assert job.state == JobState.DONE and job.attempts == 1
    assert any(
        sid in r.getMessage() and "offline analyzer" in r.getMessage() for r in caplog.records
    )
    # The renderer got the stand-in analysis, so the PDF can say so.
    rendered = h.container.renderer().rendered[-1]
    assert rendered.analysis.stands_in_for_model


def test_an_outage_uses_the_retry_budget_then_the_offline_report(tmp_path):
    h = with_model(tmp_path)
    sid = paid(h)
    attempts = h.container.settings().job_max_attempts
    h.analyzer.fail_next(*[AnalysisUnavailable("Vertex answered 503")] * attempts)
    for _ in range(attempts):
        h.work()
        h.clock.advance(minutes=5)
    sub = h.submission(sid)
    assert sub.status == Status.READY and sub.analysis_fallback is ModelFallback.OFFLINE
    assert sub.model_failure == f"Gave up after {attempts} attempts: Vertex answered 503"
    assert len(h.analyzer.calls) == attempts


@pytest.mark.parametrize(
    "failure",
    [AnalysisRefused("the model stopped its answer (finish reason SAFETY)"), WRONG_SHAPE],
    ids=["refused", "wrong shape"],
)
def test_a_permanent_model_failure_gives_the_offline_report(tmp_path, failure):
    h = with_model(tmp_path)
    sid = paid(h)
    h.analyzer.fail_next(failure)
    h.work()
    assert h.submission(sid).status == Status.READY
    assert h.container.health().problems() == ()


def test_a_misconfigured_model_is_loud_even_when_the_customer_gets_the_offline_report(
    tmp_path, caplog
):
    caplog.set_level(logging.ERROR, logger="diagpro.processing")
    h = with_model(tmp_path)
    sid = paid(h)
    h.analyzer.fail_next(NOT_FOUND)
    h.work()
    sub = h.submission(sid)
    assert sub.status == Status.READY and sub.analysis_fallback is ModelFallback.OFFLINE
    assert "misconfigured" in sub.model_failure and "VAI_MODEL" in sub.model_failure
    # Still degraded: the offline report does not count as the model working again.
    assert h.container.health().problems() == (f"analyzer: {NOT_FOUND.message}",)
    assert any(
        r.levelno == logging.ERROR and "misconfigured" in r.getMessage() for r in caplog.records
    )


def test_the_refund_fallback_refunds_and_records_why(tmp_path):
    h = with_model(tmp_path, env={"DIAGPRO_MODEL_FALLBACK": "refund"})
    refunds = h.record_refunds()
    sid = paid(h)
    h.analyzer.fail_next(AnalysisRefused("the prompt was blocked (SAFETY)"))
    h.work()
    sub = h.submission(sid)
    assert sub.status == Status.REFUNDED and len(refunds.asked) == 1
    assert sub.analysis_fallback is ModelFallback.REFUND
    assert "the prompt was blocked" in sub.model_failure


def test_auto_refund_means_refund_unless_a_fallback_is_chosen(tmp_path):
    refund = with_model(tmp_path / "a", env={"DIAGPRO_AUTO_REFUND": "true"})
    assert refund.container.settings().model_fallback == "refund"
    chosen = {"DIAGPRO_AUTO_REFUND": "true", "DIAGPRO_MODEL_FALLBACK": "offline"}
    offline = with_model(tmp_path / "b", env=chosen)
    sid = paid(offline)
    offline.analyzer.fail_next(WRONG_SHAPE)
    offline.work()
    assert offline.submission(sid).status == Status.READY


def test_no_fallback_fails_as_before(tmp_path):
    h = with_model(tmp_path, env={"DIAGPRO_MODEL_FALLBACK": "none"})
    sid = paid(h)
    h.analyzer.fail_next(AnalysisRefused("the prompt was blocked (SAFETY)"))
    h.work()
    sub = h.submission(sid)
    assert sub.status == Status.FAILED and sub.analysis_fallback is ModelFallback.NONE


def test_an_offline_analyzer_that_fails_too_fails_the_submission_with_both_reasons(tmp_path):
    h = with_model(tmp_path)
    h.container.stand_in_analyzer.override(providers.Object(FailingAnalyzer()))
    sid = paid(h)
    h.analyzer.fail_next(NOT_FOUND)
    h.work()
    sub = h.submission(sid)
    assert sub.status == Status.FAILED
    assert "misconfigured" in sub.failure_reason
    assert "the offline analyzer failed too (RuntimeError)" in sub.failure_reason


def test_repairs_to_a_models_answer_are_logged_in_one_line_with_the_submission(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="diagpro.processing")

    class Repaired:
        def analyse(self, intake, codes, currency):
            analysis = OfflineAnalyzer().analyse(intake, codes, currency)
            notes = ("likelihoods added up to 175%; scaled to 100%", "next_steps: kept 3 of 4")
            return replace(analysis, corrections=notes)

    h = Harness.build(tmp_path)
    h.container.analyzer.override(providers.Object(Repaired()))
    sid = paid(h)
    h.work()
    (line,) = [r.getMessage() for r in caplog.records if "repaired" in r.getMessage()]
    assert sid in line and "scaled to 100%" in line and "kept 3 of 4" in line


def test_the_container_stands_the_offline_analyzer_in_only_for_a_model(tmp_path):
    assert container_for_tests(tmp_path / "a").stand_in_analyzer() is None
    vertex = container_for_tests(tmp_path / "b", env=VERTEX)
    assert isinstance(vertex.stand_in_analyzer(), OfflineAnalyzer)
    refund = container_for_tests(tmp_path / "c", env={**VERTEX, "DIAGPRO_MODEL_FALLBACK": "refund"})
    assert refund.stand_in_analyzer() is None


def test_diagpro_status_shows_the_operator_what_happened(tmp_path, capsys):
    h = with_model(tmp_path)
    sid = paid(h)
    h.analyzer.fail_next(NOT_FOUND)
    h.work()
    cli._status(h.container, argparse.Namespace(submission_id=sid))
    out = capsys.readouterr().out
    assert "analysis by diagpro's offline knowledge base" in out
    assert "model failed for good, the offline analyzer wrote the report" in out
    assert "VAI_MODEL" in out  # the fix is the operator's to read, here and in the log
    assert "The AI analysis was unavailable" in out  # what the customer is told


def test_diagpro_status_shows_the_failure_the_customer_is_not_shown(tmp_path, capsys):
    h = with_model(tmp_path, env={"DIAGPRO_MODEL_FALLBACK": "none"})
    sid = paid(h)
    h.analyzer.fail_next(NOT_FOUND)
    h.work()
    cli._status(h.container, argparse.Namespace(submission_id=sid))
    out = capsys.readouterr().out
    assert "Failed: We could not make your report." in out
    assert f"failure: Could not be made: the analyzer is misconfigured: {NOT_FOUND.message}" in out


@pytest.mark.parametrize(
    ("env", "ok", "says"),
    [
        ({}, True, "offline: if the model fails, diagpro's offline knowledge base writes"),
        ({"DIAGPRO_AUTO_REFUND": "true"}, True, "refund: if the model fails, the payment is"),
        ({"DIAGPRO_MODEL_FALLBACK": "none"}, False, "no report, no refund"),
    ],
    ids=["default", "auto refund", "none"],
)
def test_the_doctor_says_what_a_paid_order_gets_when_the_model_fails(tmp_path, env, ok, says):
    settings = container_for_tests(tmp_path, env={**VERTEX, **env}).settings()
    check = vertex_checks.model_fallback(settings)
    assert check.ok is ok and says in check.detail
