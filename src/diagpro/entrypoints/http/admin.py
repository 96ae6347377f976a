"""``GET /admin``: the operator page. Recent orders (the rows of ``diagpro orders``, stuck ones
highlighted), the last 24 hours' counts and a chart of payment-to-report times.

Sign-in is HTTP Basic authentication (RFC 7617): a browser asks for a user name and password
itself and sends them on every request to the page, with no cookie, session or sign-in form of
ours to protect. Any user name; the password is a key of DIAGPRO_OPERATOR_KEYS, compared in
constant time (auth.py). Basic sends the key on each request, readable by anyone on the path: the
page is only for an HTTPS address (Cloud Run's is), or localhost. Without an operator key the
page answers 404 saying how to turn it on, as ``/metrics`` does.

The page shows what an operator needs to act on an order and nothing more of the customer: the
machine, never a name, email or phone. It carries the pages' security headers (page_headers.py:
no caching, no framing, a CSP without inline scripts or styles; the chart is SVG made here).

Actions on an order (application/operator_actions.py, the same use cases as ``diagpro requeue``
and ``diagpro refund``): "Run again" on a failed order (back in the queue), "Run now" on a stuck
one (its waiting report job made due now and announced; refused while a worker holds it, saying
who and until when), and "Refund" on a paid order without its report or a failed one (in full,
through the payment provider; a ready or refunded order is refused with the reason, a provider
error is shown and the order stays as it was). Each is a POST form with its own confirmation box
that must be ticked, behind the same Basic check and the pages' CSRF guard (form_guard.py): a
browser sends Basic credentials with any request to the site, so another site's form could
otherwise post it for a signed-in operator. Each action is recorded on the order (when, what,
the Basic user name typed at sign-in, what came of it: the "Last action" column) and logged, never
with the key.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request, Router, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_303_SEE_OTHER,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_502_BAD_GATEWAY,
)
from litestar.types import Middleware

from diagpro.application.operator_actions import RefundOrder, RequeueOrder
from diagpro.application.operator_overview import DAY_LIMIT, OperatorOverview, ReadyTime
from diagpro.config import Settings
from diagpro.domain.errors import PaymentProviderError, SubmissionNotFound
from diagpro.domain.ids import is_submission_id
from diagpro.entrypoints.http import intake_form
from diagpro.entrypoints.http.auth import ApiKeys
from diagpro.entrypoints.http.errors import ApiError
from diagpro.entrypoints.http.pages import FormBody

log = logging.getLogger("diagpro.admin")

_BASIC = "basic "
REALM = 'Basic realm="diagpro operator", charset="UTF-8"'  # RFC 7617 section 2.1
ROWS = 50
CHART_WIDTH, CHART_HEIGHT = 600, 160


def basic_credentials(authorization: str) -> tuple[bytes, bytes]:
    """The user name and password of an ``Authorization: Basic`` header (the scheme in any case,
    RFC 7235 section 2.1); both empty for another scheme or a header that is not base64 of
    ``user:password``."""
    if authorization[: len(_BASIC)].lower() != _BASIC:
        return b"", b""
    try:
        pair = base64.b64decode(authorization[len(_BASIC) :].strip(), validate=True)
    except (binascii.Error, ValueError):
        return b"", b""
    user, colon, password = pair.partition(b":")
    return (user, password) if colon else (b"", b"")


def basic_password(authorization: str) -> bytes:
    return basic_credentials(authorization)[1]


def operator_user(authorization: str) -> str:
    """Who the operator said they are: the Basic user name (UTF-8, as the realm's charset
    parameter asks, RFC 7617 section 2.1), recorded with each action. Never the password."""
    return basic_credentials(authorization)[0].decode("utf-8", errors="replace")


def check_operator(settings: Settings, authorization: str) -> None:
    """Raise unless ``authorization`` carries a key of DIAGPRO_OPERATOR_KEYS as the password."""
    if not settings.operator_keys:
        raise ApiError(
            HTTP_404_NOT_FOUND,
            "NOT_FOUND",
            "the operator page is off: set DIAGPRO_OPERATOR_KEYS and sign in with one of its "
            "keys as the password",
        )
    password = basic_password(authorization)
    if not ApiKeys(settings.operator_keys).accepts(password):
        log.warning("operator page refused: %s", "wrong key" if password else "no key")
        # The challenge makes a browser ask for the user name and password (RFC 9110 11.6.1).
        raise NotAuthorizedException(
            "the password is not one of DIAGPRO_OPERATOR_KEYS"
            if password
            else "sign in with a key of DIAGPRO_OPERATOR_KEYS as the password (any user name)",
            headers={"WWW-Authenticate": REALM},
        )


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


def chart_bars(times: list[ReadyTime]) -> tuple[list[Bar], timedelta]:
    """One bar per ready order, oldest left, scaled to the longest time (also returned)."""
    if not times:
        return [], timedelta(0)
    longest = max(max(time.took for time in times), timedelta(seconds=1))
    step = CHART_WIDTH / len(times)
    bars = []
    for i, time in enumerate(times):
        height = max(CHART_HEIGHT * (time.took / longest), 1.0)
        bars.append(
            Bar(
                x=round(i * step + step * 0.1, 1),
                y=round(CHART_HEIGHT - height, 1),
                width=round(step * 0.8, 1),
                height=round(height, 1),
                label=f"{time.id}: {duration(time.took)} (ready {time.ready_at:%Y-%m-%d %H:%M})",
            )
        )
    return bars, longest


def duration(took: timedelta | None) -> str:
    if took is None:
        return "-"
    seconds = max(int(took.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


@get("/admin", sync_to_thread=True, include_in_schema=False)
def admin_page(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    operator_overview: NamedDependency[OperatorOverview],
) -> Template:
    """The operator page, for a key of DIAGPRO_OPERATOR_KEYS as the Basic password."""
    check_operator(settings, request.headers.get("authorization", ""))
    overview = operator_overview(ROWS)
    bars, longest = chart_bars(overview.ready_times)
    return Template(
        template_name="admin.html",
        context={
            "o": overview,
            "day_limit": DAY_LIMIT,
            "bars": bars,
            "longest": duration(longest),
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "slo": duration(overview.slo),
            "duration": duration,
        },
    )


def _confirmed(submission_id: str, data: dict[str, Any], what: str) -> None:
    if not is_submission_id(submission_id):
        raise SubmissionNotFound(submission_id)
    if intake_form.first(data.get("confirm")) != "yes":
        raise ApiError(
            HTTP_400_BAD_REQUEST, "NOT_CONFIRMED", f"tick the confirmation box to {what}"
        )


@post(
    "/admin/orders/{submission_id:str}/requeue",
    status_code=HTTP_303_SEE_OTHER,
    sync_to_thread=True,
    include_in_schema=False,
)
def run_order(
    request: Request[Any, Any, Any],
    submission_id: FromPath[str],
    data: FormBody,
    settings: NamedDependency[Settings],
    requeue_order: NamedDependency[RequeueOrder],
) -> Redirect:
    """Run a failed order again, or a stuck one now, once the confirmation box is ticked."""
    authorization = request.headers.get("authorization", "")
    check_operator(settings, authorization)
    _confirmed(submission_id, data, "run the order's report")
    # An order it cannot run: 409, saying why (a worker on it: who, and until when).
    requeue_order(submission_id, by=operator_user(authorization))
    return Redirect("/admin", status_code=HTTP_303_SEE_OTHER)


@post(
    "/admin/orders/{submission_id:str}/refund",
    status_code=HTTP_303_SEE_OTHER,
    sync_to_thread=True,
    include_in_schema=False,
)
def refund_form(
    request: Request[Any, Any, Any],
    submission_id: FromPath[str],
    data: FormBody,
    settings: NamedDependency[Settings],
    refund_order: NamedDependency[RefundOrder],
) -> Redirect:
    """Refund an order's payment in full, once the confirmation box is ticked."""
    authorization = request.headers.get("authorization", "")
    check_operator(settings, authorization)
    _confirmed(submission_id, data, "refund the order in full")
    try:
        # A ready or refunded order: 409, saying why (the refund id of the earlier refund).
        refund_order(submission_id, by=operator_user(authorization))
    except PaymentProviderError as exc:
        # The operator must see the provider's reason (the API's answer hides it from clients).
        raise ApiError(
            HTTP_502_BAD_GATEWAY,
            "REFUND_FAILED",
            f"the refund did not go through, the order is unchanged: {exc.message}",
        ) from exc
    return Redirect("/admin", status_code=HTTP_303_SEE_OTHER)


def admin_routes(form_guard: Middleware) -> Router:
    """The page and its actions, with the pages' CSRF cookie and check (form_guard.py)."""
    return Router(
        path="/",
        route_handlers=[admin_page, run_order, refund_form],
        middleware=[form_guard],
    )
