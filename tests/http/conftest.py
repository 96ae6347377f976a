"""The HTTP app on a test container, and the customer's and Stripe's actions as helpers.

    def test_something(api):                    # in-memory fakes, milliseconds per request
        sid = api.save()                        # POST /saveSubmission
        session_id = api.checkout(sid)["sessionId"]
        api.deliver(api.event(session_id))      # a signed checkout.session.completed
        api.work()                              # the worker, run here instead of in a thread
        assert api.status(sid)["status"] == "ready"

``sqlite_api`` is the same on the embedded defaults (SQLite file, local report folder: the
``/files/reports`` route serves only from a local folder), for concurrency and file tests.
``make_api(memory=..., env=..., fresh=...)`` makes more, e.g. with a low rate limit. Apps are
shared between tests (rewired with fresh stores, data folder and fakes for each test) unless a
test needs its own; every app is built with ``start_worker=False``. The clock is a FixedClock the
test moves, the renderer a RecordingRenderer (no WeasyPrint), the analyzer a ScriptedAnalyzer
that fails on command.

The local checkout's Pay button delivers its signed event to ``{public base URL}/webhook/stripe``
over HTTP; here that delivery goes to the same app in-process (ASGITransport), so paying on the
local page fulfils exactly as it does in the served app, without a network.
"""

from __future__ import annotations

import io
import itertools
import logging
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import TestClient

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.stripe_events import build_event, session_object, sign_event
from diagpro.application.status import report_jobs
from diagpro.config import Settings
from diagpro.container import Container
from diagpro.domain.jobs import Job, JobKind
from diagpro.domain.payment import CheckoutStatus, PaymentStatus, SignedEvent
from diagpro.entrypoints.http import local
from diagpro.entrypoints.http.app import create_app
from diagpro.entrypoints.http.observability import JsonFormatter
from tests.doubles import CountingIds, FixedClock, RecordingRenderer, ScriptedAnalyzer
from tests.forms import send_form
from tests.harness import container_for_tests

_event_serial = itertools.count(1)
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")

AUTOMOTIVE: dict[str, Any] = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "errorCodes": "P0301 P0171",
    "symptoms": ["rough idle", "shaking at stops"],
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "fullName": "Pat Example",
    "email": "pat.owner@example.com",
}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The one error envelope, with its status, its code and the request id header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers.get("x-request-id"), "every error carries the request id"
    body = response.json()
    assert {"error", "code", "details"} <= set(body), body
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["details"], list)
    return dict(body)


@dataclass
class Api:
    container: Container
    app: Litestar
    client: TestClient[Litestar]
    clock: FixedClock
    analyzer: ScriptedAnalyzer
    renderer: RecordingRenderer

    @property
    def settings(self) -> Settings:
        return self.container.settings()

    @property
    def key(self) -> str:
        return self.settings.api_keys[0]

    def headers(self, **extra: str) -> dict[str, str]:
        return {"x-api-key": self.key, **extra}

    # -- raw calls with the API key --------------------------------------------------------------
    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.client.post(path, json=body, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return self.client.get(path, headers=headers, **kwargs)

    def form(self, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """A page form sent as a browser sends it, with its CSRF token (no redirect followed)."""
        return send_form(self.client, path, data)

    # -- the customer's actions ------------------------------------------------------------------
    def save(self, payload: dict[str, Any] | None = None) -> str:
        response = self.post("/saveSubmission", {"payload": payload or AUTOMOTIVE})
        assert response.status_code == 200, response.text
        return str(response.json()["submissionId"])

    def checkout(self, submission_id: str) -> dict[str, Any]:
        response = self.post("/createCheckoutSession", {"submissionId": submission_id})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def status(self, submission_id: str) -> dict[str, Any]:
        response = self.post("/analysisStatus", {"submissionId": submission_id})
        assert response.status_code == 200, response.text
        return dict(response.json())

    # -- Stripe's side ---------------------------------------------------------------------------
    def event(
        self,
        session_id: str,
        event_type: str = "checkout.session.completed",
        *,
        event_id: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        **session_changes: Any,
    ) -> SignedEvent:
        """A Stripe-shaped event about a checkout session as the gateway knows it, signed with
        the local webhook secret (or ``secret``). A completion is paid unless told otherwise;
        ``session_changes`` override session fields (amount_total, currency, payment_status)."""
        session = self.container.gateway().retrieve_checkout(session_id)
        if event_type in PAID_EVENTS:
            session = replace(
                session, status=CheckoutStatus.COMPLETE, payment_status=PaymentStatus.PAID
            )
        elif event_type == "checkout.session.expired":
            session = replace(
                session, status=CheckoutStatus.EXPIRED, payment_status=PaymentStatus.UNPAID
            )
        session = replace(session, **session_changes)
        # Changes may name a status by its Stripe string ("unpaid"): the domain's enum either way.
        session = replace(
            session,
            status=CheckoutStatus(session.status),
            payment_status=PaymentStatus(session.payment_status),
        )
        payload = build_event(
            event_id or f"evt_test_{next(_event_serial)}",
            event_type,
            session_object(session),
            self.clock.now(),
        )
        return sign_event(payload, secret or self.settings.local_webhook_secret, timestamp)

    def raw_event(self, event_type: str, obj: dict[str, Any], event_id: str) -> SignedEvent:
        payload = build_event(event_id, event_type, obj, self.clock.now())
        return sign_event(payload, self.settings.local_webhook_secret)

    def deliver(self, event: SignedEvent) -> httpx.Response:
        return self.client.post(
            "/webhook/stripe",
            content=event.payload,
            headers={"stripe-signature": event.signature, "content-type": "application/json"},
        )

    def pay(self, submission_id: str) -> str:
        """Check out and deliver a paid completion event; returns the checkout session id."""
        session_id = str(self.checkout(submission_id)["sessionId"])
        response = self.deliver(self.event(session_id))
        assert response.status_code == 200, response.text
        return session_id

    # -- the worker ------------------------------------------------------------------------------
    def work(self, max_jobs: int = 20) -> int:
        """Run the worker until nothing is due now (the test moves the clock for backoff).
        Returns how many report jobs it worked; the email jobs they queue are worked too."""
        process = self.container.process_jobs()
        worked = 0
        while worked < max_jobs and (job := process()) is not None:
            worked += job.kind is JobKind.REPORT
        return worked

    def jobs(self, submission_id: str) -> list[Job]:
        """The submission's report jobs (its email jobs: ``container.jobs().jobs_for``)."""
        return report_jobs(self.container.jobs(), submission_id)

    def ready(self, payload: dict[str, Any] | None = None) -> str:
        """A paid submission with its report made."""
        sid = self.save(payload)
        self.pay(sid)
        assert self.work() == 1
        return sid


# What create_app reads once, when the app is built (the API key guard, the rate limit). Apps
# shared between tests are built with these; everything else is read through the container on
# each request, so a test gets fresh stores, data folder and settings on a shared app.
BUILD_TIME_SETTINGS = ("DIAGPRO_API_KEYS", "DIAGPRO_SUBMISSIONS_PER_MINUTE")
SHARED_ENV = {
    "DIAGPRO_API_KEYS": "dpk_shared_http_tests_key",
    "DIAGPRO_SUBMISSIONS_PER_MINUTE": "1000000",
}


@dataclass
class Wiring:
    container: Container
    clock: FixedClock
    analyzer: ScriptedAnalyzer
    renderer: RecordingRenderer


def wire(
    container: Container | None, data_dir: Path, *, memory: bool, env: dict[str, str]
) -> Wiring:
    """Wire a new container (``None``) or rewire one from scratch: settings for ``data_dir``,
    fresh stores and fakes."""
    container = container_for_tests(data_dir, memory=memory, env=env, container=container)
    wiring = Wiring(
        container, FixedClock(), ScriptedAnalyzer(OfflineAnalyzer()), RecordingRenderer()
    )
    container.clock.override(providers.Object(wiring.clock))
    container.ids.override(providers.Object(CountingIds()))
    container.analyzer.override(providers.Object(wiring.analyzer))
    container.renderer.override(providers.Object(wiring.renderer))
    return wiring


def _in_process_webhook(app: Litestar) -> types.SimpleNamespace:
    """Stands in for the ``httpx`` module in local.py: the delivery reaches this app directly."""

    def client(**kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), **kwargs)

    return types.SimpleNamespace(AsyncClient=client, HTTPError=httpx.HTTPError)


@pytest.fixture(scope="session")
def _shared_apps(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[bool, tuple[Container, Litestar, TestClient[Litestar]]]]:
    """One app per storage variant for the whole session: building one costs ~50 ms."""
    apps: dict[bool, tuple[Container, Litestar, TestClient[Litestar]]] = {}
    for memory in (True, False):
        container = wire(
            None, tmp_path_factory.mktemp("shared"), memory=memory, env=SHARED_ENV
        ).container
        app = create_app(container, start_worker=False)
        client = TestClient(app)
        client.__enter__()
        apps[memory] = (container, app, client)
    yield apps
    for _, _, client in apps.values():
        client.__exit__(None, None, None)


@pytest.fixture
def make_api(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _shared_apps: dict[bool, tuple[Container, Litestar, TestClient[Litestar]]],
) -> Iterator[Callable[..., Api]]:
    """``make_api(memory=True, env=None, fresh=False)``: an Api with fresh state.

    It runs on a shared app unless ``fresh`` or ``env`` changes what the app reads when it is
    built (BUILD_TIME_SETTINGS); then a new app is built, with the settings as given (a key made
    in the data folder, the default rate limit).
    """
    clients: list[TestClient[Litestar]] = []
    count = 0

    def make(*, memory: bool = True, env: dict[str, str] | None = None, fresh: bool = False) -> Api:
        nonlocal count
        count += 1
        data_dir = tmp_path / f"app{count}"
        if fresh or any(key in (env or {}) for key in BUILD_TIME_SETTINGS):
            wiring = wire(None, data_dir, memory=memory, env=env or {})
            container = wiring.container
            app = create_app(container, start_worker=False)
            client = TestClient(app)
            client.__enter__()
            clients.append(client)
        else:
            container, app, client = _shared_apps[memory]
            wiring = wire(container, data_dir, memory=memory, env={**SHARED_ENV, **(env or {})})
            client.cookies.clear()
        monkeypatch.setattr(local, "httpx", _in_process_webhook(app))
        return Api(container, app, client, wiring.clock, wiring.analyzer, wiring.renderer)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    """The app on the in-memory fakes."""
    return make_api(memory=True)


@pytest.fixture
def sqlite_api(make_api: Callable[..., Api]) -> Api:
    """The app on the embedded defaults: SQLite store and queue, local report folder."""
    return make_api(memory=False)


class _ServerSide(logging.Filter):
    """The test client logs each call it makes (httpx); those lines are the client's, not ours."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("httpx", "httpcore"))


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The JSON lines the server logs (at INFO) while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_ServerSide())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
