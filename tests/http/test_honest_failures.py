"""What went wrong is the operator's to read; a customer reads a plain sentence.

The attack: a full disk makes saving the report fail with an error naming the server's report
folder. That text reached the public success page and the status API (``failureReason``, the
explanation, the retry message). A full disk now only delays the job (it never fails a paid
order), so the failure for good is a render failure naming the same folder. Every customer
response is checked for the folder while the job waits and after it failed for good, and the
detail is checked to be where an operator looks.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dependency_injector import providers

from diagpro.domain.errors import RenderFailed, ReportStorageError
from tests.http.conftest import Api

SERVER_FOLDER = "/home/x/var/reports"


class FullDisk:
    """A report store on a disk with no space left: every save fails, naming its file."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def save(self, submission_id: str, pdf: bytes) -> str:
        raise ReportStorageError(
            f"could not write {SERVER_FOLDER}/{submission_id}.pdf: [Errno 28] No space left"
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def customer_responses(api: Api, sid: str) -> dict[str, str]:
    """Every response a customer (or the customer's frontend) can get about one order."""
    by_id = {"submissionId": sid}
    answers = {
        "POST /analysisStatus": api.post("/analysisStatus", by_id),
        "GET /analysisStatus": api.get("/analysisStatus", params=by_id),
        "GET /reports/status": api.get("/reports/status", params=by_id),
        "GET /success": api.client.get("/success", params={"submission_id": sid}),
        "GET /success/status": api.client.get("/success/status", params={"submission_id": sid}),
        "GET /review": api.client.get(f"/review/{sid}"),
    }
    # Last: on a failed order it queues the report again.
    answers["POST /reports/ensure"] = api.post("/reports/ensure", by_id)
    return {route: response.text for route, response in answers.items()}


@pytest.fixture
def full_disk(make_api: Any) -> Api:
    api = make_api(env={"DIAGPRO_JOB_MAX_ATTEMPTS": "2"})
    reports = api.container.reports()
    api.container.reports.override(providers.Object(FullDisk(reports)))
    return api


def test_a_storage_error_naming_a_server_path_never_reaches_a_customer(full_disk: Api, caplog):
    caplog.set_level(logging.INFO)
    api = full_disk
    sid = api.save()
    api.pay(sid)
    for _ in range(3):  # a full disk delays the job, however often it is tried: never failed
        api.work()
        api.clock.advance(minutes=10)
    assert api.status(sid)["status"] == "processing"
    retrying = customer_responses(api, sid)
    job = api.container.jobs().jobs_for(sid)[-1]
    assert SERVER_FOLDER in job.last_error  # the detail is the operator's
    api.container.reports.reset_override()
    failure = RenderFailed(f"fonts missing under {SERVER_FOLDER}: [Errno 2] No such file")
    api.renderer.fail_next(failure, failure, failure)
    for _ in range(5):  # each attempt fails to render: failed for good once the budget is spent
        if api.status(sid)["status"] != "processing":
            break
        api.work()
        api.clock.advance(minutes=10)
    assert api.status(sid)["status"] == "failed"
    failed = customer_responses(api, sid)
    for moment, responses in (("retrying", retrying), ("failed", failed)):
        for route, text in responses.items():
            assert SERVER_FOLDER not in text, f"{route} while {moment} shows the server path"
            assert "Errno" not in text, f"{route} while {moment} shows the OS error"
    assert "We could not make your report." in failed["POST /analysisStatus"]
    # The detail is kept for the operator: on the submission and in the log.
    assert SERVER_FOLDER in api.container.submissions().get(sid).failure_reason
    assert SERVER_FOLDER in caplog.text
