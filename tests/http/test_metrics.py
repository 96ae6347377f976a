"""GET /metrics: off without an operator key, refused without the right one, and a scrape after
an order shows what that order caused (counted through the Meter port into the app's registry)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from dependency_injector import providers
from prometheus_client.parser import text_string_to_metric_families

from diagpro.domain.errors import AnalysisMisconfigured, AnalysisRefused
from tests.doubles import RecordingRefunds
from tests.http.conftest import Api, assert_error
from tests.lost_reports import lose_report

OPERATOR_KEY = "op_key_for_metrics_tests_0001"
ENV = {"DIAGPRO_OPERATOR_KEYS": f"another_operator_key_000, {OPERATOR_KEY}"}


@pytest.fixture
def ops(make_api: Callable[..., Api]) -> Api:
    return make_api(env=ENV)


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    response = api.client.get("/metrics", headers={"Authorization": f"Bearer {OPERATOR_KEY}"})
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_off_without_an_operator_key(api: Api) -> None:
    body = assert_error(api.client.get("/metrics"), 404, "NOT_FOUND")
    assert "DIAGPRO_OPERATOR_KEYS" in body["error"]


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        (None, "send a key"),
        ("Bearer not_an_operator_key_at_all", "not one of"),
        (f"Basic {OPERATOR_KEY}", "send a key"),  # the key, but not as a bearer token
    ],
)
def test_refused_without_an_operator_key(ops: Api, authorization: str | None, says: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = ops.client.get("/metrics", headers=headers)
    body = assert_error(response, 401, "UNAUTHORIZED")
    assert says in body["error"]
    assert response.headers["www-authenticate"].startswith("Bearer ")


def test_an_api_key_is_not_an_operator_key(ops: Api) -> None:
    response = ops.client.get("/metrics", headers={"Authorization": f"Bearer {ops.key}"})
    assert_error(response, 401, "UNAUTHORIZED")


def test_the_prometheus_text_format(ops: Api) -> None:
    for scheme in ("Bearer", "bearer"):  # the scheme in any case (RFC 7235 section 2.1)
        response = ops.client.get("/metrics", headers={"Authorization": f"{scheme} {OPERATOR_KEY}"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert "# TYPE diagpro_orders_total counter" in response.text


def test_openmetrics_when_asked_for(ops: Api) -> None:
    headers = {
        "Authorization": f"Bearer {OPERATOR_KEY}",
        "Accept": "application/openmetrics-text; version=1.0.0",
    }
    response = ops.client.get("/metrics", headers=headers)
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_a_paid_order_is_counted_from_saved_to_its_email(ops: Api) -> None:
    sid = ops.ready()
    ops.work()  # the customer's email job
    seen = scrape(ops)
    for outcome in ("saved", "paid", "ready"):
        assert seen[("diagpro_orders_total", (("outcome", outcome),))] == 1
    event = (("outcome", "fulfilled"), ("type", "checkout.session.completed"))
    assert seen[("diagpro_payment_events_total", event)] == 1
    assert seen[("diagpro_model_calls_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_renders_total", (("outcome", "ok"),))] == 1
    assert seen[("diagpro_render_duration_seconds_count", ())] == 1
    assert seen[("diagpro_paid_to_ready_seconds_count", ())] == 1
    assert seen[("diagpro_webhook_duration_seconds_count", ())] >= 1
    assert seen[("diagpro_emails_total", (("event", "ready"), ("outcome", "sent")))] == 1
    assert ops.status(sid)["status"] == "ready"


def test_a_redelivered_event_counts_as_a_duplicate(ops: Api) -> None:
    sid = ops.save()
    event = ops.event(ops.checkout(sid)["sessionId"])
    ops.deliver(event)
    ops.deliver(event)
    seen = scrape(ops)
    duplicate = (("outcome", "duplicate"), ("type", "checkout.session.completed"))
    assert seen[("diagpro_payment_events_total", duplicate)] == 1
    assert seen[("diagpro_orders_total", (("outcome", "paid"),))] == 1


def test_a_misconfigured_model_is_counted_with_its_failure(make_api: Callable[..., Api]) -> None:
    ops = make_api(env={**ENV, "DIAGPRO_MODEL_FALLBACK": "none"})
    ops.analyzer.fail_next(AnalysisMisconfigured("the model m was not found (404)", "fix it"))
    ops.pay(ops.save())
    ops.work()
    seen = scrape(ops)
    assert seen[("diagpro_model_calls_total", (("outcome", "misconfigured"),))] == 1
    assert seen[("diagpro_orders_total", (("outcome", "failed"),))] == 1
    assert ("diagpro_orders_total", (("outcome", "ready"),)) not in seen


def test_each_app_counts_apart(ops: Api, make_api: Callable[..., Api]) -> None:
    ops.save()
    other = make_api(env=ENV, fresh=True)
    assert ("diagpro_orders_total", (("outcome", "saved"),)) not in scrape(other)
    assert scrape(ops)[("diagpro_orders_total", (("outcome", "saved"),))] == 1


def test_an_automatic_refund_is_counted(make_api: Callable[..., Api]) -> None:
    ops = make_api(env={**ENV, "DIAGPRO_AUTO_REFUND": "true", "DIAGPRO_MODEL_FALLBACK": "none"})
    ops.container.refunds.override(providers.Object(RecordingRefunds()))
    ops.analyzer.fail_next(AnalysisRefused("the prompt was blocked (SAFETY)"))
    ops.pay(ops.save())
    ops.work()
    seen = scrape(ops)
    assert seen[("diagpro_model_calls_total", (("outcome", "refused"),))] == 1
    assert seen[("diagpro_orders_total", (("outcome", "failed"),))] == 1
    assert seen[("diagpro_orders_total", (("outcome", "refunded"),))] == 1
    assert seen[("diagpro_emails_total", (("event", "refunded"), ("outcome", "sent")))] == 1


def test_a_report_made_again_after_its_file_was_lost_is_a_render_not_another_ready_order(
    ops: Api,
) -> None:
    sid = ops.ready()
    ops.clock.advance(days=3)  # the file is lost long after the payment
    lose_report(ops.container, sid)
    ops.container.remake_lost_report()(sid)
    assert ops.work() == 1
    assert ops.status(sid)["status"] == "ready"
    seen = scrape(ops)
    assert seen[("diagpro_renders_total", (("outcome", "ok"),))] == 2
    assert seen[("diagpro_orders_total", (("outcome", "ready"),))] == 1
    # The customer waited for one report, not three days: no second payment-to-report time.
    assert seen[("diagpro_paid_to_ready_seconds_count", ())] == 1
