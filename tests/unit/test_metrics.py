"""The Meter port's two implementations, the stuck-orders gauge and the metered ports."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from dependency_injector import providers
from prometheus_client import CollectorRegistry, generate_latest

from diagpro.adapters.metrics.metered import MeteredAnalyzer, MeteredRenderer
from diagpro.adapters.metrics.prometheus import PrometheusMeter, prometheus_meter
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.domain.errors import (
    AnalysisInvalid,
    AnalysisMisconfigured,
    AnalysisRefused,
    AnalysisUnavailable,
    RenderFailed,
)
from diagpro.domain.intake import validate_intake
from diagpro.domain.metering import NO_METER, NoMeter
from diagpro.domain.ports import Meter
from tests.doubles import RecordingRenderer, ScriptedAnalyzer
from tests.harness import AUTOMOTIVE, container_for_tests

GAUGE = "diagpro_paid_orders_without_report"


def _every_call(meter: Meter) -> list[Any]:
    return [
        meter.order("saved"),
        meter.payment_event("checkout.session.completed", "fulfilled"),
        meter.model_call("ok", 1.5, 100, 200),
        meter.render("ok", 0.3),
        meter.email("ready", "sent"),
        meter.paid_to_ready(42.0),
        meter.webhook(0.01),
    ]


def test_the_no_op_meter_is_a_meter_that_keeps_nothing() -> None:
    assert isinstance(NO_METER, Meter)
    assert _every_call(NoMeter()) == [None] * 7
    assert vars(NO_METER) == {}


def test_the_prometheus_meter_counts_what_it_is_told() -> None:
    registry = CollectorRegistry()
    meter = PrometheusMeter(registry)
    assert isinstance(meter, Meter)
    _every_call(meter)
    meter.model_call("unavailable", 30.0, 0, 0)
    value = registry.get_sample_value
    assert value("diagpro_orders_total", {"outcome": "saved"}) == 1
    assert value("diagpro_model_calls_total", {"outcome": "ok"}) == 1
    assert value("diagpro_model_calls_total", {"outcome": "unavailable"}) == 1
    assert value("diagpro_model_input_tokens_total") == 100
    assert value("diagpro_model_output_tokens_total") == 200
    assert value("diagpro_model_call_duration_seconds_count", {"outcome": "ok"}) == 1
    assert value("diagpro_paid_to_ready_seconds_sum") == 42.0
    assert value("diagpro_emails_total", {"event": "ready", "outcome": "sent"}) == 1
    assert value("diagpro_webhook_duration_seconds_count") == 1


def test_two_registries_never_collide() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    PrometheusMeter(first).order("paid")
    PrometheusMeter(second)  # the same names again: no "Duplicated timeseries" error
    assert first.get_sample_value("diagpro_orders_total", {"outcome": "paid"}) == 1
    assert second.get_sample_value("diagpro_orders_total", {"outcome": "paid"}) is None


def test_the_stuck_orders_gauge_asks_at_every_scrape() -> None:
    counts = {"10m-1h": 2, "over-1h": 1}
    calls: list[int] = []

    def stuck() -> dict[str, int]:
        calls.append(1)
        return dict(counts)

    registry = CollectorRegistry()
    prometheus_meter(registry, stuck)
    assert calls == []  # registering does not query the store
    assert registry.get_sample_value(GAUGE, {"age": "10m-1h"}) == 2
    counts["10m-1h"] = 0
    assert registry.get_sample_value(GAUGE, {"age": "10m-1h"}) == 0
    assert registry.get_sample_value(GAUGE, {"age": "over-1h"}) == 1
    assert len(calls) >= 2


def test_a_store_that_cannot_count_leaves_the_gauge_out(caplog: pytest.LogCaptureFixture) -> None:
    def down() -> dict[str, int]:
        raise OSError("the store is down")

    registry = CollectorRegistry()
    prometheus_meter(registry, down).order("paid")
    with caplog.at_level(logging.ERROR, logger="diagpro.metrics"):
        text = generate_latest(registry).decode()
    assert GAUGE not in text
    assert 'diagpro_orders_total{outcome="paid"} 1.0' in text
    assert "could not be counted" in caplog.text


def test_without_a_count_there_is_no_gauge() -> None:
    registry = CollectorRegistry()
    prometheus_meter(registry, None)
    assert GAUGE not in generate_latest(registry).decode()


def test_the_container_calls_the_count_it_is_given(tmp_path: Any) -> None:
    container = container_for_tests(tmp_path)
    # Wired to the store's count (application/orders.py): every bucket, at zero with no order.
    registry = container.scraped_registry()
    assert registry.get_sample_value(GAUGE, {"age": "<5m"}) == 0
    assert registry.get_sample_value(GAUGE, {"age": ">6h"}) == 0

    container = container_for_tests(tmp_path)
    # How the store's count is wired (a provider, delegated: called at every scrape).
    count = providers.Callable(lambda: {"over-10m": 3})
    container.stuck_order_counts.override(providers.Object(count))
    assert container.scraped_registry().get_sample_value(GAUGE, {"age": "over-10m"}) == 3


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (AnalysisMisconfigured("the model x was not found (404)", "set another"), "misconfigured"),
        (AnalysisRefused("blocked"), "refused"),
        (AnalysisInvalid("no causes"), "invalid"),
        (AnalysisUnavailable("429"), "unavailable"),
        (RuntimeError("a bug"), "error"),
    ],
)
def test_a_failed_analysis_is_counted_by_its_kind(failure: Exception, outcome: str) -> None:
    registry = CollectorRegistry()
    analyzer = MeteredAnalyzer(
        ScriptedAnalyzer(OfflineAnalyzer(), [failure]), PrometheusMeter(registry)
    )
    with pytest.raises(type(failure)):
        analyzer.analyse(validate_intake(AUTOMOTIVE), (), "usd")
    assert registry.get_sample_value("diagpro_model_calls_total", {"outcome": outcome}) == 1


def test_an_analysis_counts_its_tokens() -> None:
    registry = CollectorRegistry()
    analysis = MeteredAnalyzer(OfflineAnalyzer(), PrometheusMeter(registry)).analyse(
        validate_intake(AUTOMOTIVE), (), "usd"
    )
    value = registry.get_sample_value
    assert value("diagpro_model_calls_total", {"outcome": "ok"}) == 1
    assert value("diagpro_model_input_tokens_total") == analysis.prompt_tokens
    assert value("diagpro_model_output_tokens_total") == analysis.output_tokens


def test_a_failed_render_is_counted_and_not_timed() -> None:
    registry = CollectorRegistry()
    inner = RecordingRenderer()
    inner.fail_next(RenderFailed("too slow"))
    with pytest.raises(RenderFailed):
        MeteredRenderer(inner, PrometheusMeter(registry)).render(None)  # type: ignore[arg-type]
    assert registry.get_sample_value("diagpro_renders_total", {"outcome": "failed"}) == 1
    assert registry.get_sample_value("diagpro_render_duration_seconds_count") == 0


def test_the_cost_is_estimated_only_at_prices_given(tmp_path: Any) -> None:
    unpriced = container_for_tests(tmp_path / "a")
    unpriced.meter().model_call("ok", 1.0, 1_000_000, 1_000_000)
    assert "diagpro_model_cost_usd" not in generate_latest(unpriced.scraped_registry()).decode()

    priced = container_for_tests(
        tmp_path / "b",
        env={
            "DIAGPRO_MODEL_INPUT_USD_PER_MILLION_TOKENS": "0.30",
            "DIAGPRO_MODEL_OUTPUT_USD_PER_MILLION_TOKENS": "2.5",
        },
    )
    priced.meter().model_call("ok", 1.0, 2_000_000, 400_000)
    cost = priced.scraped_registry().get_sample_value("diagpro_model_cost_usd_total")
    assert cost == pytest.approx(0.6 + 1.0)


def test_a_negative_price_is_refused_by_name() -> None:
    from diagpro.config import load_settings
    from diagpro.config.loading import ConfigError

    with pytest.raises(ConfigError, match="DIAGPRO_MODEL_OUTPUT_USD_PER_MILLION_TOKENS"):
        load_settings({"DIAGPRO_MODEL_OUTPUT_USD_PER_MILLION_TOKENS": "-1"})
