"""Durable jobs: paid work that survives a crash, and the retry policy that bounds it.

A submission has at most one queued job of each kind (a report job, an email job), so the email
never waits behind, or holds up, the report. A job is leased, not popped: a worker that dies
holding one simply lets the lease run out and the next worker takes the job again. Backoff is a
``not_before`` time stored with the job, so a restart keeps the schedule instead of hammering a
struggling analyzer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class JobKind(StrEnum):
    """What a job does. A stored job without a kind is a report job (the only kind there was)."""

    REPORT = "report"  # make the paid report: analyse, render, store, mark ready
    EMAIL = "email"  # tell the customer what became of their order (application/emails.py)


class JobState(StrEnum):
    QUEUED = "queued"  # waiting, or leased by a worker (see lease_until)
    DONE = "done"
    DEAD = "dead"  # gave up; the submission says why


@dataclass(frozen=True)
class Job:
    id: str
    submission_id: str
    state: JobState
    created_at: datetime
    not_before: datetime
    attempts: int = 0  # claims so far, the current one included
    lease_owner: str = ""
    lease_until: datetime | None = None
    last_error: str = ""
    kind: JobKind = JobKind.REPORT


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: timedelta = timedelta(seconds=2)
    max_delay: timedelta = timedelta(minutes=2)
    budget: timedelta = timedelta(minutes=20)  # from the job's creation to giving up

    def delay_after(self, attempts: int, cap: timedelta) -> timedelta:
        """The wait after ``attempts`` failed attempts: ``base_delay`` doubling each time, at
        most ``cap`` (the doubling stops growing after 16, so no attempt count overflows)."""
        return min(self.base_delay * (1 << min(max(attempts - 1, 0), 16)), cap)

    def next_try(self, job: Job, now: datetime) -> datetime | None:
        """When to try again after a failed attempt, or None when the budget is spent."""
        if job.attempts >= self.max_attempts:
            return None
        when = now + self.delay_after(job.attempts, self.max_delay)
        if when - job.created_at > self.budget:
            return None
        return when
