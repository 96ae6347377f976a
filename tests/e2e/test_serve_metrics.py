"""``diagpro serve`` scraped as Prometheus would: a paid order over HTTP, worked by the inline
worker thread, shows up on /metrics of the same process (the real renderer and the offline
analyzer counted through the metered ports), and on its DIAGPRO_METRICS_PORT without a key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_serve import INTAKE
from tests.forms import send_form
from tests.server import free_port, wait_for

pytestmark = pytest.mark.process

OPERATOR_KEY = "op_key_for_the_served_metrics_1"


def test_a_served_order_is_counted_on_metrics(serve: Any, env: dict[str, str]) -> None:
    env["DIAGPRO_OPERATOR_KEYS"] = OPERATOR_KEY
    metrics_port = free_port()
    env["DIAGPRO_METRICS_PORT"] = str(metrics_port)
    server = serve()
    with httpx.Client(base_url=server.url, headers={"x-api-key": server.api_key()}) as client:
        sid = client.post("/saveSubmission", json={"payload": INTAKE}).json()["submissionId"]
        session_id = client.post("/createCheckoutSession", json={"submissionId": sid}).json()[
            "sessionId"
        ]
        assert send_form(client, f"/checkout/local/{session_id}/pay").status_code == 303

        def ready() -> bool:
            return client.get("/reports/status", params={"submissionId": sid}).status_code == 200

        wait_for(ready, 60, "the report", interval=0.25)
        assert client.get("/metrics").status_code == 401  # an API key is not an operator key

    scraped = httpx.get(
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {OPERATOR_KEY}"}, timeout=10
    )
    assert scraped.status_code == 200, scraped.text
    seen = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }
    for outcome in ("saved", "paid", "ready"):
        assert seen[("diagpro_orders_total", (("outcome", outcome),))] == 1
    assert seen[("diagpro_model_calls_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_paid_to_ready_seconds_count", ())] == 1
    assert seen[("diagpro_webhook_duration_seconds_count", ())] == 1
    # The same registry on the metrics port: loopback, so no key.
    on_port = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
    assert on_port.status_code == 200
    counted = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(on_port.text)
        for s in family.samples
    }
    assert counted[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    assert counted[("diagpro_orders_total", (("outcome", "ready"),))] == 1
    server.stop()
