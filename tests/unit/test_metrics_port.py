"""The metrics port (entrypoints/metrics_port.py): prometheus_client's own server with this
container's registry; on a loopback address without a key, elsewhere only with an operator key
as a Bearer key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from diagpro.config.settings import MetricsPortSettings
from diagpro.entrypoints.metrics_port import MetricsPortError, start_metrics_port
from tests.harness import Harness
from tests.server import free_port

OPERATOR_KEY = "op_metrics_port_key_0123"


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness.build(tmp_path)


def _ready_order(h: Harness) -> None:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    assert h.work() == 1


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def served(h: Harness) -> Iterator[list[object]]:
    servers: list[object] = []
    yield servers
    for server in servers:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]


def test_off_starts_nothing(h: Harness) -> None:
    off = MetricsPortSettings()
    assert start_metrics_port(off, h.container.scraped_registry(), ()) is None


def test_on_loopback_it_serves_the_containers_counters_without_a_key(
    h: Harness, served: list[object]
) -> None:
    _ready_order(h)
    port = free_port()
    server = start_metrics_port(
        MetricsPortSettings(port, "127.0.0.1"), h.container.scraped_registry(), ()
    )
    served.append(server)

    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)

    assert answer.status_code == 200
    seen = _samples(answer.text)
    assert seen[("diagpro_model_calls_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_paid_to_ready_seconds_count", ())] == 1


def test_elsewhere_only_an_operator_key_is_answered(h: Harness, served: list[object]) -> None:
    _ready_order(h)
    port = free_port()
    # Listening on loopback, but told to ask for a key as it would on any other address.
    keyed = MetricsPortSettings(port, "127.0.0.1", needs_key=True)
    served.append(start_metrics_port(keyed, h.container.scraped_registry(), (OPERATOR_KEY,)))
    url = f"http://127.0.0.1:{port}/metrics"

    refused = httpx.get(url, timeout=10)
    wrong = httpx.get(url, headers={"Authorization": "Bearer op_not_the_key_000000"}, timeout=10)
    answered = httpx.get(url, headers={"Authorization": f"bearer {OPERATOR_KEY}"}, timeout=10)

    assert refused.status_code == wrong.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="diagpro metrics"'
    assert "diagpro_" not in refused.text
    assert answered.status_code == 200
    assert _samples(answered.text)[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    # The library's exposition: OpenMetrics when the scraper asks for it.
    open_metrics = httpx.get(
        url,
        headers={
            "Authorization": f"Bearer {OPERATOR_KEY}",
            "Accept": "application/openmetrics-text; version=1.0.0",
        },
        timeout=10,
    )
    assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
    assert open_metrics.text.rstrip().endswith("# EOF")


def test_a_port_in_use_is_named(h: Harness, served: list[object]) -> None:
    port = free_port()
    endpoint = MetricsPortSettings(port, "127.0.0.1")
    served.append(start_metrics_port(endpoint, h.container.scraped_registry(), ()))
    with pytest.raises(MetricsPortError, match=f"DIAGPRO_METRICS_PORT {port} on 127.0.0.1"):
        start_metrics_port(endpoint, h.container.scraped_registry(), ())
