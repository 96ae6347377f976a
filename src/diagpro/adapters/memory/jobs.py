"""An in-memory JobQueue that behaves like the SQLite one (same contract suite).

One lock around every operation stands in for ``BEGIN IMMEDIATE``, so concurrent claims from
threads never share a lease. Jobs are listed like the SQLite table (by ``created_at``, then by
the order they were added); claims take the earliest due job (``due_at``), ties by arrival.
Jobs are frozen dataclasses, so handing them out shares nothing mutable.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime, timedelta

from diagpro.adapters.job_rules import (
    cancelled,
    check_claim,
    check_lease,
    check_limit,
    due_at,
    made_due,
    utc,
)
from diagpro.domain.errors import LeaseLost
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.ports import IdSource


def _claimable(job: Job, at: datetime) -> bool:
    return job.state is JobState.QUEUED and due_at(job) <= at


class MemoryJobQueue:
    def __init__(self, ids: IdSource) -> None:
        self._ids = ids
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._jobs: dict[str, tuple[int, Job]] = {}  # job id -> (insertion order, job)

    def _ordered(self) -> list[Job]:
        entries = sorted(self._jobs.values(), key=lambda e: (e[1].created_at, e[0]))
        return [job for _, job in entries]

    def enqueue(self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT) -> Job:
        at = utc(now)
        with self._lock:
            queued = self._queued(submission_id, kind)
            if queued is not None:
                return queued
            job = Job(
                id=self._ids.token(),
                submission_id=submission_id,
                state=JobState.QUEUED,
                created_at=at,
                not_before=at,
                kind=kind,
            )
            self._jobs[job.id] = (next(self._seq), job)
            return job

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        with self._lock:
            for job in self._due(at, 1):
                return self._lease(job, worker, at, lease_seconds)
            return None

    def claim_job(
        self, job_id: str, worker: str, now: datetime, lease_seconds: float
    ) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        with self._lock:
            entry = self._jobs.get(job_id)
            if entry is None or not _claimable(entry[1], at):
                return None
            return self._lease(entry[1], worker, at, lease_seconds)

    def due(self, now: datetime, limit: int) -> list[Job]:
        check_limit(limit)
        at = utc(now)
        with self._lock:
            return self._due(at, limit)

    def job(self, job_id: str) -> Job | None:
        with self._lock:
            entry = self._jobs.get(job_id)
            return None if entry is None else entry[1]

    def renew(self, job: Job, now: datetime, lease_seconds: float) -> Job:
        check_lease(lease_seconds)
        at = utc(now)
        with self._lock:
            held = self._held(job)
            renewed = replace(held, lease_until=at + timedelta(seconds=lease_seconds))
            self._store(renewed)
            return renewed

    def complete(self, job: Job, now: datetime) -> None:
        utc(now)
        with self._lock:
            held = self._held(job)
            self._store(replace(held, state=JobState.DONE, lease_until=None))

    def retry_later(self, job: Job, not_before: datetime, error: str) -> None:
        when = utc(not_before)
        with self._lock:
            held = self._held(job)
            self._store(
                replace(held, lease_owner="", lease_until=None, not_before=when, last_error=error)
            )

    def bury(self, job: Job, error: str) -> None:
        with self._lock:
            held = self._held(job)
            self._store(replace(held, state=JobState.DEAD, lease_until=None, last_error=error))

    def make_due(
        self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT
    ) -> Job | None:
        at = utc(now)
        with self._lock:
            queued = self._queued(submission_id, kind)
            if queued is None:
                return None
            job = made_due(queued, at)
            self._store(job)
            return job

    def cancel(self, submission_id: str, error: str, kind: JobKind = JobKind.REPORT) -> Job | None:
        with self._lock:
            queued = self._queued(submission_id, kind)
            if queued is None:
                return None
            job = cancelled(queued, error)
            self._store(job)
            return job

    def jobs_for(self, submission_id: str) -> list[Job]:
        with self._lock:
            return [job for job in self._ordered() if job.submission_id == submission_id]

    def next_due(self) -> datetime | None:
        with self._lock:
            # Claimable once due and once its lease (if any) has run out.
            due = [due_at(job) for _, job in self._jobs.values() if job.state is JobState.QUEUED]
        return min(due, default=None)

    # -- helpers (call with the lock held) --

    def _queued(self, submission_id: str, kind: JobKind) -> Job | None:
        for _, job in self._jobs.values():
            if (
                job.submission_id == submission_id
                and job.kind == kind
                and job.state is JobState.QUEUED
            ):
                return job
        return None

    def _due(self, at: datetime, limit: int) -> list[Job]:
        entries = [e for e in self._jobs.values() if _claimable(e[1], at)]
        entries.sort(key=lambda e: (due_at(e[1]), e[0]))
        return [job for _, job in entries[:limit]]

    def _lease(self, job: Job, worker: str, at: datetime, lease_seconds: float) -> Job:
        claimed = replace(
            job,
            attempts=job.attempts + 1,
            lease_owner=worker,
            lease_until=at + timedelta(seconds=lease_seconds),
        )
        self._store(claimed)
        return claimed

    def _held(self, job: Job) -> Job:
        if not job.lease_owner:
            raise LeaseLost(f"Job {job.id} was never leased")
        entry = self._jobs.get(job.id)
        stored = None if entry is None else entry[1]
        if (
            stored is None
            or stored.state is not JobState.QUEUED
            or stored.lease_owner != job.lease_owner
            or stored.attempts != job.attempts
        ):
            raise LeaseLost(
                f"Worker {job.lease_owner!r} no longer holds job {job.id} (attempt {job.attempts})"
            )
        return stored

    def _store(self, job: Job) -> None:
        seq, _ = self._jobs[job.id]
        self._jobs[job.id] = (seq, job)
