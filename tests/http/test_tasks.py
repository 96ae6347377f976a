"""``POST /tasks/jobs`` and ``POST /tasks/sweep`` (DIAGPRO_WORK_MODE=push), in process.

Google's OIDC tokens are real RS256 tokens signed by a throwaway key whose certificate a local
stub serves; the verifier is google-auth's ``id_token.verify_token`` behind the container's
``TaskCallers``. Stores are the in-memory fakes; the whole flow on the emulators, with a real
push subscription, is in tests/e2e/test_push_e2e.py.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from diagpro.adapters.push_auth import OidcTaskCallers
from diagpro.domain.errors import AnalysisUnavailable
from diagpro.domain.jobs import Job, JobKind, JobState
from diagpro.domain.submission import Status
from diagpro.entrypoints.http.app import create_app
from tests.harness import Harness
from tests.stubs.google_certs_stub import GoogleCertsStub

AUDIENCE = "https://diagpro-abc.a.run.app/tasks/jobs"
PUSHER = "diagpro-push@demo-proj.iam.gserviceaccount.com"
PUSH_ENV = {
    "DIAGPRO_WORK_MODE": "push",
    "GCP_PROJECT": "demo-proj",
    "PUBSUB_TOPIC": "diagpro-jobs",
    "PUBSUB_SUBSCRIPTION": "diagpro-jobs-push",
    "DIAGPRO_PUSH_AUDIENCE": AUDIENCE,
    "DIAGPRO_PUSH_SERVICE_ACCOUNT": PUSHER,
    # What any cloud configuration must say (part B of issue 9).
    "DIAGPRO_ANALYZER": "offline",
    "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example",
    "DIAGPRO_API_KEYS": "dpk_tasks_test_key_0123456789",
}


class RecordingAnnouncer:
    """Records what the sweep announces; fails for the job ids it is told to."""

    def __init__(self) -> None:
        self.announced: list[Job] = []
        self.failing: set[str] = set()

    def announce(self, job: Job) -> bool:
        if job.id in self.failing:
            return False
        self.announced.append(job)
        return True


@pytest.fixture(scope="module")
def certs() -> Iterator[GoogleCertsStub]:
    with GoogleCertsStub() as stub:
        yield stub


@pytest.fixture
def harness(tmp_path: Path, certs: GoogleCertsStub) -> Harness:
    h = Harness.build(tmp_path, env=PUSH_ENV)
    h.container.task_callers.override(
        providers.Object(OidcTaskCallers(AUDIENCE, PUSHER, certs_url=certs.url))
    )
    h.container.job_announcer.override(providers.Object(RecordingAnnouncer()))
    return h


@pytest.fixture
def client(harness: Harness) -> Iterator[TestClient[Any]]:
    with TestClient(create_app(harness.container)) as test_client:
        yield test_client


def envelope(job: Job, **message: Any) -> dict[str, Any]:
    """The body Pub/Sub push sends (https://cloud.google.com/pubsub/docs/push)."""
    data = json.dumps({"submissionId": job.submission_id, "jobId": job.id}).encode()
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": {"submissionId": job.submission_id, "jobId": job.id},
            "messageId": "1234567890",
            "publishTime": "2026-12-02T12:00:00Z",
            **message,
        },
        "subscription": "projects/demo-proj/subscriptions/diagpro-jobs-push",
    }


def bearer(certs: GoogleCertsStub, **changes: Any) -> dict[str, str]:
    claims = {"audience": AUDIENCE, "email": PUSHER, **changes}
    return {"authorization": f"Bearer {certs.token(**claims)}"}


def paid_job(h: Harness) -> Job:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    [job] = h.container.jobs().jobs_for(sub.id)
    return job


def test_a_pushed_job_is_worked_inside_the_request(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)

    answer = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "jobId": job.id,
        "submissionId": job.submission_id,
        "outcome": "finished",
        "attempts": 1,
    }
    assert harness.submission(job.submission_id).status is Status.READY
    assert harness.container.jobs().job(job.id).state is JobState.DONE  # type: ignore[union-attr]


def test_the_email_job_a_ready_report_queues_is_pushed_and_worked_like_any_job(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    assert client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs)).is_success
    (email_job,) = [
        j for j in harness.container.jobs().jobs_for(job.submission_id) if j.kind is JobKind.EMAIL
    ]

    answer = client.post("/tasks/jobs", json=envelope(email_job), headers=bearer(certs))

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "finished"
    (sent,) = harness.emails()
    assert sent["Message-ID"].strip() == f"<{job.submission_id}.ready@diagpro.localhost>"
    again = client.post("/tasks/jobs", json=envelope(email_job), headers=bearer(certs))
    assert again.json()["outcome"] == "already finished"  # a redelivered message sends nothing
    assert len(harness.emails()) == 1


def test_no_worker_thread_runs_in_push_mode(harness: Harness, certs: GoogleCertsStub) -> None:
    job = paid_job(harness)
    with TestClient(create_app(harness.container)) as client:  # the lifespan has run
        names = [thread.name for thread in threading.enumerate()]
        assert "diagpro-worker" not in names, names
        assert client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs)).is_success
        assert "diagpro-worker" not in [thread.name for thread in threading.enumerate()]


def test_inline_mode_still_runs_its_worker_thread(tmp_path: Path) -> None:
    h = Harness.build(tmp_path)
    with TestClient(create_app(h.container)):
        assert "diagpro-worker" in [thread.name for thread in threading.enumerate()]


def test_the_job_id_may_come_in_the_data_alone(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    body = envelope(job, attributes={})

    answer = client.post("/tasks/jobs", json=body, headers=bearer(certs))

    assert answer.status_code == 200 and answer.json()["outcome"] == "finished"


def test_redelivery_is_harmless(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    first = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))
    again = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))

    assert first.json()["outcome"] == "finished"
    assert again.status_code == 200  # acknowledged: Pub/Sub forgets it
    assert again.json()["outcome"] == "already finished"
    assert len(harness.analyzer.calls) == 1


def test_an_unknown_job_is_acknowledged(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    ghost = Job("no-such-job", job.submission_id, JobState.QUEUED, job.created_at, job.created_at)

    answer = client.post("/tasks/jobs", json=envelope(ghost), headers=bearer(certs))

    assert answer.status_code == 200 and answer.json()["outcome"] == "unknown job"


def test_a_failed_attempt_asks_for_redelivery_and_the_backoff_is_kept(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    harness.analyzer.fail_next(AnalysisUnavailable("the model is overloaded"))

    failed = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))

    assert failed.status_code == 503, failed.text  # not acknowledged: Pub/Sub delivers again
    assert failed.json()["code"] == "JOB_RETRY_LATER"
    waiting = harness.container.jobs().job(job.id)
    assert waiting is not None and waiting.state is JobState.QUEUED
    assert waiting.last_error == "the model is overloaded"

    # Pub/Sub came back before the job's own backoff passed: still not acknowledged.
    early = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))
    assert early.status_code == 409 and early.json()["code"] == "JOB_NOT_DUE"
    assert len(harness.analyzer.calls) == 1  # no attempt was spent on it

    harness.clock.advance((waiting.not_before - harness.clock.now()).total_seconds())
    done = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))
    assert done.status_code == 200 and done.json() == {
        "jobId": job.id,
        "submissionId": job.submission_id,
        "outcome": "finished",
        "attempts": 2,
    }
    assert harness.submission(job.submission_id).status is Status.READY


def test_a_job_past_its_retry_budget_fails_for_good_and_is_acknowledged(
    tmp_path: Path, certs: GoogleCertsStub
) -> None:
    h = Harness.build(tmp_path, env={**PUSH_ENV, "DIAGPRO_JOB_MAX_ATTEMPTS": "1"})
    h.container.task_callers.override(
        providers.Object(OidcTaskCallers(AUDIENCE, PUSHER, certs_url=certs.url))
    )
    job = paid_job(h)
    h.analyzer.fail_next(AnalysisUnavailable("the model is overloaded"))
    with TestClient(create_app(h.container)) as client:
        answer = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))

    assert answer.status_code == 200 and answer.json()["outcome"] == "finished"
    assert h.submission(job.submission_id).status is Status.FAILED


def test_a_job_leased_by_another_instance_is_delivered_again_later(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    other = harness.container.jobs().claim_job(job.id, "instance-2", harness.clock.now(), 300)
    assert other is not None

    answer = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs))

    assert answer.status_code == 409 and answer.json()["code"] == "JOB_LEASED"
    assert harness.analyzer.calls == []


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no Authorization header"),
        ({"authorization": "Basic abc"}, "not 'Bearer <token>'"),
        ({"authorization": "Bearer not-a-jwt"}, "does not verify"),
    ],
)
def test_a_push_without_a_good_token_is_refused(
    harness: Harness, client: TestClient[Any], headers: dict[str, str], why: str
) -> None:
    job = paid_job(harness)

    answer = client.post("/tasks/jobs", json=envelope(job), headers=headers)

    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "UNAUTHORIZED" and why in answer.json()["error"]
    assert harness.analyzer.calls == []


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"audience": "https://elsewhere.example/tasks/jobs"}, "wrong audience"),
        ({"email": "someone@evil.example"}, "not DIAGPRO_PUSH_SERVICE_ACCOUNT"),
        ({"email_verified": False}, "not verified"),
        ({"email_verified": None}, "not verified"),
        ({"iss": "https://evil.example"}, "is not Google"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "does not verify"),
        ({"key_name": "forger"}, "does not verify"),
    ],
)
def test_a_token_that_is_not_the_push_service_accounts_is_refused(
    harness: Harness,
    client: TestClient[Any],
    certs: GoogleCertsStub,
    changes: dict[str, Any],
    why: str,
) -> None:
    job = paid_job(harness)

    answer = client.post("/tasks/jobs", json=envelope(job), headers=bearer(certs, **changes))

    assert answer.status_code == 401, answer.text
    assert why in answer.json()["error"]
    assert harness.analyzer.calls == []


def test_tokenless_pushes_pass_only_with_the_emulator(tmp_path: Path) -> None:
    emulator_env = {**PUSH_ENV, "PUBSUB_EMULATOR_HOST": "127.0.0.1:8085"}
    for env, status in ((emulator_env, 200), (PUSH_ENV, 401)):
        h = Harness.build(tmp_path / str(status), env=env)  # the container's own TaskCallers
        job = paid_job(h)
        with TestClient(create_app(h.container)) as client:
            answer = client.post("/tasks/jobs", json=envelope(job))
        assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"{}",
        b'{"message": {"data": "%%%"}}',
        b'{"message": {"data": "e30="}}',  # {} : no jobId
    ],
)
def test_a_body_that_names_no_job_is_a_400(
    client: TestClient[Any], certs: GoogleCertsStub, body: bytes
) -> None:
    answer = client.post("/tasks/jobs", content=body, headers=bearer(certs))

    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == "INVALID_PUSH"


def test_the_task_routes_answer_404_outside_push_mode(tmp_path: Path) -> None:
    h = Harness.build(tmp_path)
    with TestClient(create_app(h.container, start_worker=False)) as client:
        for path in ("/tasks/jobs", "/tasks/sweep"):
            answer = client.post(path, json={})
            assert answer.status_code == 404, answer.text
            assert "DIAGPRO_WORK_MODE is inline" in answer.json()["error"]


# -- the sweep -----------------------------------------------------------------------------------


def test_the_sweep_announces_every_due_job_and_says_how_many(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    jobs = harness.container.jobs()
    lost = paid_job(harness)  # its message was lost
    backoff = paid_job(harness)
    leased = jobs.claim_job(backoff.id, "instance-2", harness.clock.now(), 60)
    assert leased is not None
    jobs.retry_later(leased, harness.clock.now() + timedelta(seconds=30), "overloaded")
    dead_instance = paid_job(harness)
    assert jobs.claim_job(dead_instance.id, "instance-3", harness.clock.now(), 60) is not None
    announcer: RecordingAnnouncer = harness.container.job_announcer()

    now = client.post("/tasks/sweep", headers=bearer(certs))
    assert now.status_code == 200
    assert now.json() == {"due": 1, "announced": 1, "failed": 0, "overdue": 0}
    assert [job.id for job in announcer.announced] == [lost.id]

    harness.clock.advance(60)  # the backoff passed, the dead instance's lease ran out
    later = client.post("/tasks/sweep", headers=bearer(certs))
    assert later.json() == {"due": 3, "announced": 3, "failed": 0, "overdue": 0}
    assert {job.id for job in announcer.announced[1:]} == {lost.id, backoff.id, dead_instance.id}


def test_the_sweep_logs_each_paid_order_without_a_report_after_ten_minutes(
    harness: Harness,
    client: TestClient[Any],
    certs: GoogleCertsStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    waiting = paid_job(harness)  # its message was lost: nobody works it
    harness.clock.advance(9 * 60)
    assert client.post("/tasks/sweep", headers=bearer(certs)).json()["overdue"] == 0
    harness.clock.advance(60)
    caplog.clear()

    with caplog.at_level("INFO", logger="diagpro.orders"):
        answer = client.post("/tasks/sweep", headers=bearer(certs))

    assert answer.status_code == 200 and answer.json()["overdue"] == 1
    lines = [r for r in caplog.records if r.name == "diagpro.orders"]
    [overdue] = [r for r in lines if r.levelname == "WARNING"]
    assert overdue.getMessage().startswith(
        f"overdue paid order {waiting.submission_id}: no report after 10 min (paid, 0 attempt(s))"
    )
    assert (overdue.order_id, overdue.waited_seconds) == (waiting.submission_id, 600)  # type: ignore[attr-defined]
    [checked] = [r for r in lines if r.levelname == "INFO"]
    assert checked.getMessage() == "paid orders checked: 1 without a report after 10 min"


def test_a_sweep_whose_publish_failed_is_a_503(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    harness.container.job_announcer().failing.add(job.id)

    answer = client.post("/tasks/sweep", headers=bearer(certs))

    assert answer.status_code == 503
    assert answer.json()["code"] == "SWEEP_INCOMPLETE"
    assert (answer.json()["due"], answer.json()["failed"]) == (1, 1)


def test_the_sweep_needs_the_token_too(harness: Harness, client: TestClient[Any]) -> None:
    paid_job(harness)
    assert client.post("/tasks/sweep").status_code == 401
    assert harness.container.job_announcer().announced == []


# -- /tasks/purge (Cloud Scheduler, daily) -----------------------------------------------------


def test_the_purge_route_erases_what_is_due_and_answers_ids_and_counts(
    harness: Harness, client: TestClient[Any], certs: GoogleCertsStub
) -> None:
    job = paid_job(harness)
    harness.work()
    sid = job.submission_id
    assert harness.submission(sid).status == Status.READY
    kept = harness.save().id
    harness.clock.advance(days=91)
    fresh = harness.save().id

    answer = client.post("/tasks/purge", headers=bearer(certs))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["retentionDays"] == 90
    assert body["erased"] == 2 and sorted(body["erasedIds"]) == sorted([sid, kept])
    assert body["removed"] == {"report": 1, "checkout email": 1} and body["failed"] == 0
    assert harness.submission(sid).erased_at is not None
    assert harness.submission(fresh).erased_at is None
    assert "owner@example.com" not in answer.text

    again = client.post("/tasks/purge", headers=bearer(certs))
    assert again.status_code == 200 and again.json()["erased"] == 0


def test_the_purge_route_needs_the_token(harness: Harness, client: TestClient[Any]) -> None:
    sid = harness.save().id
    harness.clock.advance(days=91)

    assert client.post("/tasks/purge").status_code == 401

    assert harness.submission(sid).erased_at is None
