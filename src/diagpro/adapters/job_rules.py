"""What every JobQueue adapter checks the same way, so the fake and SQLite cannot disagree."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from diagpro.domain.errors import JobLeased
from diagpro.domain.jobs import Job, JobState


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the job queue needs timezone-aware times")
    return moment.astimezone(UTC)


def check_claim(worker: str, lease_seconds: float) -> None:
    if not worker:
        raise ValueError("a worker needs a name to hold a lease")
    check_lease(lease_seconds)


def check_lease(lease_seconds: float) -> None:
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")


def due_at(job: Job) -> datetime:
    """When a queued job can next be claimed: ``not_before``, or while leased the end of the
    lease (a worker that died holding it frees it then)."""
    if job.lease_until is None:
        return job.not_before
    return max(job.not_before, job.lease_until)


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def made_due(job: Job, at: datetime) -> Job:
    """``job`` as an operator's "run now" leaves it (JobQueue.make_due): due at ``at`` at the
    latest, a lease that ran out cleared, attempts kept. Raises JobLeased while a lease is live."""
    if job.lease_until is not None and job.lease_until > at:
        raise JobLeased(job.id, job.lease_owner, job.lease_until)
    return replace(job, not_before=min(job.not_before, at), lease_owner="", lease_until=None)


def cancelled(job: Job, error: str) -> Job:
    """``job`` given up for good (JobQueue.cancel): dead, its lease (if any) gone."""
    return replace(job, state=JobState.DEAD, lease_until=None, last_error=error)
