"""The worker loop: claim due jobs, work them, sleep until the next one is due.

Sleeping until ``next_due`` (bounded by ``idle_poll``) means a backoff of 8 s costs no busy loop,
and a job left by a dead worker is picked up as soon as its lease runs out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from diagpro.application.processing import ProcessJobs
from diagpro.domain.errors import StoreUnavailable
from diagpro.domain.ports import Clock, JobQueue

log = logging.getLogger("diagpro.worker")


def run_worker(
    process: ProcessJobs,
    jobs: JobQueue,
    clock: Clock,
    stop: threading.Event,
    *,
    idle_poll: float = 1.0,
    done: Callable[[], bool] = lambda: False,
    until_idle: bool = False,
) -> int:
    """Work jobs until ``stop`` is set or ``done()`` is true (or, with ``until_idle``, until no
    job is waiting at all). Returns how many claims were worked."""
    worked = 0
    while not stop.is_set() and not done():
        try:
            claimed = process()
        except StoreUnavailable as exc:  # an outage, declared by the ports: back off and retry
            log.warning("a store did not answer (%s); trying again in %.1f s", exc, idle_poll)
            stop.wait(idle_poll)
            continue
        except Exception:  # a bug must not stop the worker: log it whole, back off
            log.exception("worker step failed; trying again in %.1f s", idle_poll)
            stop.wait(idle_poll)
            continue
        if claimed is not None:
            worked += 1
            continue
        due = jobs.next_due()
        if due is None and until_idle:
            break
        wait = idle_poll if due is None else (due - clock.now()).total_seconds()
        stop.wait(min(max(wait, 0.01), idle_poll))
    return worked
