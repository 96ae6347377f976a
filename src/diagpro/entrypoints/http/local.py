"""What stands in for Stripe and Cloud Storage on the embedded defaults.

- ``/checkout/local/{id}``: the local checkout page (pay or cancel). Paying sends the signed
  ``checkout.session.completed`` event to our own ``/webhook/stripe`` over HTTP, after the
  redirect, the way Stripe does; the success page's lookup fulfils too if that delivery fails.
- ``/files/reports/{id}.pdf``: serves a report from the local folder to a valid signed link.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import anyio.to_thread
import httpx
from litestar import Response, Router, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import Middleware

from diagpro.config import Settings
from diagpro.domain.errors import CheckoutNotFound, PaymentProviderError
from diagpro.domain.payment import PaymentStatus, SignedEvent, format_money
from diagpro.domain.ports import Clock, ReportFiles, SelfCheckout
from diagpro.entrypoints.http.errors import ApiError
from diagpro.entrypoints.http.page_errors import PAGE_ERRORS

log = logging.getLogger("diagpro.local_checkout")

DELIVERY_ATTEMPTS = 3


async def deliver_to_webhook(event: SignedEvent, base_url: str) -> None:
    """POST a signed event to our own webhook, retrying briefly, as Stripe would."""
    url = f"{base_url}/webhook/stripe"
    async with httpx.AsyncClient(timeout=10) as client:
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            try:
                response = await client.post(
                    url,
                    content=event.payload,
                    headers={
                        "stripe-signature": event.signature,
                        "content-type": "application/json",
                    },
                )
                if response.status_code < 300:
                    return
                log.warning("webhook answered %s (attempt %d)", response.status_code, attempt)
            except httpx.HTTPError as exc:
                log.warning("webhook delivery failed (attempt %d): %s", attempt, exc)
            await asyncio.sleep(0.5 * attempt)
    log.error("local payment event not delivered to %s; the success page will fulfil it", url)


def _local_checkout(self_checkout: SelfCheckout | None) -> SelfCheckout:
    if self_checkout is None:
        raise NotFoundException("The local checkout is off: payments go through Stripe")
    return self_checkout


@get("/checkout/local/{session_id:str}", sync_to_thread=True, include_in_schema=False)
def local_checkout_page(
    session_id: FromPath[str], self_checkout: NamedDependency[SelfCheckout | None]
) -> Template:
    checkout = _local_checkout(self_checkout)
    try:
        session = checkout.retrieve_checkout(session_id)
    except CheckoutNotFound as exc:
        raise NotFoundException(str(exc)) from exc
    return Template(
        template_name="local_checkout.html",
        context={
            "session": session,
            "price": format_money(session.amount_total, session.currency),
        },
    )


@post(
    "/checkout/local/{session_id:str}/pay",
    sync_to_thread=True,
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
def local_checkout_pay(
    session_id: FromPath[str],
    self_checkout: NamedDependency[SelfCheckout | None],
    settings: NamedDependency[Settings],
) -> Redirect:
    checkout = _local_checkout(self_checkout)
    try:
        event = checkout.pay(session_id)
    except PaymentProviderError as exc:
        session = checkout.retrieve_checkout(session_id)
        if session.payment_status == PaymentStatus.PAID:
            # A second click on Pay (or Back, then Pay): paid already, so go where the first
            # click went; the first click's event is the one that fulfils.
            return Redirect(f"/success?session_id={session_id}", status_code=HTTP_303_SEE_OTHER)
        raise ApiError(
            409,
            "CHECKOUT_CLOSED",
            f"This checkout is {session.status}; start a new checkout to pay",
            status=session.status,
        ) from exc
    return Redirect(
        f"/success?session_id={session_id}",
        status_code=HTTP_303_SEE_OTHER,
        background=BackgroundTask(deliver_to_webhook, event, settings.public_base_url),
    )


@post(
    "/checkout/local/{session_id:str}/cancel",
    sync_to_thread=True,
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
)
def local_checkout_cancel(
    session_id: FromPath[str],
    self_checkout: NamedDependency[SelfCheckout | None],
    settings: NamedDependency[Settings],
) -> Redirect:
    checkout = _local_checkout(self_checkout)
    session = checkout.retrieve_checkout(session_id)
    event = checkout.cancel(session_id)
    return Redirect(
        f"/cancel?submission_id={session.submission_id}",
        status_code=HTTP_303_SEE_OTHER,
        background=BackgroundTask(deliver_to_webhook, event, settings.public_base_url),
    )


@get("/files/reports/{name:str}", include_in_schema=False)
async def local_report_file(
    name: FromPath[str],
    report_files: NamedDependency[ReportFiles | None],
    clock: NamedDependency[Clock],
    disposition: FromQuery[str] = "",
    expires: FromQuery[str] = "",
    signature: FromQuery[str] = "",
) -> Response[bytes]:
    """A report behind a valid, unexpired signed link; 403 otherwise, never a listing."""
    if report_files is None:
        raise NotFoundException("Reports are served by the storage bucket's signed links")
    read = functools.partial(
        report_files.read_linked, f"reports/{name}", disposition, expires, signature, clock.now()
    )
    report = await anyio.to_thread.run_sync(read)
    return Response(
        report.pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": (
                f'{disposition}; filename="diagpro-{report.submission_id}.pdf"'
            ),
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
        },
    )


def checkout_routes(form_guard: Middleware) -> Router:
    """The local checkout page and its two buttons, behind the pages' CSRF guard; a refused
    form is answered with a page, as on the other pages."""
    return Router(
        path="/",
        route_handlers=[local_checkout_page, local_checkout_pay, local_checkout_cancel],
        middleware=[form_guard],
        exception_handlers={PermissionDeniedException: PAGE_ERRORS[HTTPException]},
        include_in_schema=False,
    )
