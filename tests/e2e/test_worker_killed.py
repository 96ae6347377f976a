"""A worker SIGKILLed in the middle of a job: the next worker finishes it, nothing is lost.

While it lives, the worker's heartbeat keeps renewing the lease (so a job longer than its lease
is never taken away); once it is killed, the job is free again within one lease.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from diagpro.domain.jobs import JobKind, JobState
from diagpro.domain.submission import Status
from tests.e2e.conftest import pdf_pages, run
from tests.harness import AUTOMOTIVE, container_for_tests

pytestmark = pytest.mark.process

LEASE = 2.0


def test_the_next_worker_finishes_what_a_killed_worker_left(env, tmp_path):
    env["DIAGPRO_JOB_LEASE_SECONDS"] = str(LEASE)
    container = container_for_tests(memory=False, env=env)
    sub = container.save_submission()(AUTOMOTIVE)
    session = container.open_checkout()(sub.id)
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(session.id)
    container.receive_payment_event()(signed.payload, signed.signature)
    sub_paid = container.submissions().get(sub.id)

    with subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("slow_worker.py"))],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    ) as doomed:
        try:
            assert doomed.stdout.readline().strip() == "analysing"
            claimed_at = datetime.now(UTC)
            # Alive and working for three leases: the heartbeat keeps the job its own.
            time.sleep(LEASE * 3)
            (held,) = container.jobs().jobs_for(sub.id)
            assert held.attempts == 1
            assert held.lease_until is not None and held.lease_until > datetime.now(UTC)
            assert (held.lease_until - claimed_at).total_seconds() > LEASE * 2
        finally:
            os.kill(doomed.pid, signal.SIGKILL)
            doomed.wait(timeout=10)
            killed = time.monotonic()
    assert doomed.returncode == -signal.SIGKILL
    (job,) = container.jobs().jobs_for(sub.id)
    assert job.attempts == 1 and job.lease_owner  # held by a process that no longer exists
    assert container.submissions().get(sub.id).status == Status.PROCESSING

    result = run(["worker", "--until-idle"], env, tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    # Retaken within about one lease of the kill, not the 300 s lease of before (plus the
    # start of a Python process and the render of the report).
    assert time.monotonic() - killed < LEASE + 30
    finished = container.submissions().get(sub.id)
    assert finished.status == Status.READY
    job, email = container.jobs().jobs_for(sub.id)  # the report's job, then its email's
    assert job.state == JobState.DONE and job.attempts == 2
    assert (email.kind, email.state) == (JobKind.EMAIL, JobState.DONE)
    assert len(list((tmp_path / "var" / "outbox").glob(f"{sub.id}.ready.*.eml"))) == 1
    report = tmp_path / "var" / "reports" / f"{sub.id}.pdf"
    assert pdf_pages(report) >= 3
    # Nothing lost: the payment and the customer's description survived the crash intact.
    assert finished.payment == sub_paid.payment
    assert finished.intake == sub.intake
