"""One order, end to end: paid, its analysis keeps failing, and once it has waited past
DIAGPRO_READY_SLO_SECONDS every operator view says so after one sweep: the ``/metrics`` gauge
in its age bucket, ``diagpro orders --stuck`` with the reason, ``/admin`` with the row
highlighted, and ``/readyz`` answering 503 with why (no order id, no customer details).

Real components throughout: the HTTP app (Litestar's test client) in push mode on the SQLite
store, the Pub/Sub dispatch queue (only its publisher client is a stand-in, which keeps the
messages for the test to push to ``/tasks/jobs`` as the push subscription would), Google-style
OIDC tokens checked by google-auth, and the ``diagpro orders`` command on the same database file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from diagpro.adapters.pubsub import PubSubDispatchQueue
from diagpro.adapters.push_auth import OidcTaskCallers
from diagpro.application.health import Readiness
from diagpro.application.orders import AGE_BUCKETS
from diagpro.domain.errors import AnalysisUnavailable
from diagpro.entrypoints import cli
from diagpro.entrypoints.http.app import create_app
from tests.harness import Harness
from tests.http.conftest import AUTOMOTIVE, Api
from tests.http.test_admin import basic
from tests.http.test_tasks import AUDIENCE, PUSH_ENV, PUSHER, bearer
from tests.stubs.google_certs_stub import GoogleCertsStub

OPERATOR_KEY = "op_key_for_the_stuck_order_test_01"
OVERLOADED = "the model is overloaded (429)"
TOPIC = "projects/demo-proj/topics/diagpro-jobs"
SUBSCRIPTION = "projects/demo-proj/subscriptions/diagpro-jobs-push"
# Past the 300 s default of DIAGPRO_READY_SLO_SECONDS, inside the gauge's "5m-10m" bucket with
# minutes to spare (the command reads the real clock: see the test).
WAITED = timedelta(minutes=7)


class Topic:
    """The Pub/Sub publisher client, as far as the dispatch queue uses it: what is published is
    kept, in order, until the test pushes it."""

    def __init__(self) -> None:
        self._messages: list[tuple[bytes, dict[str, str]]] = []

    def publish(self, topic: str, data: bytes, **attributes: str) -> Future[str]:
        assert topic == TOPIC, topic
        self._messages.append((data, attributes))
        published: Future[str] = Future()
        published.set_result(str(len(self._messages)))  # the message id Pub/Sub would answer
        return published

    def take(self) -> list[dict[str, Any]]:
        """The push envelopes of the messages published since the last take
        (https://cloud.google.com/pubsub/docs/push#receive_push)."""
        messages, self._messages = self._messages, []
        return [
            {
                "message": {
                    "data": base64.b64encode(data).decode(),
                    "attributes": attributes,
                    "messageId": f"msg-{n}",
                    "publishTime": datetime.now(UTC).isoformat(),
                },
                "subscription": SUBSCRIPTION,
            }
            for n, (data, attributes) in enumerate(messages, 1)
        ]


@pytest.fixture(scope="module")
def certs() -> Iterator[GoogleCertsStub]:
    with GoogleCertsStub() as stub:
        yield stub


def _push_all(client: TestClient[Any], topic: Topic, certs: GoogleCertsStub) -> list[int]:
    """Pub/Sub's push subscription delivering every waiting message; the statuses answered."""
    return [
        client.post("/tasks/jobs", json=message, headers=bearer(certs)).status_code
        for message in topic.take()
    ]


def _scrape(client: TestClient[Any]) -> dict[str, Any]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
    assert response.status_code == 200, response.text
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def _gauge(client: TestClient[Any]) -> dict[str, float]:
    family = _scrape(client)["diagpro_paid_orders_without_report"]
    return {sample.labels["age"]: sample.value for sample in family.samples}


def _only(bucket: str) -> dict[str, float]:
    return {label: 1.0 if label == bucket else 0.0 for label, _ in AGE_BUCKETS}


def test_an_order_whose_analysis_keeps_failing_shows_up_everywhere_within_one_sweep(
    tmp_path, certs: GoogleCertsStub, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # `diagpro orders` is a command of its own and reads the real clock; the app reads the
    # harness's. So the order is paid WAITED before the real now, and the harness's clock then
    # moves on to about the real now: both see the same wait, in the same age bucket.
    env = {**PUSH_ENV, "DIAGPRO_OPERATOR_KEYS": OPERATOR_KEY}
    h = Harness.build(tmp_path, memory=False, env=env, start=datetime.now(UTC) - WAITED)
    topic = Topic()
    queue = PubSubDispatchQueue(h.container.stored_jobs(), topic, None, TOPIC, SUBSCRIPTION)
    h.container.jobs.override(providers.Object(queue))
    h.container.task_callers.override(
        providers.Object(OidcTaskCallers(AUDIENCE, PUSHER, certs_url=certs.url))
    )
    # /readyz keeps its stuck-order answer 5 s of the process's monotonic time; here those
    # seconds pass as the harness's clock moves, as they would while the minutes really pass.
    c = h.container
    c.readiness.override(
        providers.Singleton(
            Readiness,
            c.health,
            c.stuck_orders.provider,
            monotonic=lambda: h.clock.now().timestamp(),
        )
    )
    app = create_app(h.container)
    with TestClient(app) as client:
        api = Api(h.container, app, client, h.clock, h.analyzer, h.container.renderer())

        # Paid, and its analysis fails (worth retrying) on the pushed job's first attempt.
        sid = api.save()
        h.analyzer.fail_next(*[AnalysisUnavailable(OVERLOADED)] * 20)
        api.pay(sid)
        assert _push_all(client, topic, certs) == [503]  # JOB_RETRY_LATER: Pub/Sub redelivers
        assert _gauge(client) == _only("<5m")
        assert client.get("/readyz").status_code == 200  # waiting, within the SLO

        # Time passes past the SLO; Cloud Scheduler's sweep announces the due retry, Pub/Sub
        # pushes it, and it fails again.
        h.clock.advance(WAITED.total_seconds())
        sweep = client.post("/tasks/sweep", headers=bearer(certs))
        assert sweep.status_code == 200, sweep.text
        # 7 minutes: stuck past the 5-minute SLO, not yet overdue for the 10-minute page
        assert sweep.json() == {"due": 1, "announced": 1, "failed": 0, "overdue": 0}
        assert _push_all(client, topic, certs) == [503]
        assert len(h.analyzer.calls) == 2

        # /metrics: the gauge in its age bucket, and the two failed model calls.
        families = _scrape(client)
        assert _gauge(client) == _only("5m-10m")
        model_calls = {
            s.labels["outcome"]: s.value
            for s in families["diagpro_model_calls"].samples
            if s.name == "diagpro_model_calls_total"
        }
        assert model_calls == {"unavailable": 2.0}

        # /admin: the row highlighted, with why.
        page = client.get("/admin", headers=basic("operator", OPERATOR_KEY))
        assert page.status_code == 200, page.text
        assert f'<tr class="stuck" data-order="{sid}">' in page.text
        assert "1 paid order(s) waiting longer than" in page.text
        assert OVERLOADED in page.text

        # /readyz: not ready, and why, in words that name no order and no customer.
        ready = client.get("/readyz")
        assert ready.status_code == 503, ready.text
        assert ready.json()["status"] == "degraded"
        [reason] = ready.json()["reasons"]
        assert reason == (
            "orders: 1 paid order has waited longer than 300 s for the report "
            "(the longest 7 min, processing); see `diagpro orders --stuck`"
        )
        for private in (sid, AUTOMOTIVE["email"], AUTOMOTIVE["fullName"]):
            assert private not in ready.text

    # `diagpro orders --stuck` on the same database file: the order, its machine and why.
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path))
    assert cli.main(["orders", "--stuck"]) == 0
    out = capsys.readouterr().out
    summary, header, line = out.splitlines()[:3]
    assert summary == "1 paid order(s) waiting longer than 300 s for the report (5m-10m: 1)"
    assert header.split()[:3] == ["ID", "MACHINE", "STATUS"]
    assert line.startswith(sid) and "2015 Ford F-150" in line and " processing " in line
    assert OVERLOADED in line
    assert AUTOMOTIVE["email"] not in out and AUTOMOTIVE["fullName"] not in out

    assert cli.main(["orders", "--stuck", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["stuckByAge"] == {label: int(v) for label, v in _only("5m-10m").items()}
    [order] = body["orders"]
    assert order["id"] == sid and order["status"] == "processing" and order["attempts"] == 2
    assert OVERLOADED in order["lastError"]
