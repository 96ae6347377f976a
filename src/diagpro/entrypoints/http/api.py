"""The JSON API the original frontend calls: same paths, same shapes, one error envelope.

Handlers parse, call one use case and shape the answer; every refusal is a domain error or an
ApiError mapped in errors.py. Handlers are sync and run in the thread pool, so a slow disk never
stalls the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_302_FOUND

from diagpro.application.checkout import OpenCheckoutSession
from diagpro.application.health import ServiceHealth
from diagpro.application.intake import SaveSubmission
from diagpro.application.payments import FollowCheckout
from diagpro.application.status import (
    DescribeSubmission,
    EnsureReport,
    GetDownloadLinks,
    StatusView,
)
from diagpro.config import Settings
from diagpro.domain.errors import FieldProblem, IntakeInvalid, SubmissionNotFound
from diagpro.domain.ids import is_submission_id
from diagpro.domain.intake import validate_intake
from diagpro.domain.report import DownloadLinks
from diagpro.domain.submission import Status
from diagpro.entrypoints.http.errors import ApiError

VERSION = "0.1.0"

# The original's query parameter is camelCase (?submissionId=diag_...).
SubmissionIdQuery = Annotated[str | None, QueryParameter(name="submissionId")]


class SaveSubmissionBody(msgspec.Struct):
    """What the original frontend posts (DiagnosticReview.tsx): the payload, and beside it
    ``{priceCents: 499, status: "pending", reqId, userAgent, clientIp: ""}``.

    ``priceCents`` must be the price this server charges: a client showing another price is
    refused rather than charged a different amount. msgspec refuses a fraction (499.9) for an
    ``int`` instead of truncating it. ``reqId``, ``userAgent`` and ``clientIp`` are the client's
    own claims: accepted so its request passes, never stored (the request id comes from the
    headers, the address from the connection).
    """

    payload: Any = None
    priceCents: int | None = None
    status: Literal["pending"] | None = None
    reqId: Annotated[str, msgspec.Meta(max_length=200)] = ""
    userAgent: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    clientIp: Annotated[str, msgspec.Meta(max_length=100)] = ""


class SubmissionRef(msgspec.Struct):
    submissionId: str = ""


def submission_id_from(raw: str | None) -> str:
    """The one check of a submission id from a client: present, and shaped like one."""
    value = (raw or "").strip()
    if not value:
        raise ApiError(400, "MISSING_SUBMISSION_ID", "submissionId is required")
    if not is_submission_id(value):
        raise ApiError(
            400,
            "BAD_ID",
            "submissionId must look like diag_<13 digits>_<hex>",
            [{"field": "submissionId", "message": "not a submission id"}],
        )
    return value


def links_body(links: DownloadLinks) -> dict[str, Any]:
    return {
        "submissionId": links.submission_id,
        "downloadUrl": links.download_url,
        "viewUrl": links.view_url,
        "expiresInSeconds": links.expires_in_seconds,
    }


def status_body(view: StatusView) -> dict[str, Any]:
    sub = view.submission
    body: dict[str, Any] = {
        "submissionId": sub.id,
        "status": sub.status.value,
        "message": view.explanation,
        "attempts": view.attempts,
        "createdAt": sub.created_at.isoformat(),
        "updatedAt": sub.updated_at.isoformat(),
    }
    if sub.analysis is not None:
        # Which analyzer (and model id) wrote the report, as the PDF says.
        body["analysisBy"] = sub.analysis.written_by
    if sub.analysis_fallback:
        # "offline" (the offline analyzer stood in for the model) or "refund".
        body["analysisFallback"] = sub.analysis_fallback.value
    if sub.status == Status.FAILED:
        # A plain sentence: the operator's reason can name a setting or a server path.
        body["failureReason"] = view.customer_failure
    if sub.payment_problem:
        body["paymentProblem"] = sub.payment_problem
    if view.next_try is not None:
        body["nextTry"] = view.next_try.isoformat()
    if view.links is not None:
        body.update(links_body(view.links))
    return body


@post("/saveSubmission", status_code=HTTP_200_OK, sync_to_thread=True)
def save_submission(
    data: JSONBody[SaveSubmissionBody],
    save: NamedDependency[SaveSubmission],
    settings: NamedDependency[Settings],
) -> dict[str, str]:
    """Validate and store a customer's description; 400 names every bad field."""
    if data.priceCents is not None and data.priceCents != settings.price_cents:
        # Nothing is saved; the price is named with whatever else the intake rule refuses.
        wrong_price = FieldProblem(
            "priceCents", f"is {data.priceCents}, but the price is {settings.price_cents}"
        )
        try:
            validate_intake(data.payload)
        except IntakeInvalid as exc:
            raise IntakeInvalid([*exc.problems, wrong_price]) from exc
        raise IntakeInvalid([wrong_price])
    submission = save(data.payload)
    return {"submissionId": submission.id, "status": submission.status.value}


@post("/createCheckoutSession", status_code=HTTP_200_OK, sync_to_thread=True)
def create_checkout_session(
    data: JSONBody[SubmissionRef], open_checkout: NamedDependency[OpenCheckoutSession]
) -> dict[str, str]:
    """Open (or reuse) the checkout session for a pending submission."""
    session = open_checkout(submission_id_from(data.submissionId))
    return {"url": session.url, "sessionId": session.id}


@get("/checkout/session", sync_to_thread=True)
def checkout_session(
    id: FromQuery[str | None],
    follow_checkout: NamedDependency[FollowCheckout],
) -> dict[str, Any]:
    """What the success page shows; a paid session is fulfilled here too (Stripe's guidance)."""
    session_id = (id or "").strip()
    if not session_id.startswith("cs_"):
        raise ApiError(400, "BAD_SESSION_ID", "id must be a checkout session id (cs_...)")
    session = follow_checkout(session_id).session
    return {
        "id": session.id,
        "status": session.status,
        "payment_status": session.payment_status,
        "submissionId": session.submission_id,
        "client_reference_id": session.submission_id,
        "amount_total": session.amount_total,
        "customer_email": session.customer_email,
    }


@post("/analysisStatus", status_code=HTTP_200_OK, sync_to_thread=True)
def analysis_status(
    data: JSONBody[SubmissionRef], describe: NamedDependency[DescribeSubmission]
) -> dict[str, Any]:
    return status_body(describe(submission_id_from(data.submissionId)))


@get("/analysisStatus", sync_to_thread=True)
def analysis_status_get(
    submission_id: SubmissionIdQuery, describe: NamedDependency[DescribeSubmission]
) -> dict[str, Any]:
    return status_body(describe(submission_id_from(submission_id)))


@post("/analyzeDiagnostic", status_code=HTTP_202_ACCEPTED, sync_to_thread=True)
def analyze_diagnostic(
    data: JSONBody[SubmissionRef], ensure_report: NamedDependency[EnsureReport]
) -> Response[dict[str, Any]]:
    """Queue the analysis again, for a paid submission only (the original ran it unpaid)."""
    if ensure_report(submission_id_from(data.submissionId)):
        return Response({"status": "processing", "message": "Analysis queued"}, status_code=202)
    return Response({"status": "ready", "message": "Already processed"}, status_code=200)


@post("/getDownloadUrl", status_code=HTTP_200_OK, sync_to_thread=True)
def get_download_url(
    data: JSONBody[SubmissionRef], download_links: NamedDependency[GetDownloadLinks]
) -> dict[str, Any]:
    """Fresh 15-minute links; 409 while the report is not ready (or its lost file is being
    made again: asking queued it)."""
    return links_body(download_links(submission_id_from(data.submissionId)))


@get("/reports/signed-url", sync_to_thread=True)
def reports_signed_url(
    submission_id: SubmissionIdQuery, download_links: NamedDependency[GetDownloadLinks]
) -> dict[str, Any]:
    return links_body(download_links(submission_id_from(submission_id)))


@get("/reports/status", sync_to_thread=True)
def reports_status(
    submission_id: SubmissionIdQuery, describe: NamedDependency[DescribeSubmission]
) -> Response[dict[str, Any]]:
    """200 ready with links, 202 while on its way (also while a lost report file is made
    again), 409 failed or refunded, 404 unknown."""
    sid = submission_id_from(submission_id)
    try:
        view = describe(sid)
    except SubmissionNotFound as exc:
        raise ApiError(404, exc.code, exc.message, status="not_found") from exc
    body = status_body(view)
    sub = view.submission
    if sub.status == Status.READY and not view.report_missing:
        return Response(body, status_code=200)
    if sub.status in (Status.FAILED, Status.REFUNDED):
        code = "REPORT_FAILED" if sub.status == Status.FAILED else "REFUNDED"
        raise ApiError(409, code, view.explanation, status=sub.status.value)
    # Made again and lost once more in the instant it was looked at: the next poll queues it.
    on_its_way = Status.PAID if view.report_missing else sub.status
    return Response(
        {**body, "submissionStatus": on_its_way.value, "status": "processing"}, status_code=202
    )


@post("/reports/ensure", status_code=HTTP_200_OK, sync_to_thread=True)
def reports_ensure(
    data: JSONBody[SubmissionRef], ensure_report: NamedDependency[EnsureReport]
) -> Response[dict[str, Any]]:
    """Make sure a paid submission gets its report: re-queue a failed one, make a lost report
    file again from the kept analysis."""
    sid = submission_id_from(data.submissionId)
    if ensure_report(sid):
        return Response({"status": "processing", "submissionId": sid}, status_code=202)
    return Response({"status": "ready", "submissionId": sid}, status_code=200)


@get("/view/{submission_id:str}", status_code=HTTP_302_FOUND, sync_to_thread=True)
def view_report(
    submission_id: FromPath[str], download_links: NamedDependency[GetDownloadLinks]
) -> Redirect:
    """302 to a fresh inline link: a stable address to bookmark or share with a mechanic."""
    return Redirect(download_links(submission_id_from(submission_id)).view_url)


# In a thread: the store probe writes to the database (cached, but a locked one can wait).
@get("/healthz", sync_to_thread=True)
def healthz(health: NamedDependency[ServiceHealth]) -> dict[str, Any]:
    """200 either way: a liveness probe that restarted a degraded instance would only lose the
    reason, since a restart cannot fix configuration. ``degraded`` names each problem."""
    problems = health.problems()
    if problems:
        return {
            "status": "degraded",
            "problems": list(problems),
            "service": "diagpro",
            "version": VERSION,
        }
    return {"status": "ok", "service": "diagpro", "version": VERSION}
