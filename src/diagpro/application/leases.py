"""The heartbeat that keeps a job's lease while a worker works it.

A lease only has to outlast the gap between two heartbeats, not the longest job: the worker
renews it every third of its length while the work runs, so a lease of 30 s is safe for a
report that takes minutes, and a worker killed mid-job (no heartbeat any more) frees its job
within one lease. Three renewals per lease leave room for one or two that a busy store delays.

The heartbeat runs on its own thread because the work (a model call, a render in a child
process) blocks the worker's thread. It stops when the work ends, however it ends, and when the
lease is lost (another worker took the job over, or it was finished): it never holds a job the
worker no longer works.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from diagpro.domain.errors import LeaseLost, StoreUnavailable
from diagpro.domain.jobs import Job
from diagpro.domain.ports import Clock, JobQueue

log = logging.getLogger("diagpro.leases")

BEATS_PER_LEASE = 3


@contextlib.contextmanager
def lease_kept(
    jobs: JobQueue, job: Job, clock: Clock, lease_seconds: float
) -> Iterator[threading.Event]:
    """Renew ``job``'s lease every ``lease_seconds / 3`` until the block ends. Yields the event
    that is set once the lease is known lost (the work may check it to stop early)."""
    stop = threading.Event()
    lost = threading.Event()
    beat = threading.Thread(
        target=_beat,
        args=(jobs, job, clock, lease_seconds, stop, lost),
        name=f"diagpro-lease-{job.id}",
        daemon=True,  # a process that exits must not wait on a heartbeat
    )
    beat.start()
    try:
        yield lost
    finally:
        stop.set()
        beat.join()


def _beat(
    jobs: JobQueue,
    job: Job,
    clock: Clock,
    lease_seconds: float,
    stop: threading.Event,
    lost: threading.Event,
) -> None:
    interval = lease_seconds / BEATS_PER_LEASE
    while not stop.wait(interval):
        try:
            jobs.renew(job, clock.now(), lease_seconds)
        except LeaseLost as exc:
            log.warning("stopped renewing job %s: %s", job.id, exc)
            lost.set()
            return
        except StoreUnavailable as exc:
            # One line: the next beat tries again, and the lease still has two beats to run.
            log.warning("could not renew the lease of job %s: %s", job.id, exc)
        except Exception:  # a bug in a renewal must not kill the heartbeat silently
            log.exception("renewing the lease of job %s failed", job.id)
