"""The worker loop: claim due jobs, work them, sleep until the next one is due.

Sleeping until ``next_due`` (bounded by ``idle_poll``) means a backoff of 8 s costs no busy loop,
and a job left by a dead worker is picked up as soon as its lease runs out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from diagpro.application.processing import ProcessJobs
from diagpro.domain.ports import Clock, JobQueue


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
        if process.run_once() is not None:
            worked += 1
            continue
        due = jobs.next_due()
        if due is None and until_idle:
            break
        wait = idle_poll if due is None else (due - clock.now()).total_seconds()
        stop.wait(min(max(wait, 0.01), idle_poll))
    return worked
