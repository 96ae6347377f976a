"""The operator's view of orders: recent ones as table rows, and paid ones stuck without a report.

Everything is read from the stores, never from this process's memory: on Cloud Run in push mode
many instances work jobs, and each knows only the jobs it worked itself. So ``diagpro orders``,
``GET /readyz`` and a metrics endpoint all see the same orders whichever instance answers.

An order is *waiting* from its payment until its report is ready (status paid or processing),
and *stuck* once it has waited longer than the SLO (DIAGPRO_READY_SLO_SECONDS). The wait runs
from the payment, not from the latest attempt: it is how long the customer has waited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from diagpro.domain.actions import describe
from diagpro.domain.jobs import JobKind
from diagpro.domain.payment import format_money
from diagpro.domain.ports import Clock, JobQueue, SubmissionStore
from diagpro.domain.submission import Status, Submission

# Age buckets of waiting orders, youngest first: (label, upper bound; None: no bound). The labels
# are Prometheus label values as they are (https://prometheus.io/docs/concepts/data_model/).
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("<5m", timedelta(minutes=5)),
    # 10 minutes: the alert on a paid order with no report (deploy/monitoring) reads this edge.
    ("5m-10m", timedelta(minutes=10)),
    ("10m-1h", timedelta(hours=1)),
    ("1h-6h", timedelta(hours=6)),
    (">6h", None),
)

# A paid order this long without its report pages an operator (deploy/monitoring): the edge of
# AGE_BUCKETS the PromQL policy reads as well, so the log-based alert and the scraped one agree.
# Fixed rather than DIAGPRO_READY_SLO_SECONDS: the SLO tunes readiness and the operator page (a
# softer signal, 5 minutes by default), while a page's threshold is written in the policy's own
# text and must not move with a setting the policy cannot see.
ALERT_AFTER = timedelta(minutes=10)


def age_bucket(age: timedelta) -> str:
    """The label of the bucket ``age`` falls in (each bucket holds ages below its bound)."""
    for label, bound in AGE_BUCKETS:
        if bound is None or age < bound:
            return label
    raise AssertionError("the last bucket has no bound")  # pragma: no cover


def waiting_since(sub: Submission) -> datetime:
    """When the customer started waiting for the report: the payment."""
    return sub.payment.paid_at if sub.payment is not None else sub.updated_at


@dataclass(frozen=True)
class OrderRow:
    """One order as the operator's table shows it: no name, email or phone, only the machine."""

    id: str
    machine: str
    status: Status
    paid_at: datetime | None
    ready_at: datetime | None
    attempts: int  # report attempts (claims of its report jobs), every job counted
    last_error: str  # the operator's detail: why it failed, or why its last attempt did not finish
    refund: str  # "" when no money went back; else how much, and whether in full
    waited: timedelta | None  # how long it has waited for its report (paid or processing)
    last_action: str = ""  # what an operator did to it last (domain/actions.py), as one line


def refund_text(sub: Submission) -> str:
    """How much money went back, for the table: ``$4.99 in full``, ``$2.00 partly``."""
    if sub.status != Status.REFUNDED and not sub.refunded_cents:
        return ""
    paid = sub.payment.amount_cents if sub.payment is not None else sub.price_cents
    amount = sub.refunded_cents or paid
    extent = "in full" if sub.status == Status.REFUNDED else "partly"
    return f"{format_money(amount, sub.currency)} {extent}"


class StuckOrders:
    """Paid orders still without their report, read from the store. ``stuck_by_age`` is what a
    metrics endpoint exports; ``stuck`` what ``/readyz`` and ``diagpro orders --stuck`` use."""

    def __init__(self, submissions: SubmissionStore, clock: Clock, slo: timedelta) -> None:
        self._submissions = submissions
        self._clock = clock
        self.slo = slo

    def waiting(self) -> list[tuple[Submission, timedelta]]:
        """Every paid order without its report and how long it has waited, longest first."""
        now = self._clock.now()
        return [(sub, now - waiting_since(sub)) for sub in self._submissions.awaiting_report()]

    def stuck(self) -> list[tuple[Submission, timedelta]]:
        """The waiting orders that have waited longer than the SLO, longest first."""
        return [(sub, waited) for sub, waited in self.waiting() if waited > self.slo]

    def stuck_by_age(self) -> dict[str, int]:
        """How many orders are stuck (waited longer than the SLO), by age bucket: every label
        of ``AGE_BUCKETS`` present, in order, zero when empty (so a gauge never vanishes).
        Buckets younger than the SLO stay at zero. May raise StoreUnavailable."""
        return _by_bucket(waited for _, waited in self.stuck())

    def waiting_by_age(self) -> dict[str, int]:
        """As ``stuck_by_age``, for every waiting order (the healthy queue included)."""
        return _by_bucket(waited for _, waited in self.waiting())

    def reason(self) -> str | None:
        """Why the service is not ready on their account; None when no order is stuck. It names
        no order: ``/readyz`` is public, and an order id is all ``/view/{id}`` asks for."""
        stuck = self.stuck()
        if not stuck:
            return None
        oldest, waited = stuck[0]
        orders = "1 paid order has" if len(stuck) == 1 else f"{len(stuck)} paid orders have"
        return (
            f"orders: {orders} waited longer than {int(self.slo.total_seconds())} s for the "
            f"report (the longest {_duration(waited)}, {oldest.status.value}); "
            "see `diagpro orders --stuck`"
        )


def _by_bucket(ages: Iterable[timedelta]) -> dict[str, int]:
    counts = {label: 0 for label, _ in AGE_BUCKETS}
    for age in ages:
        counts[age_bucket(age)] += 1
    return counts


def _duration(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


class ListOrders:
    """The rows of ``diagpro orders``: recent orders, or the stuck ones."""

    def __init__(
        self, submissions: SubmissionStore, jobs: JobQueue, clock: Clock, stuck: StuckOrders
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._clock = clock
        self._stuck = stuck

    def recent(
        self,
        limit: int,
        *,
        changed_since: datetime | None = None,
        statuses: frozenset[Status] = frozenset(),
    ) -> list[OrderRow]:
        """At most ``limit`` orders, most recently changed first (SubmissionStore.recent)."""
        found = self._submissions.recent(limit, changed_since=changed_since, statuses=statuses)
        now = self._clock.now()
        return [
            self._row(sub, now - waiting_since(sub) if sub.in_flight else None) for sub in found
        ]

    def stuck(self, limit: int) -> list[OrderRow]:
        """At most ``limit`` stuck orders, longest waiting first."""
        return [self._row(sub, waited) for sub, waited in self._stuck.stuck()[:limit]]

    def waited_at_least(self, age: timedelta, limit: int) -> list[OrderRow]:
        """At most ``limit`` waiting orders that have waited ``age`` or longer, longest first
        (whatever the SLO: the alert's threshold is its own, ALERT_AFTER)."""
        waited_long = [(sub, waited) for sub, waited in self._stuck.waiting() if waited >= age]
        return [self._row(sub, waited) for sub, waited in waited_long[:limit]]

    def _row(self, sub: Submission, waited: timedelta | None) -> OrderRow:
        history = [j for j in self._jobs.jobs_for(sub.id) if j.kind is JobKind.REPORT]
        # A job keeps its last error after a later attempt succeeds: shown only while it waits.
        job_error = history[-1].last_error if history and sub.in_flight else ""
        return OrderRow(
            id=sub.id,
            machine=sub.intake.equipment_name,
            status=sub.status,
            paid_at=sub.payment.paid_at if sub.payment is not None else None,
            ready_at=sub.ready_at,
            attempts=sum(job.attempts for job in history),
            last_error=sub.failure_reason or job_error or sub.payment_problem,
            refund=refund_text(sub),
            waited=waited,
            last_action=describe(sub.last_action) if sub.last_action is not None else "",
        )
