"""The success page follows a checkout with one look at the provider; ``/reports/ensure`` and
``/analyzeDiagnostic`` keep their rules in EnsureReport, not in the handler."""

import pytest
from dependency_injector import providers

from diagpro.domain.errors import IllegalTransition, NotPaid
from diagpro.domain.payment import CheckoutSession, PaymentStatus
from diagpro.domain.ports import PaymentGateway
from diagpro.domain.submission import Status
from tests.harness import Harness


class CountingGateway:
    """The configured gateway, counting how often a checkout session is looked up."""

    def __init__(self, inner: PaymentGateway) -> None:
        self._inner = inner
        self.retrieved: list[str] = []

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        self.retrieved.append(session_id)
        return self._inner.retrieve_checkout(session_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


@pytest.fixture(params=["memory", "sqlite"])
def h(request, tmp_path):
    return Harness.build(tmp_path, memory=request.param == "memory")


@pytest.fixture
def gateway(h):
    counting = CountingGateway(h.container.gateway())
    h.container.gateway.override(providers.Object(counting))
    return counting


def test_following_a_paid_checkout_looks_it_up_once_and_fulfils(h, gateway):
    sub = h.save()
    session = h.container.open_checkout()(sub.id)
    h.container.self_checkout().pay(session.id)  # paid; the webhook has not arrived
    gateway.retrieved.clear()

    followed = h.container.follow_checkout()(session.id)

    assert gateway.retrieved == [session.id]
    assert followed.session.payment_status == PaymentStatus.PAID
    assert followed.submission is not None and followed.submission.status == Status.PAID
    assert len(h.container.jobs().jobs_for(sub.id)) == 1


def test_following_an_unpaid_checkout_changes_nothing(h, gateway):
    sub = h.save()
    session = h.container.open_checkout()(sub.id)
    gateway.retrieved.clear()

    followed = h.container.follow_checkout()(session.id)

    assert gateway.retrieved == [session.id]
    assert followed.session.payment_status == PaymentStatus.UNPAID
    assert followed.submission is None
    assert h.submission(sub.id).status == Status.PENDING


def test_following_again_after_fulfilment_queues_nothing_more(h, gateway):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    session_id = h.submission(sub.id).checkout.session_id

    followed = h.container.follow_checkout()(session_id)

    assert followed.submission is not None and followed.submission.status == Status.PAID
    assert len(h.container.jobs().jobs_for(sub.id)) == 1


def test_ensure_refuses_an_unpaid_submission(h):
    sub = h.save()
    with pytest.raises(NotPaid) as refused:
        h.container.ensure_report()(sub.id)
    assert (refused.value.code, refused.value.status) == ("NOT_PAID", "pending")
    assert h.container.jobs().jobs_for(sub.id) == []


def test_ensure_leaves_a_ready_report_alone_and_requeues_a_failed_one(h, tmp_path):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    assert h.container.ensure_report()(sub.id) is False  # ready: nothing queued

    failed = h.save()
    h.deliver(h.checkout_and_pay(failed.id))
    h.container.submissions().update(
        h.submission(failed.id).mark_failed("the analyzer gave up", h.clock.now())
    )
    assert h.container.ensure_report()(failed.id) is True
    assert h.submission(failed.id).status == Status.PAID


def test_a_ready_report_whose_file_is_lost_is_made_again_without_a_second_analysis(tmp_path):
    h = Harness.build(tmp_path, memory=False)
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.work()
    h.container.report_files().file_path(sub.id).unlink()
    view = h.container.describe()(sub.id)
    assert view.report_missing and view.links is None
    assert h.container.ensure_report()(sub.id) is True
    assert h.submission(sub.id).status == Status.PAID
    h.work()
    assert h.submission(sub.id).status == Status.READY
    assert h.container.report_files().file_path(sub.id).exists()
    assert len(h.analyzer.calls) == 1  # the kept analysis was rendered again, not re-asked


def test_ensure_refuses_a_refunded_submission(h):
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    h.container.submissions().update(h.submission(sub.id).mark_refunded(h.clock.now()))
    with pytest.raises(IllegalTransition):
        h.container.ensure_report()(sub.id)
