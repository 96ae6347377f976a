"""Paid work without a worker (``DIAGPRO_WORK_MODE=push``): one job per request, and the sweep.

Pub/Sub's push subscription delivers "job J is due" to ``POST /tasks/jobs``; ``WorkPushedJob``
claims that one job through the store and works it inside the request, so the platform gives
the work CPU. Its outcome says whether Pub/Sub may forget the message (the job is finished, or
there is nothing to do) or must deliver it again later (a retry whose backoff has not passed, a
lease someone else holds): the subscription's retry policy then paces the next delivery
(https://cloud.google.com/pubsub/docs/handling-failures#subscription_retry_policy). Redelivery
is harmless: the store's lease decides who works a job, never the message.

``SweepDueJobs`` announces again every job that is due but that no message will bring: a
publish that failed, a message that was dropped or dead-lettered, a lease that ran out (its
instance died), a retry whose message gave up. Cloud Scheduler calls it (``POST /tasks/sweep``)
or a Cloud Run job runs it (``diagpro sweep``). Given the overdue check (application/overdue.py),
it then logs every paid order still without its report after ten minutes: in push mode nothing
else runs now and then, so the sweep is what lets that alert fire without a metrics scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from diagpro.application.processing import ProcessJobs, WorkerSettings
from diagpro.domain.jobs import JobState
from diagpro.domain.ports import Clock, JobAnnouncer, JobQueue

log = logging.getLogger("diagpro.tasks")

SWEEP_LIMIT = 500  # due jobs announced per sweep; the next sweep takes the rest


class PushOutcome(StrEnum):
    # The message may be acknowledged:
    FINISHED = "finished"  # worked to its end: done, or failed for good (the submission says)
    ALREADY_FINISHED = "already finished"  # a redelivery after the job ended
    UNKNOWN_JOB = "unknown job"  # nothing to do, ever
    # The message must come again (Pub/Sub's backoff paces it):
    RETRY_LATER = "retry later"  # this attempt failed; the job waits for its backoff
    NOT_DUE = "not due yet"  # a retry whose backoff has not passed
    LEASED = "leased elsewhere"  # another instance works it now; if it dies, the lease runs out

    @property
    def acknowledged(self) -> bool:
        return self in (PushOutcome.FINISHED, PushOutcome.ALREADY_FINISHED, PushOutcome.UNKNOWN_JOB)


@dataclass(frozen=True)
class PushResult:
    outcome: PushOutcome
    job_id: str
    submission_id: str = ""
    attempts: int = 0


class WorkPushedJob:
    def __init__(
        self, jobs: JobQueue, process: ProcessJobs, clock: Clock, settings: WorkerSettings
    ) -> None:
        self._jobs = jobs
        self._process = process
        self._clock = clock
        self._settings = settings

    def __call__(self, job_id: str) -> PushResult:
        s = self._settings
        job = self._jobs.claim_job(job_id, s.worker_id, self._clock.now(), s.lease_seconds)
        if job is not None:
            finished = self._process.work_claimed(job)
            outcome = PushOutcome.FINISHED if finished else PushOutcome.RETRY_LATER
            return PushResult(outcome, job.id, job.submission_id, job.attempts)
        stored = self._jobs.job(job_id)
        if stored is None:
            return PushResult(PushOutcome.UNKNOWN_JOB, job_id)
        if stored.state is not JobState.QUEUED:
            outcome = PushOutcome.ALREADY_FINISHED
        elif stored.lease_until is not None and stored.lease_until > self._clock.now():
            outcome = PushOutcome.LEASED
        else:
            outcome = PushOutcome.NOT_DUE
        return PushResult(outcome, stored.id, stored.submission_id, stored.attempts)


@dataclass(frozen=True)
class SweepResult:
    due: int  # due jobs found (at most the limit)
    announced: int  # of which published again
    failed: int  # publishes that failed (logged); the next sweep tries them again
    overdue: int = 0  # paid orders without a report past the alert threshold (each logged)

    @property
    def complete(self) -> bool:
        return self.failed == 0


class SweepDueJobs:
    def __init__(
        self,
        jobs: JobQueue,
        announcer: JobAnnouncer,
        clock: Clock,
        limit: int = SWEEP_LIMIT,
        check_overdue: Callable[[], int] | None = None,
    ) -> None:
        self._jobs = jobs
        self._announcer = announcer
        self._clock = clock
        self._limit = limit
        self._check_overdue = check_overdue

    def __call__(self) -> SweepResult:
        due = self._jobs.due(self._clock.now(), self._limit)
        announced = sum(1 for job in due if self._announcer.announce(job))
        # After announcing: a lost job is on its way again before its order is reported.
        overdue = self._check_overdue() if self._check_overdue is not None else 0
        result = SweepResult(len(due), announced, len(due) - announced, overdue)
        if due:
            log.info(
                "sweep: %d due job(s) announced again, %d failed", result.announced, result.failed
            )
        return result
