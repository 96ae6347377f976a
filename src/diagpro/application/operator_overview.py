"""What the operator page (``GET /admin``) shows: recent orders, the stuck ones, the last day's
counts and how long paid orders took to get their report. Read from the stores, like
``diagpro orders``, so every instance shows the same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from diagpro.application.orders import ListOrders, OrderRow, StuckOrders
from diagpro.domain.ports import Clock, SubmissionStore
from diagpro.domain.submission import Status, Submission

DAY = timedelta(hours=24)
# At most this many orders are read for the day's counts; past it the page says "at least".
DAY_LIMIT = 1000


@dataclass(frozen=True)
class DayCounts:
    """Orders of the last 24 hours by what happened to them in that time."""

    saved: int  # created
    paid: int  # paid
    ready: int  # report ready
    failed: int  # now failed, changed in the window
    refunded: int  # money went back (in full or partly), changed in the window
    complete: bool  # False when DAY_LIMIT orders changed: the counts are lower bounds


@dataclass(frozen=True)
class ReadyTime:
    """One ready order: how long from its payment to its report."""

    id: str
    ready_at: datetime
    took: timedelta


@dataclass(frozen=True)
class Overview:
    recent: list[OrderRow]
    stuck_ids: frozenset[str]
    stuck_count: int
    slo: timedelta
    day: DayCounts
    ready_times: list[ReadyTime]  # oldest first


def day_counts(changed: list[Submission], since: datetime, complete: bool) -> DayCounts:
    """Count what ``changed`` (the orders changed at or after ``since``) did since then."""

    def after(when: datetime | None) -> bool:
        return when is not None and when >= since

    return DayCounts(
        saved=sum(after(sub.created_at) for sub in changed),
        paid=sum(sub.payment is not None and after(sub.payment.paid_at) for sub in changed),
        ready=sum(after(sub.ready_at) for sub in changed),
        failed=sum(sub.status == Status.FAILED for sub in changed),
        refunded=sum(sub.status == Status.REFUNDED or sub.refunded_cents > 0 for sub in changed),
        complete=complete,
    )


def ready_times(subs: list[Submission]) -> list[ReadyTime]:
    """Payment-to-report times of the orders with both, oldest report first."""
    found = [
        ReadyTime(sub.id, sub.ready_at, sub.ready_at - sub.payment.paid_at)
        for sub in subs
        if sub.ready_at is not None and sub.payment is not None
    ]
    return sorted(found, key=lambda time: time.ready_at)


class OperatorOverview:
    def __init__(
        self,
        submissions: SubmissionStore,
        clock: Clock,
        orders: ListOrders,
        stuck: StuckOrders,
    ) -> None:
        self._submissions = submissions
        self._clock = clock
        self._orders = orders
        self._stuck = stuck

    def __call__(self, limit: int = 50) -> Overview:
        """The page's figures; may raise StoreUnavailable."""
        since = self._clock.now() - DAY
        changed = self._submissions.recent(DAY_LIMIT, changed_since=since)
        ready = self._submissions.recent(limit, statuses=frozenset({Status.READY}))
        stuck = self._stuck.stuck()
        return Overview(
            recent=self._orders.recent(limit),
            stuck_ids=frozenset(sub.id for sub, _ in stuck),
            stuck_count=len(stuck),
            slo=self._stuck.slo,
            day=day_counts(changed, since, complete=len(changed) < DAY_LIMIT),
            ready_times=ready_times(ready),
        )
