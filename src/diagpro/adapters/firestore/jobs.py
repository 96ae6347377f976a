"""JobQueue on Firestore: ``jobs/{job_id}`` plus one lock doc per submission and job kind.

The lock of a submission's report jobs is ``jobLocks/{submission_id}`` (as before jobs had a
kind), of its email jobs ``jobLocks/{submission_id}~email``; a job doc without ``kind`` is a
report job. One live job per submission and kind: ``enqueue`` is a transaction that reads the lock
doc (which names its latest job), returns that job if it is still queued (waiting or leased), and
otherwise creates a new job and points the lock at it. Two concurrent enqueues both read the lock
and both want to write it, so Firestore lets only one commit; the other re-runs, sees the new job
and returns it. Job ids come from the ``IdSource``, as in the SQLite queue.

A claim reads only due jobs: each job keeps ``due_at``, the time it can next be claimed
(``not_before`` while it waits, ``lease_until`` while leased, so a job whose worker died is due
again when the lease runs out), and the query ``state == queued AND due_at <= now ORDER BY due_at,
arrived LIMIT n`` (``arrived``, the server's commit time, breaks ties in order of arrival) reads at
most ``n`` of them, whatever the queue's length. It leases the first one with a write that only
lands if the job is unchanged since it was read (an ``update_time`` precondition: a
single-document compare-and-set, which is what a one-document transaction buys, without the lock
waits that made 8 contending workers take 5-13 s on the emulator). A job someone else changed
meanwhile is re-read and decided again, so two workers never get the same lease.

The lease is (``lease_owner``, ``attempts``): complete, retry_later and bury are transactions that
change the job only while both still match (else LeaseLost).

Times are Firestore timestamps (microsecond precision) and come back as aware UTC datetimes.

Indexes: the emulator needs none, production does. ``jobs_for`` (``submission_id ==``, sorted in
code) uses an automatic single-field index; the due-jobs query needs the composite index
``jobs (state ASC, due_at ASC, arrived ASC)``, declared in ``indexes.py`` (``DUE_JOBS``), shipped in
``deploy/firestore.indexes.json`` and run by ``diagpro doctor``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from diagpro.adapters.firestore._edge import (
    ATTEMPTS,
    RPC_TIMEOUT,
    Contended,
    FirestoreUnavailable,
    plain_utc,
    run_transaction,
    translated,
)
from diagpro.adapters.firestore.indexes import DUE_JOBS
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

CLAIM_CANDIDATES = 10  # due jobs read per claim: enough to skip a few lost races


def _job(snapshot: Any) -> Job:
    data = snapshot.to_dict() or {}
    lease_until = data.get("lease_until")
    return Job(
        id=snapshot.id,
        submission_id=data["submission_id"],
        state=JobState(data["state"]),
        created_at=plain_utc(data["created_at"]),
        not_before=plain_utc(data["not_before"]),
        attempts=int(data.get("attempts", 0)),
        lease_owner=data.get("lease_owner", ""),
        lease_until=None if lease_until is None else plain_utc(lease_until),
        last_error=data.get("last_error", ""),
        kind=JobKind(data.get("kind", JobKind.REPORT.value)),
    )


def lock_id(submission_id: str, kind: JobKind) -> str:
    """The lock doc of a submission's jobs of one kind ("~" is not in a submission id)."""
    return submission_id if kind is JobKind.REPORT else f"{submission_id}~{kind.value}"


_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


def _claimable(job: Job, now: datetime) -> bool:
    return job.state is JobState.QUEUED and due_at(job) <= now


def _same_lease(snapshot: Any, job: Job) -> bool:
    return bool(
        snapshot.exists
        and snapshot.get("state") == JobState.QUEUED.value
        and snapshot.get("lease_owner") == job.lease_owner
        and snapshot.get("attempts") == job.attempts
    )


class FirestoreJobQueue:
    def __init__(
        self,
        client: firestore.Client,
        ids: IdSource,
        collection: str = "jobs",
        locks_collection: str = "jobLocks",
    ) -> None:
        self._client = client
        self._ids = ids
        self._jobs = client.collection(collection)
        self._locks = client.collection(locks_collection)

    def due_query(self, now: datetime, limit: int) -> Any:
        """Queued jobs due at ``now``, earliest first (the query ``DUE_JOBS`` declares)."""
        query: Any = self._jobs
        for field in DUE_JOBS.equal:  # state == queued
            query = query.where(filter=FieldFilter(field, "==", JobState.QUEUED.value))
        query = query.where(filter=FieldFilter(DUE_JOBS.ordered[0], "<=", utc(now)))
        for field in DUE_JOBS.ordered:
            query = query.order_by(field)
        return query.limit(limit)

    def _due_snapshots(self, now: datetime, limit: int) -> list[Any]:
        with translated("list due jobs"):
            return list(self.due_query(now, limit).stream(timeout=RPC_TIMEOUT))

    def _transaction(self, work: Callable[[Any], Any], action: str) -> Any:
        try:
            return run_transaction(self._client, work, action)
        except Contended as exc:
            raise FirestoreUnavailable(str(exc)) from exc

    def enqueue(self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT) -> Job:
        at = utc(now)
        kind = JobKind(kind)
        job_id = self._ids.token()
        lock_ref = self._locks.document(lock_id(submission_id, kind))
        job_ref = self._jobs.document(job_id)

        def enqueue_once(transaction: Any) -> Job:
            lock = lock_ref.get(transaction=transaction, timeout=RPC_TIMEOUT)
            live = lock.get("live_job") if lock.exists else None
            if live:
                current = self._jobs.document(live).get(
                    transaction=transaction, timeout=RPC_TIMEOUT
                )
                if current.exists and current.get("state") == JobState.QUEUED.value:
                    return _job(current)
            job = Job(
                id=job_id,
                submission_id=submission_id,
                state=JobState.QUEUED,
                created_at=at,
                not_before=at,
                kind=kind,
            )
            transaction.create(
                job_ref,
                {
                    "submission_id": submission_id,
                    "state": job.state.value,
                    "created_at": at,
                    "not_before": at,
                    "attempts": 0,
                    "lease_owner": "",
                    "lease_until": None,
                    "due_at": at,
                    "last_error": "",
                    "arrived": firestore.SERVER_TIMESTAMP,
                    "kind": kind.value,
                },
            )
            made = (lock.get("jobs") if lock.exists else 0) or 0
            transaction.set(
                lock_ref,
                {"submission_id": submission_id, "live_job": job_id, "jobs": made + 1},
            )
            return job

        job: Job = self._transaction(enqueue_once, "enqueue job")
        return job

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        until = at + timedelta(seconds=lease_seconds)
        for snapshot in self._due_snapshots(at, CLAIM_CANDIDATES):
            claimed = self._lease(snapshot, worker, at, until)
            if claimed is not None:
                return claimed
        return None  # every candidate was taken meanwhile: the next claim reads again

    def claim_job(
        self, job_id: str, worker: str, now: datetime, lease_seconds: float
    ) -> Job | None:
        check_claim(worker, lease_seconds)
        at = utc(now)
        with translated("read job"):
            snapshot = self._jobs.document(job_id).get(timeout=RPC_TIMEOUT)
        if not snapshot.exists:
            return None
        return self._lease(snapshot, worker, at, at + timedelta(seconds=lease_seconds))

    def due(self, now: datetime, limit: int) -> list[Job]:
        check_limit(limit)
        return [_job(snapshot) for snapshot in self._due_snapshots(utc(now), limit)]

    def job(self, job_id: str) -> Job | None:
        with translated("read job"):
            snapshot = self._jobs.document(job_id).get(timeout=RPC_TIMEOUT)
        return _job(snapshot) if snapshot.exists else None

    def _lease(self, snapshot: Any, worker: str, at: datetime, until: datetime) -> Job | None:
        """Lease this job if it is claimable, as a compare-and-set on its ``update_time``.

        The write only lands if nobody changed the job since ``snapshot`` was read, so two
        workers never both lease it. A lost race re-reads the job and decides again (someone
        else usually leased it, and it is skipped). No lock is held, so contending workers fail
        fast instead of waiting out each other's transaction locks.
        """
        for _ in range(ATTEMPTS):
            job = _job(snapshot)
            if not _claimable(job, at):
                return None
            attempts = job.attempts + 1
            option = self._client.write_option(last_update_time=snapshot.update_time)
            with translated("claim job"):
                try:
                    snapshot.reference.update(
                        {
                            "lease_owner": worker,
                            "lease_until": until,
                            "due_at": until,
                            "attempts": attempts,
                        },
                        option=option,
                        timeout=RPC_TIMEOUT,
                    )
                except api_exceptions.FailedPrecondition:
                    snapshot = snapshot.reference.get(timeout=RPC_TIMEOUT)
                    if not snapshot.exists:
                        return None
                    continue
            return replace(job, attempts=attempts, lease_owner=worker, lease_until=until)
        raise FirestoreUnavailable(f"claim: job {snapshot.id} still contended")

    def renew(self, job: Job, now: datetime, lease_seconds: float) -> Job:
        check_lease(lease_seconds)
        until = utc(now) + timedelta(seconds=lease_seconds)
        # due_at follows the lease, as in a claim: the job is due again when the lease runs out.
        self._finish(job, {"lease_until": until, "due_at": until})
        return replace(job, lease_until=until)

    def complete(self, job: Job, now: datetime) -> None:
        utc(now)  # same validation as every other call that takes a time
        self._finish(job, {"state": JobState.DONE.value, "lease_until": None})

    def retry_later(self, job: Job, not_before: datetime, error: str) -> None:
        self._finish(
            job,
            {
                "lease_owner": "",
                "lease_until": None,
                "not_before": utc(not_before),
                "due_at": utc(not_before),
                "last_error": error,
            },
        )

    def bury(self, job: Job, error: str) -> None:
        self._finish(job, {"state": JobState.DEAD.value, "lease_until": None, "last_error": error})

    def _finish(self, job: Job, changes: dict[str, Any]) -> None:
        if not job.lease_owner:
            raise LeaseLost(f"Job {job.id} was never leased")
        ref = self._jobs.document(job.id)

        def finish(transaction: Any) -> None:
            if not _same_lease(ref.get(transaction=transaction, timeout=RPC_TIMEOUT), job):
                raise LeaseLost(
                    f"Worker {job.lease_owner!r} no longer holds job {job.id}"
                    f" (attempt {job.attempts})"
                )
            transaction.update(ref, changes)

        self._transaction(finish, "finish job")

    def make_due(
        self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT
    ) -> Job | None:
        at = utc(now)
        return self._change_queued(
            submission_id, kind, lambda job: made_due(job, at), "run job now"
        )

    def cancel(self, submission_id: str, error: str, kind: JobKind = JobKind.REPORT) -> Job | None:
        return self._change_queued(
            submission_id, kind, lambda job: cancelled(job, error), "cancel job"
        )

    def _change_queued(
        self, submission_id: str, kind: JobKind, change: Callable[[Job], Job], action: str
    ) -> Job | None:
        """In one transaction: find the submission's queued job of ``kind`` through its lock doc
        (which names the latest job) and write ``change(job)`` back. A claim or finish landing
        meanwhile makes Firestore run it again on the job as it is then."""
        lock_ref = self._locks.document(lock_id(submission_id, JobKind(kind)))

        def change_once(transaction: Any) -> Job | None:
            lock = lock_ref.get(transaction=transaction, timeout=RPC_TIMEOUT)
            live = lock.get("live_job") if lock.exists else None
            if not live:
                return None
            ref = self._jobs.document(live)
            current = ref.get(transaction=transaction, timeout=RPC_TIMEOUT)
            if not current.exists or current.get("state") != JobState.QUEUED.value:
                return None
            job = change(_job(current))
            transaction.update(
                ref,
                {
                    "state": job.state.value,
                    "not_before": job.not_before,
                    "lease_owner": job.lease_owner,
                    "lease_until": job.lease_until,
                    "due_at": due_at(job),
                    "last_error": job.last_error,
                },
            )
            return job

        changed: Job | None = self._transaction(change_once, action)
        return changed

    def jobs_for(self, submission_id: str) -> list[Job]:
        query = self._jobs.where(filter=FieldFilter("submission_id", "==", submission_id))
        with translated("list jobs"):
            snapshots = list(query.stream(timeout=RPC_TIMEOUT))
        snapshots.sort(key=lambda s: (s.get("created_at"), s.get("arrived"), s.id))
        return [_job(snapshot) for snapshot in snapshots]

    def next_due(self) -> datetime | None:
        # Due at any time up to the far future: the earliest one, through the same index.
        with translated("find the next due job"):
            [*first] = self.due_query(_FAR_FUTURE, 1).stream(timeout=RPC_TIMEOUT)
        return due_at(_job(first[0])) if first else None
