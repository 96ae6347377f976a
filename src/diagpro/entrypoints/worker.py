"""The worker loop: claim due jobs, work them, sleep until the next one is due.

Sleeping until ``next_due`` (bounded by ``idle_poll``) means a backoff of 8 s costs no busy loop,
and a job left by a dead worker is picked up as soon as its lease runs out.

A store that does not answer (a full or read-only disk, a damaged file, Firestore out of reach)
is an outage only an operator ends: the worker waits longer after each failure in a row, from
``idle_poll`` up to ``MAX_BACKOFF`` seconds, with full jitter so workers sharing the store do not
retry in step (Google's truncated exponential backoff,
https://cloud.google.com/storage/docs/retry-strategy#exponential-backoff), and logs one line per
attempt. The traceback of a known store fault says nothing new, so it goes to DEBUG; anything
else is a bug and is logged whole. Paid jobs stay queued meanwhile and are worked once it ends.

Given ``chores`` (``worker_chores``: the retention purge, daily, and the check for paid orders
overdue for their report, every five minutes), the loop also runs each when it starts and then
once every period; a chore that fails is logged and tried again after its period (an hour at
most), and never stops the jobs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from google.api_core.retry import exponential_sleep_generator

from diagpro.application.processing import ProcessJobs
from diagpro.domain.errors import StoreUnavailable
from diagpro.domain.ports import Clock, JobQueue

if TYPE_CHECKING:
    from diagpro.container import Container

log = logging.getLogger("diagpro.worker")

MAX_BACKOFF = 30.0  # seconds: an operator's fix is picked up within this
DAILY = timedelta(days=1)
CHORE_RETRY = timedelta(hours=1)
# As often as the deploy kit's Cloud Scheduler sweep (cloud_setup.py), which runs the same check
# in push mode: an overdue order is logged within five minutes of crossing the threshold.
OVERDUE_CHECK_EVERY = timedelta(minutes=5)


class Chore:
    """Something the worker does now and then besides jobs (the retention purge)."""

    def __init__(self, work: Callable[[], object], clock: Clock, every: timedelta = DAILY) -> None:
        self._work = work
        self._clock = clock
        self._every = every
        self._retry = min(every, CHORE_RETRY)
        self._next: datetime | None = None  # None: run at the first chance

    def run_if_due(self) -> None:
        now = self._clock.now()
        if self._next is not None and now < self._next:
            return
        try:
            self._work()
        except Exception:  # a failed chore must not stop paid work: log it, try again later
            log.exception("worker chore failed; trying again in %s", self._retry)
            self._next = now + self._retry
            return
        self._next = now + self._every


def worker_chores(container: Container) -> tuple[Chore, ...]:
    """What every worker does besides jobs. Several workers doing them at once is harmless: each
    erasure is a compare-and-set, and an overdue order logged twice still pages once."""
    clock = container.clock()
    return (
        # DIAGPRO_RETENTION_DAYS: at start, then daily.
        Chore(lambda: container.purge_expired().until_done(), clock),
        # The log lines the stuck-order alert counts (application/overdue.py).
        Chore(lambda: container.check_overdue_orders()(), clock, every=OVERDUE_CHECK_EVERY),
    )


def store_backoff(initial: float) -> Iterator[float]:
    """Waits after failures in a row: random, at most ``initial``, doubling up to MAX_BACKOFF."""
    waits: Iterator[float] = exponential_sleep_generator(
        initial, max(initial, MAX_BACKOFF), multiplier=2.0
    )
    return waits


def run_worker(
    process: ProcessJobs,
    jobs: JobQueue,
    clock: Clock,
    stop: threading.Event,
    *,
    idle_poll: float = 1.0,
    done: Callable[[], bool] = lambda: False,
    until_idle: bool = False,
    backoff: Callable[[float], Iterator[float]] = store_backoff,
    chores: Sequence[Chore] = (),
) -> int:
    """Work jobs until ``stop`` is set or ``done()`` is true (or, with ``until_idle``, until no
    job is waiting at all). Returns how many claims were worked."""
    worked = 0
    waits: Iterator[float] | None = None  # the backoff while failures come in a row
    while not stop.is_set() and not done():
        for chore in chores:
            chore.run_if_due()
        try:
            claimed = process()
            # Read here too: a store that fails between the claim and this read is an outage.
            due = jobs.next_due() if claimed is None else None
        except StoreUnavailable as exc:  # an outage, declared by the ports: back off and retry
            waits = waits or backoff(idle_poll)
            wait = next(waits)
            log.warning("the store did not answer: %s; trying again in %.1f s", exc, wait)
            log.debug("store fault in detail", exc_info=True)
            stop.wait(wait)
            continue
        except Exception:  # a bug must not stop the worker: log it whole, back off
            waits = waits or backoff(idle_poll)
            wait = next(waits)
            log.exception("worker step failed; trying again in %.1f s", wait)
            stop.wait(wait)
            continue
        waits = None  # the store answered: the next failure starts the backoff afresh
        if claimed is not None:
            worked += 1
            continue
        if due is None and until_idle:
            break
        wait = idle_poll if due is None else (due - clock.now()).total_seconds()
        stop.wait(min(max(wait, 0.01), idle_poll))
    return worked
