"""The operator's view of orders (application/orders.py) and readiness, over the real lifecycle:
an order whose analysis keeps failing is stuck once it has waited past the SLO, is listed by
``diagpro orders --stuck`` with why, and makes the service not ready."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from diagpro.application.orders import AGE_BUCKETS, OrderRow, age_bucket
from diagpro.domain.errors import AnalysisUnavailable
from diagpro.domain.submission import Status
from diagpro.entrypoints import cli
from tests.harness import Harness

OVERLOADED = "the model is overloaded (429)"
NO_STUCK = {label: 0 for label, _ in AGE_BUCKETS}


@pytest.fixture(params=["memory", "sqlite"])
def h(request: pytest.FixtureRequest, tmp_path) -> Harness:
    return Harness.build(tmp_path, memory=request.param == "memory")


def _paid(h: Harness) -> str:
    sub = h.save()
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def _keeps_failing(h: Harness) -> str:
    """A paid order whose analysis fails (worth retrying) on its first attempts."""
    sid = _paid(h)
    h.analyzer.fail_next(*[AnalysisUnavailable(OVERLOADED)] * 3)
    assert h.work() == 1  # attempt 1 fails; the job waits for its retry
    h.clock.advance(seconds=3)
    assert h.work() == 1  # attempt 2 fails too
    return sid


def test_an_order_whose_analysis_keeps_failing_is_stuck_past_the_slo(h: Harness) -> None:
    sid = _keeps_failing(h)
    stuck_orders = h.container.stuck_orders()
    assert stuck_orders.slo == timedelta(seconds=300)  # DIAGPRO_READY_SLO_SECONDS' default
    assert stuck_orders.stuck() == []  # waiting, not yet stuck
    assert stuck_orders.waiting_by_age() == {**NO_STUCK, "<5m": 1}

    h.clock.advance(minutes=6)

    assert stuck_orders.stuck_by_age() == {**NO_STUCK, "5m-10m": 1}
    [row] = h.container.list_orders().stuck(10)
    assert row.id == sid and row.status == Status.PROCESSING  # its job waits to retry
    assert row.machine == "2015 Ford F-150"
    assert row.attempts == 2 and row.last_error.endswith(OVERLOADED)
    assert row.paid_at is not None and row.ready_at is None and row.refund == ""
    assert row.waited is not None and row.waited > timedelta(minutes=6)
    reasons = h.container.readiness().reasons()
    assert len(reasons) == 1
    assert reasons[0].startswith("orders: 1 paid order has waited longer than 300 s")
    assert "(the longest 6 min, processing)" in reasons[0]
    assert sid not in reasons[0]  # /readyz is public: an order id opens /view/{id}


def test_a_stuck_order_made_ready_is_stuck_no_more_and_shows_when(h: Harness) -> None:
    sid = _keeps_failing(h)
    h.clock.advance(minutes=20)
    assert h.container.stuck_orders().stuck_by_age() == {**NO_STUCK, "10m-1h": 1}
    h.analyzer.recover()
    assert h.work() == 1

    assert h.container.stuck_orders().stuck_by_age() == NO_STUCK
    [row] = h.container.list_orders().recent(10)
    assert row.id == sid and row.status == Status.READY
    assert row.ready_at == h.clock.now() and row.waited is None
    assert row.attempts == 3 and row.last_error == ""


def test_the_slo_is_a_setting(tmp_path) -> None:
    h = Harness.build(tmp_path, env={"DIAGPRO_READY_SLO_SECONDS": "3600"})
    _keeps_failing(h)
    h.clock.advance(minutes=30)
    assert h.container.stuck_orders().stuck() == []
    h.clock.advance(minutes=31)
    assert h.container.stuck_orders().stuck_by_age() == {**NO_STUCK, "1h-6h": 1}


def test_recent_rows_filter_by_status_and_time_and_show_refunds(h: Harness) -> None:
    ready = _paid(h)
    h.work()
    h.clock.advance(hours=3)
    refunded = _paid(h)
    h.work()
    h.deliver(h.refund_event(refunded))
    pending = h.save().id
    orders = h.container.list_orders()

    rows = orders.recent(10)
    assert [r.id for r in rows] == [pending, refunded, ready]
    assert rows[1].refund == "$4.99 USD in full" and rows[1].status == Status.REFUNDED
    assert rows[0].paid_at is None and rows[0].attempts == 0
    since = h.clock.now() - timedelta(hours=1)
    assert [r.id for r in orders.recent(10, changed_since=since)] == [pending, refunded]
    only_ready = orders.recent(10, statuses=frozenset({Status.READY}))
    assert [r.id for r in only_ready] == [ready]
    assert [r.id for r in orders.recent(1)] == [pending]


def test_a_row_holds_no_personal_data_beyond_the_machine() -> None:
    assert [f.name for f in dataclasses.fields(OrderRow)] == [
        "id",
        "machine",
        "status",
        "paid_at",
        "ready_at",
        "attempts",
        "last_error",
        "refund",
        "waited",
        "last_action",  # the operator's name, never the customer's
    ]


@pytest.mark.parametrize(
    ("age", "label"),
    [
        (timedelta(0), "<5m"),
        (timedelta(minutes=5) - timedelta(microseconds=1), "<5m"),
        (timedelta(minutes=5), "5m-10m"),
        (timedelta(minutes=10) - timedelta(microseconds=1), "5m-10m"),
        (timedelta(minutes=10), "10m-1h"),
        (timedelta(minutes=59), "10m-1h"),
        (timedelta(hours=1), "1h-6h"),
        (timedelta(hours=6), ">6h"),
        (timedelta(days=30), ">6h"),
    ],
)
def test_age_buckets(age: timedelta, label: str) -> None:
    assert age_bucket(age) == label


# -- diagpro orders, in-process on the embedded database ------------------------------------------


def _cli_harness(tmp_path, monkeypatch) -> Harness:
    """A harness on the SQLite file ``diagpro orders`` reads (it runs on the real clock, days
    after the harness's fixed one: every order paid there has waited days)."""
    h = Harness.build(tmp_path, memory=False)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path))
    return h


def test_diagpro_orders_stuck_lists_the_order_and_why(tmp_path, monkeypatch, capsys) -> None:
    h = _cli_harness(tmp_path, monkeypatch)
    sid = _keeps_failing(h)
    assert h.clock.now() < datetime.now(UTC) - timedelta(hours=6)

    assert cli.main(["orders", "--stuck"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("1 paid order(s) waiting longer than 300 s for the report (>6h: 1)")
    header, line = out.splitlines()[1:3]
    assert header.split()[:4] == ["ID", "MACHINE", "STATUS", "PAID"]
    assert line.startswith(sid) and "2015 Ford F-150" in line and " processing " in line
    assert OVERLOADED in line
    assert "owner@example.com" not in out  # no customer contact details

    assert cli.main(["orders", "--stuck", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["sloSeconds"] == 300 and body["stuckByAge"][">6h"] == 1
    [order] = body["orders"]
    assert order["id"] == sid and order["attempts"] == 2 and order["readyAt"] is None
    assert order["waitedSeconds"] > 6 * 3600 and OVERLOADED in order["lastError"]


def test_diagpro_orders_lists_recent_orders_with_filters(tmp_path, monkeypatch, capsys) -> None:
    h = _cli_harness(tmp_path, monkeypatch)
    ready = _paid(h)
    h.work()
    pending = h.save().id

    assert cli.main(["orders"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == ["ID", pending, ready]

    assert cli.main(["orders", "--status", "ready,failed", "--json"]) == 0
    [order] = json.loads(capsys.readouterr().out)["orders"]
    assert order["id"] == ready and order["status"] == "ready" and order["readyAt"]
    assert cli.main(["orders", "--status", "paid", "--status", "failed"]) == 0
    assert capsys.readouterr().out == "no orders match\n"
    # The harness's orders changed days before the real clock's now.
    assert cli.main(["orders", "--since", "2h"]) == 0
    assert capsys.readouterr().out == "no orders match\n"
    assert cli.main(["orders", "--since", h.clock.now().isoformat(), "--limit", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(pending)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "paid,shipped"], "argument --status: 'shipped' is not a status"),
        (["--since", "yesterday"], "argument --since: 'yesterday' is neither a time back"),
        (["--limit", "0"], "argument --limit: '0' is not a whole number from 1 to 1000"),
    ],
)
def test_diagpro_orders_refuses_bad_flags(args, message, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["orders", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_diagpro_orders_stuck_takes_no_filters(tmp_path, monkeypatch, capsys) -> None:
    _cli_harness(tmp_path, monkeypatch)
    assert cli.main(["orders", "--stuck", "--status", "paid"]) == 2
    assert "--stuck lists every stuck order" in capsys.readouterr().err


def test_a_paid_order_waiting_for_its_report_is_in_the_metrics_gauge_by_age(h: Harness) -> None:
    """/metrics counts it from the store at each scrape (every instance reports the same)."""
    _keeps_failing(h)
    gauge = "diagpro_paid_orders_without_report"
    registry = h.container.scraped_registry()
    assert registry.get_sample_value(gauge, {"age": "<5m"}) == 1

    h.clock.advance(minutes=11)  # past the 10 minutes the alert policy reads

    assert registry.get_sample_value(gauge, {"age": "<5m"}) == 0
    assert registry.get_sample_value(gauge, {"age": "10m-1h"}) == 1
