"""The JobQueue contract: the memory fake and the SQLite queue pass the same suite.

Add an implementation by adding a factory to ``KINDS``. A factory returns a function that opens
a handle on one shared queue: the memory fake hands back the same object, SQLite opens a new
``SqliteJobQueue`` on the same file (as a second worker process would).
"""

from __future__ import annotations

import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.firestore import FirestoreJobQueue, FirestoreSubmissionStore
from diagpro.adapters.memory.jobs import MemoryJobQueue
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.jobs import SqliteJobQueue
from diagpro.application.payments import Fulfil
from diagpro.domain.errors import JobLeased, LeaseLost
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.ports import JobQueue
from diagpro.domain.submission import Status
from tests.builders import make_event, make_submission, payment_for
from tests.doubles import CountingIds, FixedClock

LEASE = 30.0
THREADS = 8

Opener = Callable[[], JobQueue]


def _memory(_: Path) -> Opener:
    queue = MemoryJobQueue(CountingIds())
    return lambda: queue


def _sqlite(tmp_path: Path) -> Opener:
    ids = CountingIds()
    path = tmp_path / "diagpro.sqlite3"
    return lambda: SqliteJobQueue(Database(path), ids)


FIRESTORE = pytest.param("firestore", id="firestore", marks=pytest.mark.emulator)
PUBSUB = pytest.param("pubsub", id="pubsub", marks=pytest.mark.emulator)


def _pubsub(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Pub/Sub dispatch over the SQLite store: every handle shares the topic, the subscription
    and the database, as workers on several machines would."""
    from google.cloud import pubsub_v1

    from diagpro.adapters.pubsub import PubSubDispatchQueue, ensure_topic_and_subscription

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", request.getfixturevalue("pubsub_emulator"))
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    project = f"demo-{uuid.uuid4().hex[:12]}"
    topic = publisher.topic_path(project, "jobs")
    subscription = subscriber.subscription_path(project, "workers")
    ensure_topic_and_subscription(publisher, subscriber, topic, subscription)
    request.addfinalizer(lambda: (publisher.transport.close(), subscriber.close()))
    inner = _sqlite(tmp_path)
    return lambda: PubSubDispatchQueue(
        inner(), publisher, subscriber, topic, subscription, pull_timeout=0.2
    )


@pytest.fixture(
    params=[_memory, _sqlite, FIRESTORE, PUBSUB], ids=["memory", "sqlite", "firestore", "pubsub"]
)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    if request.param == "pubsub":
        return _pubsub(request, tmp_path)
    if request.param == "firestore":
        # Every handle shares one client and project, as workers share one database.
        client = request.getfixturevalue("firestore_client")
        ids = CountingIds()
        return lambda: FirestoreJobQueue(client, ids)
    factory: Callable[[Path], Opener] = request.param
    return factory(tmp_path)


@pytest.fixture
def queue(opener: Opener) -> JobQueue:
    return opener()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC))


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads far more often than usual, so a missing lock shows up as a failure."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def _only(queue: JobQueue, submission_id: str) -> Job:
    [job] = queue.jobs_for(submission_id)
    return job


# -- enqueue --------------------------------------------------------------------------------


def test_implements_the_port(queue: JobQueue) -> None:
    assert isinstance(queue, JobQueue)


def test_enqueue_makes_a_fresh_queued_job(queue: JobQueue, clock: FixedClock) -> None:
    job = queue.enqueue("sub-1", clock.now())

    assert job.id
    assert job.submission_id == "sub-1"
    assert job.state is JobState.QUEUED
    assert job.created_at == clock.now()
    assert job.not_before == clock.now()
    assert job.attempts == 0
    assert job.lease_owner == ""
    assert job.lease_until is None
    assert job.last_error == ""
    assert queue.jobs_for("sub-1") == [job]


def test_enqueue_twice_returns_the_same_job(queue: JobQueue, clock: FixedClock) -> None:
    first = queue.enqueue("sub-1", clock.now())
    clock.advance(5)
    second = queue.enqueue("sub-1", clock.now())

    assert second == first
    assert queue.jobs_for("sub-1") == [first]


def test_a_job_is_a_report_job_unless_told_otherwise(queue: JobQueue, clock: FixedClock) -> None:
    assert queue.enqueue("sub-1", clock.now()).kind is JobKind.REPORT


def test_one_queued_job_per_submission_and_kind(queue: JobQueue, clock: FixedClock) -> None:
    report = queue.enqueue("sub-1", clock.now())
    email = queue.enqueue("sub-1", clock.advance(1), JobKind.EMAIL)

    assert email.kind is JobKind.EMAIL and email.id != report.id
    assert queue.enqueue("sub-1", clock.advance(1), JobKind.EMAIL) == email
    assert queue.enqueue("sub-1", clock.advance(1)) == report
    assert [j.kind for j in queue.jobs_for("sub-1")] == [JobKind.REPORT, JobKind.EMAIL]


def test_a_claimed_job_keeps_its_kind(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now(), JobKind.EMAIL)

    claimed = queue.claim("w1", clock.now(), LEASE)

    assert claimed is not None and claimed.kind is JobKind.EMAIL
    queue.complete(claimed, clock.now())
    again = queue.enqueue("sub-1", clock.advance(1), JobKind.EMAIL)  # the first one is done
    assert again.id != claimed.id and again.kind is JobKind.EMAIL


def test_enqueue_while_leased_returns_the_leased_job(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    leased = queue.claim("w1", clock.now(), LEASE)
    assert leased is not None

    again = queue.enqueue("sub-1", clock.advance(1))

    assert again == leased
    assert len(queue.jobs_for("sub-1")) == 1


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_enqueues_make_one_job(opener: Opener, clock: FixedClock) -> None:
    barrier = threading.Barrier(THREADS)
    made: list[Job] = []
    errors: list[BaseException] = []

    def enqueue() -> None:
        try:
            handle = opener()
            barrier.wait()
            made.append(handle.enqueue("sub-1", clock.now()))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=enqueue) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({job.id for job in made}) == 1
    assert len(opener().jobs_for("sub-1")) == 1


# -- claim ----------------------------------------------------------------------------------


def test_claim_returns_none_when_the_queue_is_empty(queue: JobQueue, clock: FixedClock) -> None:
    assert queue.claim("w1", clock.now(), LEASE) is None


def test_claim_leases_the_job_and_counts_an_attempt(queue: JobQueue, clock: FixedClock) -> None:
    queued = queue.enqueue("sub-1", clock.now())
    clock.advance(1)

    claimed = queue.claim("w1", clock.now(), LEASE)

    assert claimed is not None
    assert claimed.id == queued.id
    assert claimed.state is JobState.QUEUED
    assert claimed.attempts == 1
    assert claimed.lease_owner == "w1"
    assert claimed.lease_until == clock.now() + timedelta(seconds=LEASE)
    assert _only(queue, "sub-1") == claimed


def test_claim_returns_due_jobs_oldest_first(queue: JobQueue, clock: FixedClock) -> None:
    # Enqueued out of id order on purpose: age decides, not the id.
    b = queue.enqueue("sub-b", clock.now())
    a = queue.enqueue("sub-a", clock.now())  # same instant as b: order of arrival breaks ties
    c = queue.enqueue("sub-c", clock.advance(1))
    clock.advance(1)

    claimed = [queue.claim(f"w{i}", clock.now(), LEASE) for i in range(4)]

    assert [job.id if job else None for job in claimed] == [b.id, a.id, c.id, None]


def test_claim_ignores_jobs_that_are_not_due_yet(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())

    assert queue.claim("w1", clock.now() - timedelta(microseconds=1), LEASE) is None
    assert queue.claim("w1", clock.now(), LEASE) is not None  # not_before <= now is due


def test_claim_respects_not_before_after_a_retry(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    retry_at = clock.now() + timedelta(seconds=10)
    queue.retry_later(job, retry_at, "analyzer timed out")

    assert queue.claim("w2", retry_at - timedelta(seconds=1), LEASE) is None
    again = queue.claim("w2", retry_at, LEASE)
    assert again is not None
    assert again.id == job.id
    assert again.attempts == 2


def test_a_due_job_beats_an_older_job_that_is_not_due(queue: JobQueue, clock: FixedClock) -> None:
    older = queue.enqueue("sub-old", clock.now())
    leased = queue.claim("w1", clock.now(), LEASE)
    assert leased is not None
    queue.retry_later(leased, clock.now() + timedelta(minutes=5), "later")
    newer = queue.enqueue("sub-new", clock.advance(1))

    claimed = queue.claim("w2", clock.now(), LEASE)

    assert claimed is not None
    assert claimed.id == newer.id != older.id


def test_a_leased_job_is_not_claimed_again_while_the_lease_holds(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    assert queue.claim("w1", clock.now(), LEASE) is not None

    clock.advance(LEASE - 0.001)
    assert queue.claim("w2", clock.now(), LEASE) is None


def test_an_expired_lease_is_taken_over_and_the_first_worker_loses_it(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None

    clock.advance(LEASE)  # lease_until <= now: the worker is presumed dead
    second = queue.claim("w2", clock.now(), LEASE)

    assert second is not None
    assert second.id == first.id
    assert second.attempts == 2
    assert second.lease_owner == "w2"
    with pytest.raises(LeaseLost):
        queue.complete(first, clock.now())
    with pytest.raises(LeaseLost):
        queue.retry_later(first, clock.now(), "late")
    with pytest.raises(LeaseLost):
        queue.bury(first, "late")
    queue.complete(second, clock.now())
    assert _only(queue, "sub-1").state is JobState.DONE


def test_the_same_worker_reclaiming_makes_its_old_lease_stale(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None
    second = queue.claim("w1", clock.advance(LEASE), LEASE)
    assert second is not None

    with pytest.raises(LeaseLost):
        queue.complete(first, clock.now())
    queue.complete(second, clock.now())


def test_a_holder_whose_lease_ran_out_untaken_may_still_finish(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    queue.complete(job, clock.advance(LEASE * 2))

    assert _only(queue, "sub-1").state is JobState.DONE


# -- renew: the worker's heartbeat ----------------------------------------------------------


def test_renewing_keeps_a_working_job_from_being_taken_over(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    clock.advance(LEASE * 0.9)
    renewed = queue.renew(job, clock.now(), LEASE)
    clock.advance(LEASE * 0.9)  # past the first lease, inside the renewed one

    assert renewed.lease_until == clock.now() + timedelta(seconds=LEASE * 0.1)
    assert (renewed.lease_owner, renewed.attempts) == (job.lease_owner, job.attempts)
    assert queue.claim("w2", clock.now(), LEASE) is None
    assert queue.next_due() == renewed.lease_until
    stored = _only(queue, "sub-1")
    assert stored.lease_until == renewed.lease_until and stored.attempts == 1
    queue.complete(job, clock.now())  # the job claimed first still finishes: same lease
    assert _only(queue, "sub-1").state is JobState.DONE


def test_a_lease_that_is_not_renewed_runs_out(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    queue.renew(job, clock.advance(LEASE / 2), LEASE)

    clock.advance(LEASE)  # the worker died: no heartbeat came

    taken = queue.claim("w2", clock.now(), LEASE)
    assert taken is not None and taken.attempts == 2


def test_a_lost_lease_cannot_be_renewed(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None
    second = queue.claim("w2", clock.advance(LEASE), LEASE)
    assert second is not None

    with pytest.raises(LeaseLost):
        queue.renew(first, clock.now(), LEASE)
    assert _only(queue, "sub-1").lease_owner == "w2"
    queue.complete(second, clock.now())
    with pytest.raises(LeaseLost):  # finished: nothing left to hold
        queue.renew(second, clock.now(), LEASE)
    assert _only(queue, "sub-1").state is JobState.DONE


def test_renew_refuses_a_job_never_claimed_or_an_empty_lease(
    queue: JobQueue, clock: FixedClock
) -> None:
    job = queue.enqueue("sub-1", clock.now())
    with pytest.raises(LeaseLost):
        queue.renew(job, clock.now(), LEASE)
    claimed = queue.claim("w1", clock.now(), LEASE)
    assert claimed is not None
    with pytest.raises(ValueError):
        queue.renew(claimed, clock.now(), 0)


def test_fractional_leases_and_microseconds_survive(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), 0.5)
    assert job is not None
    assert job.lease_until == clock.now() + timedelta(milliseconds=500)
    assert queue.claim("w2", clock.now() + timedelta(milliseconds=499), LEASE) is None
    assert queue.claim("w2", clock.now() + timedelta(milliseconds=500), LEASE) is not None


@pytest.mark.parametrize(("worker", "lease"), [("", LEASE), ("w1", 0), ("w1", -1)])
def test_claim_rejects_a_nameless_worker_or_empty_lease(
    queue: JobQueue, clock: FixedClock, worker: str, lease: float
) -> None:
    queue.enqueue("sub-1", clock.now())
    with pytest.raises(ValueError):
        queue.claim(worker, clock.now(), lease)
    assert _only(queue, "sub-1").attempts == 0


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_claims_lease_each_job_exactly_once(opener: Opener, clock: FixedClock) -> None:
    setup = opener()
    queued = {setup.enqueue(f"sub-{i}", clock.now()).id for i in range(3)}
    barrier = threading.Barrier(THREADS)
    claimed: list[Job] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            handle = opener()
            barrier.wait()
            while (job := handle.claim(f"w{n}", clock.now(), LEASE)) is not None:
                claimed.append(job)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(job.id for job in claimed) == sorted(queued)
    assert all(job.attempts == 1 for job in claimed)


# -- complete / retry_later / bury ----------------------------------------------------------


def test_complete_marks_the_job_done(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    queue.complete(job, clock.advance(3))

    done = _only(queue, "sub-1")
    assert done.state is JobState.DONE
    assert done.lease_until is None
    assert done.attempts == 1
    assert queue.claim("w2", clock.advance(LEASE * 10), LEASE) is None
    with pytest.raises(LeaseLost):
        queue.complete(job, clock.now())  # done is final: no second completion


def test_retry_later_releases_the_lease_and_records_the_error(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    retry_at = clock.now() + timedelta(seconds=4)

    queue.retry_later(job, retry_at, "analyzer returned 503")

    waiting = _only(queue, "sub-1")
    assert waiting.state is JobState.QUEUED
    assert waiting.lease_owner == ""
    assert waiting.lease_until is None
    assert waiting.not_before == retry_at
    assert waiting.last_error == "analyzer returned 503"
    assert waiting.attempts == 1
    with pytest.raises(LeaseLost):
        queue.retry_later(job, retry_at, "twice")  # the lease was released
    again = queue.claim("w2", retry_at, LEASE)
    assert again is not None
    assert again.last_error == "analyzer returned 503"  # kept until something replaces it


def test_bury_gives_up_for_good(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    queue.bury(job, "retry budget spent")

    dead = _only(queue, "sub-1")
    assert dead.state is JobState.DEAD
    assert dead.last_error == "retry budget spent"
    assert dead.lease_until is None
    assert queue.claim("w2", clock.advance(LEASE * 10), LEASE) is None
    assert queue.next_due() is None
    with pytest.raises(LeaseLost):
        queue.bury(job, "again")


def test_a_job_that_was_never_claimed_cannot_be_finished(
    queue: JobQueue, clock: FixedClock
) -> None:
    job = queue.enqueue("sub-1", clock.now())
    with pytest.raises(LeaseLost):
        queue.complete(job, clock.now())
    with pytest.raises(LeaseLost):
        queue.retry_later(job, clock.now(), "x")
    with pytest.raises(LeaseLost):
        queue.bury(job, "x")
    assert _only(queue, "sub-1") == job


def test_an_unknown_job_cannot_be_finished(queue: JobQueue, clock: FixedClock) -> None:
    ghost = Job(
        id="no-such-job",
        submission_id="sub-1",
        state=JobState.QUEUED,
        created_at=clock.now(),
        not_before=clock.now(),
        attempts=1,
        lease_owner="w1",
        lease_until=clock.now() + timedelta(seconds=LEASE),
    )
    with pytest.raises(LeaseLost):
        queue.complete(ghost, clock.now())


@pytest.mark.parametrize("finish", ["complete", "bury"])
def test_a_new_job_can_be_queued_once_the_last_one_finished(
    queue: JobQueue, clock: FixedClock, finish: str
) -> None:
    first = queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    if finish == "complete":
        queue.complete(job, clock.now())
    else:
        queue.bury(job, "gave up")

    second = queue.enqueue("sub-1", clock.advance(60))

    assert second.id != first.id
    assert second.state is JobState.QUEUED
    assert second.attempts == 0
    assert [j.id for j in queue.jobs_for("sub-1")] == [first.id, second.id]
    assert queue.enqueue("sub-1", clock.advance(1)) == second


# -- make_due / cancel: an operator's hand on a queued job --------------------------------------


def test_make_due_brings_a_retry_forward_to_now(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    queue.retry_later(job, clock.now() + timedelta(minutes=10), "the model is overloaded")
    now = clock.advance(5)
    assert queue.claim("w2", now, LEASE) is None  # waiting for its backoff

    due = queue.make_due("sub-1", now)

    assert due is not None
    assert due.id == job.id
    assert due.not_before == now
    assert due.attempts == 1  # kept: the retry policy still counts them
    assert due.last_error == "the model is overloaded"
    assert _only(queue, "sub-1") == due
    assert [j.id for j in queue.due(now, 10)] == [job.id]
    assert queue.next_due() == now
    claimed = queue.claim("w2", now, LEASE)
    assert claimed is not None
    assert claimed.id == job.id
    assert claimed.attempts == 2


def test_make_due_leaves_an_earlier_due_time_as_it_is(queue: JobQueue, clock: FixedClock) -> None:
    queued = queue.enqueue("sub-1", clock.now())

    due = queue.make_due("sub-1", clock.advance(60))

    assert due == queued  # due since it was queued: nothing to change


def test_make_due_refuses_a_live_lease_naming_its_holder(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    with pytest.raises(JobLeased) as refused:
        queue.make_due("sub-1", clock.advance(1))

    assert refused.value.owner == "w1"
    assert refused.value.until == job.lease_until
    assert "w1" in refused.value.message
    assert _only(queue, "sub-1") == job  # unchanged
    queue.complete(job, clock.now())  # the worker still holds it


def test_make_due_clears_a_lease_that_ran_out(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now())
    dead_worker = queue.claim("w1", clock.now(), LEASE)
    assert dead_worker is not None

    due = queue.make_due("sub-1", clock.advance(LEASE + 1))

    assert due is not None
    assert due.lease_owner == ""
    assert due.lease_until is None
    assert due.attempts == 1
    with pytest.raises(LeaseLost):
        queue.complete(dead_worker, clock.now())  # the operator freed it: not its any more
    assert queue.claim("w2", clock.now(), LEASE) is not None


def test_make_due_without_a_queued_job_is_none(queue: JobQueue, clock: FixedClock) -> None:
    assert queue.make_due("sub-1", clock.now()) is None
    queue.enqueue("sub-1", clock.now(), JobKind.EMAIL)
    assert queue.make_due("sub-1", clock.now()) is None  # only its email job is queued
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None
    queue.complete(job, clock.now())
    assert queue.make_due("sub-1", clock.now(), JobKind.EMAIL) is None  # done: not queued


def test_cancel_buries_a_waiting_job(queue: JobQueue, clock: FixedClock) -> None:
    queue.enqueue("sub-1", clock.now(), JobKind.EMAIL)
    waiting = queue.enqueue("sub-1", clock.now())

    cancelled = queue.cancel("sub-1", "the order was refunded")

    assert cancelled is not None
    assert cancelled.id == waiting.id
    assert cancelled.state is JobState.DEAD
    assert cancelled.last_error == "the order was refunded"
    assert queue.job(waiting.id) == cancelled
    [email] = queue.due(clock.advance(1), 10)  # the email job is another kind: left alone
    assert email.kind is JobKind.EMAIL
    assert queue.cancel("sub-1", "again") is None  # nothing queued any more
    assert queue.enqueue("sub-1", clock.now()).id != waiting.id  # a new one may be queued


def test_cancel_takes_the_job_from_the_worker_holding_it(
    queue: JobQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None

    cancelled = queue.cancel("sub-1", "the order was refunded")

    assert cancelled is not None
    assert cancelled.state is JobState.DEAD
    assert cancelled.lease_until is None
    for finish in (
        lambda: queue.renew(job, clock.now(), LEASE),
        lambda: queue.complete(job, clock.now()),
        lambda: queue.retry_later(job, clock.now(), "late"),
        lambda: queue.bury(job, "late"),
    ):
        with pytest.raises(LeaseLost):
            finish()
    assert queue.claim("w2", clock.advance(LEASE * 2), LEASE) is None
    assert queue.next_due() is None


# -- jobs_for / next_due --------------------------------------------------------------------


def test_jobs_for_lists_only_that_submission_oldest_first(
    queue: JobQueue, clock: FixedClock
) -> None:
    assert queue.jobs_for("sub-1") == []
    first = queue.enqueue("sub-1", clock.now())
    other = queue.enqueue("sub-2", clock.advance(1))
    job = queue.claim("w1", clock.now(), LEASE)
    assert job is not None and job.id == first.id
    queue.complete(job, clock.now())
    second = queue.enqueue("sub-1", clock.advance(1))

    assert [j.id for j in queue.jobs_for("sub-1")] == [first.id, second.id]
    assert queue.jobs_for("sub-2") == [other]


def test_next_due_tracks_the_earliest_waiting_job(queue: JobQueue, clock: FixedClock) -> None:
    start = clock.now()
    assert queue.next_due() is None

    queue.enqueue("sub-1", start)
    assert queue.next_due() == start

    leased = queue.claim("w1", start, LEASE)
    assert leased is not None
    assert queue.next_due() == start + timedelta(seconds=LEASE)  # when the lease runs out

    queue.retry_later(leased, start + timedelta(seconds=10), "busy")
    assert queue.next_due() == start + timedelta(seconds=10)

    queue.enqueue("sub-2", start + timedelta(seconds=5))
    assert queue.next_due() == start + timedelta(seconds=5)

    for moment in (start + timedelta(seconds=5), start + timedelta(seconds=10)):
        job = queue.claim("w1", moment, LEASE)
        assert job is not None
        queue.complete(job, moment)
    assert queue.next_due() is None


# -- due jobs: what claims, the push route and the sweep read -----------------------------


def test_due_lists_only_claimable_jobs_earliest_due_first(
    queue: JobQueue, clock: FixedClock
) -> None:
    start = clock.now()
    waiting = queue.enqueue("sub-wait", start)
    leased = queue.claim("w1", start, LEASE)
    assert leased is not None and leased.id == waiting.id
    later = queue.enqueue("sub-later", start + timedelta(seconds=2))
    earlier = queue.enqueue("sub-earlier", start + timedelta(seconds=1))
    retried = queue.enqueue("sub-retry", start)
    taken = queue.claim("w2", start, LEASE)
    assert taken is not None and taken.id == retried.id
    queue.retry_later(taken, start + timedelta(seconds=3), "busy")
    done = queue.enqueue("sub-done", start)
    finished = queue.claim("w3", start, LEASE)
    assert finished is not None and finished.id == done.id
    queue.complete(finished, start)

    at = start + timedelta(seconds=5)
    assert [job.id for job in queue.due(at, 10)] == [earlier.id, later.id, retried.id]
    assert [job.id for job in queue.due(at, 2)] == [earlier.id, later.id]  # the limit holds
    assert queue.due(start + timedelta(seconds=1), 10) == [_only(queue, "sub-earlier")]
    # The dead worker's lease runs out: its job is due again, at the end of the lease.
    expired = start + timedelta(seconds=LEASE)
    assert [job.id for job in queue.due(expired, 10)] == [
        earlier.id,
        later.id,
        retried.id,
        leased.id,
    ]


def test_due_refuses_a_limit_below_one(queue: JobQueue, clock: FixedClock) -> None:
    with pytest.raises(ValueError):
        queue.due(clock.now(), 0)


def test_a_claim_reads_past_a_long_queue_of_jobs_not_due(
    queue: JobQueue, clock: FixedClock
) -> None:
    """Many jobs waiting out a backoff do not hide the one that is due (the claim's query is by
    due time, not by age)."""
    start = clock.now()
    for n in range(25):
        queue.enqueue(f"sub-{n:02}", start)
        job = queue.claim("w1", start, LEASE)
        assert job is not None
        queue.retry_later(job, start + timedelta(minutes=5), "backoff")
    fresh = queue.enqueue("sub-fresh", start + timedelta(seconds=1))

    claimed = queue.claim("w2", start + timedelta(seconds=2), LEASE)

    assert claimed is not None and claimed.id == fresh.id


def test_claim_job_leases_that_one_job_when_it_is_due(queue: JobQueue, clock: FixedClock) -> None:
    other = queue.enqueue("sub-other", clock.now())
    wanted = queue.enqueue("sub-wanted", clock.advance(1))

    claimed = queue.claim_job(wanted.id, "push-1", clock.now(), LEASE)

    assert claimed is not None
    assert claimed.id == wanted.id != other.id
    assert claimed.attempts == 1
    assert claimed.lease_owner == "push-1"
    assert claimed.lease_until == clock.now() + timedelta(seconds=LEASE)
    assert queue.job(wanted.id) == claimed
    assert queue.claim_job(wanted.id, "push-2", clock.now(), LEASE) is None  # leased
    queue.complete(claimed, clock.now())  # the lease it got is a real one
    assert queue.job(wanted.id).state is JobState.DONE  # type: ignore[union-attr]


def test_claim_job_refuses_what_is_not_claimable(queue: JobQueue, clock: FixedClock) -> None:
    start = clock.now()
    assert queue.claim_job("no-such-job", "push-1", start, LEASE) is None
    assert queue.job("no-such-job") is None

    job = queue.enqueue("sub-1", start)
    leased = queue.claim_job(job.id, "push-1", start, LEASE)
    assert leased is not None
    queue.retry_later(leased, start + timedelta(seconds=10), "analyzer timed out")
    assert queue.claim_job(job.id, "push-2", start + timedelta(seconds=9), LEASE) is None
    waiting = queue.job(job.id)
    assert waiting is not None and waiting.not_before == start + timedelta(seconds=10)

    again = queue.claim_job(job.id, "push-2", start + timedelta(seconds=10), LEASE)
    assert again is not None and again.attempts == 2
    queue.bury(again, "gave up")
    assert queue.claim_job(job.id, "push-3", start + timedelta(hours=1), LEASE) is None
    buried = queue.job(job.id)
    assert buried is not None and buried.state is JobState.DEAD


def test_claim_job_takes_over_an_expired_lease(queue: JobQueue, clock: FixedClock) -> None:
    job = queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None

    clock.advance(LEASE)
    second = queue.claim_job(job.id, "push-1", clock.now(), LEASE)

    assert second is not None and second.attempts == 2
    with pytest.raises(LeaseLost):
        queue.complete(first, clock.now())


@pytest.mark.usefixtures("busy_switching")
def test_concurrent_claim_jobs_lease_it_once(opener: Opener, clock: FixedClock) -> None:
    """Pub/Sub may push one message twice at once: one request gets the job."""
    job = opener().enqueue("sub-1", clock.now())
    barrier = threading.Barrier(THREADS)
    got: list[Job | None] = []
    errors: list[BaseException] = []

    def push(n: int) -> None:
        try:
            handle = opener()
            barrier.wait()
            got.append(handle.claim_job(job.id, f"push-{n}", clock.now(), LEASE))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len([j for j in got if j is not None]) == 1


# -- time handling --------------------------------------------------------------------------


def test_times_come_back_as_aware_utc(queue: JobQueue) -> None:
    local = datetime(2026, 11, 26, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))

    job = queue.enqueue("sub-1", local)
    claimed = queue.claim("w1", local, LEASE)
    assert claimed is not None

    for seen in (job, claimed, _only(queue, "sub-1")):
        assert seen.created_at == local
        assert seen.created_at.utcoffset() == timedelta(0)
        assert seen.not_before.utcoffset() == timedelta(0)
    assert claimed.lease_until is not None
    assert claimed.lease_until.utcoffset() == timedelta(0)
    due = queue.next_due()
    assert due is not None and due.utcoffset() == timedelta(0)


def test_naive_times_are_refused(queue: JobQueue) -> None:
    naive = datetime(2026, 11, 26, 12, 0)  # naive on purpose
    with pytest.raises(ValueError):
        queue.enqueue("sub-1", naive)
    with pytest.raises(ValueError):
        queue.claim("w1", naive, LEASE)
    assert queue.jobs_for("sub-1") == []


# -- SQLite only ----------------------------------------------------------------------------


def test_a_second_sqlite_queue_on_the_same_file_sees_the_jobs(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "shared.sqlite3"
    ids = CountingIds()
    one = SqliteJobQueue(Database(path), ids)
    job = one.enqueue("sub-1", clock.now())

    two = SqliteJobQueue(Database(path), ids)

    assert two.jobs_for("sub-1") == [job]
    assert two.enqueue("sub-1", clock.now()) == job
    claimed = two.claim("w2", clock.now(), LEASE)
    assert claimed is not None and claimed.id == job.id
    assert one.claim("w1", clock.now(), LEASE) is None  # the lease holds across handles
    one.complete(claimed, clock.now())  # any handle can finish it for the lease holder
    assert two.jobs_for("sub-1")[0].state is JobState.DONE


def test_sqlite_reads_due_jobs_through_its_index(tmp_path: Path) -> None:
    """The due-jobs query walks the expression index in order and stops at the limit: no scan
    of the table, no sort of every queued job."""
    from diagpro.adapters.sqlite.jobs import _DUE

    db = Database(tmp_path / "plan.sqlite3")
    SqliteJobQueue(db, CountingIds())
    with db.connect() as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + _DUE, {"now": "2026-11-26T12:00:00.000000+00:00", "limit": 5}
        ).fetchall()
    steps = " | ".join(row["detail"] for row in plan)
    assert "USING INDEX jobs_due_at" in steps, steps
    assert "TEMP B-TREE" not in steps, steps


# -- Firestore only -------------------------------------------------------------------------


@pytest.mark.emulator
def test_concurrent_fulfilments_of_one_payment_make_one_job(firestore_client: Any) -> None:
    """The webhook racing the success page, against the Firestore store and queue: one job."""
    submissions = FirestoreSubmissionStore(firestore_client)
    queue = FirestoreJobQueue(firestore_client, CountingIds())
    submission = make_submission()
    submissions.add(submission)
    payment = payment_for(make_event(submission_id=submission.id))
    fulfil = Fulfil(submissions, queue, FixedClock())
    barrier = threading.Barrier(2)
    changed: list[bool] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            changed.append(fulfil(submission.id, payment).changed)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(changed) == [False, True]  # exactly one of them marked it paid
    stored = submissions.get(submission.id)
    assert stored.status is Status.PAID and stored.payment == payment
    assert stored.version == submission.version + 1
    [job] = queue.jobs_for(submission.id)
    assert job.state is JobState.QUEUED and job.attempts == 0


# -- a database made before jobs had a kind -------------------------------------------------------


def test_an_older_sqlite_jobs_table_gets_the_kind_and_its_jobs_read_as_report_jobs(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "diagpro.sqlite3"
    older = sqlite3.connect(path)
    older.executescript(
        """
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, submission_id TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'done', 'dead')),
            created_at TEXT NOT NULL, not_before TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT NOT NULL DEFAULT '',
            lease_until TEXT, last_error TEXT NOT NULL DEFAULT ''
        );
        CREATE UNIQUE INDEX jobs_one_queued_per_submission
            ON jobs (submission_id) WHERE state = 'queued';
        INSERT INTO jobs (id, submission_id, state, created_at, not_before)
            VALUES ('old-1', 'sub-1', 'queued', '2026-11-26T12:00:00.000000+00:00',
                    '2026-11-26T12:00:00.000000+00:00');
        """
    )
    older.commit()
    older.close()

    queue = SqliteJobQueue(Database(path), CountingIds())

    (old,) = queue.jobs_for("sub-1")
    assert (old.id, old.kind) == ("old-1", JobKind.REPORT)
    email = queue.enqueue("sub-1", clock.now(), JobKind.EMAIL)  # the old index would refuse it
    assert [j.id for j in queue.jobs_for("sub-1")] == ["old-1", email.id]
    assert queue.enqueue("sub-1", clock.now()) == old
