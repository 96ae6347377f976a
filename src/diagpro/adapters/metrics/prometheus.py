"""The Meter port on prometheus_client, in a registry of its own (one per container).

A dedicated ``CollectorRegistry`` rather than the library's global one: two apps (or two tests)
in one process would otherwise share, and collide on, the same metric names. Names follow
Prometheus's conventions (https://prometheus.io/docs/practices/naming/): a ``diagpro_`` prefix,
the unit in the name, ``_total`` on counters (added by the client library).

The paid orders still waiting for a report are not counted here: this process sees only the
orders it handled, and on Cloud Run many instances run at once. ``StuckOrders`` asks the store
at scrape time instead, through the callable the container gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("diagpro.metrics")

# A paid order counts within minutes when everything works, up to the job budget when the model
# is slow and retried; a day-long wait is an incident.
_PAID_TO_READY_BUCKETS = (15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, 86400)
_MODEL_BUCKETS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
_RENDER_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
# The webhook answers in milliseconds (it only records and queues); Stripe waits 10 s at most.
_WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

StuckOrderCounts = Callable[[], dict[str, int]]  # age bucket label -> paid orders without report


@dataclass(frozen=True)
class TokenPrices:
    """What the model's tokens cost in US dollars per million (DIAGPRO_MODEL_*_USD_PER_...)."""

    input_usd_per_million: float
    output_usd_per_million: float

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        return (
            tokens_in * self.input_usd_per_million + tokens_out * self.output_usd_per_million
        ) / 1_000_000


class PrometheusMeter:
    """A Meter that keeps its counts in ``registry``."""

    def __init__(self, registry: CollectorRegistry, prices: TokenPrices | None = None) -> None:
        self.registry = registry
        self._prices = prices
        r = registry
        # Only with prices given: a cost from a stale built-in price would mislead.
        self._cost = (
            Counter(
                "diagpro_model_cost_usd",
                "Estimated cost of the model's tokens in US dollars, at the configured prices",
                registry=r,
            )
            if prices is not None
            else None
        )
        self._orders = Counter(
            "diagpro_orders", "Orders that reached an outcome", ["outcome"], registry=r
        )
        self._payment_events = Counter(
            "diagpro_payment_events",
            "Verified payment events handled, by provider event type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self._model_calls = Counter(
            "diagpro_model_calls", "Analyses asked of the analyzer", ["outcome"], registry=r
        )
        self._tokens_in = Counter(
            "diagpro_model_input_tokens", "Prompt tokens billed by the model", registry=r
        )
        self._tokens_out = Counter(
            "diagpro_model_output_tokens",
            "Output tokens billed by the model (thinking included)",
            registry=r,
        )
        self._model_seconds = Histogram(
            "diagpro_model_call_duration_seconds",
            "Time one analysis took, retries inside the analyzer included",
            ["outcome"],
            buckets=_MODEL_BUCKETS,
            registry=r,
        )
        self._renders = Counter(
            "diagpro_renders", "Reports rendered to PDF", ["outcome"], registry=r
        )
        self._render_seconds = Histogram(
            "diagpro_render_duration_seconds",
            "Time one report took to render",
            buckets=_RENDER_BUCKETS,
            registry=r,
        )
        self._emails = Counter(
            "diagpro_emails",
            "Attempts at the customer's emails, by event and outcome",
            ["event", "outcome"],
            registry=r,
        )
        self._paid_to_ready = Histogram(
            "diagpro_paid_to_ready_seconds",
            "Time from the payment to the report being ready",
            buckets=_PAID_TO_READY_BUCKETS,
            registry=r,
        )
        self._webhook_seconds = Histogram(
            "diagpro_webhook_duration_seconds",
            "Time one payment webhook request took to handle",
            buckets=_WEBHOOK_BUCKETS,
            registry=r,
        )

    def order(self, outcome: str) -> None:
        self._orders.labels(outcome).inc()

    def payment_event(self, event_type: str, outcome: str) -> None:
        self._payment_events.labels(event_type, outcome).inc()

    def model_call(self, outcome: str, seconds: float, tokens_in: int, tokens_out: int) -> None:
        self._model_calls.labels(outcome).inc()
        self._model_seconds.labels(outcome).observe(seconds)
        self._tokens_in.inc(tokens_in)
        self._tokens_out.inc(tokens_out)
        if self._cost is not None and self._prices is not None:
            self._cost.inc(self._prices.cost_usd(tokens_in, tokens_out))

    def render(self, outcome: str, seconds: float) -> None:
        self._renders.labels(outcome).inc()
        if outcome == "ok":
            self._render_seconds.observe(seconds)

    def email(self, event: str, outcome: str) -> None:
        self._emails.labels(event, outcome).inc()

    def paid_to_ready(self, seconds: float) -> None:
        self._paid_to_ready.observe(seconds)

    def webhook(self, seconds: float) -> None:
        self._webhook_seconds.observe(seconds)


class StuckOrders(Collector):
    """``diagpro_paid_orders_without_report{age=...}``: asked of the store at every scrape."""

    def __init__(self, counts: StuckOrderCounts) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "diagpro_paid_orders_without_report",
            "Paid orders whose report is not ready yet, by how long ago they were paid",
            labels=["age"],
        )
        try:
            counts = self._counts()
        except Exception:
            # A scrape must still show the counters when the store is down; the gauge is left
            # out (absent() alerts on it) and the reason logged.
            log.exception("paid orders without a report could not be counted")
            return
        for age, count in counts.items():
            gauge.add_metric([age], count)
        yield gauge

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering must not query the store: describe the family without calling it.
        yield GaugeMetricFamily("diagpro_paid_orders_without_report", "", labels=["age"])


def prometheus_meter(
    registry: CollectorRegistry,
    stuck_orders: StuckOrderCounts | None,
    input_usd_per_million: float = 0.0,
    output_usd_per_million: float = 0.0,
) -> PrometheusMeter:
    """The meter, with the stuck-orders gauge when the store can count them, and the estimated
    cost when a token price is given."""
    if stuck_orders is not None:
        registry.register(StuckOrders(stuck_orders))
    priced = input_usd_per_million > 0 or output_usd_per_million > 0
    prices = TokenPrices(input_usd_per_million, output_usd_per_million) if priced else None
    return PrometheusMeter(registry, prices)
