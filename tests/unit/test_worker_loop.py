"""The worker loop keeps going through a failing step and stops when told; a store that cannot
be written is waited out with a growing backoff and one log line per attempt."""

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.jobs import SqliteJobQueue
from diagpro.domain.errors import StoreUnavailable
from diagpro.entrypoints.worker import MAX_BACKOFF, run_worker, store_backoff
from tests.doubles import CountingIds, FixedClock


class StepsThat:
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)

    def __call__(self):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class NothingDue:
    def next_due(self):
        return None


def test_a_failing_step_is_logged_and_the_loop_goes_on(caplog):
    steps = StepsThat(OSError("database is locked"), "job-1", None)
    worked = run_worker(
        steps, NothingDue(), FixedClock(), threading.Event(), idle_poll=0.01, until_idle=True
    )
    assert worked == 1
    assert "worker step failed" in caplog.text


def test_a_set_stop_event_ends_the_loop_at_once():
    stop = threading.Event()
    stop.set()
    assert run_worker(StepsThat("job"), NothingDue(), FixedClock(), stop) == 0


def test_a_store_outage_is_waited_out_without_a_traceback(caplog):
    steps = StepsThat(StoreUnavailable("database is locked"), "job-1", None)
    worked = run_worker(
        steps, NothingDue(), FixedClock(), threading.Event(), idle_poll=0.01, until_idle=True
    )
    assert worked == 1
    assert "the store did not answer: database is locked" in caplog.text
    assert "Traceback" not in caplog.text


class StopAfter(threading.Event):
    """A stop event that records each wait instead of sleeping, and stops the loop after
    ``waits`` of them."""

    def __init__(self, waits: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self._limit = waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        if len(self.waits) >= self._limit:
            self.set()
        return self.is_set()


class _ReadOnlySqlite:
    def __init__(self, connect: object) -> None:
        self.connect = connect

    def __getattr__(self, name: str) -> object:
        return getattr(sqlite3, name)


def test_a_read_only_database_is_backed_off_with_one_line_per_attempt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: the disk under the database turns read-only while a paid job waits. Before,
    # the raw sqlite3 error was logged with its traceback every 0.5 s, for ever.
    clock = FixedClock()
    db = Database(tmp_path / "diagpro.sqlite3")
    jobs = SqliteJobQueue(db, CountingIds())
    jobs.enqueue("sub-1", clock.now())
    db.close()
    monkeypatch.setattr(
        "diagpro.adapters.sqlite.db.sqlite3",
        _ReadOnlySqlite(lambda path, **kw: sqlite3.connect(f"file:{path}?mode=ro", uri=True, **kw)),
    )

    def claim() -> object:
        return jobs.claim("w1", clock.now(), 30)

    stop = StopAfter(waits=12)
    caplog.set_level(logging.DEBUG, logger="diagpro.worker")
    assert run_worker(claim, jobs, clock, stop, idle_poll=0.5) == 0  # type: ignore[arg-type]

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 12  # one line per attempt
    assert all(r.exc_info is None for r in warnings)  # no traceback at WARNING
    assert all("attempt to write a readonly database" in r.getMessage() for r in warnings)
    assert "give this user write access" in warnings[0].getMessage()
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug and all(r.exc_info is not None for r in debug)  # the detail, kept at DEBUG
    # Backed off: every wait within its doubling cap, and the waits grew past the first 0.5 s.
    caps = [min(0.5 * 2**n, MAX_BACKOFF) for n in range(12)]
    assert all(0 <= wait <= cap for wait, cap in zip(stop.waits, caps, strict=True))
    assert max(stop.waits) > 0.5


def test_the_backoff_doubles_up_to_its_cap_and_starts_again_after_a_success() -> None:
    waits = store_backoff(0.5)
    caps = [min(0.5 * 2**n, MAX_BACKOFF) for n in range(20)]
    assert all(0 <= next(waits) <= cap for cap in caps)

    steps = StepsThat(
        StoreUnavailable("full"), StoreUnavailable("full"), "job-1", StoreUnavailable("full")
    )

    def backoff(initial: float):
        return (initial * 2**n for n in range(100))

    stop = StopAfter(waits=3)
    run_worker(steps, NothingDue(), FixedClock(), stop, idle_poll=0.5, backoff=backoff)  # type: ignore[arg-type]
    # 0.5, 1.0 while failing; the claim in between resets it: the next failure waits 0.5 again.
    assert stop.waits == [0.5, 1.0, 0.5]
