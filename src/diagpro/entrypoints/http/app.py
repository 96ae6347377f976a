"""The Litestar app factory: routes, the dependency bridge, errors, auth, logs, the worker.

Litestar cannot see dependency-injector's markers (litestar#582), so each use case and port is
bridged once here as a Litestar dependency that calls the container; tests override the
container, never the app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.template.config import TemplateConfig

from diagpro.container import Container
from diagpro.entrypoints.http import api, local, pages, tasks, webhook
from diagpro.entrypoints.http.admin import admin_routes
from diagpro.entrypoints.http.allow import allow_answer
from diagpro.entrypoints.http.auth import ApiKeys, api_key_check
from diagpro.entrypoints.http.cors import cors_config
from diagpro.entrypoints.http.errors import EXCEPTION_HANDLERS
from diagpro.entrypoints.http.form_guard import form_guard
from diagpro.entrypoints.http.metrics import metrics
from diagpro.entrypoints.http.observability import RequestIds, log_unrouted
from diagpro.entrypoints.http.openapi import add_shared_schemas, openapi_config
from diagpro.entrypoints.http.order_path import Awaited
from diagpro.entrypoints.http.page_headers import add_page_headers
from diagpro.entrypoints.http.rate_limits import api_rate_limit, form_rate_limit
from diagpro.entrypoints.worker import run_worker, worker_chores

log = logging.getLogger("diagpro.server")

# Bigger than any valid intake (every field at its limit is ~45 KB) and any Stripe event.
MAX_BODY_BYTES = 128 * 1024

# Litestar dependency name -> container provider. Handlers ask for these names.
_BRIDGED = (
    ("save_form", "save_submission"),
    ("open_checkout", "open_checkout"),
    ("follow_checkout", "follow_checkout"),
    ("describe", "describe"),
    ("download_links", "download_links"),
    ("requeue", "requeue"),
    ("ensure_report", "ensure_report"),
    ("self_checkout", "self_checkout"),
    ("report_files", "report_files"),
    ("settings", "settings"),
    ("clock", "clock"),
    ("task_callers", "task_callers"),
    ("work_pushed_job", "work_pushed_job"),
    ("sweep_due_jobs", "sweep_due_jobs"),
    ("purge_expired", "purge_expired"),
    ("health", "health"),
    ("metrics_registry", "scraped_registry"),
    ("readiness", "readiness"),
    ("operator_overview", "operator_overview"),
    ("requeue_order", "requeue_order"),
    ("refund_order", "refund_order"),
)


# The order path's use cases, awaited (order_path.py): run by the container's order_path runner.
# Each is the one dependency of its handler.
_AWAITED = (
    ("save", "save_submission"),
    ("receive_payment_event", "receive_payment_event"),
    ("describe_now", "describe"),
)


def _bridge(container: Container) -> dict[str, Provide]:
    def provider(name: str) -> Provide:
        attr = getattr(container, name)
        return Provide(lambda: attr(), sync_to_thread=False)

    runner = container.order_path()

    def awaited(name: str) -> Provide:
        attr = getattr(container, name)
        return Provide(lambda: Awaited(attr(), runner), sync_to_thread=False)

    return {
        **{dep: provider(name) for dep, name in _BRIDGED},
        **{dep: awaited(name) for dep, name in _AWAITED},
    }


def _worker_lifespan(container: Container) -> Any:
    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(
            target=run_worker,
            args=(container.process_jobs(), container.jobs(), container.clock(), stop),
            # The retention purge (daily) and the overdue-order check (every 5 min), inline mode.
            kwargs={"idle_poll": 0.5, "chores": worker_chores(container)},
            name="diagpro-worker",
            daemon=True,
        )
        # Started with the app, so jobs a previous run left behind are taken up at once.
        thread.start()
        log.info("worker started")
        try:
            yield
        finally:
            stop.set()
            await anyio.to_thread.run_sync(thread.join, 30.0)
            log.info("worker stopped")

    return lifespan


def create_app(container: Container, *, start_worker: bool = True) -> Litestar:
    settings = container.settings()
    per_minute, proxies = settings.submissions_per_minute, settings.trusted_proxies
    keys = ApiKeys(settings.api_keys)
    # Only creating submissions is rate limited: it is the one write a client can spam. The API
    # and the form count in separate buckets, and the API only calls with a key it accepts.
    submissions = Router(
        path="/",
        route_handlers=[api.save_submission],
        middleware=[api_rate_limit(keys, per_minute, proxies)],
    )
    guard = form_guard(settings)  # CSRF for the page forms
    protected = Router(
        path="/",
        route_handlers=[
            submissions,
            api.create_checkout_session,
            api.checkout_session,
            allow_answer("/analysisStatus"),
            api.analysis_status,
            api.analysis_status_get,
            api.analyze_diagnostic,
            api.get_download_url,
            api.reports_signed_url,
            api.reports_status,
            api.reports_ensure,
        ],
        # The key check runs before the rate limiter of `submissions`, inside this router.
        middleware=[api_key_check(keys)],
        security=[{"apiKey": []}],
    )
    app = Litestar(
        route_handlers=[
            protected,
            webhook.stripe_webhook,
            api.view_report,
            api.healthz,
            api.readyz,
            local.checkout_routes(guard),
            local.local_report_file,
            tasks.push_job,
            tasks.sweep,
            tasks.purge,
            metrics,
            admin_routes(guard),
            *pages.page_routes(form_rate_limit(per_minute, proxies), guard),
        ],
        dependencies=_bridge(container),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[RequestIds],
        before_send=[add_page_headers],  # every HTML answer, error pages included
        # Requests no route takes (404, 405) never reach route middleware: logged from here.
        after_exception=[log_unrouted],
        cors_config=cors_config(settings.cors_origins),
        request_max_body_size=MAX_BODY_BYTES,
        template_config=TemplateConfig(instance=pages.template_engine()),
        openapi_config=openapi_config(api.VERSION),
        # Only DIAGPRO_WORK_MODE=inline runs the worker in this process: in push mode the work
        # happens inside /tasks/jobs requests, in pull mode in `diagpro worker` processes.
        lifespan=(
            [_worker_lifespan(container)] if start_worker and settings.work.worker_in_server else []
        ),
    )
    add_shared_schemas(app.openapi_schema, settings.price_cents)
    return app
