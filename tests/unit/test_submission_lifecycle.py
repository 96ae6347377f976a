"""The guarded lifecycle: legal moves, no-op repeats, refused moves; ids; retry policy; money."""

from dataclasses import replace
from datetime import timedelta

import pytest

from diagpro.domain.analysis import RuledOut
from diagpro.domain.errors import AnalysisInvalid, IllegalTransition
from diagpro.domain.ids import format_submission_id, is_submission_id
from diagpro.domain.jobs import Job, JobState, RetryPolicy
from diagpro.domain.payment import ChargeRefunds, Dispute, format_money
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


# -- checkout attempts, refunds and disputes ---------------------------------------------------
LEAST = timedelta(minutes=35)


def test_a_checkout_attempt_is_fixed_until_it_is_opened_or_too_old_to_send():
    sub = make_submission()
    begun = sub.begin_checkout(T0 + timedelta(hours=1), T0, LEAST)
    key = begun.checkout_idempotency_key
    assert key == sub.checkout_idempotency_key  # the first attempt keeps the old key's shape
    # a second later: the same attempt, the same key and expiry
    assert begun.begin_checkout(T0 + timedelta(hours=1, seconds=1), T0, LEAST) is None
    # 40 minutes later it cannot be sent again (Stripe wants 30 minutes ahead): a new key
    later = T0 + timedelta(minutes=40)
    renewed = begun.begin_checkout(later + timedelta(hours=1), later, LEAST)
    assert renewed.checkout_idempotency_key != key
    assert renewed.checkout_attempt.expires_at == later + timedelta(hours=1)
    opened = renewed.checkout_opened(OpenCheckout("cs_1", "u", later + timedelta(hours=1)), later)
    assert opened.checkouts_opened == renewed.checkout_attempt.number
    assert opened.checkout_idempotency_key not in (key, renewed.checkout_idempotency_key)
    with pytest.raises(IllegalTransition):
        make_submission(status=Status.PAID).begin_checkout(T0, T0, LEAST)


def charge(refunded: int, *ids: str, full: bool = False) -> ChargeRefunds:
    return ChargeRefunds("ch_1", 499, refunded, full, ids)


def test_refund_totals_only_grow_and_only_a_full_one_ends_the_order():
    ready = make_submission(status=Status.READY)
    partial = ready.note_refund(charge(100, "re_a"), T0)
    assert (partial.status, partial.refunded_cents, partial.refund_ids) == (
        Status.READY,
        100,
        ("re_a",),
    )
    assert partial.partly_refunded
    assert partial.note_refund(charge(50, "re_a"), T0) is None  # an older total: nothing new
    ended = partial.note_refund(charge(499, "re_a", "re_b", full=True), T0, in_full=True)
    assert (ended.status, ended.refunded_cents, ended.refund_ids) == (
        Status.REFUNDED,
        499,
        ("re_a", "re_b"),
    )
    assert ended.version == partial.version + 1 and not ended.partly_refunded
    with pytest.raises(IllegalTransition):  # never paid: a full refund cannot apply
        make_submission().note_refund(charge(499), T0, in_full=True)


@pytest.mark.parametrize(
    ("refunds", "paid", "full"),
    [
        (ChargeRefunds("ch", 499, 1, False), 499, False),
        (ChargeRefunds("ch", 499, 499, False), 499, True),
        (ChargeRefunds("ch", 0, 499, False), 499, True),  # no amount in the event: what was paid
        (ChargeRefunds("ch", 0, 498, False), 499, False),
        (ChargeRefunds("ch", 499, 0, True), 499, True),  # Stripe's own flag
        (ChargeRefunds("ch", 0, 0, False), 0, False),
    ],
)
def test_what_counts_as_a_refund_in_full(refunds, paid, full):
    assert refunds.is_full(paid) is full


def dispute(status: str, at_minutes: int) -> Dispute:
    return Dispute(
        "du_1", 499, "usd", "fraudulent", status, "ch_1", "pi_1", T0 + timedelta(minutes=at_minutes)
    )


def test_a_dispute_keeps_its_latest_state_whatever_the_delivery_order():
    ready = make_submission(status=Status.READY)
    opened = ready.note_dispute(dispute("needs_response", 0), T0)
    review = opened.note_dispute(dispute("under_review", 5), T0)
    assert [d.status for d in review.disputes] == ["under_review"]
    assert review.note_dispute(dispute("needs_response", 0), T0) is None  # older
    lost = review.note_dispute(dispute("lost", 10), T0)
    assert lost.disputes[0].closed and lost.status == Status.READY
    assert lost.note_dispute(dispute("under_review", 11), T0) is None  # never reopened
    assert lost.note_dispute(dispute("lost", 10), T0) is None  # redelivered
    other = replace(dispute("needs_response", 12), id="du_2")
    assert [d.id for d in lost.note_dispute(other, T0).disputes] == ["du_1", "du_2"]
