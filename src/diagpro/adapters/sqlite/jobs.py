"""The embedded default JobQueue: one row per job in the shared SQLite file.

Every change is one ``BEGIN IMMEDIATE`` transaction, so a claim (find the oldest due job, lease
it) is a single locked step across threads, processes and queue instances sharing the file: two
workers never get the same lease. A partial unique index keeps at most one queued job per
submission and kind (``report``, ``email``), so duplicate payment events make one report job
even if the lookup in ``enqueue`` were bypassed. A database made before jobs had a kind gets the
column (``report`` for every job it holds) when it is opened.

Times are stored as fixed-width ISO-8601 UTC text (``2026-11-26T12:00:00.000000+00:00``), which
sorts and compares correctly as text, and come back as timezone-aware UTC datetimes.

A job's lease is (``lease_owner``, ``attempts``): finishing a job (complete, retry_later, bury)
only succeeds while the stored job is still queued with the same owner and attempt count, so a
worker whose lease ran out and was taken over gets LeaseLost instead of overwriting the newer
attempt. ``complete`` and ``bury`` keep ``lease_owner`` (who finished it) but clear
``lease_until``; ``retry_later`` clears both.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from diagpro.adapters.job_rules import (
    cancelled,
    check_claim,
    check_lease,
    check_limit,
    made_due,
    utc,
)
from diagpro.adapters.sqlite.db import Database
from diagpro.domain.errors import LeaseLost
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.ports import IdSource

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq            INTEGER PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    submission_id  TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('queued', 'done', 'dead')),
    created_at     TEXT NOT NULL,
    not_before     TEXT NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT NOT NULL DEFAULT '',
    lease_until    TEXT,
    last_error     TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL DEFAULT 'report'
);
-- jobs_due (state, not_before) served claims until jobs_due_at below; no query reads it now, and
-- every job written paid for it.
DROP INDEX IF EXISTS jobs_due;
CREATE INDEX IF NOT EXISTS jobs_by_submission ON jobs (submission_id, created_at);
CREATE INDEX IF NOT EXISTS jobs_due_at
    ON jobs (state, MAX(not_before, COALESCE(lease_until, not_before)), seq);
"""
# Before jobs had a kind there was one queued job per submission; now one per submission and
# kind. ADD COLUMN with a constant default rewrites no row (https://sqlite.org/lang_altertable.html).
KINDS = """
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'report';
"""
ONE_QUEUED = """
DROP INDEX IF EXISTS jobs_one_queued_per_submission;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_queued_per_kind
    ON jobs (submission_id, kind) WHERE state = 'queued';
"""

_SELECT = (
    "SELECT id, submission_id, state, created_at, not_before, attempts, lease_owner,"
    " lease_until, last_error, kind FROM jobs"
)
# When a queued job can next be claimed: not_before, or while leased the end of its lease. The
# index on this very expression (jobs_due_at; SQLite uses an expression index only for a query
# that spells the expression the same way, https://sqlite.org/expridx.html) lets claims and
# sweeps read the due jobs in order and stop at the limit instead of sorting every queued job.
# (Spelled out in each statement, so every query stays one literal.)
_DUE = (
    "SELECT id, submission_id, state, created_at, not_before, attempts, lease_owner,"
    " lease_until, last_error, kind, seq FROM jobs WHERE state = 'queued'"
    " AND MAX(not_before, COALESCE(lease_until, not_before)) <= :now"
    " ORDER BY MAX(not_before, COALESCE(lease_until, not_before)), seq LIMIT :limit"
)
_DUE_ONE = (
    "SELECT seq FROM jobs WHERE id = :id AND state = 'queued'"
    " AND MAX(not_before, COALESCE(lease_until, not_before)) <= :now"
)
_NEXT_DUE = (
    "SELECT MIN(MAX(not_before, COALESCE(lease_until, not_before))) AS due"
    " FROM jobs WHERE state = 'queued'"
)
# Finishing a job only touches it while the caller's lease is still the stored one: each
# statement ends in the same guard (spelled out, so every query is one literal).
_COMPLETE = (
    "UPDATE jobs SET state = 'done', lease_until = NULL"
    " WHERE id = :id AND state = 'queued' AND lease_owner = :owner AND attempts = :attempts"
)
_RETRY_LATER = (
    "UPDATE jobs SET lease_owner = '', lease_until = NULL, not_before = :not_before,"
    " last_error = :error"
    " WHERE id = :id AND state = 'queued' AND lease_owner = :owner AND attempts = :attempts"
)
_RENEW = (
    "UPDATE jobs SET lease_until = :lease_until"
    " WHERE id = :id AND state = 'queued' AND lease_owner = :owner AND attempts = :attempts"
)
_BURY = (
    "UPDATE jobs SET state = 'dead', lease_until = NULL, last_error = :error"
    " WHERE id = :id AND state = 'queued' AND lease_owner = :owner AND attempts = :attempts"
)


def _text(moment: datetime) -> str:
    return utc(moment).isoformat(timespec="microseconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        submission_id=row["submission_id"],
        state=JobState(row["state"]),
        created_at=_time(row["created_at"]),
        not_before=_time(row["not_before"]),
        attempts=row["attempts"],
        lease_owner=row["lease_owner"],
        lease_until=None if row["lease_until"] is None else _time(row["lease_until"]),
        last_error=row["last_error"],
        kind=JobKind(row["kind"]),
    )


class SqliteJobQueue:
    def __init__(self, db: Database, ids: IdSource) -> None:
        self._db = db
        self._ids = ids
        db.migrate(SCHEMA)
        with db.connect() as conn:
            columns = {row["name"] for row in conn.execute("PRAGMA table_info(jobs)")}
        if "kind" not in columns:
            db.migrate(KINDS)
        db.migrate(ONE_QUEUED)

    def enqueue(self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT) -> Job:
        at = _text(now)
        kind = JobKind(kind)
        with self._db.transaction() as conn:
            existing = conn.execute(
                _SELECT + " WHERE submission_id = ? AND kind = ? AND state = 'queued'",
                (submission_id, kind.value),
            ).fetchone()
            if existing is not None:
                return _job(existing)
            # RETURNING (SQLite 3.35+) gives the stored row without a second statement; fetchall
            # runs the statement to its end (https://www.sqlite.org/lang_returning.html).
            (row,) = conn.execute(
                "INSERT INTO jobs (id, submission_id, state, created_at, not_before, kind)"
                " VALUES (?, ?, 'queued', ?, ?, ?) RETURNING id, submission_id, state,"
                " created_at, not_before, attempts, lease_owner, lease_until, last_error, kind",
                (self._ids.token(), submission_id, at, at, kind.value),
            ).fetchall()
        return _job(row)

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        with self._db.transaction() as conn:
            row = conn.execute(_DUE, {"now": _text(at), "limit": 1}).fetchone()
            if row is None:
                return None
            return self._lease(conn, row["seq"], worker, at, lease_seconds)

    def claim_job(
        self, job_id: str, worker: str, now: datetime, lease_seconds: float
    ) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        with self._db.transaction() as conn:
            row = conn.execute(_DUE_ONE, {"id": job_id, "now": _text(at)}).fetchone()
            if row is None:
                return None
            return self._lease(conn, row["seq"], worker, at, lease_seconds)

    def _lease(
        self, conn: sqlite3.Connection, seq: int, worker: str, at: datetime, lease_seconds: float
    ) -> Job:
        """Lease the row (inside the caller's BEGIN IMMEDIATE transaction)."""
        until = _text(at + timedelta(seconds=lease_seconds))
        conn.execute(
            "UPDATE jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1"
            " WHERE seq = ?",
            (worker, until, seq),
        )
        return _job(conn.execute(_SELECT + " WHERE seq = ?", (seq,)).fetchone())

    def due(self, now: datetime, limit: int) -> list[Job]:
        check_limit(limit)
        with self._db.connect() as conn:
            rows = conn.execute(_DUE, {"now": _text(now), "limit": limit}).fetchall()
        return [_job(row) for row in rows]

    def job(self, job_id: str) -> Job | None:
        with self._db.connect() as conn:
            row = conn.execute(_SELECT + " WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def renew(self, job: Job, now: datetime, lease_seconds: float) -> Job:
        check_lease(lease_seconds)
        until = utc(now) + timedelta(seconds=lease_seconds)
        self._finish(job, _RENEW, {"lease_until": _text(until)})
        return replace(job, lease_until=until)

    def complete(self, job: Job, now: datetime) -> None:
        utc(now)  # same validation as every other call that takes a time
        self._finish(job, _COMPLETE, {})

    def retry_later(self, job: Job, not_before: datetime, error: str) -> None:
        self._finish(job, _RETRY_LATER, {"not_before": _text(not_before), "error": error})

    def bury(self, job: Job, error: str) -> None:
        self._finish(job, _BURY, {"error": error})

    def _finish(self, job: Job, update: str, values: dict[str, object]) -> None:
        if not job.lease_owner:
            raise LeaseLost(f"Job {job.id} was never leased")
        params = {**values, "id": job.id, "owner": job.lease_owner, "attempts": job.attempts}
        with self._db.transaction() as conn:
            if conn.execute(update, params).rowcount != 1:
                raise LeaseLost(
                    f"Worker {job.lease_owner!r} no longer holds job {job.id}"
                    f" (attempt {job.attempts})"
                )

    def make_due(
        self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT
    ) -> Job | None:
        at = utc(now)
        return self._change_queued(submission_id, kind, lambda job: made_due(job, at))

    def cancel(self, submission_id: str, error: str, kind: JobKind = JobKind.REPORT) -> Job | None:
        return self._change_queued(submission_id, kind, lambda job: cancelled(job, error))

    def _change_queued(
        self, submission_id: str, kind: JobKind, change: Callable[[Job], Job]
    ) -> Job | None:
        """Read the submission's queued job of ``kind`` and write ``change(job)`` back, in one
        BEGIN IMMEDIATE transaction (so no claim or finish slips in between)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                _SELECT + " WHERE submission_id = ? AND kind = ? AND state = 'queued'",
                (submission_id, JobKind(kind).value),
            ).fetchone()
            if row is None:
                return None
            job = change(_job(row))
            conn.execute(
                "UPDATE jobs SET state = ?, not_before = ?, lease_owner = ?, lease_until = ?,"
                " last_error = ? WHERE id = ?",
                (
                    job.state.value,
                    _text(job.not_before),
                    job.lease_owner,
                    None if job.lease_until is None else _text(job.lease_until),
                    job.last_error,
                    job.id,
                ),
            )
        return job

    def jobs_for(self, submission_id: str) -> list[Job]:
        with self._db.connect() as conn:
            rows = conn.execute(
                _SELECT + " WHERE submission_id = ? ORDER BY created_at, seq",
                (submission_id,),
            ).fetchall()
        return [_job(row) for row in rows]

    def next_due(self) -> datetime | None:
        # A queued job can be claimed once it is due and its lease (if any) has run out. The
        # scalar MAX/aggregate MIN compare the fixed-width ISO text, which orders like the times.
        with self._db.connect() as conn:
            row = conn.execute(_NEXT_DUE).fetchone()
        return None if row["due"] is None else _time(row["due"])
