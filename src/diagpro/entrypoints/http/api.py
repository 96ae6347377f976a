"""The JSON API the original frontend calls: same paths, same shapes, one error envelope.

Handlers parse, call one use case and shape the answer; every refusal is a domain error or an
ApiError mapped in errors.py. Most handlers are sync and run in the thread pool, so a slow disk or
a provider never stalls the event loop; the order path (saveSubmission, analysisStatus) is async
and awaits its use case (``order_path.Awaited``), run by the embedded database's writer thread
or the thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Link, OpenAPIType
from litestar.params import Body, Parameter, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_202_ACCEPTED,
    HTTP_302_FOUND,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from msgspec import UNSET, UnsetType

from diagpro.application.checkout import OpenCheckoutSession
from diagpro.application.health import Readiness, ServiceHealth
from diagpro.application.intake import SaveSubmission
from diagpro.application.payments import FollowCheckout
from diagpro.application.status import (
    DescribeSubmission,
    EnsureReport,
    GetDownloadLinks,
    StatusView,
)
from diagpro.domain.errors import SubmissionNotFound
from diagpro.domain.ids import is_submission_id
from diagpro.domain.report import DownloadLinks
from diagpro.domain.submission import Status
from diagpro.entrypoints.http.answers import (
    CheckoutOpened,
    CheckoutSessionState,
    Health,
    Links,
    Queued,
    Saved,
    SubmissionState,
)
from diagpro.entrypoints.http.errors import ApiError
from diagpro.entrypoints.http.intake_schema import PAYLOAD_REF
from diagpro.entrypoints.http.openapi import (
    BAD_ID,
    BAD_SESSION,
    CONFLICT,
    ERASED,
    ID_BODY,
    ID_QUERY,
    INVALID,
    KEYED,
    MISSING_ID,
    NO_SESSION,
    NOT_FOUND,
    NOT_JSON,
    NOT_PAID,
    NOT_READY,
    PROVIDER_FAILED,
    RATE_LIMITED,
    REFUNDED,
    REPORT_FAILED,
    REPORT_UNREADABLE,
    STORE_DOWN,
    TOO_LARGE,
    WRONG_STATUS,
    refusing,
    submission_links,
)
from diagpro.entrypoints.http.order_path import Awaited

VERSION = "0.1.0"

# What a submission id looks like (domain/ids.py), for the document. Handlers check it
# themselves (submission_id_from) so that a missing or malformed id gets the original API's
# codes, MISSING_SUBMISSION_ID and BAD_ID, rather than a generic validation error: the document
# marks the id required with its pattern (Litestar's schema_extra), the decoders stay lenient.
SUBMISSION_ID_PATTERN = "^diag_[0-9]{13}_[0-9a-f]{8,32}$"
_ID_DOC = {"pattern": SUBMISSION_ID_PATTERN, "one_of": None, "type": OpenAPIType.STRING}
_ID_WORDS = "The id /saveSubmission answered: diag_<13 digits>_<hex>"

# The original's query parameter is camelCase (?submissionId=diag_...).
SubmissionIdQuery = Annotated[
    str | None,
    QueryParameter(
        name="submissionId",
        required=True,
        description=_ID_WORDS,
        schema_extra=_ID_DOC,
    ),
]


class SaveSubmissionBody(msgspec.Struct):
    """What the original frontend posts (DiagnosticReview.tsx): the payload, and beside it
    ``{priceCents: 499, status: "pending", reqId, userAgent, clientIp: ""}``.

    ``priceCents`` must be the price this server charges: a client showing another price is
    refused rather than charged a different amount. msgspec refuses a fraction (499.9) for an
    ``int`` instead of truncating it. ``reqId``, ``userAgent`` and ``clientIp`` are the client's
    own claims: accepted so its request passes, never stored (the request id comes from the
    headers, the address from the connection).
    """

    # Validated by the domain's intake rule, which names every bad field at once, "payload"
    # too when it is missing (UNSET); the document describes it from that rule
    # (intake_schema.py) and marks it required (SaveSubmissionBodyIn).
    payload: Annotated[Any, Parameter(schema_extra={"one_of": [PAYLOAD_REF]})] = UNSET
    priceCents: int | None = None
    status: Literal["pending"] | None = None
    reqId: Annotated[str, msgspec.Meta(max_length=200)] = ""
    userAgent: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    clientIp: Annotated[str, msgspec.Meta(max_length=100)] = ""


SaveSubmissionBodyIn = Annotated[
    SaveSubmissionBody,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"required": ["payload"]}),
]


class SubmissionRef(msgspec.Struct):
    # Absent (UNSET) and empty are one refusal, MISSING_SUBMISSION_ID, answered by the handler.
    submissionId: Annotated[
        str | UnsetType, Parameter(description=_ID_WORDS, schema_extra=_ID_DOC)
    ] = UNSET


# {"submissionId": ...} bodies: required in the document (see SUBMISSION_ID_PATTERN).
SubmissionRefBody = Annotated[
    SubmissionRef,
    Body(media_type=RequestEncodingType.JSON, schema_extra={"required": ["submissionId"]}),
]


def answer(body: type[msgspec.Struct], description: str) -> ResponseSpec:
    """A success answer's documented body (answers.py)."""
    return ResponseSpec(data_container=body, description=description, generate_examples=False)


def submission_id_from(raw: str | UnsetType | None) -> str:
    """The one check of a submission id from a client: present, and shaped like one."""
    value = raw.strip() if isinstance(raw, str) else ""
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
    if sub.emails:
        # New field (the original frontend reads none of it): the latest email's fate. The
        # address and the server's error are the operator's (`diagpro status`).
        last = sub.emails[-1]
        body["email"] = {
            "event": last.event.value,
            "state": last.state.value,
            "at": (last.finished_at or last.started_at).isoformat(),
        }
    if sub.erased_at is not None:
        # Added, never replacing a field the original frontend reads: its ``status`` stays the
        # order's (ready, refunded...), ``message`` says the details and report were erased.
        body["erased"] = True
        body["erasedAt"] = sub.erased_at.isoformat()
    return body


@post(
    "/saveSubmission",
    status_code=HTTP_200_OK,
    responses={HTTP_200_OK: answer(Saved, "Stored: pay for it with /createCheckoutSession")},
    operation_class=refusing(
        NOT_JSON,
        INVALID,
        TOO_LARGE,
        *KEYED,
        RATE_LIMITED,
        leads_to=submission_links("/submissionId"),
    ),
)
async def save_submission(
    data: SaveSubmissionBodyIn, save: NamedDependency[Awaited[SaveSubmission]]
) -> dict[str, str]:
    """Validate and store a customer's description; 400 names every bad field."""
    payload = None if data.payload is UNSET else data.payload
    submission = await save(payload, data.priceCents)
    return {"submissionId": submission.id, "status": submission.status.value}


@post(
    "/createCheckoutSession",
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    responses={HTTP_200_OK: answer(CheckoutOpened, "Send the customer to url")},
    operation_class=refusing(
        *ID_BODY,
        *KEYED,
        NOT_FOUND,
        WRONG_STATUS,
        CONFLICT,
        PROVIDER_FAILED,
        leads_to={
            "session": Link(
                operation_id="CheckoutSessionCheckoutSession",
                parameters={"id": "$response.body#/sessionId"},
            )
        },
    ),
)
def create_checkout_session(
    data: SubmissionRefBody, open_checkout: NamedDependency[OpenCheckoutSession]
) -> dict[str, str]:
    """Open (or reuse) the checkout session for a pending submission."""
    session = open_checkout(submission_id_from(data.submissionId))
    return {"url": session.url, "sessionId": session.id}


SessionIdQuery = Annotated[
    str | None,
    QueryParameter(
        required=True,
        description="The checkout session id Stripe put in the success URL (cs_...)",
        schema_extra={"pattern": "^cs_", "one_of": None, "type": OpenAPIType.STRING},
    ),
]


@get(
    "/checkout/session",
    sync_to_thread=True,
    responses={
        HTTP_200_OK: answer(CheckoutSessionState, "The session, as the payment provider has it")
    },
    operation_class=refusing(
        BAD_SESSION, INVALID, *KEYED, NO_SESSION, NOT_FOUND, CONFLICT, PROVIDER_FAILED
    ),
)
def checkout_session(
    id: SessionIdQuery,
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


@post(
    "/analysisStatus",
    status_code=HTTP_200_OK,
    responses={HTTP_200_OK: answer(SubmissionState, "Where the submission is")},
    operation_class=refusing(*ID_BODY, *KEYED, NOT_FOUND),
)
async def analysis_status(
    data: SubmissionRefBody, describe_now: NamedDependency[Awaited[DescribeSubmission]]
) -> dict[str, Any]:
    return status_body(await describe_now(submission_id_from(data.submissionId)))


@get(
    "/analysisStatus",
    responses={HTTP_200_OK: answer(SubmissionState, "Where the submission is")},
    operation_class=refusing(*ID_QUERY, *KEYED, NOT_FOUND),
)
async def analysis_status_get(
    submission_id: SubmissionIdQuery, describe_now: NamedDependency[Awaited[DescribeSubmission]]
) -> dict[str, Any]:
    return status_body(await describe_now(submission_id_from(submission_id)))


# Work a client may ask for again: refused before payment, after a refund, or mid-update.
_REQUEUE = (NOT_FOUND, NOT_PAID, WRONG_STATUS, CONFLICT, ERASED)


@post(
    "/analyzeDiagnostic",
    status_code=HTTP_202_ACCEPTED,
    sync_to_thread=True,
    responses={
        HTTP_202_ACCEPTED: answer(Queued, "Queued: poll /reports/status"),
        HTTP_200_OK: answer(Queued, "Already processed: the report is ready"),
    },
    operation_class=refusing(*ID_BODY, *KEYED, *_REQUEUE),
)
def analyze_diagnostic(
    data: SubmissionRefBody, ensure_report: NamedDependency[EnsureReport]
) -> Response[dict[str, Any]]:
    """Queue the analysis again, for a paid submission only (the original ran it unpaid)."""
    if ensure_report(submission_id_from(data.submissionId)):
        return Response({"status": "processing", "message": "Analysis queued"}, status_code=202)
    return Response({"status": "ready", "message": "Already processed"}, status_code=200)


# Links exist only for a ready report whose file is there.
_LINKS = (NOT_FOUND, NOT_READY, REPORT_UNREADABLE, ERASED)


@post(
    "/getDownloadUrl",
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    responses={HTTP_200_OK: answer(Links, "Fresh links to the ready report")},
    operation_class=refusing(*ID_BODY, *KEYED, *_LINKS),
)
def get_download_url(
    data: SubmissionRefBody, download_links: NamedDependency[GetDownloadLinks]
) -> dict[str, Any]:
    """Fresh 15-minute links; 409 while the report is not ready (or its lost file is being
    made again: asking queued it)."""
    return links_body(download_links(submission_id_from(data.submissionId)))


@get(
    "/reports/signed-url",
    sync_to_thread=True,
    responses={HTTP_200_OK: answer(Links, "Fresh links to the ready report")},
    operation_class=refusing(*ID_QUERY, *KEYED, *_LINKS),
)
def reports_signed_url(
    submission_id: SubmissionIdQuery, download_links: NamedDependency[GetDownloadLinks]
) -> dict[str, Any]:
    return links_body(download_links(submission_id_from(submission_id)))


@get(
    "/reports/status",
    sync_to_thread=True,
    responses={
        HTTP_200_OK: answer(SubmissionState, "Ready: the status with fresh links"),
        HTTP_202_ACCEPTED: answer(SubmissionState, "Paid and on its way: poll again"),
    },
    operation_class=refusing(
        *ID_QUERY, *KEYED, NOT_FOUND, REPORT_UNREADABLE, REPORT_FAILED, REFUNDED, ERASED
    ),
)
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
    if sub.erased_at is not None:
        status, erased_at = sub.status.value, body["erasedAt"]
        raise ApiError(410, "REPORT_ERASED", view.explanation, status=status, erasedAt=erased_at)
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


@post(
    "/reports/ensure",
    status_code=HTTP_200_OK,
    sync_to_thread=True,
    responses={
        HTTP_200_OK: answer(Queued, "The report is ready"),
        HTTP_202_ACCEPTED: answer(Queued, "Queued (again): poll /reports/status"),
    },
    operation_class=refusing(*ID_BODY, *KEYED, *_REQUEUE),
)
def reports_ensure(
    data: SubmissionRefBody, ensure_report: NamedDependency[EnsureReport]
) -> Response[dict[str, Any]]:
    """Make sure a paid submission gets its report: re-queue a failed one, make a lost report
    file again from the kept analysis."""
    sid = submission_id_from(data.submissionId)
    if ensure_report(sid):
        return Response({"status": "processing", "submissionId": sid}, status_code=202)
    return Response({"status": "ready", "submissionId": sid}, status_code=200)


@get(
    "/view/{submission_id:str}",
    status_code=HTTP_302_FOUND,
    sync_to_thread=True,
    operation_class=refusing(MISSING_ID, BAD_ID, *_LINKS, STORE_DOWN),
)
def view_report(
    submission_id: Annotated[str, Parameter(description=_ID_WORDS, schema_extra=_ID_DOC)],
    download_links: NamedDependency[GetDownloadLinks],
) -> Redirect:
    """302 to a fresh inline link: a stable address to bookmark or share with a mechanic."""
    return Redirect(download_links(submission_id_from(submission_id)).view_url)


# In a thread: the store probe writes to the database (cached, but a locked one can wait).
@get(
    "/healthz",
    sync_to_thread=True,
    responses={HTTP_200_OK: answer(Health, "ok, or degraded with each problem (still 200)")},
)
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


# In a thread: the store probe writes, and the stuck-order query reads, the store (both cached).
# Left out of the OpenAPI document, like the pages: every 4xx/5xx there is the Error envelope of
# a refused request, and this 503 is an answer about the service instead. The gateway spec is
# built from the routes, so the gateway still forwards it.
@get(
    "/readyz",
    sync_to_thread=True,
    include_in_schema=False,
)
def readyz(readiness: NamedDependency[Readiness]) -> Response[dict[str, Any]]:
    """Readiness, unlike ``/healthz``: 503 while a store cannot be written, the analyzer is
    misconfigured, or a paid order has waited for its report longer than
    DIAGPRO_READY_SLO_SECONDS (read from the store, so every instance says the same)."""
    reasons = readiness.reasons()
    if reasons:
        return Response(
            {"status": "degraded", "reasons": list(reasons)},
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
        )
    return Response({"status": "ready"}, status_code=HTTP_200_OK)
