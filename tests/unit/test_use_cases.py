"""The lifecycle's use cases, over the in-memory fakes and over the embedded SQLite defaults
(both in milliseconds), so a race the fakes hide cannot hide in the real store."""

import json
import threading
from dataclasses import replace

import pytest

from diagpro.adapters.stripe_events import build_event, session_object, sign_event
from diagpro.application.payments import Outcome
from diagpro.application.status import report_jobs
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisUnavailable,
    IllegalTransition,
    PaymentProviderError,
    RenderFailed,
)
from diagpro.domain.jobs import JobState
from diagpro.domain.submission import Status
from tests.harness import Harness


@pytest.fixture(params=["memory", "sqlite"])
def h(request, tmp_path):
    return Harness.build(tmp_path, memory=request.param == "memory")


def test_checkout_is_reused_while_open_and_only_from_pending(h):
    sub = h.save()
    first = h.container.open_checkout()(sub.id)
    assert h.container.open_checkout()(sub.id).id == first.id
    assert first.amount_total == 499 and first.currency == "usd"
    h.deliver(h.container.self_checkout().pay(first.id))
    with pytest.raises(IllegalTransition):
        h.container.open_checkout()(sub.id)


def test_a_session_past_its_hour_is_replaced(h):
    sub = h.save()
    first = h.container.open_checkout()(sub.id)
    h.clock.advance(hours=1, minutes=1)
    assert h.container.open_checkout()(sub.id).id != first.id


def test_concurrent_duplicates_make_one_job(h):
    sub = h.save()
    event = h.checkout_and_pay(sub.id)
    barrier = threading.Barrier(8)

    def deliver():
        barrier.wait()
        h.deliver(event)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(report_jobs(h.container.jobs(), sub.id)) == 1
    assert h.submission(sub.id).status == Status.PAID


def test_the_success_page_and_the_webhook_fulfil_once(h):
    sub = h.save()
    event = h.checkout_and_pay(sub.id)
    session_id = json.loads(event.payload)["data"]["object"]["id"]
    assert h.container.follow_checkout()(session_id).submission.status == Status.PAID
    assert h.deliver(event).outcome == Outcome.ALREADY_PAID
    assert len(report_jobs(h.container.jobs(), sub.id)) == 1


def refunded_charge(submission_id, charge_id):
    """A Stripe charge fully refunded, linked to its submission as our checkout links it."""
    return {
        "id": charge_id,
        "object": "charge",
        "amount_refunded": 499,
        "currency": "usd",
        "metadata": {"submissionId": submission_id},
    }


def signed(h, event_type, obj, event_id="evt_test_1"):
    secret = h.container.settings().local_webhook_secret
    return sign_event(build_event(event_id, event_type, obj, h.clock.now()), secret)


def test_an_unpaid_completion_waits_for_the_async_payment(h):
    sub = h.save()
    session = h.container.open_checkout()(sub.id)
    unpaid = session_object(session) | {"payment_status": "unpaid", "status": "complete"}
    assert h.deliver(signed(h, "checkout.session.completed", unpaid)).outcome == (
        Outcome.AWAITING_PAYMENT
    )
    assert h.submission(sub.id).status == Status.PENDING
    paid = session_object(session) | {"payment_status": "paid"}
    receipt = h.deliver(signed(h, "checkout.session.async_payment_succeeded", paid, "evt_2"))
    assert receipt.outcome == Outcome.FULFILLED


def test_unknown_submissions_and_other_events_are_recorded_not_refused(h):
    session = session_object(h.container.open_checkout()(h.save().id))
    stranger = session | {"metadata": {"submissionId": "diag_1700000000000_" + "0" * 24}}
    stranger["client_reference_id"] = None
    assert h.deliver(signed(h, "checkout.session.completed", stranger)).outcome == (
        Outcome.UNKNOWN_SUBMISSION
    )
    assert h.deliver(signed(h, "customer.created", {"id": "cus_1"}, "evt_3")).outcome == (
        Outcome.IGNORED
    )


def test_a_refund_marks_the_submission_refunded(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    charge = refunded_charge(sub.id, "ch_1")
    assert h.deliver(signed(h, "charge.refunded", charge, "evt_r")).outcome == Outcome.REFUNDED
    assert h.submission(sub.id).status == Status.REFUNDED
    h.work()
    assert h.submission(sub.id).status == Status.REFUNDED  # the queued job finds nothing to do


def test_a_failing_analyzer_is_retried_with_backoff_then_succeeds(h):
    sub = h.save()
    h.analyzer.fail_next(AnalysisUnavailable("Vertex answered 503"), AnalysisInvalid("bad JSON"))
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    view = h.container.describe()(sub.id)
    assert view.submission.status == Status.PROCESSING
    assert "trying again" in view.explanation
    # What failed is the operator's to read (the job's last error), not the customer's.
    assert "503" not in view.explanation and view.last_error == "Vertex answered 503"
    assert h.work() == 0  # not due yet: backoff is a stored time, not a sleep
    h.clock.advance(seconds=2)
    h.work()
    h.clock.advance(seconds=4)
    h.work()
    assert h.submission(sub.id).status == Status.READY
    assert len(h.analyzer.calls) == 3


def test_a_kept_analysis_is_not_paid_for_twice(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.container.renderer().fail_next(RenderFailed("out of memory"))
    h.work()
    assert h.submission(sub.id).status == Status.PROCESSING
    h.clock.advance(seconds=5)
    h.work()
    assert h.submission(sub.id).status == Status.READY
    assert len(h.analyzer.calls) == 1


def test_an_event_the_state_cannot_take_is_recorded_not_raised(h):
    sub = h.save()  # never paid
    charge = refunded_charge(sub.id, "ch_2")
    receipt = h.deliver(signed(h, "charge.refunded", charge, "evt_early_refund"))
    assert receipt.outcome == Outcome.NOT_APPLICABLE
    assert h.submission(sub.id).status == Status.PENDING
    assert h.container.processed_events().outcome("evt_early_refund") == Outcome.NOT_APPLICABLE


def test_a_refund_during_processing_stops_the_work_quietly(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.analyzer.fail_next(AnalysisUnavailable("slow model"))
    h.work()  # attempt 1 fails; the job waits for its backoff
    charge = refunded_charge(sub.id, "ch_3")
    h.deliver(signed(h, "charge.refunded", charge, "evt_refund_mid_work"))
    h.clock.advance(seconds=5)
    h.work()
    assert h.submission(sub.id).status == Status.REFUNDED
    assert report_jobs(h.container.jobs(), sub.id)[-1].state == JobState.DONE


# -- automatic refund after a permanent failure (DIAGPRO_AUTO_REFUND) -------------------------
@pytest.fixture(params=["memory", "sqlite"])
def auto(request, tmp_path):
    return Harness.build(
        tmp_path, memory=request.param == "memory", env={"DIAGPRO_AUTO_REFUND": "true"}
    )


def fail_for_good(h):
    sub = h.save()
    h.analyzer.fail_next(*[AnalysisUnavailable("Vertex answered 503")] * 5)
    h.deliver(h.checkout_and_pay(sub.id))
    for _ in range(5):
        h.work()
        h.clock.advance(minutes=3)
    return sub


def test_a_permanent_failure_is_refunded_automatically_when_enabled(auto):
    refunds = auto.record_refunds()
    sub = fail_for_good(auto)
    refunded = auto.submission(sub.id)
    assert refunded.status == Status.REFUNDED
    session_id = refunded.payment.checkout_session_id
    assert refunded.refund_id == "re_local_" + session_id.removeprefix("cs_local_")
    assert refunded.failure_reason == "Gave up after 5 attempts: Vertex answered 503"
    assert [p.checkout_session_id for p in refunds.asked] == [session_id]
    assert refunds.issued == {session_id: refunded.refund_id}
    book = auto.container.checkout_book().get(session_id)
    assert book.payment_status == "refunded"  # the local checkout's book knows
    assert report_jobs(auto.container.jobs(), sub.id)[-1].state == JobState.DEAD
    view = auto.container.describe()(sub.id)
    assert view.explanation.startswith("Refunded automatically: the report could not be made")
    # The reason is the operator's (kept on the submission); the customer reads a sentence.
    assert "Vertex answered 503" not in view.explanation
    with pytest.raises(IllegalTransition):
        auto.container.requeue()(sub.id)


def test_a_permanent_failure_is_not_refunded_by_default(h):
    refunds = h.record_refunds()
    sub = fail_for_good(h)
    failed = h.submission(sub.id)
    assert failed.status == Status.FAILED
    assert failed.refund_id == ""
    assert refunds.asked == []
    assert h.container.checkout_book().get(failed.payment.checkout_session_id).payment_status == (
        "paid"
    )
    assert h.container.settings().auto_refund is False


def test_a_failed_automatic_refund_leaves_the_submission_failed_and_says_so(auto, caplog):
    refunds = auto.record_refunds()
    refunds.fail_next(PaymentProviderError("Could not refund pi_1: Stripe failed (HTTP 500)"))
    sub = fail_for_good(auto)
    failed = auto.submission(sub.id)
    assert failed.status == Status.FAILED
    assert failed.refund_id == ""
    assert failed.failure_reason == (
        "Gave up after 5 attempts: Vertex answered 503; the automatic refund failed: "
        "Could not refund pi_1: Stripe failed (HTTP 500), an operator must refund it"
    )
    assert len(refunds.asked) == 1 and refunds.issued == {}
    assert any(
        r.levelname == "ERROR" and "automatic refund" in r.getMessage() for r in caplog.records
    )
    # The customer is told plainly; "an operator must refund it" is the operator's to read.
    view = auto.container.describe()(sub.id)
    assert view.explanation.startswith("Failed: We could not make your report.")
    assert "operator" not in view.explanation


def test_an_unexpected_refund_error_is_not_silent_either(auto):
    auto.record_refunds().fail_next(RuntimeError("boom"))
    sub = fail_for_good(auto)
    failed = auto.submission(sub.id)
    assert failed.status == Status.FAILED
    assert "the automatic refund failed: RuntimeError('boom')" in failed.failure_reason


def test_the_refund_id_is_kept_when_the_refund_webhook_wins_the_race(auto):
    sub = fail_for_good(auto)
    # The refund's own webhook marked it refunded before the worker recorded the refund id.
    webhook_first = replace(auto.submission(sub.id), refund_id="")
    kept = webhook_first.mark_refunded(auto.clock.now(), "re_x")
    assert kept is not None and (kept.status, kept.refund_id) == (Status.REFUNDED, "re_x")
    assert kept.mark_refunded(auto.clock.now(), "re_x") is None
    assert kept.mark_refunded(auto.clock.now()) is None
