"""Turn a paid submission into a stored report: analyse → render → store → ready.

Each step is idempotent and its result is kept before the next one starts (the analysis on the
submission, the PDF in the report store), so a retry or a second worker after a crash resumes
where the first stopped instead of paying for another model call. Failures are retried with
exponential backoff inside the policy's budget; past it the submission is ``failed`` with a
reason the customer can read. A paid customer never ends in silence.

An analyzer that cannot work as configured (``AnalysisMisconfigured``: a model not found, a
rejected schema, a missing permission) or a model that refuses the request
(``AnalysisRefused``) fails the job at once: retrying the same request cannot help and is billed
again. A configuration problem is also logged loudly and recorded in ``ServiceHealth``, so
``/healthz`` says the service is degraded and why.

When the model fails for good (its retry budget spent, a refusal, a misconfiguration, or, with
the offline fallback, an answer in the wrong shape on every one of the analyzer's own attempts),
``model_fallback`` decides (DIAGPRO_MODEL_FALLBACK): ``offline`` has diagpro's offline analyzer
write the report instead, marked as standing in (the PDF says so) and recorded on the submission
(``analysis_fallback``, ``model_failure``); ``refund`` refunds it; ``none`` fails it. A
misconfiguration stays loud either way: logged at ERROR and reported to ``ServiceHealth``, which
an offline report does not clear.
A store that cannot be written (``StoreUnavailable``, ``ReportStorageError``: a full or
read-only disk, Firestore out of reach) only delays the job: it waits with a capped backoff and
never fails the paid submission for it; the customer's status says it is delayed.

With ``auto_refund`` on, a submission that failed for good is refunded at once through the
Refunds port and moves to ``refunded`` (the refund id kept on it; application/refunds.py, the one
way an operator's refund goes too). A refund that fails is logged
and written into the failure reason, so an operator sees the money still needs returning.

A submission that ends ready, failed or refunded gets an email job of its own (``emails``,
application/emails.py): queued here once the end is recorded, worked by whoever works jobs (the
same loop, push request or CLI), so the mail server never delays the report.

``failure_reason`` and ``model_failure`` are the operator's detail (a setting, a server path):
they go to the log and ``diagpro status``, and a customer is shown a plain sentence instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from diagpro.application.emails import SendOrderEmail, queue_email
from diagpro.application.health import ServiceHealth
from diagpro.application.leases import lease_kept
from diagpro.application.refunds import refund_in_full
from diagpro.application.transitions import change_submission
from diagpro.domain.codes import extract_codes
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
    IllegalTransition,
    LeaseLost,
    PaymentProviderError,
    RenderFailed,
    ReportStorageError,
    StoreUnavailable,
    SubmissionNotFound,
)
from diagpro.domain.jobs import Job, JobKind, RetryPolicy
from diagpro.domain.metering import NO_METER
from diagpro.domain.ports import (
    Analyzer,
    Clock,
    JobQueue,
    Meter,
    Refunds,
    ReportRenderer,
    ReportStore,
    SubmissionStore,
)
from diagpro.domain.report import ReportDocument, report_path
from diagpro.domain.retention import DEFAULT_RETENTION_DAYS
from diagpro.domain.submission import Status, Submission

log = logging.getLogger("diagpro.processing")

# Failures worth another attempt (a model's failures are handled on their own in ``_work``,
# a store that cannot be written in ``_delayed``). Anything else is a bug: also retried (the
# customer paid), but logged with its traceback.
_EXPECTED = (RenderFailed,)

# The longest a job waits between attempts while a store cannot be written.
STORAGE_MAX_DELAY = timedelta(minutes=5)

Progress = Callable[[str, str, str], None]  # (submission id, stage, detail)


def _silent(submission_id: str, stage: str, detail: str) -> None:
    """Progress goes nowhere unless an entrypoint wants to show it."""


@dataclass(frozen=True)
class WorkerSettings:
    worker_id: str
    lease_seconds: float = 30.0  # renewed every third of it while a job is worked
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    auto_refund: bool = False  # refund a submission that failed for good (DIAGPRO_AUTO_REFUND)
    # When the model fails for good: "offline", "refund" or "none" (DIAGPRO_MODEL_FALLBACK).
    model_fallback: str = "offline"
    retention_days: int = DEFAULT_RETENTION_DAYS  # printed in the report (DIAGPRO_RETENTION_DAYS)


class ProcessJobs:
    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        analyzer: Analyzer,
        renderer: ReportRenderer,
        reports: ReportStore,
        clock: Clock,
        settings: WorkerSettings,
        progress: Progress = _silent,
        refunds: Refunds | None = None,
        health: ServiceHealth | None = None,
        fallback: Analyzer | None = None,
        emails: SendOrderEmail | None = None,
        meter: Meter = NO_METER,
    ) -> None:
        self._meter = meter
        self._submissions = submissions
        self._jobs = jobs
        self._analyzer = analyzer
        self._renderer = renderer
        self._reports = reports
        self._clock = clock
        self._settings = settings
        self._progress = progress
        self._refunds = refunds
        self._health = health
        # The offline analyzer, when the configured analyzer is a model it can stand in for.
        self._fallback = fallback if settings.model_fallback == "offline" else None
        self._emails = emails  # None: no customer emails (tests that leave them out)

    def __call__(self) -> Job | None:
        """Claim one due job and work it to its end (done, retry later, or failed); None when
        nothing is due."""
        s = self._settings
        job = self._jobs.claim(s.worker_id, self._clock.now(), s.lease_seconds)
        if job is None:
            return None
        self.work_claimed(job)
        return job

    def work_claimed(self, job: Job) -> bool:
        """Work a job this worker has just claimed to the end of this attempt. True when the job
        is finished (done, or failed for good); False when it waits for another attempt (its
        backoff), or another worker took it over."""
        if job.kind is not JobKind.EMAIL:
            self._progress(job.submission_id, "claimed", f"attempt {job.attempts}")
        try:
            # The heartbeat renews the lease while the work runs, so it can be short.
            with lease_kept(self._jobs, job, self._clock, self._settings.lease_seconds):
                if job.kind is JobKind.EMAIL:
                    return self._email(job)
                return self._work(job)
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job.id)
            return False

    def _work(self, job: Job) -> bool:
        try:
            submission = self._submissions.get(job.submission_id)
        except SubmissionNotFound:
            self._jobs.bury(job, "submission not found")
            return True
        if submission.status not in (Status.PAID, Status.PROCESSING):
            # Already ready, refunded or failed by someone else: nothing left to do but make
            # sure its email is on its way (a crash may have come before it was queued).
            self._queue_email(submission)
            self._jobs.complete(job, self._clock.now())
            return True
        if submission.erased:
            # Paid after its details were erased (a payment arriving long after the order was
            # left): nothing to make the report from. Failed, and refunded with auto-refund.
            reason = "its details were erased before the payment arrived; refund the payment"
            return self._attempt_failed(job, reason, last=True)
        try:
            self._produce(submission)
        except IllegalTransition as exc:
            # Refunded (or finished) by someone else while we worked: stop, nothing to retry.
            log.info("job %s stopped: %s", job.id, exc)
            self._jobs.complete(job, self._clock.now())
        except AnalysisMisconfigured as exc:
            log.error("the analyzer is misconfigured; an operator must fix it: %s", exc.message)
            if self._health is not None:
                self._health.report("analyzer", exc.message)
            return self._attempt_failed(
                job, f"the analyzer is misconfigured: {exc.message}", last=True, model=True
            )
        except AnalysisRefused as exc:
            return self._attempt_failed(
                job, f"the model refused the request: {exc.message}", last=True, model=True
            )
        except AnalysisInvalid as exc:
            # The analyzer already asked again on each wrong-shaped answer; with a stand-in the
            # customer gets a report now rather than after more billed calls.
            last = self._fallback is not None
            return self._attempt_failed(job, exc.message, last=last, model=True)
        except AnalysisUnavailable as exc:
            return self._attempt_failed(job, exc.message, model=True)
        except (StoreUnavailable, ReportStorageError) as exc:
            return self._delayed(job, exc.message)
        except _EXPECTED as exc:
            return self._attempt_failed(job, exc.message)
        except Exception as exc:  # a bug must not strand a paid customer
            log.exception("job %s hit an unexpected error", job.id)
            return self._attempt_failed(job, f"internal error ({type(exc).__name__})")
        else:
            self._jobs.complete(job, self._clock.now())
        return True

    def _produce(self, submission: Submission) -> None:
        sid = submission.id
        # step 1 of 4: mark processing (a write on the submission).
        submission = self._change(sid, lambda s: s.start_processing(self._clock.now()))
        analysis = submission.analysis
        # step 2 of 4: keep the analysis on the submission (skipped when a past attempt did).
        if analysis is None:
            self._progress(sid, "analysing", "")
            codes = extract_codes(submission.intake)
            analysis = self._analyzer.analyse(submission.intake, codes, submission.currency).check()
            if self._health is not None:
                self._health.clear("analyzer")  # it works again: the problem was fixed
            if analysis.corrections:
                # One line per answer; the notes carry field paths and numbers, no model text.
                log.warning(
                    "submission %s: the model's answer was repaired: %s",
                    sid,
                    "; ".join(analysis.corrections),
                )
            self._change(sid, lambda s: s.keep_analysis(analysis, self._clock.now()))
            self._progress(sid, "analysed", f"{analysis.confidence_pct}% confidence")
        path = report_path(sid)
        # step 3 of 4: store the PDF (a write on the report store, skipped when already there).
        if not self._reports.exists(sid):
            self._progress(sid, "rendering", "")
            pdf = self._renderer.render(
                ReportDocument(
                    sid,
                    submission.intake,
                    analysis,
                    self._clock.now(),
                    submission.currency,
                    retention_days=self._settings.retention_days,
                )
            )
            path = self._reports.save(sid, pdf)
            self._progress(sid, "stored", f"{len(pdf):,} bytes")
        # step 4 of 4: mark ready (a write on the submission). The job is completed after this
        # returns; a crash before that leaves a lease that runs out, and the next claim finds
        # the submission ready and completes the job.
        ready = self._change(sid, lambda s: s.mark_ready(path, analysis, self._clock.now()))
        self._progress(sid, "ready", path)
        # A report made again after its file was lost (remake_report keeps ``ready_at``) is a
        # render, not the order reaching ready again: counted once, and the remake's time since
        # the payment (days, perhaps) kept out of the customers' payment-to-report times.
        if submission.ready_at is None:
            self._meter.order("ready")
            if ready.payment is not None:
                waited = ready.updated_at - ready.payment.paid_at
                self._meter.paid_to_ready(max(0.0, waited.total_seconds()))
        # Then the customer's email, a job of its own (a crash before this: see ``_work``).
        self._queue_email(ready)

    def _delayed(self, job: Job, reason: str) -> bool:
        """A store that cannot be written (a full or read-only disk) is our fault, not the
        customer's: the job waits, longer each time up to STORAGE_MAX_DELAY, and is never
        failed for it, so the paid report is made once an operator fixes the disk."""
        now = self._clock.now()
        delay = self._settings.policy.delay_after(job.attempts, STORAGE_MAX_DELAY)
        log.warning("job %s delayed by a storage fault, next try in %s: %s", job.id, delay, reason)
        self._jobs.retry_later(job, now + delay, reason)
        self._progress(job.submission_id, "delayed", f"{reason}; next try {now + delay:%H:%M:%S}")
        return False

    def _attempt_failed(
        self, job: Job, reason: str, *, last: bool = False, model: bool = False
    ) -> bool:
        """Retry later within the policy, or (past it, or ``last``) fail the submission, unless
        the failure is the ``model``'s and a fallback answers it. False when the job will be
        tried again, True when it is finished."""
        now = self._clock.now()
        retry_at = None if last else self._settings.policy.next_try(job, now)
        if retry_at is not None:
            self._jobs.retry_later(job, retry_at, reason)
            self._progress(job.submission_id, "retrying", f"{reason}; next try {retry_at:%H:%M:%S}")
            return False
        final = (
            f"Could not be made: {reason}"
            if last
            else f"Gave up after {job.attempts} attempts: {reason}"
        )
        if model and self._fallback is not None:
            return self._stand_in(job, final)
        refund_instead = final if model and self._settings.model_fallback == "refund" else ""
        log.error("submission %s failed: %s", job.submission_id, final)
        failed: Submission | None = None
        # step 1 of 3: mark failed (a write on the submission).
        try:
            failed, changed = change_submission(
                self._submissions,
                job.submission_id,
                lambda s: s.mark_failed(final, now, refund_instead=refund_instead),
            )
            if not changed:
                failed = None  # failed already, by someone else: their refund to make
        except IllegalTransition as exc:
            log.info("submission %s not marked failed: %s", job.submission_id, exc)
        # step 2 of 3: bury the job (a write on the queue). A crash before it leaves a lease that
        # runs out; the next claim finds the submission failed and completes the job.
        self._jobs.bury(job, final)
        self._progress(job.submission_id, "failed", final)
        if failed is not None:
            self._meter.order("failed")
            self._queue_email(failed)
        # step 3 of 3: refund (the provider, then a write on the submission). A crash before the
        # refund is recorded leaves a failed submission for an operator; the refund is
        # idempotent on the payment, so refunding it again never pays out twice.
        if failed is not None and (self._settings.auto_refund or refund_instead):
            self._refund(failed)
        return True

    def _stand_in(self, job: Job, model_failure: str) -> bool:
        """The model failed for good: the offline analyzer writes the analysis, kept on the
        submission as standing in, and the job carries on from the render step (a render or
        storage failure from here is retried as any other). If the offline analyzer fails
        too, the submission fails for good with both reasons."""
        sid = job.submission_id
        assert self._fallback is not None
        log.warning(
            "submission %s: the model failed for good (%s); the offline analyzer writes it",
            sid,
            model_failure,
        )
        self._progress(sid, "fallback", "the offline analyzer writes the report")
        try:
            submission = self._submissions.get(sid)
            codes = extract_codes(submission.intake)
            analysis = self._fallback.analyse(submission.intake, codes, submission.currency)
            analysis.check()
            now = self._clock.now()
            self._change(sid, lambda s: s.stand_in_analysis(analysis, model_failure, now))
        except Exception as exc:
            log.exception("submission %s: the offline analyzer failed too", sid)
            reason = f"{model_failure}; the offline analyzer failed too ({type(exc).__name__})"
            return self._attempt_failed(job, reason, last=True)
        return self._work(job)

    def _refund(self, failed: Submission) -> None:
        """Automatic refund after a permanent failure; a refund that fails is never silent."""
        sid = failed.id
        try:
            refunded = refund_in_full(
                failed,
                submissions=self._submissions,
                refunds=self._refunds,
                clock=self._clock,
                meter=self._meter,
                emails=self._jobs if self._emails is not None else None,
            )
        except Exception as exc:
            problem = exc.message if isinstance(exc, PaymentProviderError) else repr(exc)
            if not isinstance(exc, PaymentProviderError):
                log.exception("automatic refund of submission %s hit an unexpected error", sid)
            log.error("automatic refund of submission %s failed: %s", sid, problem)
            reason = (
                f"{failed.failure_reason}; the automatic refund failed: {problem}, "
                "an operator must refund it"
            )
            now = self._clock.now()
            self._change(sid, lambda s: s.note_failure(reason, now))
            self._progress(sid, "refund failed", problem)
            return
        log.info("submission %s refunded automatically: %s", sid, refunded.refund_id)
        self._progress(sid, "refunded", refunded.refund_id)

    def _queue_email(self, submission: Submission) -> None:
        if self._emails is not None:
            queue_email(self._jobs, submission, self._clock.now())

    def _email(self, job: Job) -> bool:
        if self._emails is None:
            self._jobs.bury(job, "this process sends no email")
            return True
        finished = self._emails.work_claimed(job)
        if finished:
            self._progress(job.submission_id, "emailed", _email_outcome(self._submissions, job))
        return finished

    def _change(
        self, submission_id: str, change: Callable[[Submission], Submission | None]
    ) -> Submission:
        return change_submission(self._submissions, submission_id, change)[0]


def _email_outcome(submissions: SubmissionStore, job: Job) -> str:
    """One line for the progress display: what became of the email job's latest attempt."""
    try:
        emails = submissions.get(job.submission_id).emails
    except SubmissionNotFound:
        return "submission not found"
    if not emails:
        return "nothing to send"
    last = emails[-1]
    where = last.provider_id or last.error
    return f"{last.event.value} email {last.state.value}: {where}"
