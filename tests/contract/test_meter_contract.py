"""The Meter port's contract, for the no-op meter and the Prometheus one alike: every call the
use cases make is taken, with every label value they pass, and returns nothing; counting never
raises into an order."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry

from diagpro.adapters.metrics.prometheus import prometheus_meter
from diagpro.application.payments import Outcome
from diagpro.domain.email import EmailEvent
from diagpro.domain.metering import NoMeter
from diagpro.domain.ports import Meter

MAKERS: dict[str, Callable[[], Meter]] = {
    "no-op": NoMeter,
    "prometheus": lambda: prometheus_meter(CollectorRegistry(), None),
    "prometheus, priced": lambda: prometheus_meter(CollectorRegistry(), lambda: {}, 0.3, 2.5),
}


@pytest.fixture(params=sorted(MAKERS))
def meter(request: pytest.FixtureRequest) -> Meter:
    made = MAKERS[request.param]()
    assert isinstance(made, Meter)
    return made


def test_every_order_outcome(meter: Meter) -> None:
    for outcome in ("saved", "paid", "ready", "failed", "refunded"):
        assert meter.order(outcome) is None


def test_every_payment_event_outcome(meter: Meter) -> None:
    outcomes = [v for k, v in vars(Outcome).items() if k.isupper()] + ["duplicate"]
    for outcome in outcomes:
        assert meter.payment_event("checkout.session.completed", outcome) is None


def test_model_calls_renders_and_timings(meter: Meter) -> None:
    for outcome in ("ok", "unavailable", "invalid", "refused", "misconfigured", "error"):
        assert meter.model_call(outcome, 0.0, 0, 0) is None
    assert meter.model_call("ok", 12.5, 3000, 1200) is None
    assert meter.render("ok", 0.4) is None
    assert meter.render("failed", 30.0) is None
    assert meter.paid_to_ready(0.0) is None
    assert meter.webhook(0.002) is None


def test_every_email_event_and_outcome(meter: Meter) -> None:
    for event in EmailEvent:
        for outcome in ("sent", "unavailable", "rejected"):
            assert meter.email(event.value, outcome) is None
