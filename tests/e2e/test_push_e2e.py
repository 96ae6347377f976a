"""DIAGPRO_WORK_MODE=push end to end: no worker anywhere, each job delivered by a real push
subscription of the official Pub/Sub emulator to the serve process's ``POST /tasks/jobs``.

Everything else is as in test_cloud_e2e.py: ``diagpro serve`` as a real process configured only
through the environment, the official Firestore emulator, gcp-storage-emulator, and local stubs
of Stripe's Checkout Sessions API and Vertex's generateContent. The emulator pushes without a
token (the server accepts that only because PUBSUB_EMULATOR_HOST is set); tokens are tested in
tests/http/test_tasks.py.

The second test loses the job's message (published while the topic had no subscription, so
Pub/Sub drops it) and shows ``diagpro sweep`` finishing the job.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore, pubsub_v1, storage
from google.cloud.firestore_v1.base_query import FieldFilter

from diagpro.adapters.stripe_events import build_event, sign_event
from tests.e2e.conftest import SIGNER_EMAIL, pdf_text, run
from tests.e2e.test_serve import INTAKE
from tests.emulators import firestore_project
from tests.server import Server, json_lines, wait_for
from tests.stubs.stripe_stub import StripeStub
from tests.stubs.vertex_stub import VertexStub, good_answer

pytestmark = [pytest.mark.process, pytest.mark.emulator]

STRIPE_KEY = "sk_test_e2e_push_0123456789"
WEBHOOK_SECRET = "whsec_e2e_push_0123456789abcdef"
TOPIC, SUBSCRIPTION = "diagpro-jobs", "diagpro-jobs-push"


class Cloud:
    """The emulators' project for one test, and this process's clients on them."""

    def __init__(self, project: str, bucket: str, gcs: storage.Client) -> None:
        self.project = project
        self.bucket = bucket
        self.gcs = gcs
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        self.topic = self.publisher.topic_path(project, TOPIC)
        self.subscription = self.subscriber.subscription_path(project, SUBSCRIPTION)

    def push_to(self, server: Server) -> None:
        """The push subscription the deploy kit creates (endpoint, ack deadline, retries)."""
        self.subscriber.create_subscription(
            request={
                "name": self.subscription,
                "topic": self.topic,
                "push_config": {"push_endpoint": f"{server.url}/tasks/jobs"},
                "ack_deadline_seconds": 600,
                "retry_policy": {
                    "minimum_backoff": {"seconds": 10},
                    "maximum_backoff": {"seconds": 600},
                },
            }
        )

    def close(self) -> None:
        self.subscriber.close()
        self.publisher.transport.close()


@pytest.fixture
def cloud(
    env: dict[str, str], cloud_serve_env: Any, pubsub_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Cloud]:
    project = firestore_project()
    bucket = f"diagpro-push-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator)
    gcs = cloud_serve_env(
        project,
        bucket,
        stripe_key=STRIPE_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_key="dpk_e2e_push_key_0123456789",
    )
    env.update(
        DIAGPRO_WORK_MODE="push",
        PUBSUB_TOPIC=TOPIC,
        PUBSUB_SUBSCRIPTION=SUBSCRIPTION,
        PUBSUB_EMULATOR_HOST=pubsub_emulator,
    )
    found = Cloud(project, bucket, gcs)
    found.publisher.create_topic(request={"name": found.topic})
    yield found
    found.close()


def pay(server: Server, stripe_stub: StripeStub) -> tuple[str, httpx.Client]:
    """Intake, a Stripe Checkout Session, the customer pays, Stripe's signed webhook: 200."""
    client = httpx.Client(base_url=server.url, headers={"x-api-key": server.api_key()}, timeout=10)
    saved = client.post("/saveSubmission", json={"payload": INTAKE})
    assert saved.status_code == 200, saved.text
    sid = str(saved.json()["submissionId"])
    checkout = client.post("/createCheckoutSession", json={"submissionId": sid})
    assert checkout.status_code == 200, checkout.text
    paid = stripe_stub.pay(checkout.json()["sessionId"])
    event = build_event(
        f"evt_test_{uuid.uuid4().hex[:16]}", "checkout.session.completed", paid, datetime.now(UTC)
    )
    signed = sign_event(event, WEBHOOK_SECRET)
    delivered = httpx.post(
        f"{server.url}/webhook/stripe",
        content=signed.payload,
        headers={"content-type": "application/json", "stripe-signature": signed.signature},
        timeout=10,
    )
    assert delivered.status_code == 200, delivered.text
    return sid, client


def wait_ready(client: httpx.Client, sid: str, timeout: float = 60) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        status = client.get("/reports/status", params={"submissionId": sid})
        assert status.status_code in (200, 202), status.text
        return status.json() if status.status_code == 200 else None

    found: dict[str, Any] = wait_for(ready, timeout, "the report", interval=0.2)
    return found


def check_report(cloud: Cloud, sid: str, report: dict[str, Any], tmp_path: Path) -> None:
    """The PDF is in the bucket, behind a V4 signed link that downloads it."""
    url = report["downloadUrl"]
    split = urlsplit(url)
    assert split.path == f"/{cloud.bucket}/reports/{sid}.pdf"
    query = parse_qs(split.query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"]
    assert query["X-Goog-Credential"][0].startswith(f"{SIGNER_EMAIL}/")
    download = httpx.get(url, timeout=10)
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert cloud.gcs.bucket(cloud.bucket).blob(f"reports/{sid}.pdf").download_as_bytes() == (
        download.content
    )
    pdf = tmp_path / f"{sid}.pdf"
    pdf.write_bytes(download.content)
    text = " ".join(pdf_text(pdf).split())
    # The model's top cause (its first words: a column of the first page's grid may wrap it).
    assert " ".join(good_answer()["causes"][0]["cause"].split()[:4]) in text


def job_document(cloud: Cloud, sid: str, kind: str = "report") -> dict[str, Any]:
    """The submission's one job of ``kind`` (its report job; its email job once it is ready)."""
    [data] = job_documents(cloud, sid, kind)
    return data


def job_documents(cloud: Cloud, sid: str, kind: str) -> list[dict[str, Any]]:
    db = firestore.Client(project=cloud.project, credentials=AnonymousCredentials())
    try:
        found = db.collection("jobs").where(filter=FieldFilter("submission_id", "==", sid)).get()
        return [d for d in (j.to_dict() or {} for j in found) if d.get("kind", "report") == kind]
    finally:
        db.close()


def pushed(server: Server) -> list[dict[str, Any]]:
    return [e for e in json_lines(server.stderr()) if e.get("message", "").startswith("pushed job")]


def test_push_mode_runs_the_paid_flow_with_no_worker(
    serve: Any, cloud: Cloud, stripe_stub: StripeStub, vertex_stub: VertexStub, tmp_path: Path
) -> None:
    server = serve()
    cloud.push_to(server)
    assert "work mode push: no worker in this process" in server.stdout()

    sid, client = pay(server, stripe_stub)
    with closing(client):
        report = wait_ready(client, sid)
    assert report["status"] == "ready"
    check_report(cloud, sid, report, tmp_path)

    assert len(vertex_stub.requests) == 1  # one model call, inside the pushed request
    assert job_document(cloud, sid)["state"] == "done"
    # The customer's email is a job of its own, pushed and worked the same way.
    wait_for(
        lambda: [j["state"] for j in job_documents(cloud, sid, "email")] == ["done"],
        10,
        "the email job",
    )
    # The job is marked done before its request logs "finished" and its access line: wait for
    # the log rather than race it.
    wait_for(
        lambda: len([e for e in pushed(server) if e["message"].endswith(": finished")]) == 2,
        10,
        "the report job, then the email job, logged as finished",
    )

    def job_requests() -> list[dict[str, Any]]:
        access = [e for e in json_lines(server.stderr()) if e.get("path") == "/tasks/jobs"]
        return access if len(access) >= 2 else []

    assert all(e["status"] == 200 for e in wait_for(job_requests, 10, "both pushed requests"))
    server.stop(worker=False)  # and no worker ever started or stopped in this process


def test_a_lost_message_is_finished_by_the_sweep(
    serve: Any,
    env: dict[str, str],
    cloud: Cloud,
    stripe_stub: StripeStub,
    vertex_stub: VertexStub,
    tmp_path: Path,
) -> None:
    server = serve()
    # The job's message is published while the topic has no subscription: Pub/Sub drops it.
    sid, client = pay(server, stripe_stub)
    with closing(client):
        job = wait_for(lambda: job_document(cloud, sid), 10, "the queued job")
        assert job["state"] == "queued"
        cloud.push_to(server)
        status = client.get("/reports/status", params={"submissionId": sid})
        assert status.status_code == 202  # paid, and nothing is working on it
        assert vertex_stub.requests == [] and pushed(server) == []

        # A Cloud Run job (or Cloud Scheduler's POST /tasks/sweep) sweeps the store.
        swept = run(["sweep", "--json"], {**env, "DIAGPRO_PUBLIC_BASE_URL": server.url}, tmp_path)
        assert swept.returncode == 0, swept.stderr
        assert json.loads(swept.stdout) == {"due": 1, "announced": 1, "failed": 0, "overdue": 0}

        report = wait_ready(client, sid)
        check_report(cloud, sid, report, tmp_path)

        # Nothing is left to sweep; the route Cloud Scheduler calls says so.
        again = httpx.post(f"{server.url}/tasks/sweep", timeout=10)
        assert again.status_code == 200 and again.json() == {
            "due": 0,
            "announced": 0,
            "failed": 0,
            "overdue": 0,
        }
    assert len(vertex_stub.requests) == 1
    server.stop(worker=False)


def test_the_doctor_checks_the_push_subscription_on_the_emulator(
    serve: Any, env: dict[str, str], cloud: Cloud, tmp_path: Path
) -> None:
    server = serve()
    base = {**env, "DIAGPRO_PUBLIC_BASE_URL": server.url}
    with pytest.raises(api_exceptions.NotFound):
        cloud.subscriber.get_subscription(request={"subscription": cloud.subscription})
    missing = run(["doctor", "--json"], base, tmp_path)
    checks = {c["name"]: c for c in json.loads(missing.stdout)["checks"]}
    assert not checks["push subscription"]["ok"]
    assert "--push-endpoint=" + server.url + "/tasks/jobs" in checks["push subscription"]["fix"]
    assert checks["claim query"]["ok"], checks["claim query"]

    cloud.push_to(server)
    good = json.loads(run(["doctor", "--json"], base, tmp_path).stdout)
    checks = {c["name"]: c for c in good["checks"]}
    assert checks["push subscription"]["ok"], checks["push subscription"]
    server.kill()
