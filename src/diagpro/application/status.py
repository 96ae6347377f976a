"""Where a submission is and why; its download links; re-queueing one that failed.

A ready submission whose stored report file was lost (a wiped disk, a deleted bucket object) is
never a dead end: whoever asks for it (its status, a link, ``/reports/ensure``, ``diagpro
requeue``) queues it to be made again from the analysis kept on the submission, so the model is
not asked (or paid) twice, and meanwhile it reads as being prepared, never as not found.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from diagpro.application.health import StoreCheck
from diagpro.application.transitions import change_submission
from diagpro.domain.actions import ActionKind
from diagpro.domain.errors import (
    IllegalTransition,
    NotPaid,
    ReportBeingRemade,
    ReportErased,
    ReportMissing,
    ReportNotReady,
)
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.ports import Clock, JobQueue, ReportStore, SubmissionStore
from diagpro.domain.report import DownloadLinks
from diagpro.domain.submission import ModelFallback, Status, Submission

log = logging.getLogger("diagpro.status")

LINK_TTL_SECONDS = 15 * 60
REPORT_BEING_REMADE = (
    "Being prepared: the report file was lost from storage and is being made again from the "
    "analysis already done, at no charge."
)


# What a customer reads when the report failed. The reason itself (``failure_reason``) is the
# operator's: it can name a setting, a model id or a server path, and goes to the log and to
# `diagpro status` only.
REPORT_FAILED = (
    "We could not make your report. You can ask for it again; if it fails again, contact "
    "support with your submission ID and we will refund you."
)
REFUNDED_AUTOMATICALLY = "the report could not be made, so the payment was refunded in full."
WRITTEN_BY_STAND_IN = (
    "The AI analysis was unavailable, so this report was written from diagpro's built-in "
    "knowledge base."
)
DELAYED = (
    "Paid; your report is delayed by a problem on our side. It is kept and will be made as "
    "soon as the problem is fixed."
)


@dataclass(frozen=True)
class StatusView:
    submission: Submission
    explanation: str  # one sentence a customer understands
    attempts: int
    next_try: datetime | None
    last_error: str
    links: DownloadLinks | None
    queued_at: datetime | None = None  # when the work under way now was queued
    remaking: bool = False  # a lost report file is being made again from the kept analysis
    delayed: bool = False  # paid, but a store that cannot be written holds the work back

    @property
    def customer_failure(self) -> str:
        """Why it failed, in a plain sentence: never the operator's reason."""
        return REPORT_FAILED if self.submission.status == Status.FAILED else ""

    @property
    def report_missing(self) -> bool:
        """Ready, yet no link could be made: made again by another request and lost once
        more in the instant between (no job queued this time; the next ask queues one).
        Callers show it as being prepared, never as not found."""
        sub = self.submission
        return sub.status == Status.READY and self.links is None and not sub.erased


def erased_on(sub: Submission) -> str:
    """When its personal data was erased, as a customer reads it: ``2026-11-26 12:00 UTC``."""
    return f"{sub.erased_at:%Y-%m-%d %H:%M} UTC" if sub.erased_at is not None else ""


ERASED = (
    "Its details{report} were erased on {on}: diagpro keeps personal data only for a "
    "limited time (or until you ask us to forget it)."
)


def _explain(sub: Submission, attempts: int, last_error: str, next_try: datetime | None) -> str:
    if sub.erased:
        done = {
            Status.PENDING: "Never paid.",
            Status.READY: "Delivered.",
            Status.FAILED: "Failed.",
            Status.REFUNDED: "Refunded.",
        }.get(sub.status, f"{sub.status.value.capitalize()}.")
        report = "" if sub.status == Status.PENDING else " and report"
        return f"{done} {ERASED.format(report=report, on=erased_on(sub))}"
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
        # ``last_error`` is the operator's detail (a storage error names a server path): the
        # customer is told only that an attempt did not finish and when the next one is.
        if last_error and next_try is not None:
            return (
                f"Processing. Attempt {attempts} did not finish; "
                f"trying again at {next_try:%H:%M:%S} UTC."
            )
        return "Processing: the analysis and report are being prepared."
    if sub.status == Status.READY:
        if sub.analysis_fallback == ModelFallback.OFFLINE:
            return f"Ready: the report can be downloaded. {WRITTEN_BY_STAND_IN}"
        return "Ready: the report can be downloaded."
    if sub.status == Status.FAILED:
        return f"Failed: {REPORT_FAILED}"
    # Refunded by diagpro after the failure (an operator's refund is recorded as an action).
    by_operator = any(action.what is ActionKind.REFUNDED for action in sub.actions)
    if sub.refund_id and sub.failure_reason and not by_operator:
        return f"Refunded automatically: {REFUNDED_AUTOMATICALLY} Refund {sub.refund_id}."
    return "Refunded."


class RemakeLostReport:
    """A ready submission whose report file is gone goes back to the queue (``remake_report``
    keeps its analysis) and gets one job. Two requests at once queue one re-render: the
    compare-and-set lets one of them move it, the other finds it paid already, and the queue
    keeps one job per submission."""

    def __init__(
        self, submissions: SubmissionStore, jobs: JobQueue, reports: ReportStore, clock: Clock
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._reports = reports
        self._clock = clock

    def __call__(self, submission_id: str) -> Submission:
        """The submission as stored afterwards: paid (queued) when its file was lost, as it was
        otherwise. Raises IllegalTransition only through a bug (never for a lost file)."""
        now = self._clock.now()

        def remake(sub: Submission) -> Submission | None:
            # An erased report was deleted on purpose: never made again.
            if sub.status == Status.READY and not sub.erased and not self._reports.exists(sub.id):
                return sub.remake_report(now)
            return None

        # step 1 of 2: back to paid, keeping the analysis (a write on the submission).
        stored, changed = change_submission(self._submissions, submission_id, remake)
        if changed:
            log.warning(
                "submission %s: its report file was lost; queued to be made again from the "
                "kept analysis",
                stored.id,
            )
        # step 2 of 2: queue the job. A crash between the steps leaves it paid without a job;
        # asking again (requeue, /reports/ensure) repeats step 2. Queued again when it was
        # already paid: the queue answers with the job it has, so a racing request adds none.
        if stored.status == Status.PAID:
            self._jobs.enqueue(stored.id, now)
        return stored

    def under_way(self, sub: Submission) -> bool:
        """True while a lost report file of ``sub`` is being made again."""
        return _remaking(sub, report_jobs(self._jobs, sub.id))


def report_jobs(jobs: JobQueue, submission_id: str) -> list[Job]:
    """The submission's report jobs, oldest first: its email jobs say nothing of the report."""
    return [job for job in jobs.jobs_for(submission_id) if job.kind is JobKind.REPORT]


def _remaking(sub: Submission, history: list[Job] | tuple[Job, ...]) -> bool:
    """Made again after a lost file: paid or processing with its analysis kept, after a job
    that already finished it once."""
    return (
        sub.status in (Status.PAID, Status.PROCESSING)
        and sub.analysis is not None
        and any(job.state == JobState.DONE for job in history)
    )


class DescribeSubmission:
    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        reports: ReportStore,
        clock: Clock,
        remake: RemakeLostReport,
        stores: StoreCheck | None = None,
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._reports = reports
        self._clock = clock
        self._remake = remake
        self._stores = stores

    def __call__(self, submission_id: str) -> StatusView:
        sub = self._submissions.get(submission_id)
        links = None
        if sub.status == Status.READY and not sub.erased:
            # A paid customer must not be stuck behind a lost file: asking about it queues it
            # to be made again, and the answer describes it as it is then (being prepared).
            links, sub = _links_or_remake(sub, self._reports, self._remake, self._clock)
        history = report_jobs(self._jobs, sub.id)
        latest = history[-1] if history else None
        attempts = sum(j.attempts for j in history)
        waiting = latest is not None and latest.state == JobState.QUEUED
        next_try = latest.not_before if waiting and latest and latest.last_error else None
        last_error = latest.last_error if latest else ""
        remaking = _remaking(sub, history)
        if sub.erased:
            explanation = _explain(sub, attempts, last_error, next_try)
        elif (remaking and next_try is None) or (sub.status == Status.READY and links is None):
            explanation = REPORT_BEING_REMADE
        else:
            explanation = _explain(sub, attempts, last_error, next_try)
        # Paid work held back by a full or read-only disk: honest, and no server detail.
        delayed = (
            sub.status in (Status.PAID, Status.PROCESSING)
            and self._stores is not None
            and self._stores.store_writable() is not None
        )
        if delayed:
            explanation = DELAYED
        return StatusView(
            submission=sub,
            explanation=explanation,
            attempts=attempts,
            next_try=next_try,
            last_error=last_error,
            links=links,
            queued_at=latest.created_at if waiting and latest else None,
            remaking=remaking,
            delayed=delayed,
        )


def _links_or_remake(
    sub: Submission, reports: ReportStore, remake: RemakeLostReport, clock: Clock
) -> tuple[DownloadLinks | None, Submission]:
    """Fresh links for a ready submission, or (its file lost) no links and the submission as
    it is once queued to be made again."""
    try:
        return reports.links(sub.id, LINK_TTL_SECONDS, clock.now()), sub
    except ReportMissing:
        pass
    stored = remake(sub.id)
    if stored.status != Status.READY:
        return None, stored
    # Made again by someone else between our look and our write: its new file has links.
    try:
        return reports.links(stored.id, LINK_TTL_SECONDS, clock.now()), stored
    except ReportMissing:
        return None, stored  # lost once more in that instant: the next ask queues it again


class GetDownloadLinks:
    def __init__(
        self,
        submissions: SubmissionStore,
        reports: ReportStore,
        clock: Clock,
        remake: RemakeLostReport,
    ) -> None:
        self._submissions = submissions
        self._reports = reports
        self._clock = clock
        self._remake = remake

    def __call__(self, submission_id: str) -> DownloadLinks:
        """Fresh 15-minute links, minted per request and never stored. ReportNotReady until
        the submission is ready; ReportBeingRemade (a ReportNotReady) when its file was lost,
        which queues it to be made again, and until it is made; ReportErased once erased."""
        sub = self._submissions.get(submission_id)
        if sub.erased_at is not None:
            raise ReportErased(sub.id, sub.erased_at)
        if sub.status != Status.READY:
            if self._remake.under_way(sub):
                raise ReportBeingRemade(sub.id, sub.status.value)
            raise ReportNotReady(sub.id, sub.status.value)
        links, stored = _links_or_remake(sub, self._reports, self._remake, self._clock)
        if links is None:
            raise ReportBeingRemade(stored.id, stored.status.value)
        return links


class RequeueSubmission:
    """Operator or customer asks again: a failed submission goes back to the queue; a paid one
    whose job went missing gets one; a ready one whose report file was lost is made again (from
    its kept analysis, RemakeLostReport). Anything else is refused with the reason."""

    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        clock: Clock,
        remake: RemakeLostReport,
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._clock = clock
        self._remake = remake

    def __call__(self, submission_id: str) -> Submission:
        now = self._clock.now()
        current = self._submissions.get(submission_id)
        if current.erased_at is not None:  # nothing left to make a report from
            raise ReportErased(current.id, current.erased_at)
        if current.status == Status.READY:
            stored = self._remake(submission_id)
            if stored.status == Status.READY:  # its file is there: nothing to make again
                raise IllegalTransition(stored.id, stored.status.value, "re-queued")
            return stored

        def requeue(sub: Submission) -> Submission | None:
            if sub.status == Status.FAILED:
                return sub.requeue(now)
            if sub.status in (Status.PAID, Status.PROCESSING):
                return None
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
        self,
        submissions: SubmissionStore,
        remake: RemakeLostReport,
        requeue: RequeueSubmission,
    ) -> None:
        self._submissions = submissions
        self._remake = remake
        self._requeue = requeue

    def __call__(self, submission_id: str) -> bool:
        """True when work was queued (or already is); False when the report is ready.
        Raises NotPaid for a pending submission, IllegalTransition for a refunded one,
        ReportErased for an erased one."""
        sub = self._submissions.get(submission_id)
        if sub.erased_at is not None:
            raise ReportErased(sub.id, sub.erased_at)
        if sub.status == Status.READY:
            return self._remake(sub.id).status != Status.READY
        if sub.status == Status.PENDING:
            raise NotPaid(sub.id)
        self._requeue(sub.id)
        return True
