"""PubSubDispatchQueue against the official Pub/Sub emulator, over a MemoryJobQueue.

Each test gets a fresh topic and subscription in a project of its own (``demo-<hex>``). The job
state lives in the inner queue; these tests check that Pub/Sub only ever speeds things up: a
duplicate, redelivered or lost message never makes a second processing or strands a job, and a
message is acknowledged only once its claim is saved.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.memory.jobs import MemoryJobQueue
from diagpro.adapters.memory.reports import MemoryReportStore
from diagpro.adapters.memory.submissions import MemorySubmissionStore
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.pubsub import PubSubDispatchQueue, ensure_topic_and_subscription
from diagpro.application.payments import Fulfil
from diagpro.application.processing import ProcessJobs, WorkerSettings
from diagpro.domain.jobs import Job, JobState
from diagpro.domain.ports import JobQueue
from diagpro.domain.submission import Status
from diagpro.entrypoints.worker import run_worker
from tests.builders import make_event, make_submission, payment_for
from tests.doubles import CountingIds, FixedClock, RecordingRenderer, ScriptedAnalyzer
from tests.emulators import firestore_project
from tests.harness import container_for_tests

LEASE = 30.0

pytestmark = pytest.mark.emulator


class Clients:
    def __init__(self, publisher: Any, subscriber: Any, topic: str, subscription: str) -> None:
        self.publisher = publisher
        self.subscriber = subscriber
        self.topic = topic
        self.subscription = subscription

    def pull_all(self) -> list[Any]:
        """Everything waiting on the subscription right now (left unacknowledged)."""
        from google.api_core.exceptions import DeadlineExceeded

        try:
            response = self.subscriber.pull(
                request={"subscription": self.subscription, "max_messages": 50}, timeout=1.0
            )
        except DeadlineExceeded:  # the emulator holds an empty pull open for a few seconds
            return []
        return list(response.received_messages)

    def set_deadline(self, received: list[Any], seconds: int) -> None:
        self.subscriber.modify_ack_deadline(
            request={
                "subscription": self.subscription,
                "ack_ids": [r.ack_id for r in received],
                "ack_deadline_seconds": seconds,
            }
        )

    def publish(self, job: Job) -> None:
        data = json.dumps({"submissionId": job.submission_id, "jobId": job.id}).encode()
        self.publisher.publish(
            self.topic, data, submissionId=job.submission_id, jobId=job.id
        ).result(timeout=10)


@pytest.fixture
def clients(pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Clients]:
    from google.cloud import pubsub_v1

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    project = firestore_project()
    suffix = uuid.uuid4().hex[:12]
    topic = publisher.topic_path(project, f"jobs-{suffix}")
    subscription = subscriber.subscription_path(project, f"workers-{suffix}")
    ensure_topic_and_subscription(publisher, subscriber, topic, subscription)
    ensure_topic_and_subscription(publisher, subscriber, topic, subscription)  # idempotent
    yield Clients(publisher, subscriber, topic, subscription)
    publisher.stop()
    subscriber.close()


@pytest.fixture
def inner() -> MemoryJobQueue:
    return MemoryJobQueue(CountingIds())


@pytest.fixture
def queue(clients: Clients, inner: MemoryJobQueue) -> PubSubDispatchQueue:
    return _dispatch(clients, inner)


def _dispatch(clients: Clients, inner: JobQueue, publisher: Any = None) -> PubSubDispatchQueue:
    return PubSubDispatchQueue(
        inner,
        publisher or clients.publisher,
        clients.subscriber,
        clients.topic,
        clients.subscription,
        pull_timeout=0.3,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def test_implements_the_port(queue: PubSubDispatchQueue) -> None:
    assert isinstance(queue, JobQueue)


def test_enqueue_stores_the_job_then_publishes_it(
    queue: PubSubDispatchQueue, inner: MemoryJobQueue, clients: Clients, clock: FixedClock
) -> None:
    job = queue.enqueue("sub-1", clock.now())

    assert inner.jobs_for("sub-1") == [job]
    [received] = clients.pull_all()
    message = received.message
    assert json.loads(message.data) == {"submissionId": "sub-1", "jobId": job.id}
    assert dict(message.attributes) == {"submissionId": "sub-1", "jobId": job.id}


def test_enqueue_twice_makes_one_job_and_one_processing(
    queue: PubSubDispatchQueue, clients: Clients, clock: FixedClock
) -> None:
    first = queue.enqueue("sub-1", clock.now())
    second = queue.enqueue("sub-1", clock.now())
    assert second == first

    claimed = queue.claim("w1", clock.now(), LEASE)
    assert claimed is not None and claimed.id == first.id and claimed.attempts == 1
    # The duplicate message finds the job leased: acknowledged and dropped.
    assert queue.claim("w2", clock.now(), LEASE) is None
    assert queue.claim("w2", clock.now(), LEASE) is None
    queue.complete(claimed, clock.now())
    assert queue.claim("w2", clock.now(), LEASE) is None
    assert clients.pull_all() == []  # every message was acknowledged
    [job] = queue.jobs_for("sub-1")
    assert job.state is JobState.DONE and job.attempts == 1


def test_a_redelivered_message_is_harmless(
    queue: PubSubDispatchQueue, clients: Clients, clock: FixedClock
) -> None:
    job = queue.enqueue("sub-1", clock.now())
    # Another worker pulled it and handed it back (a nack): it is delivered again.
    pulled = clients.pull_all()
    clients.set_deadline(pulled, 0)

    claimed = queue.claim("w1", clock.now(), LEASE)
    assert claimed is not None and claimed.id == job.id
    clients.publish(job)  # the same news again while leased (an ack that got lost)
    assert queue.claim("w2", clock.now(), LEASE) is None
    queue.complete(claimed, clock.now())
    clients.publish(job)  # ... and once more after it finished
    assert queue.claim("w2", clock.now(), LEASE) is None

    assert clients.pull_all() == []
    [done] = queue.jobs_for("sub-1")
    assert done.state is JobState.DONE and done.attempts == 1


def test_a_worker_dying_between_pull_and_claim_loses_nothing(
    queue: PubSubDispatchQueue, clients: Clients, clock: FixedClock
) -> None:
    """The message is acknowledged only after a claim is saved, so a crash in between brings
    it back when its ack deadline runs out, and the job is still claimed exactly once."""
    job = queue.enqueue("sub-1", clock.now())
    [taken] = clients.pull_all()  # the worker that is about to die
    clients.set_deadline([taken], 1)  # ... and its ack deadline runs out
    time.sleep(1.5)

    claimed = queue.claim("w2", clock.now(), LEASE)

    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    # Claimed through the redelivered message, which is now acknowledged for good.
    assert clients.pull_all() == []
    assert queue.claim("w3", clock.now(), LEASE) is None


class CrashingClaim:
    """An inner queue whose next claim fails (the store went away mid-claim)."""

    def __init__(self, inner: MemoryJobQueue) -> None:
        self.inner = inner
        self.crash = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        if self.crash:
            self.crash = False
            raise RuntimeError("store unreachable")
        return self.inner.claim(worker, now, lease_seconds)


def test_a_failed_claim_hands_the_message_back(
    clients: Clients, inner: MemoryJobQueue, clock: FixedClock
) -> None:
    queue = _dispatch(clients, CrashingClaim(inner))  # type: ignore[arg-type]
    job = queue.enqueue("sub-1", clock.now())

    with pytest.raises(RuntimeError, match="store unreachable"):
        queue.claim("w1", clock.now(), LEASE)
    # Not acknowledged: handed back, so it is delivered again and claimed exactly once.
    [received] = clients.pull_all()
    assert received.message.attributes["jobId"] == job.id
    clients.set_deadline([received], 0)
    claimed = queue.claim("w2", clock.now(), LEASE)
    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    assert clients.pull_all() == []


def test_without_a_message_a_due_retry_is_still_claimed(
    queue: PubSubDispatchQueue, clients: Clients, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None
    retry_at = clock.now() + timedelta(seconds=8)
    queue.retry_later(first, retry_at, "model busy")
    # Re-announcing a job that waits for its backoff: the message is acked and dropped.
    queue.enqueue("sub-1", clock.now())
    assert queue.claim("w1", clock.now(), LEASE) is None
    assert clients.pull_all() == []
    assert queue.next_due() == retry_at

    clock.advance(10)
    again = queue.claim("w2", clock.now(), LEASE)  # no message: the sweep of the store
    assert again is not None and again.id == first.id and again.attempts == 2


def test_an_expired_lease_is_taken_over_without_a_message(
    queue: PubSubDispatchQueue, clock: FixedClock
) -> None:
    queue.enqueue("sub-1", clock.now())
    first = queue.claim("w1", clock.now(), LEASE)
    assert first is not None
    clock.advance(LEASE + 1)  # w1 died holding it
    second = queue.claim("w2", clock.now(), LEASE)
    assert second is not None and second.id == first.id and second.lease_owner == "w2"


def test_an_older_due_job_goes_first_and_the_message_is_handed_back(
    queue: PubSubDispatchQueue, inner: MemoryJobQueue, clients: Clients, clock: FixedClock
) -> None:
    older = inner.enqueue("sub-old", clock.now())  # stored, but its message was never sent
    clock.advance(1)
    newer = queue.enqueue("sub-new", clock.now())

    first = queue.claim("w1", clock.now(), LEASE)
    second = queue.claim("w2", clock.now(), LEASE)

    assert first is not None and first.id == older.id
    assert second is not None and second.id == newer.id
    assert clients.pull_all() == []


class BrokenPublisher:
    def publish(self, topic: str, data: bytes, **attributes: str) -> Any:
        raise RuntimeError("pubsub down")


def test_a_failed_publish_is_logged_and_the_job_is_still_worked(
    clients: Clients, inner: MemoryJobQueue, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    queue = _dispatch(clients, inner, publisher=BrokenPublisher())
    with caplog.at_level(logging.ERROR, logger="diagpro.pubsub"):
        job = queue.enqueue("sub-1", clock.now())
    assert "PUBLISH FAILED" in caplog.text and job.id in caplog.text
    assert clients.pull_all() == []
    claimed = queue.claim("w1", clock.now(), LEASE)
    assert claimed is not None and claimed.id == job.id


def test_two_workers_process_each_paid_submission_exactly_once(
    queue: PubSubDispatchQueue, clients: Clients, clock: FixedClock
) -> None:
    count = 6
    submissions = MemorySubmissionStore()
    reports = MemoryReportStore("http://diagpro.test", b"k" * 32)
    analyzer = ScriptedAnalyzer(OfflineAnalyzer())
    renderer = RecordingRenderer()
    workers = [
        ProcessJobs(
            submissions,
            queue,
            analyzer,
            renderer,
            reports,
            clock,
            WorkerSettings(worker_id=f"worker-{n}", lease_seconds=LEASE),
        )
        for n in (1, 2)
    ]
    fulfil = Fulfil(submissions, queue, clock)
    ids = []
    for _ in range(count):
        submission = make_submission()
        submissions.add(submission)
        payment = payment_for(make_event(submission_id=submission.id))
        fulfil(submission.id, payment)
        fulfil(submission.id, payment)  # the webhook and the success page both fulfil
        ids.append(submission.id)

    def all_ready() -> bool:
        return all(submissions.get(sid).status is Status.READY for sid in ids)

    stop = threading.Event()
    worked: list[int] = []
    threads = [
        threading.Thread(
            target=lambda p=process: worked.append(
                run_worker(p, queue, clock, stop, idle_poll=0.05, done=all_ready)
            )
        )
        for process in workers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    stop.set()

    assert all_ready()
    assert sum(worked) == count
    assert len(analyzer.calls) == count
    assert sorted(doc.submission_id for doc in renderer.rendered) == sorted(ids)
    for sid in ids:
        [job] = queue.jobs_for(sid)
        assert job.state is JobState.DONE and job.attempts == 1
    # The duplicate announcements left over find nothing to do and are acknowledged.
    for _ in range(2 * count):
        assert queue.claim("worker-3", clock.now(), LEASE) is None
    assert clients.pull_all() == []


# -- settings and wiring --------------------------------------------------------------------


def _settings(tmp_path: Path, **env: str) -> Any:
    from diagpro.config import load_settings

    return load_settings({"DIAGPRO_DATA_DIR": str(tmp_path), **env})


def test_a_half_configured_pubsub_names_what_is_missing(tmp_path: Path) -> None:
    from diagpro.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, PUBSUB_TOPIC="diagpro-jobs")
    message = str(caught.value)
    assert "PUBSUB_SUBSCRIPTION is missing" in message
    assert "GCP_PROJECT is missing" in message
    with pytest.raises(ConfigError, match="PUBSUB_TOPIC is missing"):
        _settings(tmp_path, PUBSUB_SUBSCRIPTION="diagpro-workers", GCP_PROJECT="demo-p")
    with pytest.raises(ConfigError, match="short Pub/Sub name"):
        _settings(
            tmp_path,
            PUBSUB_TOPIC="projects/p/topics/diagpro-jobs",
            PUBSUB_SUBSCRIPTION="diagpro-workers",
            GCP_PROJECT="demo-p",
        )
    assert not _settings(tmp_path).cloud.pubsub.enabled


def test_the_container_puts_the_dispatch_queue_in_front_of_the_store(
    tmp_path: Path, pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``diagpro worker`` and the HTTP worker take ``container.jobs()``: with PUBSUB_* set that is
    the dispatch queue over the store's queue, and jobs announced through it are worked."""

    from diagpro.adapters.sqlite.jobs import SqliteJobQueue

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    project = firestore_project()
    env = {
        "PUBSUB_TOPIC": "diagpro-jobs",
        "PUBSUB_SUBSCRIPTION": "diagpro-workers",
        "GCP_PROJECT": project,
        # What every deployment names: its analyzer, its address, its keys.
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DIAGPRO_API_KEYS": "dpk_pubsub_dispatch_key_01",
    }
    container = container_for_tests(tmp_path, memory=False, env=env)
    jobs = container.jobs()
    assert isinstance(jobs, PubSubDispatchQueue)
    assert isinstance(jobs.inner, SqliteJobQueue)
    assert container.jobs() is jobs and container.process_jobs()._jobs is jobs
    ensure_topic_and_subscription(
        jobs._publisher, jobs._subscriber, jobs._topic, jobs._subscription
    )
    clock = FixedClock()
    job = jobs.enqueue("sub-1", clock.now())
    claimed = jobs.claim("w1", clock.now(), LEASE)
    assert claimed is not None and claimed.id == job.id
    assert jobs.claim("w2", clock.now(), LEASE) is None
    jobs._publisher.stop()
    jobs._subscriber.close()
