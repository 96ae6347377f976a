"""Failures on the customer's pages answered as pages (the JSON API keeps its error envelope).

Nothing a customer can do produces a traceback: the message says what happened and what to do,
and never echoes what was sent.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template

from diagpro.domain import errors as domain
from diagpro.entrypoints.http.errors import RETRY_AFTER_SECONDS

log = logging.getLogger("diagpro.pages")

_NOT_FOUND = (
    domain.SubmissionNotFound,
    domain.CheckoutNotFound,
    domain.ReportMissing,
)

# Failures of the work itself: their messages are for the operator (the log), not the customer.
_OURS = (
    domain.AnalysisUnavailable,
    domain.AnalysisInvalid,
    domain.AnalysisMisconfigured,
    domain.AnalysisRefused,
    domain.RenderFailed,
)

_HTTP_MESSAGES = {
    400: ("We could not read that", "The form did not arrive intact. Please try again."),
    # The form guard's refusal (form_guard.py): the form came without the token its page gave.
    403: (
        "Please send the form again",
        "For your safety we only take a form sent from its own page, and this one came without "
        "the code its page gave your browser (cookies must be allowed for this site). Go back, "
        "reload the page and send it again.",
    ),
    404: ("Page not found", "There is nothing at this address."),
    405: ("Page not found", "There is nothing to do at this address."),
    413: ("That is more than we can take", "Please shorten the longest texts and try again."),
    429: (
        "Too many submissions",
        "Too many descriptions came from your connection in the last minute. Please wait a "
        "minute and send it again.",
    ),
}


def error_page(status_code: int, title: str, message: str) -> Template:
    return Template(
        template_name="error.html",
        context={"title": title, "message": message, "links": (("/", "Start over"),)},
        status_code=status_code,
    )


def _on_domain_error(_: Request[Any, Any, Any], exc: domain.DomainError) -> Template:
    if isinstance(exc, _NOT_FOUND):
        return error_page(
            404,
            "We could not find that order",
            "The link may be incomplete. Check that it matches the one you bookmarked: "
            "your submission id starts with diag_.",
        )
    if isinstance(exc, domain.PaymentProviderError):
        log.error("payment provider failed on a page: %s", exc.message)
        return error_page(
            502,
            "Payment is unavailable right now",
            "Our payment provider did not answer. Nothing was charged: go back and try again "
            "in a minute.",
        )
    if isinstance(exc, domain.StoreUnavailable | domain.ReportStorageError):
        # The detail (a database file, a report path) is the operator's: logged, never shown.
        log.error("store unavailable on a page (%s): %s", exc.code, exc.message)
        page = error_page(
            503,
            "We are briefly unavailable",
            "Our records did not answer just now. Nothing was lost: please reload this page in "
            "a moment.",
        )
        page.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
        return page
    if isinstance(exc, _OURS):
        log.error("failure on a page (%s): %s", exc.code, exc.message)
        return _our_fault()
    return error_page(409, "That cannot be done now", exc.message)


def _on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Template:
    title, message = _HTTP_MESSAGES.get(
        exc.status_code, ("Something went wrong", "Please try again.")
    )
    page = error_page(exc.status_code, title, message)
    if exc.headers:
        page.headers.update(exc.headers)  # e.g. the rate limiter's Retry-After
    return page


def _our_fault() -> Template:
    return error_page(
        500,
        "Something went wrong on our side",
        "Nothing you did caused this. Please try again in a moment.",
    )


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Template:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _our_fault()


PAGE_ERRORS: dict[type[Exception] | int, Any] = {
    domain.DomainError: _on_domain_error,
    ValidationException: _on_http_error,  # listed: the app maps it to JSON by its own key
    HTTPException: _on_http_error,
    Exception: _on_unexpected,
}
