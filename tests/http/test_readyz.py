"""``GET /readyz``: readiness, unlike ``/healthz`` (liveness, always 200). 503 with each reason
while a store cannot be written, the analyzer is misconfigured, or a paid order has waited for its
report longer than DIAGPRO_READY_SLO_SECONDS."""

from __future__ import annotations

import pytest

from diagpro.domain.errors import AnalysisMisconfigured, AnalysisUnavailable
from tests.http.conftest import Api
from tests.http.test_storage_faults import make_read_only


def _pay(api: Api) -> str:
    container = api.container
    sid = container.save_submission()(
        {"equipmentType": "automotive", "make": "Ford", "model": "F-150", "year": "2015",
         "problemDescription": "Rough idle and shaking at stops", "email": "owner@example.com"}
    ).id  # fmt: skip
    self_checkout = container.self_checkout()
    assert self_checkout is not None
    signed = self_checkout.pay(container.open_checkout()(sid).id)
    container.receive_payment_event()(signed.payload, signed.signature)
    return sid


def test_ready_without_a_key_and_with_the_usual_headers(api: Api) -> None:
    response = api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]


def test_an_order_whose_analysis_keeps_failing_makes_it_not_ready_and_says_why(api: Api) -> None:
    sid = _pay(api)
    api.analyzer.fail_next(*[AnalysisUnavailable("the model is overloaded")] * 5)
    api.container.process_jobs()()  # attempt 1 fails; it waits for its retry
    api.clock.advance(minutes=6)

    response = api.client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    [reason] = body["reasons"]
    assert reason.startswith("orders: 1 paid order has waited longer than 300 s for the report")
    assert "diagpro orders --stuck" in reason
    assert sid not in reason  # public: an order id is all /view/{id} asks for
    assert response.headers["x-content-type-options"] == "nosniff"
    assert api.client.get("/healthz").json()["status"] == "ok"  # liveness is not readiness


def test_a_paid_order_within_the_slo_keeps_it_ready(api: Api) -> None:
    _pay(api)
    api.clock.advance(minutes=4)
    assert api.client.get("/readyz").status_code == 200


def test_a_misconfigured_analyzer_makes_it_not_ready(api: Api) -> None:
    _pay(api)
    api.analyzer.fail_next(
        AnalysisMisconfigured("the model gemini-x was not found", "set VAI_MODEL")
    )
    api.container.process_jobs()()

    response = api.client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["reasons"] == [
        "analyzer: the model gemini-x was not found: set VAI_MODEL"
    ]


def test_a_store_that_cannot_be_written_makes_it_not_ready(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_read_only(sqlite_api, monkeypatch)

    response = sqlite_api.client.get("/readyz")

    assert response.status_code == 503
    store, orders = response.json()["reasons"]
    assert store.startswith("store: database: The embedded database ")
    assert "attempt to write a readonly database" in store
    assert orders.startswith("orders: the paid orders awaiting a report cannot be read: ")
