"""JobQueue that dispatches work through Pub/Sub, for running on more than one machine.

The durable job state stays where it is: in the inner queue (Firestore in production, SQLite or
memory in tests), whose leases and compare-and-set already make a second claim of the same job
impossible. Pub/Sub only carries the news that a job is waiting, so workers on other machines
hear of it at once; that is why a lost, late or redelivered message is harmless:

- ``enqueue`` stores the job through the inner queue first and only then publishes
  ``{"submissionId", "jobId"}`` (also as attributes). A failed publish is logged loudly and is
  not fatal: every claim that finds no message sweeps the inner queue for due jobs anyway.
- ``claim`` synchronously pulls one message (a short deadline), claims through the inner queue
  (which respects leases, ``not_before`` and one live job per submission), and acknowledges the
  message only after that claim is saved. A worker that dies between pull and claim never acks,
  so the message comes back when its ack deadline runs out. A message for a job that is not due,
  already leased or already done is acked and dropped: the inner queue's sweep takes backoff
  retries and expired leases. If the claim took an older due job instead of the message's, the
  message is handed back (ack deadline 0) so it still wakes a worker.
- With no message, ``claim`` falls back to ``inner.claim``: retries after backoff and jobs whose
  lease ran out are still taken. ``complete``, ``retry_later``, ``bury``, ``jobs_for``,
  ``next_due``, ``make_due`` and ``cancel`` delegate (an operator's "run now" announces the job
  itself, through ``announce``).

In push mode (``DIAGPRO_WORK_MODE=push``) nothing pulls: the subscription pushes each message to
``POST /tasks/jobs``, which claims the message's job with ``claim_job``. ``announce`` (the
``JobAnnouncer`` port) publishes a due job again for the sweep (``diagpro sweep``,
``POST /tasks/sweep``), which is how a lost message or an expired lease is finished there.

Redelivery of the same message twice therefore makes one processing: the second claim finds the
job leased or done and returns None (or another due job).

``ensure_topic_and_subscription`` creates the topic and a pull subscription if missing.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from google.api_core import exceptions as api_exceptions

from diagpro.adapters.job_rules import utc
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.ports import JobQueue

log = logging.getLogger("diagpro.pubsub")

ACK_DEADLINE_SECONDS = 60  # a claim saves its lease well within this
# A synchronous pull with nothing waiting is held open by the server (the emulator: about 4 s);
# a worker gives up after this long and sweeps the job store instead.
PULL_TIMEOUT_SECONDS = 1.0
PUBLISH_TIMEOUT_SECONDS = 10.0


class PubSubDispatchQueue:
    def __init__(
        self,
        inner: JobQueue,
        publisher: Any,
        subscriber: Any,
        topic_path: str,
        subscription_path: str,
        *,
        pull_timeout: float = PULL_TIMEOUT_SECONDS,
        publish_timeout: float = PUBLISH_TIMEOUT_SECONDS,
    ) -> None:
        self._inner = inner
        self._publisher = publisher
        self._subscriber = subscriber
        self._topic = topic_path
        self._subscription = subscription_path
        self._pull_timeout = pull_timeout
        self._publish_timeout = publish_timeout

    @property
    def inner(self) -> JobQueue:
        return self._inner

    # -- JobQueue ------------------------------------------------------------------------------

    def enqueue(self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT) -> Job:
        job = self._inner.enqueue(submission_id, now, kind)  # durable first, then the news
        at = utc(now)
        leased = job.lease_until is not None and job.lease_until > at
        if job.state is JobState.QUEUED and not leased:
            self._publish(job)
        return job

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        received = self._pull_one()
        if received is None:
            return self._inner.claim(worker, now, lease_seconds)
        try:
            job = self._inner.claim(worker, now, lease_seconds)
        except BaseException:
            self._hand_back(received)  # not ours yet: let another worker have the news at once
            raise
        wanted = received.message.attributes.get("jobId", "")
        if job is not None and wanted and job.id != wanted:
            # An older due job came first; the message's job may still be waiting.
            self._hand_back(received)
        else:
            # Claimed and saved, or nothing to do (not due yet, leased elsewhere, done).
            self._ack(received)
        return job

    def renew(self, job: Job, now: datetime, lease_seconds: float) -> Job:
        return self._inner.renew(job, now, lease_seconds)

    def complete(self, job: Job, now: datetime) -> None:
        self._inner.complete(job, now)

    def retry_later(self, job: Job, not_before: datetime, error: str) -> None:
        # Pub/Sub has no delayed delivery: the inner queue's sweep takes the job when it is due.
        self._inner.retry_later(job, not_before, error)

    def bury(self, job: Job, error: str) -> None:
        self._inner.bury(job, error)

    def make_due(
        self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT
    ) -> Job | None:
        # The news is the caller's to send (the JobAnnouncer port, ``announce`` below).
        return self._inner.make_due(submission_id, now, kind)

    def cancel(self, submission_id: str, error: str, kind: JobKind = JobKind.REPORT) -> Job | None:
        return self._inner.cancel(submission_id, error, kind)

    def jobs_for(self, submission_id: str) -> list[Job]:
        return self._inner.jobs_for(submission_id)

    def next_due(self) -> datetime | None:
        return self._inner.next_due()

    def due(self, now: datetime, limit: int) -> list[Job]:
        return self._inner.due(now, limit)

    def claim_job(
        self, job_id: str, worker: str, now: datetime, lease_seconds: float
    ) -> Job | None:
        return self._inner.claim_job(job_id, worker, now, lease_seconds)

    def job(self, job_id: str) -> Job | None:
        return self._inner.job(job_id)

    # -- JobAnnouncer --------------------------------------------------------------------------

    def announce(self, job: Job) -> bool:
        return self._publish(job)

    # -- Pub/Sub edges -------------------------------------------------------------------------

    def _publish(self, job: Job) -> bool:
        data = json.dumps({"submissionId": job.submission_id, "jobId": job.id}).encode()
        try:
            future = self._publisher.publish(
                self._topic, data, submissionId=job.submission_id, jobId=job.id
            )
            future.result(timeout=self._publish_timeout)
        except Exception:
            # Not fatal: the job is stored, and workers sweep the store when no message comes.
            log.exception(
                "PUBLISH FAILED for job %s (submission %s) on %s: a sweep of the job store "
                "(pull workers', or `diagpro sweep` in push mode) will find it, later than usual",
                job.id,
                job.submission_id,
                self._topic,
            )
            return False
        return True

    def _pull_one(self) -> Any:
        try:
            response = self._subscriber.pull(
                request={"subscription": self._subscription, "max_messages": 1},
                timeout=self._pull_timeout,
            )
        except api_exceptions.DeadlineExceeded:
            # Nothing arrived in time. (Were a message handed out just as we gave up, it comes
            # back after its ack deadline, and the sweep of the store has the job before that.)
            return None
        except Exception:
            log.warning(
                "pull from %s failed; sweeping the job store instead",
                self._subscription,
                exc_info=True,
            )
            return None
        messages = list(response.received_messages)
        return messages[0] if messages else None

    def _ack(self, received: Any) -> None:
        try:
            self._subscriber.acknowledge(
                request={"subscription": self._subscription, "ack_ids": [received.ack_id]}
            )
        except Exception:
            # The claim is saved; a redelivered message will find the job leased or done.
            log.warning("ack of message %s failed", received.message.message_id, exc_info=True)

    def _hand_back(self, received: Any) -> None:
        try:
            self._subscriber.modify_ack_deadline(
                request={
                    "subscription": self._subscription,
                    "ack_ids": [received.ack_id],
                    "ack_deadline_seconds": 0,
                }
            )
        except Exception:
            log.warning(
                "could not hand back message %s; it returns when its ack deadline runs out",
                received.message.message_id,
                exc_info=True,
            )


def ensure_topic_and_subscription(
    publisher: Any,
    subscriber: Any,
    topic_path: str,
    subscription_path: str,
    *,
    ack_deadline_seconds: int = ACK_DEADLINE_SECONDS,
) -> None:
    """Create the topic and its pull subscription unless they exist (safe to run again)."""
    with contextlib.suppress(api_exceptions.AlreadyExists):
        publisher.create_topic(request={"name": topic_path})
    with contextlib.suppress(api_exceptions.AlreadyExists):
        subscriber.create_subscription(
            request={
                "name": subscription_path,
                "topic": topic_path,
                "ack_deadline_seconds": ack_deadline_seconds,
            }
        )


def pubsub_dispatch_queue(inner: JobQueue, project: str, topic: str, subscription: str) -> Any:
    """The production wiring: clients from the environment (``PUBSUB_EMULATOR_HOST`` is honoured
    by the client library itself)."""
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

    publisher = PublisherClient()
    subscriber = SubscriberClient()
    return PubSubDispatchQueue(
        inner,
        publisher,
        subscriber,
        publisher.topic_path(project, topic),
        subscriber.subscription_path(project, subscription),
    )
