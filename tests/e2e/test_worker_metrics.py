"""A pull-mode ``diagpro worker`` with DIAGPRO_METRICS_PORT serves the counters of the work it
did on that port (prometheus_client's server in the worker process), as the Cloud Run
Prometheus sidecar or an agent on the machine would scrape them: no key on loopback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.harness import container_for_tests
from tests.server import DIAGPRO, free_port, wait_for

pytestmark = pytest.mark.process


def _scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    except httpx.TransportError:
        return None  # not listening yet
    assert answer.status_code == 200, answer.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_a_worker_serves_the_counters_of_the_jobs_it_worked(
    env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env |= {"DIAGPRO_WORK_MODE": "pull", "DIAGPRO_METRICS_PORT": str(port)}
    container = container_for_tests(memory=False, env=env)
    sub = container.save_submission()(
        {
            "equipmentType": "automotive",
            "make": "Ford",
            "model": "F-150",
            "year": "2015",
            "problemDescription": "Rough idle and shaking at stops, worse when cold",
            "email": "owner@example.com",
        }
    )
    session = container.open_checkout()(sub.id)
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(session.id)
    container.receive_payment_event()(signed.payload, signed.signature)

    log_file = tmp_path / "worker.log"
    with (
        log_file.open("wb") as log,
        subprocess.Popen(
            [str(DIAGPRO), "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log
        ) as worker,
    ):
        try:

            def emailed() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
                seen = _scrape(port)
                sent = (("event", "ready"), ("outcome", "sent"))
                return seen if seen and seen.get(("diagpro_emails_total", sent)) == 1 else None

            seen = wait_for(emailed, 90, "the worker's counters of the report and its email")
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    assert seen[("diagpro_model_calls_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_paid_to_ready_seconds_count", ())] == 1
    assert seen[("diagpro_orders_total", (("outcome", "ready"),))] == 1
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line[:1] == "{"]
    assert any(
        line["message"] == f"metrics served on http://127.0.0.1:{port}/metrics, no key (loopback)"
        for line in lines
    ), log_file.read_text()
    assert container.submissions().get(sub.id).status.value == "ready"
