"""The customer's emails: one for each event that ends a stage of their order, sent by a job.

When a submission becomes ready, fails for good or is refunded, whoever moved it queues an email
job (``queue_email``); the report job never waits for the mail server. The job reads the
submission as it is *then* and sends the email its state owes (a failure refunded meanwhile gets
one email saying both), at most once per event:

1. write the letter (nothing sent, nothing stored; a ready report's PDF is read for its
   SHA-256, so support can check a forwarded copy);
2. record the attempt as ``sending`` on the submission (compare-and-set) before the mail
   server is asked; an event already ``sent`` stops here;
3. send; 4. record ``sent`` (with what the sender calls it) or ``failed`` (with the error).

A crash between 3 and 4 is the residual at-least-once window: the retried job finds the attempt
still ``sending``, closes it as interrupted and sends again, with the same Message-ID. A server
that does not take the message (``EmailUnavailable``) is retried with a RetryPolicy of its own
(longer than a report's: up to a day, DIAGPRO_EMAIL_*); one that refuses it for good
(``EmailRejected``) ends the job at once. Either way the outcome is on the submission (``diagpro
status``, the status API), and a given-up email is logged at ERROR: a customer who paid is never
left in silence without an operator knowing.

``ResendEmail`` (``diagpro resend-email``) sends the email the submission's state owes again, at
once, with a new Message-ID, recorded like any other attempt.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from diagpro.application.transitions import change_submission
from diagpro.domain.email import (
    EmailAttempt,
    EmailEvent,
    OutgoingEmail,
    event_for,
    message_id,
    was_sent,
)
from diagpro.domain.errors import (
    EmailRejected,
    EmailUnavailable,
    IllegalTransition,
    ReportMissing,
    ReportStorageError,
    StoreUnavailable,
    SubmissionNotFound,
)
from diagpro.domain.jobs import Job, JobKind, RetryPolicy
from diagpro.domain.metering import NO_METER
from diagpro.domain.ports import (
    Clock,
    EmailSender,
    EmailWriter,
    JobQueue,
    Meter,
    ReportStore,
    SubmissionStore,
)
from diagpro.domain.submission import Submission

log = logging.getLogger("diagpro.emails")

# The longest wait between two tries at one email (DIAGPRO_EMAIL_MAX_ATTEMPTS and
# DIAGPRO_EMAIL_BUDGET_SECONDS bound the tries).
EMAIL_MAX_DELAY = timedelta(hours=1)


@dataclass(frozen=True)
class EmailSettings:
    sender_domain: str  # the right-hand side of our Message-IDs (the sender address's domain)
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def queue_email(jobs: JobQueue, submission: Submission, now: datetime) -> None:
    """Queue the email job of a submission whose state owes an email (idempotent: one queued
    email job per submission)."""
    if event_for(submission.status.value) is not None:
        jobs.enqueue(submission.id, now, JobKind.EMAIL)


class _Delivery:
    """Write, record, send, record: shared by the job and the operator's resend."""

    def __init__(
        self,
        submissions: SubmissionStore,
        reports: ReportStore,
        writer: EmailWriter,
        sender: EmailSender,
        clock: Clock,
        settings: EmailSettings,
        meter: Meter = NO_METER,
    ) -> None:
        self._submissions = submissions
        self._reports = reports
        self._writer = writer
        self._sender = sender
        self._clock = clock
        self.settings = settings
        self._meter = meter

    def deliver(self, sub: Submission, event: EmailEvent, *, resend: bool) -> EmailAttempt | None:
        """The finished attempt; None when the event's email was sent already (not a resend).
        Raises EmailUnavailable / EmailRejected after recording the failed attempt, and
        ReportMissing (nothing recorded) when a ready report's file cannot be read."""
        # step 1 of 4: the letter (reads the PDF of a ready report for its SHA-256).
        digest = ""
        if event is EmailEvent.READY:
            digest = hashlib.sha256(self._reports.read(sub.id)).hexdigest()
        letter = self._writer.write(event, sub, digest)
        resends = sum(1 for a in sub.emails if a.event == event and a.resend)
        mid = message_id(sub.id, event, self.settings.sender_domain, resends + 1 if resend else 0)
        # step 2 of 4: record the intent (a write on the submission), before the server is asked.
        now = self._clock.now()
        stored, changed = change_submission(
            self._submissions, sub.id, lambda s: s.begin_email(event, mid, now, resend=resend)
        )
        if not changed:
            return None  # sent already (a redelivery, a second job)
        attempt = stored.emails[-1]
        # step 3 of 4: send. A crash from here to step 4 leaves the attempt "sending": the job's
        # retry sends again with the same Message-ID (the at-least-once window).
        try:
            provider_id = self._sender.send(
                OutgoingEmail(attempt.to, letter, mid, sub.id, sub.intake.full_name)
            )
        except (EmailUnavailable, EmailRejected) as exc:
            rejected = isinstance(exc, EmailRejected)
            self._meter.email(event.value, "rejected" if rejected else "unavailable")
            # step 4 of 4 (failed): record why, then let the caller decide on a retry.
            self._finish(sub.id, attempt.number, error=exc.message)
            raise
        self._meter.email(event.value, "sent")
        # step 4 of 4: record it sent (a write on the submission).
        return self._finish(sub.id, attempt.number, provider_id=provider_id)

    def _finish(
        self, submission_id: str, number: int, *, provider_id: str = "", error: str = ""
    ) -> EmailAttempt:
        now = self._clock.now()
        stored, _ = change_submission(
            self._submissions,
            submission_id,
            lambda s: s.finish_email(number, now, provider_id=provider_id, error=error),
        )
        return next(a for a in stored.emails if a.number == number)


class SendOrderEmail(_Delivery):
    """Works one claimed email job to the end of this attempt."""

    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        reports: ReportStore,
        writer: EmailWriter,
        sender: EmailSender,
        clock: Clock,
        settings: EmailSettings,
        meter: Meter = NO_METER,
    ) -> None:
        super().__init__(submissions, reports, writer, sender, clock, settings, meter)
        self._jobs = jobs

    def work_claimed(self, job: Job) -> bool:
        """True when the job is finished (sent, nothing owed, or given up); False when it waits
        for another attempt."""
        try:
            sub = self._submissions.get(job.submission_id)
        except SubmissionNotFound:
            self._jobs.bury(job, "submission not found")
            return True
        event = event_for(sub.status.value)
        if event is None or was_sent(sub.emails, event) or sub.erased:
            # Nothing (more) owed; or the customer's details were erased (retention, forget)
            # before the email went, and with them the address.
            self._jobs.complete(job, self._clock.now())
            return True
        try:
            attempt = self.deliver(sub, event, resend=False)
        except EmailRejected as exc:
            return self._give_up(job, f"the mail server refused it: {exc.message}")
        except EmailUnavailable as exc:
            return self._later(job, exc.message)
        except ReportMissing as exc:
            # A ready report whose file was lost is being made again; its link must work.
            return self._later(job, exc.message)
        except (StoreUnavailable, ReportStorageError) as exc:
            return self._later(job, exc.message)
        except Exception as exc:  # a bug must not leave the customer unwritten to: retried
            log.exception("email job %s hit an unexpected error", job.id)
            return self._later(job, f"internal error ({type(exc).__name__})")
        if attempt is not None:
            log.info("submission %s: %s email sent (%s)", sub.id, event.value, attempt.provider_id)
        self._jobs.complete(job, self._clock.now())
        return True

    def _later(self, job: Job, reason: str) -> bool:
        retry_at = self.settings.policy.next_try(job, self._clock.now())
        if retry_at is None:
            return self._give_up(job, f"gave up after {job.attempts} attempts: {reason}")
        log.warning(
            "submission %s: email not sent (%s); next try %s", job.submission_id, reason, retry_at
        )
        self._jobs.retry_later(job, retry_at, reason)
        return False

    def _give_up(self, job: Job, reason: str) -> bool:
        log.error(
            "submission %s: the customer's email was not sent: %s; `diagpro resend-email %s` "
            "sends it again",
            job.submission_id,
            reason,
            job.submission_id,
        )
        self._jobs.bury(job, reason)
        return True


class ResendEmail(_Delivery):
    """An operator sends the email a submission's state owes again, now."""

    def __call__(self, submission_id: str) -> EmailAttempt:
        """Raises SubmissionNotFound; IllegalTransition when its state owes no email (pending,
        paid, processing) or its details were erased; EmailUnavailable / EmailRejected
        (recorded) when the server did not take it; ReportMissing when a ready report's file is
        gone."""
        sub = self._submissions.get(submission_id)
        event = event_for(sub.status.value)
        if event is None or sub.erased:
            state = f"{sub.status.value}, erased" if sub.erased else sub.status.value
            raise IllegalTransition(sub.id, state, "emailed")
        attempt = self.deliver(sub, event, resend=True)
        assert attempt is not None  # a resend always begins an attempt
        return attempt


def latest_attempt(sub: Submission) -> EmailAttempt | None:
    return sub.emails[-1] if sub.emails else None
