"""The customer's emails, over the in-memory fakes and the embedded defaults (SQLite, the outbox
folder): one email per order event, sent by a job of its own, retried, recorded, resent."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace

import pytest
from dependency_injector import providers

from diagpro.application.emails import latest_attempt
from diagpro.domain.email import AttemptState, EmailEvent, OutgoingEmail
from diagpro.domain.errors import (
    AnalysisUnavailable,
    EmailRejected,
    EmailUnavailable,
    IllegalTransition,
)
from diagpro.domain.jobs import JobKind, JobState
from diagpro.domain.submission import Status
from tests.harness import AUTOMOTIVE, Harness

SPANISH = {
    **AUTOMOTIVE,
    "problemDescription": "El motor tiembla en ralentí y se enciende la luz del motor cuando "
    "hace frío por la mañana",
}


@pytest.fixture(params=["memory", "sqlite"])
def h(request, tmp_path):
    return Harness.build(tmp_path, memory=request.param == "memory")


def _paid(h: Harness, payload=None) -> str:
    sub = h.save(payload)
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def _email_jobs(h: Harness, sid: str):
    return [j for j in h.container.jobs().jobs_for(sid) if j.kind is JobKind.EMAIL]


class Flaky:
    """An EmailSender that fails as told, then passes the message on."""

    def __init__(self, inner, *failures: BaseException) -> None:
        self.inner = inner
        self.failures = list(failures)
        self.tries = 0

    def send(self, email: OutgoingEmail) -> str:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        return str(self.inner.send(email))


def _flaky(h: Harness, *failures: BaseException) -> Flaky:
    flaky = Flaky(h.container.email_sender(), *failures)
    h.container.email_sender.override(providers.Object(flaky))
    return flaky


class Crash(BaseException):
    """The process dies mid-send (not an error any handler catches)."""


# -- the ready email -----------------------------------------------------------------------------


def test_a_ready_report_sends_one_email_with_its_view_link_id_and_digest(h):
    sid = _paid(h)

    assert h.work() == 1

    (message,) = h.emails()
    assert message["To"].addresses[0].addr_spec == "owner@example.com"
    assert message["Subject"] == "Your diagnostic report is ready: 2015 Ford F-150"
    assert message["Message-ID"].strip() == f"<{sid}.ready@diagpro.localhost>"
    text = _text(message)
    base = h.container.settings().public_base_url.rstrip("/")
    assert f"{base}/view/{sid}\n" in text  # the long-lived page, not a signed link
    assert "signature=" not in text and "expires=" not in text
    assert "Rough idle and shaking at stops, worse when cold" in text
    digest = hashlib.sha256(h.container.reports().read(sid)).hexdigest()
    assert f"Report ID: {sid}" in text and f"SHA-256 of the PDF: {digest}" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'href="{base}/view/{sid}"' in html and digest in html
    (attempt,) = h.submission(sid).emails
    assert (attempt.event, attempt.state, attempt.to) == (
        EmailEvent.READY,
        AttemptState.SENT,
        "owner@example.com",
    )
    assert attempt.provider_id and attempt.finished_at is not None
    assert [j.state for j in _email_jobs(h, sid)] == [JobState.DONE]


def test_the_email_is_in_the_language_of_the_report(h):
    sid = _paid(h, SPANISH)
    h.work()

    assert h.submission(sid).analysis.language == "es"
    (message,) = h.emails()
    assert message["Subject"] == "Su informe de diagnóstico está listo: 2015 Ford F-150"
    assert f"ID del informe: {sid}" in _text(message)


def test_the_report_is_ready_before_the_email_is_sent(h):
    """The email is a job of its own: a mail server that is down never holds the report up."""
    sid = _paid(h)
    _flaky(h, *[EmailUnavailable("connection refused")] * 3)

    assert h.work() == 1

    assert h.submission(sid).status == Status.READY
    assert h.emails() == []
    (job,) = _email_jobs(h, sid)
    assert job.state is JobState.QUEUED and job.last_error == "connection refused"


def test_a_mail_server_that_is_down_is_retried_with_backoff_and_each_attempt_is_kept(h):
    sid = _paid(h)
    flaky = _flaky(h, EmailUnavailable("421 try later"), EmailUnavailable("timed out"))
    h.work()
    h.clock.advance(1)
    h.work()
    assert flaky.tries == 1  # the backoff (2 s) has not passed

    h.clock.advance(2)
    h.work()
    h.clock.advance(4)
    h.work()

    assert len(h.emails()) == 1
    states = [(a.state, a.error) for a in h.submission(sid).emails]
    assert states == [
        (AttemptState.FAILED, "421 try later"),
        (AttemptState.FAILED, "timed out"),
        (AttemptState.SENT, ""),
    ]
    # One Message-ID for the event: the mailbox sees one message however many tries it took.
    assert len({a.message_id for a in h.submission(sid).emails}) == 1


def test_a_refused_email_is_given_up_at_once_loudly_and_shown(h, caplog):
    sid = _paid(h)
    _flaky(h, EmailRejected("550 5.1.1 no such user"))

    with caplog.at_level(logging.ERROR, logger="diagpro.emails"):
        h.work()

    (job,) = _email_jobs(h, sid)
    assert job.state is JobState.DEAD and "550 5.1.1" in job.last_error
    assert latest_attempt(h.submission(sid)).state is AttemptState.FAILED
    assert f"diagpro resend-email {sid}" in caplog.text
    assert h.submission(sid).status == Status.READY  # the report is untouched


def test_a_bug_while_sending_is_retried_not_lost(h, caplog):
    sid = _paid(h)
    _flaky(h, KeyError("oops"))

    h.work()
    (job,) = _email_jobs(h, sid)
    assert job.state is JobState.QUEUED and job.last_error == "internal error (KeyError)"
    h.clock.advance(3)
    h.work()
    assert len(h.emails()) == 1


# -- at most one email per event -----------------------------------------------------------------


def test_a_crash_mid_send_sends_again_with_the_same_message_id(h):
    """The intent is recorded before the server is asked; a crash leaves it 'sending', and the
    retry closes it as interrupted and sends under the same Message-ID (the at-least-once
    window)."""
    sid = _paid(h)
    _flaky(h, Crash())
    with pytest.raises(Crash):
        h.work()
    (dangling,) = h.submission(sid).emails
    assert dangling.state is AttemptState.SENDING

    h.clock.advance(h.container.settings().job_lease_seconds + 1)  # the dead worker's lease
    h.work()

    first, second = h.submission(sid).emails
    assert first.state is AttemptState.FAILED and "interrupted" in first.error
    assert second.state is AttemptState.SENT
    assert first.message_id == second.message_id
    assert len(h.emails()) == 1


def test_another_email_job_after_the_email_was_sent_sends_nothing(h):
    sid = _paid(h)
    h.work()
    h.container.jobs().enqueue(sid, h.clock.now(), JobKind.EMAIL)  # a redelivery, a repair

    h.work()

    assert len(h.emails()) == 1 and len(h.submission(sid).emails) == 1
    assert [j.state for j in _email_jobs(h, sid)] == [JobState.DONE, JobState.DONE]


def test_a_report_made_again_after_its_file_was_lost_sends_no_second_email(h):
    sid = _paid(h)
    h.work()
    # What RemakeLostReport does for a lost file: back to paid, and a report job.
    h.container.submissions().update(h.submission(sid).remake_report(h.clock.now()))
    h.container.jobs().enqueue(sid, h.clock.now())

    assert h.work() == 1

    assert h.submission(sid).status == Status.READY
    assert len(h.emails()) == 1


def test_a_redelivered_refund_event_sends_one_refund_email(h):
    sid = _paid(h)
    h.work()
    refund = h.refund_event(sid)

    assert h.deliver(refund).outcome == "refunded"
    assert h.deliver(refund).duplicate
    h.work()

    _, refunded = h.emails()
    assert refunded["Subject"] == "Your payment was refunded: 2015 Ford F-150"
    text = _text(refunded)
    assert "Your payment for a diagnostic report was refunded." in text
    assert "Amount refunded: $4.99" in text
    assert [a.event for a in h.submission(sid).emails] == [EmailEvent.READY, EmailEvent.REFUNDED]


def test_a_partial_refund_sends_nothing(h):
    sid = _paid(h)
    h.work()

    h.deliver(h.refund_event(sid, cents=100))
    h.work()

    assert len(h.emails()) == 1


# -- the failed and refunded emails ---------------------------------------------------------------


def _fails_for_good(h: Harness) -> None:
    h.analyzer.fail_next(*[AnalysisUnavailable("the model answered 503")] * 50)


def test_a_report_that_failed_for_good_sends_an_honest_email(tmp_path):
    h = Harness.build(
        tmp_path, env={"DIAGPRO_MODEL_FALLBACK": "none", "DIAGPRO_JOB_MAX_ATTEMPTS": "1"}
    )
    sid = _paid(h)
    _fails_for_good(h)

    h.work()

    assert h.submission(sid).status == Status.FAILED
    (message,) = h.emails()
    assert message["Subject"] == "We could not make your diagnostic report: 2015 Ford F-150"
    text = _text(message)
    assert "we could not make your diagnostic report" in text.lower()
    assert f"/success?submission_id={sid}" in text  # where to ask again
    assert "503" not in text  # the operator's reason stays the operator's
    assert "/view/" not in text and "SHA-256" not in text


def test_a_failure_refunded_at_once_sends_one_email_saying_so(tmp_path):
    h = Harness.build(
        tmp_path,
        env={"DIAGPRO_AUTO_REFUND": "true", "DIAGPRO_JOB_MAX_ATTEMPTS": "1"},
    )
    sid = _paid(h)
    _fails_for_good(h)

    h.work()

    assert h.submission(sid).status == Status.REFUNDED
    (message,) = h.emails()
    text = _text(message)
    assert "We could not make your diagnostic report, so we refunded your payment." in text
    assert [a.event for a in h.submission(sid).emails] == [EmailEvent.REFUNDED]


# -- resending ------------------------------------------------------------------------------------


def test_an_operator_resends_the_email_with_a_new_message_id(h):
    sid = _paid(h)
    h.work()

    attempt = h.container.resend_email()(sid)

    assert attempt.resend and attempt.state is AttemptState.SENT
    first, again = h.emails()
    assert again["Message-ID"].strip() == f"<{sid}.ready.resend1@diagpro.localhost>"
    assert first["Message-ID"] != again["Message-ID"]
    assert h.container.resend_email()(sid).message_id.endswith(".resend2@diagpro.localhost>")


def test_resending_is_refused_while_the_order_owes_no_email(h):
    sid = _paid(h)

    with pytest.raises(IllegalTransition):
        h.container.resend_email()(sid)


def test_a_failed_resend_is_recorded_and_raised(h):
    sid = _paid(h)
    h.work()
    _flaky(h, EmailRejected("554 5.7.1 rejected"))

    with pytest.raises(EmailRejected):
        h.container.resend_email()(sid)

    last = latest_attempt(h.submission(sid))
    assert last.resend and last.state is AttemptState.FAILED and "554" in last.error


# -- the records -------------------------------------------------------------------------------


def test_attempts_survive_the_store_round_trip(h):
    sid = _paid(h)
    h.work()

    stored = h.submission(sid)
    assert stored.emails[0] == replace(stored.emails[0])
    assert re.fullmatch(r"<diag_\w+\.ready@diagpro\.localhost>", stored.emails[0].message_id)


def test_erasing_the_recipients_keeps_what_happened(h):
    sid = _paid(h)
    h.work()
    sub = h.submission(sid)

    erased = sub.erase_personal_data(h.clock.now())

    assert erased is not None and [a.to for a in erased.emails] == [""]
    assert [(a.event, a.state) for a in erased.emails] == [(EmailEvent.READY, AttemptState.SENT)]
    assert [a.message_id for a in erased.emails] == [a.message_id for a in sub.emails]


# -- erased orders (retention, forget) -----------------------------------------------------------


def test_an_order_forgotten_before_its_email_went_is_not_written_to(h):
    sid = _paid(h)
    flaky = _flaky(h, EmailUnavailable("421 try later"))
    h.work()  # the report is ready; its email waits for the server
    h.container.forget_customer()(sid)

    h.clock.advance(60)
    h.work()

    assert flaky.tries == 1 and h.emails() == []
    assert [j.state for j in _email_jobs(h, sid)] == [JobState.DONE]


def test_an_erased_order_cannot_be_emailed_again(h):
    sid = _paid(h)
    h.work()
    h.container.forget_customer()(sid)

    with pytest.raises(IllegalTransition):
        h.container.resend_email()(sid)
    assert [a.to for a in h.submission(sid).emails] == [""]


def test_erasing_an_order_deletes_the_outbox_copies_of_its_emails(tmp_path):
    h = Harness.build(tmp_path, memory=False)  # the embedded defaults: the outbox folder
    sid, other = _paid(h), _paid(h)
    h.work()
    outbox = h.container.email_sender().folder
    assert len(list(outbox.glob(f"{sid}.*.eml"))) == 1

    run = h.container.forget_customer()(sid)

    assert list(outbox.glob(f"{sid}.*.eml")) == []
    assert len(list(outbox.glob(f"{other}.*.eml"))) == 1  # another order's stays
    assert run.removed["email"] == 1
