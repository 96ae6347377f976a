"""One error envelope for every failure: ``{"error": ..., "code": ..., "details": [...]}``.

Domain errors are mapped to a status once, here; handlers never build error responses by hand.
Nothing a client can send produces a 500: the catch-all logs the traceback with the request id
and answers with a message that leaks nothing. A failure on our side (any 5xx) is answered with a
plain sentence: its detail (a file path, a database or provider message) goes to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_502_BAD_GATEWAY,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from diagpro.domain import errors as domain
from diagpro.entrypoints.http.observability import REQUEST_ID_HEADER, request_id_for

log = logging.getLogger("diagpro.http")

_STATUS: dict[type[domain.DomainError], int] = {
    domain.IntakeInvalid: HTTP_400_BAD_REQUEST,
    domain.PaymentEventInvalid: HTTP_400_BAD_REQUEST,
    domain.LinkInvalid: HTTP_403_FORBIDDEN,
    domain.SubmissionNotFound: HTTP_404_NOT_FOUND,
    domain.CheckoutNotFound: HTTP_404_NOT_FOUND,
    domain.ReportMissing: HTTP_404_NOT_FOUND,
    # Erased for good (retention period over, or forgotten): never coming back.
    domain.ReportErased: HTTP_410_GONE,
    domain.IllegalTransition: HTTP_409_CONFLICT,
    domain.ReportNotReady: HTTP_409_CONFLICT,
    domain.ConcurrentUpdate: HTTP_409_CONFLICT,
    domain.PaymentProviderError: HTTP_502_BAD_GATEWAY,
    domain.NotPaid: HTTP_409_CONFLICT,
    # An operator's action the order refuses (operator page): the message says why.
    domain.JobLeased: HTTP_409_CONFLICT,
    domain.RefundRefused: HTTP_409_CONFLICT,
    # A store outage is ours and passing: 503 tells clients to come back, and makes Stripe
    # redeliver a webhook it could not hand over (https://docs.stripe.com/webhooks#retries).
    domain.StoreUnavailable: HTTP_503_SERVICE_UNAVAILABLE,
    # The report file could not be read or written (a disk or bucket fault): passing too.
    domain.ReportStorageError: HTTP_503_SERVICE_UNAVAILABLE,
    # Failures of the work itself, should one surface in a request: ours, not the client's.
    domain.AnalysisUnavailable: HTTP_500_INTERNAL_SERVER_ERROR,
    domain.AnalysisInvalid: HTTP_500_INTERNAL_SERVER_ERROR,
    domain.AnalysisMisconfigured: HTTP_500_INTERNAL_SERVER_ERROR,
    domain.AnalysisRefused: HTTP_500_INTERNAL_SERVER_ERROR,
    domain.RenderFailed: HTTP_500_INTERNAL_SERVER_ERROR,
}
# Passing outages: the answer says when to come back.
_COME_BACK = (domain.StoreUnavailable, domain.ReportStorageError)

# What a client reads when the failure is ours; the detail is in the log under the request id.
_PUBLIC_MESSAGES: dict[type[domain.DomainError], str] = {
    domain.StoreUnavailable: "Our records did not answer just now. Nothing was lost: try again "
    "in a few seconds.",
    domain.ReportStorageError: "The report could not be reached just now. Nothing was lost: try "
    "again in a few seconds.",
    domain.PaymentProviderError: "The payment provider did not answer. Nothing was charged: try "
    "again in a minute.",
}
OUR_FAULT = "Something went wrong on our side"


def public_message(exc: domain.DomainError) -> str:
    """The sentence a client may read about a failure on our side (never ``exc.message``)."""
    return next((m for t, m in _PUBLIC_MESSAGES.items() if isinstance(exc, t)), OUR_FAULT)


# Seconds a client should wait after a 503 before trying again (RFC 9110, section 10.2.3).
RETRY_AFTER_SECONDS = 5


class ApiError(Exception):
    """An HTTP-level refusal with a stable code (missing id, bad id shape, not paid...)."""

    def __init__(
        self,
        http_status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message
        self.details = details or []
        self.extra = extra


def envelope(
    http_status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"error": message, "code": code, "details": details or [], **extra}
    return Response(body, status_code=http_status, media_type=MediaType.JSON)


def identified(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    """Every error carries the request id, also those answered outside the RequestIds middleware
    (an unknown path's 404, the rate limiter's 429)."""
    response.headers[REQUEST_ID_HEADER] = request_id_for(request.scope)
    return response


def on_api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return identified(
        request, envelope(exc.http_status, exc.code, exc.message, exc.details, **exc.extra)
    )


def on_domain_error(
    request: Request[Any, Any, Any], exc: domain.DomainError
) -> Response[dict[str, Any]]:
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), HTTP_409_CONFLICT)
    details: list[dict[str, str]] = []
    message = exc.message
    if isinstance(exc, domain.IntakeInvalid):
        details = [{"field": p.field, "message": p.problem} for p in exc.problems]
        message = "Validation failed"
    extra: dict[str, Any] = {}
    if isinstance(
        exc,
        domain.ReportNotReady | domain.IllegalTransition | domain.NotPaid | domain.RefundRefused,
    ):
        extra["status"] = getattr(exc, "status", None) or getattr(exc, "current", "")
    if isinstance(exc, domain.ReportErased):
        extra["erasedAt"] = exc.erased_at
    if status >= 500:
        log.error("upstream failure (%s): %s", exc.code, exc.message)
        message = public_message(exc)
    response = envelope(status, exc.code, message, details, **extra)
    if isinstance(exc, _COME_BACK):
        response.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
    return identified(request, response)


def on_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    details = [
        {"field": str(item.get("key", "")), "message": str(item.get("message", ""))}
        for item in extra
        if isinstance(item, dict)
    ]
    if "malformed" in str(exc.detail).lower() and not details:
        return identified(
            request,
            envelope(
                HTTP_400_BAD_REQUEST,
                "INVALID_JSON",
                f"The request body is not valid JSON: {exc.detail}",
            ),
        )
    return identified(
        request,
        envelope(HTTP_400_BAD_REQUEST, "VALIDATION_ERROR", "Validation failed", details),
    )


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
    HTTP_429_TOO_MANY_REQUESTS: "RATE_LIMITED",
}


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    # Litestar turns a body msgspec cannot decode into a 400 whose message may not say "JSON"
    # ("Input data was truncated"); the SerializationException behind it does.
    undecodable = isinstance(exc.__cause__, SerializationException)
    if exc.status_code == HTTP_400_BAD_REQUEST and (
        undecodable or "json" in str(exc.detail).lower()
    ):
        return identified(
            request,
            envelope(
                HTTP_400_BAD_REQUEST,
                "INVALID_JSON",
                f"The request body is not valid JSON: {exc.detail}",
            ),
        )
    detail = str(exc.detail)
    if exc.status_code >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("HTTP %s on %s %s: %s", exc.status_code, request.method, request.url.path, detail)
        detail = OUR_FAULT
    response = envelope(exc.status_code, code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return identified(request, response)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return identified(
        request,
        envelope(HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", OUR_FAULT),
    )


def on_recursion(request: Request[Any, Any, Any], exc: RecursionError) -> Response[dict[str, Any]]:
    # msgspec and json give up on absurdly nested JSON ([[[[...) with a RecursionError: that is
    # the client's body, not our bug.
    if "deserializing" in str(exc) or "decoding" in str(exc):
        return identified(
            request,
            envelope(
                HTTP_400_BAD_REQUEST,
                "INVALID_JSON",
                "The request body is not valid JSON: it is nested too deeply",
            ),
        )
    return on_unexpected(request, exc)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiError: on_api_error,
    domain.DomainError: on_domain_error,
    ValidationException: on_validation,
    HTTPException: on_http_error,
    RecursionError: on_recursion,
    Exception: on_unexpected,
}
