"""The task routes of ``DIAGPRO_WORK_MODE=push``: ``POST /tasks/{jobs,sweep,purge}``.

- ``/tasks/jobs`` takes Pub/Sub's push envelope (``{"message": {"data": base64, "attributes":
  {...}, "messageId": ...}, "subscription": ...}``,
  https://cloud.google.com/pubsub/docs/push#receive_push) and works the job it names inside the
  request, so Cloud Run gives the work CPU. A 2xx acknowledges the message: the job is finished
  (done or failed for good), already finished, or unknown. Any other status makes Pub/Sub deliver
  it again after the subscription's backoff: 503 when this attempt failed and the job waits for
  its retry, 409 while the job's backoff has not passed or another instance holds its lease,
  401 for a caller that is not the push service account (a misconfiguration must not lose a
  job), 400 for an envelope that names no job (after the subscription's delivery limit it goes
  to the dead-letter topic, for an operator to read).
- ``/tasks/sweep`` (Cloud Scheduler) announces again every job that is due, logs every paid order
  without its report after ten minutes (application/overdue.py: what the stuck-order alert
  counts), and says how many of each.
- ``/tasks/purge`` (Cloud Scheduler, daily) erases the personal data and reports of orders past
  DIAGPRO_RETENTION_DAYS (application/retention.py) and answers with ids and counts only; 503
  when one could not be erased (it stays due, and the next call finishes it).

All three verify Google's OIDC token through the container's ``TaskCallers``; neither is in the API
Gateway config (Pub/Sub and Cloud Scheduler call the Cloud Run URL directly). Outside push mode
both answer 404.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

import anyio.to_thread
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from diagpro.application.retention import PurgeExpiredData
from diagpro.application.tasks import PushOutcome, SweepDueJobs, WorkPushedJob
from diagpro.config import Settings
from diagpro.domain.ports import TaskCallers
from diagpro.entrypoints.http.errors import ApiError

log = logging.getLogger("diagpro.tasks")

# Kept out of the API Gateway config (gateway_spec.py reads this).
INTERNAL = {"gateway": False}

_RETRY_STATUS = {
    PushOutcome.RETRY_LATER: (HTTP_503_SERVICE_UNAVAILABLE, "JOB_RETRY_LATER"),
    PushOutcome.NOT_DUE: (HTTP_409_CONFLICT, "JOB_NOT_DUE"),
    PushOutcome.LEASED: (HTTP_409_CONFLICT, "JOB_LEASED"),
}


def _admit(request: Request[Any, Any, Any], settings: Settings, callers: TaskCallers) -> None:
    if not settings.work.push:
        raise ApiError(
            HTTP_404_NOT_FOUND,
            "NOT_FOUND",
            f"task routes are off: DIAGPRO_WORK_MODE is {settings.work.mode}, not push",
        )
    refusal = callers.refusal(request.headers.get("authorization", ""))
    if refusal is not None:
        log.warning("task call to %s refused: %s", request.url.path, refusal)
        raise ApiError(HTTP_401_UNAUTHORIZED, "UNAUTHORIZED", f"caller refused: {refusal}")


def job_id_of(envelope: Any) -> str:
    """The job a push envelope names: ``attributes.jobId``, else ``jobId`` in the JSON data."""
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict):
        raise ValueError("the body is not a Pub/Sub push envelope (no message object)")
    attributes = message.get("attributes") or {}
    wanted = attributes.get("jobId") if isinstance(attributes, dict) else None
    if isinstance(wanted, str) and wanted:
        return wanted
    try:
        data = json.loads(base64.b64decode(message.get("data") or "", validate=True) or b"{}")
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("message.data is not base64-encoded JSON") from None
    job_id = data.get("jobId") if isinstance(data, dict) else None
    if not isinstance(job_id, str) or not job_id:
        raise ValueError("the message names no job (no jobId attribute or data field)")
    return job_id


@post("/tasks/jobs", status_code=HTTP_200_OK, include_in_schema=False, opt=INTERNAL)
async def push_job(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    task_callers: NamedDependency[TaskCallers],
    work_pushed_job: NamedDependency[WorkPushedJob],
) -> Response[dict[str, Any]]:
    """Work the job a Pub/Sub push message names, inside this request."""
    _admit(request, settings, task_callers)
    body = await request.body()
    try:
        envelope = json.loads(body)
        job_id = job_id_of(envelope)
    except ValueError as exc:
        raise ApiError(HTTP_400_BAD_REQUEST, "INVALID_PUSH", f"not a job message: {exc}") from exc
    message_id = envelope["message"].get("messageId", "")
    result = await anyio.to_thread.run_sync(work_pushed_job, job_id)
    log.info(
        "pushed job %s (message %s, submission %s, attempt %d): %s",
        job_id,
        message_id or "-",
        result.submission_id or "-",
        result.attempts,
        result.outcome.value,
    )
    body_out = {
        "jobId": result.job_id,
        "submissionId": result.submission_id,
        "outcome": result.outcome.value,
        "attempts": result.attempts,
    }
    if result.outcome.acknowledged:
        return Response(body_out, status_code=HTTP_200_OK)
    status, code = _RETRY_STATUS[result.outcome]
    message = f"job {job_id}: {result.outcome.value}; deliver again"
    raise ApiError(status, code, message, [], **body_out)


@post("/tasks/sweep", status_code=HTTP_200_OK, include_in_schema=False, opt=INTERNAL)
async def sweep(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    task_callers: NamedDependency[TaskCallers],
    sweep_due_jobs: NamedDependency[SweepDueJobs],
) -> Response[dict[str, Any]]:
    """Announce every due job again (Cloud Scheduler): a lost message, an expired lease, a
    retry whose backoff has passed; then log the overdue paid orders. 503 when some publish
    failed, so the scheduler shows it."""
    _admit(request, settings, task_callers)
    result = await anyio.to_thread.run_sync(sweep_due_jobs)
    counts = {
        "due": result.due,
        "announced": result.announced,
        "failed": result.failed,
        "overdue": result.overdue,
    }
    if not result.complete:
        raise ApiError(
            HTTP_503_SERVICE_UNAVAILABLE,
            "SWEEP_INCOMPLETE",
            f"{result.failed} of {result.due} due job(s) could not be published",
            [],
            **counts,
        )
    return Response(counts, status_code=HTTP_200_OK)


@post("/tasks/purge", status_code=HTTP_200_OK, include_in_schema=False, opt=INTERNAL)
async def purge(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    task_callers: NamedDependency[TaskCallers],
    purge_expired: NamedDependency[PurgeExpiredData],
) -> Response[dict[str, Any]]:
    """Erase what DIAGPRO_RETENTION_DAYS says must go (Cloud Scheduler, daily)."""
    _admit(request, settings, task_callers)
    run = await anyio.to_thread.run_sync(purge_expired.until_done)
    body = {"retentionDays": settings.retention_days, **run.summary()}
    if run.failed:
        raise ApiError(
            HTTP_503_SERVICE_UNAVAILABLE,
            "PURGE_INCOMPLETE",
            f"{len(run.failed)} submission(s) could not be erased; the next run tries again",
            [],
            **body,
        )
    return Response(body, status_code=HTTP_200_OK)
