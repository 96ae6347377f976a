"""The worker loop keeps going through a failing step and stops when told."""

import threading

from diagpro.domain.errors import StoreUnavailable
from diagpro.entrypoints.worker import run_worker
from tests.doubles import FixedClock


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
    assert "a store did not answer (database is locked)" in caplog.text
    assert "Traceback" not in caplog.text
