"""The guarded lifecycle: legal moves, no-op repeats, refused moves; ids; retry policy; money."""

from dataclasses import replace
from datetime import timedelta

import pytest

from diagpro.domain.analysis import RuledOut
from diagpro.domain.errors import AnalysisInvalid, IllegalTransition
from diagpro.domain.ids import format_submission_id, is_submission_id
from diagpro.domain.jobs import Job, JobState, RetryPolicy
from diagpro.domain.payment import format_money
from diagpro.domain.submission import ALLOWED, OpenCheckout, Status
from tests.builders import T0, make_analysis, make_payment, make_submission


def test_the_happy_path_bumps_the_version_at_each_step():
    sub = make_submission()
    paid = sub.mark_paid(make_payment(), T0)
    processing = paid.start_processing(T0)
    ready = processing.mark_ready("reports/x.pdf", make_analysis(), T0)
    assert [s.status for s in (sub, paid, processing, ready)] == [
        Status.PENDING,
        Status.PAID,
        Status.PROCESSING,
        Status.READY,
    ]
    assert ready.version == sub.version + 3


def test_repeating_a_transition_is_a_no_op():
    paid = make_submission().mark_paid(make_payment(), T0)
    assert paid.mark_paid(make_payment(), T0) is None
    processing = paid.start_processing(T0)
    assert processing.start_processing(T0) is None


@pytest.mark.parametrize(
    ("status", "move"),
    [
        (Status.PENDING, lambda s: s.start_processing(T0)),
        (Status.PENDING, lambda s: s.mark_ready("p", make_analysis(), T0)),
        (Status.READY, lambda s: s.start_processing(T0)),
        (Status.REFUNDED, lambda s: s.mark_failed("x", T0)),
        (Status.PAID, lambda s: s.requeue(T0)),
        (Status.PROCESSING, lambda s: s.remake_report(T0)),
    ],
)
def test_illegal_moves_are_refused_with_both_states_named(status, move):
    with pytest.raises(IllegalTransition) as caught:
        move(make_submission(status=status))
    assert status.value in str(caught.value)


def test_every_state_is_in_the_transition_table():
    assert set(ALLOWED) == set(Status)


def test_a_failed_submission_is_requeued_as_paid_and_counted():
    failed = make_submission(status=Status.FAILED, payment=make_payment(), failure_reason="x")
    again = failed.requeue(T0)
    assert again.status == Status.PAID
    assert again.requeue_count == 1


def test_a_ready_report_whose_file_was_lost_goes_back_to_paid_keeping_its_analysis():
    analysis = make_analysis()
    ready = make_submission(
        status=Status.READY, payment=make_payment(), report_path="reports/x.pdf", analysis=analysis
    )
    again = ready.remake_report(T0)
    assert (again.status, again.report_path, again.analysis) == (Status.PAID, "", analysis)
    assert again.requeue_count == 1


def test_checkout_only_from_pending_and_keys_change_per_session():
    sub = make_submission()
    first_key = sub.checkout_idempotency_key
    opened = sub.checkout_opened(OpenCheckout("cs_1", "u", T0 + timedelta(hours=1)), T0)
    assert opened.checkout_idempotency_key != first_key
    assert opened.checkout_closed(T0).checkout is None
    with pytest.raises(IllegalTransition):
        make_submission(status=Status.PAID).checkout_opened(opened.checkout, T0)


def test_ids_keep_the_original_shape_with_96_random_bits():
    sid = format_submission_id(T0, "ab" * 12)
    assert sid == f"diag_{int(T0.timestamp() * 1000)}_{'ab' * 12}"
    assert is_submission_id(sid)
    assert is_submission_id("diag_1760549969503_ebfce564")  # the original's ids still parse
    assert not is_submission_id("diag_1_x")
    with pytest.raises(ValueError):
        format_submission_id(T0, "abcd1234")


def test_retry_policy_backs_off_exponentially_within_attempts_and_budget():
    policy = RetryPolicy(max_attempts=4, base_delay=timedelta(seconds=2), budget=timedelta(hours=1))
    job = Job("j", "s", JobState.QUEUED, created_at=T0, not_before=T0)
    delays = [
        (policy.next_try(replace(job, attempts=n), T0) - T0).total_seconds() for n in (1, 2, 3)
    ]
    assert delays == [2, 4, 8]
    assert policy.next_try(replace(job, attempts=4), T0) is None
    late = T0 + timedelta(minutes=59, seconds=59)
    assert policy.next_try(replace(job, attempts=1), late) is None


def test_an_analysis_without_causes_next_steps_or_data_needed_is_refused():
    good = make_analysis()
    assert good.check() is good
    with pytest.raises(AnalysisInvalid, match="no ranked cause"):
        replace(good, causes=(), other_pct=100).check()
    with pytest.raises(AnalysisInvalid, match="next steps"):
        replace(good, next_steps=()).check()
    with pytest.raises(AnalysisInvalid, match="no data needed"):
        replace(good, data_needed=()).check()


def test_likelihoods_are_one_distribution_in_order():
    good = make_analysis()
    with pytest.raises(AnalysisInvalid, match="add up to 101%"):
        replace(good, other_pct=good.other_pct + 1).check()
    reversed_causes = tuple(reversed(good.causes))
    with pytest.raises(AnalysisInvalid, match="not in order"):
        replace(good, causes=reversed_causes).check()
    assert good.confidence_pct == good.causes[0].likelihood_pct
    assert good.most_likely_cause == good.causes[0].cause


def test_a_cause_the_owner_ruled_out_is_never_ranked():
    good = make_analysis()
    cleared = RuledOut(cause=good.causes[0].cause, because="your swap cleared it")
    with pytest.raises(AnalysisInvalid, match="both ruled out and ranked"):
        replace(good, ruled_out=(cleared,)).check()
    with pytest.raises(AnalysisInvalid, match="without a reason"):
        replace(good, ruled_out=(RuledOut(cause="Fuel pump", because=" "),)).check()


def test_costs_point_at_a_ranked_cause_and_worst_cases_are_kept_apart():
    good = make_analysis()
    assert [c.worst_case for c in good.worst_cases] == [True]
    assert good.cost_range_cents == (
        good.repairs[0].total_cents_low,
        good.repairs[0].total_cents_high,
    )
    bad = replace(good.costs[0], cause_index=7)
    with pytest.raises(AnalysisInvalid, match="points at cause 7"):
        replace(good, costs=(bad,)).check()


def test_money_is_formatted_in_one_place():
    assert format_money(499, "usd") == "$4.99 USD"
    assert format_money(125_000, "usd") == "$1,250.00 USD"
    assert format_money(100, "eur") == "1.00 EUR"
