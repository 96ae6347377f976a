"""The customer's pages: describe the problem, check it, pay, and wait for the report.

Server-rendered with Jinja2 (autoescape on: every customer string is escaped). Every page works
without JavaScript; a little script only hides the detail boxes of other categories and polls the
order's progress. No page needs the API key: each shows one customer's own submission, found by
its unguessable id (or its checkout session's). Errors render as pages here, not JSON envelopes.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from litestar import MediaType, Response, Router, get, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import Middleware

from diagpro.application.checkout import OpenCheckoutSession
from diagpro.application.intake import SaveSubmission
from diagpro.application.payments import FollowCheckout
from diagpro.application.status import (
    DescribeSubmission,
    GetDownloadLinks,
    RequeueSubmission,
    StatusView,
)
from diagpro.config import Settings
from diagpro.domain import errors as domain
from diagpro.domain.errors import FieldProblem, IllegalTransition, IntakeInvalid
from diagpro.domain.ids import is_submission_id
from diagpro.domain.intake import validate_intake
from diagpro.domain.payment import format_money
from diagpro.domain.ports import Clock
from diagpro.domain.submission import Status
from diagpro.entrypoints.http import intake_form
from diagpro.entrypoints.http.errors import EXCEPTION_HANDLERS
from diagpro.entrypoints.http.order_progress import (
    SLOW_AFTER_SECONDS,
    STATUS_LABELS,
    STEPS,
    download_path,
    may_retry,
    progress_of,
    view_path,
)
from diagpro.entrypoints.http.page_errors import PAGE_ERRORS
from diagpro.entrypoints.http.page_headers import PAGE_HEADERS

log = logging.getLogger("diagpro.pages")

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = Path(__file__).parent / "assets"
_ASSET_TYPES = {".css": "text/css", ".js": "text/javascript"}

FormBody = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def template_engine() -> JinjaTemplateEngine:
    """The app's Jinja engine: autoescape on for every template, unknown names are errors."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return JinjaTemplateEngine.from_environment(environment)


# -- the intake form -----------------------------------------------------------------------


def _form_page(
    settings: Settings,
    values: dict[str, str] | None = None,
    problems: tuple[FieldProblem, ...] = (),
    editing: str = "",
    status_code: int = 200,
) -> Template:
    context = intake_form.form_context(values or {}, problems, settings.currency)
    context["price"] = format_money(settings.price_cents, settings.currency)
    context["editing"] = editing
    return Template(template_name="form.html", context=context, status_code=status_code)


@get("/", sync_to_thread=True)
def intake_page(
    settings: NamedDependency[Settings],
    describe: NamedDependency[DescribeSubmission],
    edit: FromQuery[str] = "",
) -> Template:
    """The form; ``?edit=<id>`` fills it with a saved description (posting it saves a new one)."""
    if not edit:
        return _form_page(settings)
    submission = describe(_submission_id(edit)).submission
    return _form_page(settings, intake_form.form_values(submission.intake), editing=submission.id)


@post("/intake", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
def submit_intake(
    data: FormBody,
    save_form: NamedDependency[SaveSubmission],
    settings: NamedDependency[Settings],
) -> Response[Any]:
    """Save and go to the review; a refused form comes back with every problem beside its box."""
    reading = intake_form.read_form(data)
    try:
        if reading.strays:
            # Not saved: name the strays together with whatever else the intake rule refuses.
            problems = list(reading.strays)
            try:
                validate_intake(reading.payload)
            except IntakeInvalid as exc:
                problems += exc.problems
            raise IntakeInvalid(problems)
        submission = save_form(reading.payload)
    except IntakeInvalid as exc:
        return _form_page(settings, reading.values, exc.problems, status_code=400)
    return Redirect(f"/review/{submission.id}", status_code=HTTP_303_SEE_OTHER)


@get("/intake", status_code=HTTP_303_SEE_OTHER)
async def intake_get() -> Redirect:
    """A reload or bookmark of the re-rendered form lands on a fresh one."""
    return Redirect("/", status_code=HTTP_303_SEE_OTHER)


# -- review and checkout --------------------------------------------------------------------


@get("/review/{submission_id:str}", sync_to_thread=True)
def review_page(
    submission_id: FromPath[str], describe: NamedDependency[DescribeSubmission]
) -> Template:
    view = describe(_submission_id(submission_id))
    sub = view.submission
    return Template(
        template_name="review.html",
        context={
            "sub": sub,
            "sections": intake_form.summary(sub.intake, sub.currency),
            "equipment_name": sub.intake.equipment_name,
            "price": format_money(sub.price_cents, sub.currency),
            "pending": sub.status == Status.PENDING,
            "explanation": view.explanation,
            "status_label": STATUS_LABELS[sub.status],
            "success_url": _order_url("/success", submission_id=sub.id),
        },
    )


@post("/review/{submission_id:str}/checkout", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
def start_checkout(
    submission_id: FromPath[str], open_checkout: NamedDependency[OpenCheckoutSession]
) -> Redirect:
    """To the checkout page (Stripe's, or the local one); a paid order goes back to its review."""
    sid = _submission_id(submission_id)
    try:
        session = open_checkout(sid)
    except IllegalTransition:
        return Redirect(f"/review/{sid}", status_code=HTTP_303_SEE_OTHER)
    return Redirect(session.url, status_code=HTTP_303_SEE_OTHER)


@get("/cancel", sync_to_thread=True)
def cancel_page(
    describe: NamedDependency[DescribeSubmission], submission_id: FromQuery[str] = ""
) -> Template:
    sub = describe(_submission_id(submission_id)).submission
    return Template(
        template_name="cancel.html",
        context={
            "sub": sub,
            "pending": sub.status == Status.PENDING,
            "success_url": _order_url("/success", submission_id=sub.id),
        },
    )


# -- success: follow the order until the report is ready ----------------------------------


def _order_view(
    session_id: str,
    submission_id: str,
    follow_checkout: FollowCheckout,
    describe: DescribeSubmission,
) -> StatusView:
    """The order a success URL names, fulfilled on the way if its session is paid and the
    webhook has not done it yet (Stripe's guidance: the success page fulfils too). One look at
    the checkout session per poll."""
    if session_id:
        if not session_id.startswith("cs_"):
            raise domain.CheckoutNotFound(session_id)
        return describe(follow_checkout(session_id).session.submission_id)
    view = describe(_submission_id(submission_id))
    sub = view.submission
    if sub.status == Status.PENDING and sub.checkout is not None:
        with contextlib.suppress(domain.CheckoutNotFound):
            followed = follow_checkout(sub.checkout.session_id)
            if followed.submission is not None and followed.submission.status != sub.status:
                view = describe(sub.id)
    return view


@get("/success", sync_to_thread=True)
def success_page(
    follow_checkout: NamedDependency[FollowCheckout],
    describe: NamedDependency[DescribeSubmission],
    clock: NamedDependency[Clock],
    session_id: FromQuery[str] = "",
    submission_id: FromQuery[str] = "",
) -> Template:
    view = _order_view(session_id, submission_id, follow_checkout, describe)
    progress = progress_of(view, clock.now())
    sid = progress.submission_id
    key = {"session_id": session_id} if session_id else {"submission_id": sid}
    return Template(
        template_name="success.html",
        context={
            "p": progress,
            "steps": STEPS,
            "session_id": session_id,
            "status_url": _order_url("/success/status", **key),
            "review_url": f"/review/{sid}",
            "download_url": download_path(sid),
            "view_url": view_path(sid),
            "refresh_seconds": None if progress.finished else (30 if progress.slow else 5),
            "slow_after": SLOW_AFTER_SECONDS,
        },
    )


@get(
    "/success/status",
    sync_to_thread=True,
    exception_handlers=EXCEPTION_HANDLERS,  # a JSON endpoint: the API's error envelope
)
def success_status(
    follow_checkout: NamedDependency[FollowCheckout],
    describe: NamedDependency[DescribeSubmission],
    clock: NamedDependency[Clock],
    session_id: FromQuery[str] = "",
    submission_id: FromQuery[str] = "",
) -> Response[dict[str, Any]]:
    """What the success page polls: status, a sentence, and the report's addresses when ready."""
    view = _order_view(session_id, submission_id, follow_checkout, describe)
    progress = progress_of(view, clock.now())
    return Response(progress.as_json(), media_type=MediaType.JSON)


@post("/success/retry", status_code=HTTP_303_SEE_OTHER, sync_to_thread=True)
def retry_report(
    data: FormBody,
    describe: NamedDependency[DescribeSubmission],
    requeue: NamedDependency[RequeueSubmission],
) -> Redirect:
    """The failed page's "Try again": back in the queue, then back to the page that follows it."""
    sid = _submission_id(intake_form.first(data.get("submission_id")))
    if may_retry(describe(sid)):
        requeue(sid)
        log.info("submission %s re-queued by its customer", sid)
    session_id = intake_form.first(data.get("session_id"))
    if session_id.startswith("cs_"):
        return Redirect(_order_url("/success", session_id=session_id), status_code=303)
    return Redirect(_order_url("/success", submission_id=sid), status_code=303)


@get("/download/{submission_id:str}", sync_to_thread=True)
def download_report(
    submission_id: FromPath[str], download_links: NamedDependency[GetDownloadLinks]
) -> Redirect:
    """A stable address for the report: redirects to a fresh 15-minute download link, or to the
    order's page while the report is not ready, or once it was erased (the page says so)."""
    sid = _submission_id(submission_id)
    try:
        links = download_links(sid)
    except (domain.ReportNotReady, domain.ReportErased):
        return Redirect(_order_url("/success", submission_id=sid), status_code=303)
    return Redirect(links.download_url, status_code=302)


# -- shared pieces ------------------------------------------------------------------------


def _submission_id(raw: str) -> str:
    value = (raw or "").strip()
    if not is_submission_id(value):
        raise domain.SubmissionNotFound(value)
    return value


def _order_url(path: str, **query: str) -> str:
    return f"{path}?{urlencode(query)}"


@get("/assets/{name:str}", include_in_schema=False)
async def asset(name: FromPath[str]) -> Response[bytes]:
    """The pages' own stylesheet and scripts, packaged with the app (no CDN, no fonts)."""
    path = ASSETS / name
    media_type = _ASSET_TYPES.get(path.suffix)
    if media_type is None or path.name != name or not path.is_file():
        raise NotFoundException("No such asset")
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"},
    )


def page_routes(intake_middleware: Middleware, form_guard: Middleware) -> list[Any]:
    """The pages (rate limited like the API where they create submissions) and their assets;
    ``form_guard`` gives every page the CSRF cookie its forms send back (form_guard.py)."""
    pages = Router(
        path="/",
        route_handlers=[
            intake_page,
            intake_get,
            review_page,
            start_checkout,
            cancel_page,
            success_page,
            success_status,
            retry_report,
            download_report,
            Router(path="/", route_handlers=[submit_intake], middleware=[intake_middleware]),
        ],
        middleware=[form_guard],
        exception_handlers=PAGE_ERRORS,
        # Also on the pages' redirects and the status poll (JSON, with the report's links); the
        # app's hook adds them to every HTML answer, error pages included.
        response_headers=[ResponseHeader(name=k, value=v) for k, v in PAGE_HEADERS.items()],
        include_in_schema=False,
    )
    return [pages, asset]
