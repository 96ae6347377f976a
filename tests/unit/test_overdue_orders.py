"""The overdue-order lines (application/overdue.py) the stuck-order alert counts: one per paid
order without its report after ten minutes, with its id, age and why, and nothing personal; run
by every worker as well as by the sweep."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from diagpro.application.orders import ALERT_AFTER
from diagpro.application.overdue import CHECKED_LINE, OVERDUE_LINE, CheckOverdueOrders
from diagpro.domain.errors import AnalysisUnavailable
from diagpro.entrypoints.cloud_setup import Deployment
from diagpro.entrypoints.http.observability import JsonFormatter
from diagpro.entrypoints.worker import OVERDUE_CHECK_EVERY, run_worker, worker_chores
from tests.harness import AUTOMOTIVE, Harness

OVERLOADED = "the model is overloaded (429)"
CUSTOMER = {"fullName": "Alice Example", "email": "alice@example.com", "phone": "+1 555 0100"}


@pytest.fixture(params=["memory", "sqlite"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    return Harness.build(tmp_path, memory=request.param == "memory")


def _paid(h: Harness) -> str:
    sub = h.save({**AUTOMOTIVE, **CUSTOMER})
    h.deliver(h.checkout_and_pay(sub.id))
    return sub.id


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "diagpro.orders"]


def test_the_alert_threshold_is_the_gauge_buckets_ten_minute_edge() -> None:
    assert timedelta(minutes=10) == ALERT_AFTER
    # The worker checks as often as the deploy kit's sweep: an order is logged within 15 min.
    assert timedelta(minutes=5) == OVERDUE_CHECK_EVERY
    sweep = next(f for f in dataclasses.fields(Deployment) if f.name == "sweep_schedule")
    assert sweep.default == f"*/{int(OVERDUE_CHECK_EVERY.total_seconds() // 60)} * * * *"


def test_an_order_waiting_less_than_ten_minutes_is_not_logged(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _paid(h)
    h.clock.advance(minutes=9, seconds=59)
    caplog.set_level(logging.INFO, logger="diagpro.orders")

    assert h.container.check_overdue_orders()() == 0

    [checked] = _lines(caplog)
    assert checked.levelname == "INFO"
    assert checked.getMessage() == f"{CHECKED_LINE}: 0 without a report after 10 min"


def test_an_overdue_order_is_logged_with_its_id_age_and_why_and_nothing_personal(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _paid(h)
    h.analyzer.fail_next(*[AnalysisUnavailable(OVERLOADED)] * 3)
    assert h.work() == 1  # attempt 1 fails; the job waits for its retry
    h.clock.advance(minutes=12)
    caplog.set_level(logging.INFO, logger="diagpro.orders")

    assert h.container.check_overdue_orders()() == 1

    overdue, checked = _lines(caplog)
    assert overdue.levelname == "WARNING"
    assert overdue.getMessage().startswith(
        f"{OVERDUE_LINE} {sid}: no report after 12 min (processing, 1 attempt(s)): "
    )
    assert overdue.getMessage().endswith(OVERLOADED)
    line = json.loads(JsonFormatter().format(overdue))
    assert line["logger"] == "diagpro.orders"
    assert line["order_id"] == sid and line["waited_seconds"] == 12 * 60
    assert line["order_status"] == "processing" and line["attempts"] == 1
    assert line["reason"].endswith(OVERLOADED)
    text = json.dumps(line)
    for personal in (*CUSTOMER.values(), "Ford", "F-150", "Rough idle"):
        assert personal not in text
    assert checked.getMessage() == f"{CHECKED_LINE}: 1 without a report after 10 min"


def test_the_slo_does_not_move_the_alert_threshold(tmp_path: Path) -> None:
    h = Harness.build(tmp_path, env={"DIAGPRO_READY_SLO_SECONDS": "3600"})
    _paid(h)
    h.clock.advance(minutes=11)
    assert h.container.stuck_orders().stuck() == []  # not stuck by the SLO's measure
    assert h.container.check_overdue_orders()() == 1  # but a page's threshold is its own


def test_past_the_limit_one_line_says_more_are_overdue(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        _paid(h)
    h.clock.advance(minutes=30)
    caplog.set_level(logging.INFO, logger="diagpro.orders")

    overdue = CheckOverdueOrders(h.container.list_orders(), limit=2)()

    assert overdue == 3
    messages = [r.getMessage() for r in _lines(caplog)]
    assert len(messages) == 4
    assert all(m.startswith(OVERDUE_LINE) for m in messages[:3])
    assert "more than 2 paid orders are overdue" in messages[2]
    assert messages[3] == f"{CHECKED_LINE}: more than 2 without a report after 10 min"


def test_a_worker_checks_for_overdue_orders_as_it_starts_and_every_five_minutes(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    sid = _paid(h)
    h.clock.advance(minutes=11)  # no worker ran: the order waits
    caplog.set_level(logging.INFO, logger="diagpro.orders")
    chores = worker_chores(h.container)

    run_worker(
        h.container.process_jobs(),
        h.container.jobs(),
        h.clock,
        threading.Event(),
        until_idle=True,
        chores=chores,
    )

    [overdue] = [r for r in _lines(caplog) if r.levelname == "WARNING"]
    assert overdue.order_id == sid  # type: ignore[attr-defined]
    assert h.submission(sid).status.value == "ready"  # then the worker made it
    caplog.clear()
    for chore in chores:
        chore.run_if_due()
    assert _lines(caplog) == []  # not five minutes yet
    h.clock.advance(minutes=5)
    for chore in chores:
        chore.run_if_due()
    assert [r.getMessage() for r in _lines(caplog)] == [
        f"{CHECKED_LINE}: 0 without a report after 10 min"
    ]
