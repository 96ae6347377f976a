"""Where a submission is and why; its download links; re-queueing one that failed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from diagpro.application.health import StoreCheck
from diagpro.application.transitions import change_submission
from diagpro.domain.errors import IllegalTransition, NotPaid, ReportMissing, ReportNotReady
from diagpro.domain.jobs import JobState
from diagpro.domain.ports import Clock, JobQueue, ReportStore, SubmissionStore
from diagpro.domain.report import DownloadLinks
from diagpro.domain.submission import Status, Submission

log = logging.getLogger("diagpro.status")

LINK_TTL_SECONDS = 15 * 60
DELAYED = (
    "Paid; your report is delayed by a problem on our side. It is kept and will be made as "
    "soon as the problem is fixed."
)
REPORT_FILE_MISSING = (
    "Ready, but the report file is missing from storage. Ask for the report again and it is "
    "made again from the analysis already done, at no charge."
)


@dataclass(frozen=True)
class StatusView:
    submission: Submission
    explanation: str  # one sentence a customer understands
    attempts: int
    next_try: datetime | None
    last_error: str
    links: DownloadLinks | None
    delayed: bool = False  # paid, but a store that cannot be written holds the work back

    @property
    def report_missing(self) -> bool:
        """Ready, but the stored PDF is gone: RequeueSubmission makes it again."""
        return self.submission.status == Status.READY and self.links is None


def _explain(sub: Submission, attempts: int, last_error: str, next_try: datetime | None) -> str:
    if sub.status == Status.PENDING:
        if sub.payment_problem:
            return (
                f"Awaiting payment. A payment arrived but was not accepted: {sub.payment_problem}"
            )
        if sub.checkout is not None:
            return "Awaiting payment: a checkout is open."
        return "Saved; awaiting payment."
    if sub.status == Status.PAID:
        return "Paid; the analysis is queued."
    if sub.status == Status.PROCESSING:
        if last_error and next_try is not None:
            return (
                f"Processing. Attempt {attempts} failed ({last_error}); "
                f"trying again at {next_try:%H:%M:%S} UTC."
            )
        return "Processing: the analysis and report are being prepared."
    if sub.status == Status.READY:
        return "Ready: the report can be downloaded."
    if sub.status == Status.FAILED:
        return f"Failed: {sub.failure_reason}"
    if sub.refund_id and sub.failure_reason:
        return (
            "Refunded automatically: the report could not be made "
            f"({sub.failure_reason}). Refund {sub.refund_id}."
        )
    return "Refunded."


class DescribeSubmission:
    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        reports: ReportStore,
        clock: Clock,
        stores: StoreCheck | None = None,
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._reports = reports
        self._clock = clock
        self._stores = stores

    def __call__(self, submission_id: str) -> StatusView:
        sub = self._submissions.get(submission_id)
        history = self._jobs.jobs_for(submission_id)
        latest = history[-1] if history else None
        attempts = sum(j.attempts for j in history)
        waiting = latest is not None and latest.state == JobState.QUEUED
        next_try = latest.not_before if waiting and latest and latest.last_error else None
        last_error = latest.last_error if latest else ""
        links = None
        explanation = _explain(sub, attempts, last_error, next_try)
        # Paid work held back by a full or read-only disk: honest, and no server detail.
        delayed = (
            sub.status in (Status.PAID, Status.PROCESSING)
            and self._stores is not None
            and self._stores.store_writable() is not None
        )
        if delayed:
            explanation = DELAYED
        if sub.status == Status.READY:
            try:
                links = self._reports.links(sub.id, LINK_TTL_SECONDS, self._clock.now())
            except ReportMissing:
                # A paid customer must not be stuck behind a lost file: say so, and say how it
                # is made again (EnsureReport / RequeueSubmission re-render it).
                log.error("submission %s is ready but its report file is missing", sub.id)
                explanation = REPORT_FILE_MISSING
        return StatusView(
            submission=sub,
            explanation=explanation,
            attempts=attempts,
            next_try=next_try,
            last_error=last_error,
            links=links,
            delayed=delayed,
        )


class GetDownloadLinks:
    def __init__(self, submissions: SubmissionStore, reports: ReportStore, clock: Clock) -> None:
        self._submissions = submissions
        self._reports = reports
        self._clock = clock

    def __call__(self, submission_id: str) -> DownloadLinks:
        """Fresh 15-minute links, minted per request and never stored. ReportNotReady until
        the submission is ready."""
        sub = self._submissions.get(submission_id)
        if sub.status != Status.READY:
            raise ReportNotReady(sub.id, sub.status.value)
        return self._reports.links(sub.id, LINK_TTL_SECONDS, self._clock.now())


class RequeueSubmission:
    """Operator or customer asks again: a failed submission goes back to the queue; a paid one
    whose job went missing gets one; a ready one whose report file was lost is made again (from
    its kept analysis). Anything else is refused with the reason."""

    def __init__(
        self, submissions: SubmissionStore, jobs: JobQueue, reports: ReportStore, clock: Clock
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._reports = reports
        self._clock = clock

    def __call__(self, submission_id: str) -> Submission:
        now = self._clock.now()

        def requeue(sub: Submission) -> Submission | None:
            if sub.status == Status.FAILED:
                return sub.requeue(now)
            if sub.status in (Status.PAID, Status.PROCESSING):
                return None
            if sub.status == Status.READY and not self._reports.exists(sub.id):
                return sub.remake_report(now)
            raise IllegalTransition(sub.id, sub.status.value, "re-queued")

        # step 1 of 2: back to the queue's side of the lifecycle (a write on the submission).
        stored, _ = change_submission(self._submissions, submission_id, requeue)
        # step 2 of 2: queue a job. A crash between the steps leaves it paid without a job;
        # asking again (requeue, /reports/ensure) repeats step 2, as step 1 is then a no-op.
        self._jobs.enqueue(stored.id, now)
        return stored


class EnsureReport:
    """A client makes sure a paid submission gets its report: a failed or stuck one is queued
    again (RequeueSubmission's rules), and so is a ready one whose report file was lost; a ready
    one is otherwise left alone; an unpaid one is refused, because the analysis is paid work."""

    def __init__(
        self, submissions: SubmissionStore, reports: ReportStore, requeue: RequeueSubmission
    ) -> None:
        self._submissions = submissions
        self._reports = reports
        self._requeue = requeue

    def __call__(self, submission_id: str) -> bool:
        """True when work was queued (or already is); False when the report is ready.
        Raises NotPaid for a pending submission, IllegalTransition for a refunded one."""
        sub = self._submissions.get(submission_id)
        if sub.status == Status.READY and self._reports.exists(sub.id):
            return False
        if sub.status == Status.PENDING:
            raise NotPaid(sub.id)
        self._requeue(sub.id)
        return True
