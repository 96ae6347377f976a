"""Personal data kept only DIAGPRO_RETENTION_DAYS: the domain's erasure, the purge and forget
over the in-memory fakes (a moving clock, the memory report store), what an erased order answers,
and the worker's daily chore."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

from diagpro.application.retention import (
    ForgetCustomer,
    NothingToForget,
    PurgeExpiredData,
    ReportEraser,
)
from diagpro.application.status import report_jobs
from diagpro.config import ConfigError, load_settings
from diagpro.domain.errors import IllegalTransition, ReportErased, ReportStorageError
from diagpro.domain.intake import Intake
from diagpro.domain.payment import ChargeRefunds
from diagpro.domain.retention import KEPT_INTAKE_FIELDS
from diagpro.domain.submission import Status, Submission
from diagpro.entrypoints.worker import Chore
from tests.builders import T0, make_analysis, make_payment, make_submission
from tests.doubles import FixedClock
from tests.harness import AUTOMOTIVE, Harness

DAY = timedelta(days=1)
PERSONAL = {
    **AUTOMOTIVE,
    "fullName": "Pat Jones",
    "phone": "+1 555 123 4567",
    "serialNumber": "1FTFW1EF5FFA00000",
    "symptoms": ["shakes at 123 Main St"],
    "previousRepairs": "Jones Garage replaced plugs",
    "shopRecommendation": "Call Pat back on 555 123 4567",
    "shopQuoteAmount": "450",
    "whenStarted": "week",
    "urgencyLevel": "high",
    "fuelType": "gasoline",
}


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness.build(tmp_path)


def delivered(h: Harness, payload: dict[str, object] | None = None) -> Submission:
    """An order paid for and made: ready, its report stored."""
    sub = h.save(payload or PERSONAL)
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    ready = h.submission(sub.id)
    assert ready.status == Status.READY
    return ready


def purge(h: Harness, dry_run: bool = False) -> list[str]:
    run = h.container.purge_expired().until_done(dry_run=dry_run)
    assert not run.failed
    return run.due if dry_run else run.erased


def refunds(amount: int, refund_id: str) -> ChargeRefunds:
    """What Stripe says of the 4.99 charge once ``amount`` of it went back."""
    return ChargeRefunds("ch_1", 499, amount, amount == 499, (refund_id,))


# -- the domain -------------------------------------------------------------------------------


def test_erasure_blanks_every_typed_field_and_keeps_the_accounting() -> None:
    payment = make_payment()
    sub = make_submission(
        status=Status.READY,
        payment=payment,
        analysis=make_analysis(),
        report_path="reports/x.pdf",
        refunded_cents=100,
        refund_ids=("re_1",),
        intake=replace(
            make_submission().intake,
            full_name="Pat",
            phone="555 1234",
            when_started="week",
            usage_pattern="daily",
        ),
    )

    erased = sub.erase_personal_data(T0 + DAY)

    assert erased is not None
    assert erased.erased_at == T0 + DAY and erased.erased
    assert erased.intake == Intake(
        equipment_type="automotive",
        email="",
        when_started="week",
        usage_pattern="daily",
        frequency=sub.intake.frequency,
        urgency_level=sub.intake.urgency_level,
    )
    assert erased.analysis is None and erased.report_path == ""
    # What accounting needs, as it was.
    assert (erased.status, erased.payment, erased.price_cents, erased.currency) == (
        Status.READY,
        payment,
        sub.price_cents,
        sub.currency,
    )
    assert (erased.refunded_cents, erased.refund_ids, erased.created_at) == (100, ("re_1",), T0)
    assert erased.version == sub.version + 1
    # Every intake field not kept is blank.
    blank = Intake(equipment_type="automotive", email="")
    for name in Intake.__dataclass_fields__:
        if name not in KEPT_INTAKE_FIELDS:
            assert getattr(erased.intake, name) == getattr(blank, name), name


def test_erasing_twice_does_nothing_and_an_order_in_flight_is_refused() -> None:
    erased = make_submission().erase_personal_data(T0)
    assert erased is not None
    assert erased.erase_personal_data(T0 + DAY) is None

    for status in (Status.PAID, Status.PROCESSING):
        with pytest.raises(IllegalTransition):
            make_submission(status=status, payment=make_payment()).erase_personal_data(T0)


def test_an_erased_order_is_never_made_again() -> None:
    failed = make_submission(status=Status.FAILED, payment=make_payment())
    ready = make_submission(status=Status.READY, payment=make_payment())
    for sub, move in ((failed, "requeue"), (ready, "remake_report")):
        erased = sub.erase_personal_data(T0)
        assert erased is not None
        with pytest.raises(IllegalTransition, match="erased"):
            getattr(erased, move)(T0)


def test_a_refund_after_erasure_is_still_recorded() -> None:
    erased = make_submission(status=Status.READY, payment=make_payment()).erase_personal_data(T0)
    assert erased is not None

    refunded = erased.note_refund(refunds(499, "re_9"), T0 + DAY, in_full=True)

    assert refunded is not None and refunded.status == Status.REFUNDED
    assert refunded.erased_at == T0


# -- the purge --------------------------------------------------------------------------------


def test_after_the_period_the_details_and_report_are_gone_and_the_accounting_stays(
    h: Harness,
) -> None:
    order = delivered(h)
    reports = h.container.reports()
    assert reports.exists(order.id)

    h.clock.advance(days=90, seconds=1)
    assert purge(h) == [order.id]

    erased = h.submission(order.id)
    assert erased.erased_at == h.clock.now()
    assert erased.intake.email == "" and erased.intake.full_name == ""
    assert erased.intake.serial_number == "" and erased.intake.symptoms == ()
    assert erased.intake.details == () and erased.intake.shop_quote_cents is None
    assert erased.analysis is None
    assert not reports.exists(order.id)
    assert (erased.status, erased.payment, erased.checkout) == (
        Status.READY,
        order.payment,
        order.checkout,
    )
    assert (erased.intake.equipment_type, erased.intake.when_started) == ("automotive", "week")


def test_before_the_period_ends_nothing_is_erased(h: Harness) -> None:
    order = delivered(h)
    h.clock.advance(days=90)  # exactly the period: not yet past it

    assert purge(h, dry_run=True) == []
    assert purge(h) == []
    assert h.submission(order.id).intake.email == "owner@example.com"


def test_a_second_purge_does_nothing(h: Harness) -> None:
    order = delivered(h)
    h.clock.advance(days=91)
    assert purge(h) == [order.id]
    version = h.submission(order.id).version

    h.clock.advance(days=1)
    again = h.container.purge_expired().until_done()

    assert again.erased == [] and again.removed == {}
    assert h.submission(order.id).version == version


def test_a_dry_run_lists_what_would_go_and_changes_nothing(h: Harness) -> None:
    order = delivered(h)
    unpaid = h.save(PERSONAL)
    h.clock.advance(days=91)

    assert sorted(purge(h, dry_run=True)) == sorted([order.id, unpaid.id])

    assert not h.submission(order.id).erased and not h.submission(unpaid.id).erased
    assert h.container.reports().exists(order.id)


def test_the_period_runs_from_the_last_change(h: Harness) -> None:
    order = delivered(h)
    h.clock.advance(days=80)
    # A late partial refund changes the order: its period starts again.
    sub = h.submission(order.id)
    refunded = sub.note_refund(refunds(100, "re_1"), h.clock.now())
    assert refunded is not None
    h.container.submissions().update(refunded)

    h.clock.advance(days=20)
    assert purge(h) == []
    h.clock.advance(days=71)
    assert purge(h) == [order.id]


def test_refunded_failed_and_unpaid_orders_follow_the_same_rule(h: Harness) -> None:
    unpaid = h.save(PERSONAL)
    failed = h.save(PERSONAL)
    h.deliver(h.checkout_and_pay(failed.id))
    store = h.container.submissions()
    paid = store.get(failed.id)
    processing = paid.start_processing(h.clock.now())
    assert processing is not None
    store.update(processing)
    done = processing.mark_failed("renderer crashed", h.clock.now())
    assert done is not None
    store.update(done)
    refunded = delivered(h)
    back = h.submission(refunded.id).mark_refunded(h.clock.now(), refund_id="re_1")
    assert back is not None
    store.update(back)

    h.clock.advance(days=91)

    assert sorted(purge(h)) == sorted([unpaid.id, failed.id, refunded.id])
    assert h.submission(refunded.id).status == Status.REFUNDED
    assert h.submission(refunded.id).refund_id == "re_1"


def test_a_paid_order_not_yet_made_is_never_erased(h: Harness) -> None:
    order = h.save(PERSONAL)
    h.deliver(h.checkout_and_pay(order.id))  # paid; no worker ran

    h.clock.advance(days=400)

    assert purge(h) == []
    assert h.submission(order.id).intake.email == "owner@example.com"
    h.work()  # the report it was paid for can still be made
    assert h.submission(order.id).status == Status.READY


class BrokenEraser:
    name = "emails"

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[str] = []

    def erase(self, submission_id: str) -> int:
        self.calls.append(submission_id)
        if self.broken:
            raise ReportStorageError("outbox folder is read-only")
        return 2


def test_an_eraser_that_fails_leaves_the_order_due_and_the_next_run_finishes_it(
    h: Harness,
) -> None:
    order = delivered(h)
    broken = BrokenEraser()
    erasers = [ReportEraser(h.container.reports()), broken]
    purge_now = PurgeExpiredData(h.container.submissions(), erasers, h.clock, 90)
    h.clock.advance(days=91)

    first = purge_now()
    assert first.erased == [] and list(first.failed) == [order.id]
    assert "read-only" in first.failed[order.id]
    assert not h.submission(order.id).erased

    broken.broken = False
    second = purge_now()
    assert second.erased == [order.id] and not second.failed
    assert second.removed == {"report": 0, "emails": 2}  # the report went on the first run
    assert h.submission(order.id).erased


def test_an_order_that_changed_while_it_was_being_erased_is_left_for_its_new_period(
    h: Harness,
) -> None:
    order = delivered(h)
    store = h.container.submissions()
    h.clock.advance(days=91)

    class RefundArrives:
        """A refund's webhook lands between the purge's read and its write."""

        name = "race"

        def erase(self, submission_id: str) -> int:
            current = store.get(submission_id)
            moved = current.note_refund(refunds(100, "re_2"), h.clock.now())
            assert moved is not None
            store.update(moved)
            return 0

    run = PurgeExpiredData(store, [RefundArrives()], h.clock, 90)()

    assert run.erased == [] and run.changed == [order.id]
    assert not h.submission(order.id).erased


def test_the_purge_goes_through_every_due_order_batch_after_batch(h: Harness) -> None:
    orders = [h.save(PERSONAL).id for _ in range(5)]
    h.clock.advance(days=91)
    purge_now = h.container.purge_expired()

    first = purge_now(limit=2)
    assert len(first.erased) == 2 and first.more

    rest = purge_now.until_done()
    assert sorted(first.erased + rest.erased) == sorted(orders)


# -- forget -----------------------------------------------------------------------------------


def test_forget_erases_every_order_under_an_email_at_once_and_no_other(h: Harness) -> None:
    mine = [delivered(h).id, h.save(PERSONAL).id]
    upper = h.save({**PERSONAL, "email": "OWNER@Example.com"}).id
    theirs = h.save({**PERSONAL, "email": "someone@example.com"}).id

    run = h.container.forget_customer()("Owner@example.com")

    assert sorted(run.erased) == sorted([*mine, upper])
    assert run.removed == {"report": 1, "checkout email": 1}
    assert all(h.submission(sid).erased for sid in [*mine, upper])
    assert not h.submission(theirs).erased


def test_forget_by_id_and_again_finds_it_erased(h: Harness) -> None:
    order = delivered(h)
    forget = h.container.forget_customer()

    assert forget(order.id).erased == [order.id]
    again = forget(order.id)

    assert again.erased == [] and again.already_erased == [order.id] and again.complete
    with pytest.raises(NothingToForget):
        forget("owner@example.com")  # an erased order holds no email any more


@pytest.mark.parametrize(
    "who", ["nobody@example.com", "diag_1795694400000_00112233445566778899aabb", "Pat Jones", ""]
)
def test_forget_refuses_clearly_when_nothing_matches(h: Harness, who: str) -> None:
    h.save(PERSONAL)
    with pytest.raises(NothingToForget) as refused:
        h.container.forget_customer()(who)
    assert refused.value.code == "NOTHING_TO_FORGET"
    assert refused.value.message


def test_forget_holds_an_order_still_being_made_and_says_so(h: Harness) -> None:
    done = delivered(h)
    paid = h.save(PERSONAL)
    h.deliver(h.checkout_and_pay(paid.id))  # paid; no worker ran

    run = ForgetCustomer(h.container.submissions(), [], h.clock)("owner@example.com")

    assert run.held == [paid.id] and run.erased == [done.id] and not run.complete
    assert not h.submission(paid.id).erased


def test_nothing_personal_is_logged(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    order = delivered(h)
    caplog.set_level("DEBUG")
    h.container.forget_customer()("owner@example.com")
    h.clock.advance(days=91)
    purge(h)

    text = caplog.text
    assert order.id in text
    for secret in ("owner@example.com", "Pat Jones", "1FTFW1EF5FFA00000", "555 123 4567"):
        assert secret not in text


# -- what an erased order answers ------------------------------------------------------------


def test_an_erased_order_says_when_it_was_erased_and_is_never_made_again(h: Harness) -> None:
    order = delivered(h)
    h.clock.advance(days=91)
    purge(h)

    view = h.container.describe()(order.id)

    assert view.submission.status == Status.READY
    assert "erased on" in view.explanation and view.links is None
    assert not view.report_missing
    for use_case in (h.container.download_links(), h.container.ensure_report()):
        with pytest.raises(ReportErased) as refused:
            use_case(order.id)
        assert refused.value.code == "REPORT_ERASED"
    with pytest.raises(ReportErased):
        h.container.requeue()(order.id)
    assert h.submission(order.id).status == Status.READY  # nothing was queued
    assert len(report_jobs(h.container.jobs(), order.id)) == 1


# -- the setting and the worker's chore -----------------------------------------------------------


def test_the_retention_setting_defaults_to_90_days_and_refuses_nonsense() -> None:
    assert load_settings({}).retention_days == 90
    assert load_settings({"DIAGPRO_RETENTION_DAYS": "30"}).retention_days == 30
    for bad, why in (("0", "at least 1"), ("-5", "at least 1"), ("ninety", "not a number")):
        with pytest.raises(ConfigError, match=f"DIAGPRO_RETENTION_DAYS='{bad}' .*{why}"):
            load_settings({"DIAGPRO_RETENTION_DAYS": bad})


def test_the_container_purges_with_the_configured_period(tmp_path: Path) -> None:
    h = Harness.build(tmp_path, env={"DIAGPRO_RETENTION_DAYS": "7"})
    order = delivered(h)
    h.clock.advance(days=7, seconds=1)

    assert purge(h) == [order.id]


def test_the_worker_chore_runs_at_start_then_daily_and_retries_a_failure_hourly() -> None:
    clock = FixedClock()
    calls: list[object] = []
    failing = [True]

    def work() -> None:
        calls.append(clock.now())
        if failing[0]:
            raise RuntimeError("store down")

    chore = Chore(work, clock)
    chore.run_if_due()  # at start: fails
    clock.advance(minutes=59)
    chore.run_if_due()  # not yet an hour
    assert len(calls) == 1
    clock.advance(minutes=1)
    failing[0] = False
    chore.run_if_due()  # retried after an hour, works
    clock.advance(hours=23, minutes=59)
    chore.run_if_due()
    assert len(calls) == 2
    clock.advance(minutes=1)
    chore.run_if_due()
    assert len(calls) == 3


def test_an_inline_worker_purges_when_it_starts(h: Harness) -> None:
    import threading

    from diagpro.entrypoints.worker import run_worker, worker_chores

    order = delivered(h)
    h.clock.advance(days=91)

    run_worker(
        h.container.process_jobs(),
        h.container.jobs(),
        h.clock,
        threading.Event(),
        until_idle=True,
        chores=worker_chores(h.container),
    )

    assert h.submission(order.id).erased


def test_the_container_wires_the_report_and_local_checkout_erasers(h: Harness) -> None:
    erasers = h.container.erasers()
    assert [eraser.name for eraser in erasers] == ["report", "checkout email"]
    h.container.erasers.override(providers.List())
    assert list(h.container.erasers()) == []


def test_the_local_checkout_forgets_the_email_of_an_erased_order(h: Harness) -> None:
    order = delivered(h)
    other = delivered(h, {**PERSONAL, "email": "sam@example.org"})
    book = h.container.checkout_book()

    run = h.container.forget_customer()(order.id)

    assert run.removed == {"report": 1, "checkout email": 1}
    session_id = h.submission(order.id).payment.checkout_session_id  # type: ignore[union-attr]
    assert book.get(session_id).customer_email == ""  # type: ignore[union-attr]
    kept = h.submission(other.id).payment.checkout_session_id  # type: ignore[union-attr]
    assert book.get(kept).customer_email == "sam@example.org"  # type: ignore[union-attr]


def test_an_erased_order_cannot_be_checked_out_again(h: Harness) -> None:
    order = h.save(PERSONAL)
    h.container.forget_customer()(order.id)

    with pytest.raises(IllegalTransition, match="erased"):
        h.container.open_checkout()(order.id)


def test_a_payment_arriving_after_the_erasure_fails_the_order_and_is_refunded(
    tmp_path: Path,
) -> None:
    h = Harness.build(tmp_path, env={"DIAGPRO_AUTO_REFUND": "true"})
    order = h.save(PERSONAL)
    session = h.container.open_checkout()(order.id)
    h.container.forget_customer()(order.id)  # the customer asked before paying
    self_checkout = h.container.self_checkout()
    assert self_checkout is not None

    h.deliver(self_checkout.pay(session.id))  # then the payment lands anyway
    h.work()

    late = h.submission(order.id)
    assert late.status == Status.REFUNDED
    assert "erased before the payment arrived" in late.failure_reason
    assert late.payment is not None and late.refund_id


def test_an_erased_order_never_paid_says_its_details_were_erased(h: Harness) -> None:
    order = h.save(PERSONAL)
    h.clock.advance(days=91)
    purge(h)

    explanation = h.container.describe()(order.id).explanation

    assert explanation.startswith("Never paid. Its details were erased on ")


# -- the embedded database's journal ---------------------------------------------------------------


def test_forgetting_leaves_no_copy_of_the_erased_text_in_the_database_files(tmp_path: Path) -> None:
    """WAL keeps a changed row's old version in the -wal file until it is written over; a
    PASSIVE checkpoint never forces that. The erasure empties the journal itself."""
    h = Harness.build(tmp_path, memory=False)
    kept = h.save({**AUTOMOTIVE, "email": "stays@example.com"})
    order = h.save({**AUTOMOTIVE, "email": "leaves.for.good@example.com", "fullName": "Quinn Zed"})
    h.deliver(h.checkout_and_pay(order.id))
    h.work()
    database = Path(h.container.database().path)

    h.container.forget_customer()(order.id)

    on_disk = b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )
    assert b"leaves.for.good" not in on_disk and b"Quinn Zed" not in on_disk
    assert b"stays@example.com" in on_disk  # only the erased order's text is gone
    assert h.submission(kept.id).intake.email == "stays@example.com"
