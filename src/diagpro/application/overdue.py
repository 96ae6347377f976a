"""Paid orders overdue for their report, written to the log so an alert needs no scrape.

The first incident was customers who paid and got nothing, found by the customers. A gauge on
``/metrics`` only pages someone whose Prometheus scrapes it; a log line reaches Cloud Logging
from every deployment. So whatever runs now and then (the sweep in push mode, every worker's
periodic check in inline and pull mode) calls ``CheckOverdueOrders``, which logs:

- one WARNING per paid order that has waited ALERT_AFTER or longer for its report, with its id,
  how long, its status, attempts and why it has no report yet (the operator's detail that
  ``diagpro orders --stuck`` shows), never the customer's name, email or machine;
- one INFO line per check, overdue or not, so "the check has not run" is an alert of its own:
  without it, silence would look like health.

deploy/monitoring/ counts both lines (log-based metrics); tests/unit/test_monitoring_files.py
holds the filters to these messages.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from diagpro.application.orders import ALERT_AFTER, ListOrders, OrderRow
from diagpro.domain.submission import Status

log = logging.getLogger("diagpro.orders")

# The text the log-based metrics match (deploy/monitoring/log-metrics/): change both together.
OVERDUE_LINE = "overdue paid order"
CHECKED_LINE = "paid orders checked"

# Lines per check at most: past it, one more line says how many were left out. A page needs one
# order; a flood of lines (an outage holding every order) would only cost log ingestion.
OVERDUE_LIMIT = 50


def why_no_report(row: OrderRow) -> str:
    """Why a waiting order has no report yet, in the operator's words."""
    if row.last_error:
        return row.last_error
    if row.attempts == 0:
        return (
            "no attempt yet: no worker has claimed its job (pull: is `diagpro worker` running? "
            "push: is the push subscription delivering to /tasks/jobs?)"
        )
    if row.status is Status.PROCESSING:
        return "an attempt is under way, or its worker died and the lease has not run out"
    return "waiting for its next attempt"


class CheckOverdueOrders:
    """Log every paid order without its report after ``after``; returns how many there are."""

    def __init__(
        self, orders: ListOrders, after: timedelta = ALERT_AFTER, limit: int = OVERDUE_LIMIT
    ) -> None:
        self._orders = orders
        self._after = after
        self._limit = limit

    def __call__(self) -> int:
        # One more than the limit: whether any were left out.
        rows = self._orders.waited_at_least(self._after, self._limit + 1)
        minutes = int(self._after.total_seconds() // 60)
        for row in rows[: self._limit]:
            waited = int(row.waited.total_seconds()) if row.waited is not None else 0
            reason = why_no_report(row)
            log.warning(
                "%s %s: no report after %d min (%s, %d attempt(s)): %s",
                OVERDUE_LINE,
                row.id,
                waited // 60,
                row.status.value,
                row.attempts,
                reason,
                extra={
                    "order_id": row.id,
                    "waited_seconds": waited,
                    "order_status": row.status.value,
                    "attempts": row.attempts,
                    "reason": reason,
                },
            )
        if len(rows) > self._limit:
            log.warning(
                "%s: more than %d paid orders are overdue; `diagpro orders --stuck` lists them",
                OVERDUE_LINE,
                self._limit,
            )
        overdue = len(rows)
        log.info(
            "%s: %s without a report after %d min",
            CHECKED_LINE,
            f"more than {self._limit}" if overdue > self._limit else str(overdue),
            minutes,
            extra={"overdue": overdue},
        )
        return overdue
