"""What an operator does to one order, from the operator page (``/admin``) or the CLI: run it
again or now, and refund it. Both entrypoints call these, so every action is done one way and
recorded on the order the same way (``Submission.actions``: when, what, by whom, what came of
it) and logged (the order id and the operator's name, never a key).

**Run again / run now** (``RequeueOrder``; ``diagpro requeue``). A *stuck* order (paid, no report
past the SLO, application/orders.py) usually has its report job queued: waiting for its retry
time after a failing analysis, left by a worker that died (its lease runs out), or announced by
a push message that was lost. Its job is made due now (``JobQueue.make_due``) and announced
(``JobAnnouncer``: in push mode that is the message a worker answers). A job a worker holds
right now is refused (``JobLeased`` says who and until when). Otherwise ``RequeueSubmission``'s
rules apply: a failed order goes back to the queue, a paid one with no job gets one, a ready one
whose report file was lost is made again from its kept analysis.

**Refund** (``RefundOrder``; ``diagpro refund --yes``). A paid order without its report (paid,
processing: stuck or not) or a failed one is refunded in full through the Refunds port
(application/refunds.py, the automatic refund's way). Refused: a ready order (the customer has
the report; a delivered report is refunded in the Stripe dashboard, whose ``charge.refunded``
event diagpro records), one refunded already (its refund id said), one never paid. A provider
error leaves the order as it was and reaches the operator. After the refund its queued report
job is cancelled (``JobQueue.cancel``), so no worker starts the report of a refunded order; a
worker already working it cannot finish it either: a refunded order never becomes ready
(``Submission`` allows no move out of refunded), so its ``mark_ready`` fails, the worker stops
and the job stays cancelled. The one race left: a worker marks the order ready in the second
between the check and the refund. The money is back by then, so the order is recorded refunded
(a ready order may be) and the action says the report was made meanwhile.

The action is recorded after it is done, as a change of its own: a refused or failed action is
never recorded, and a crash in the instant between leaves it in the log only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from diagpro.application.refunds import refund_in_full
from diagpro.application.status import RequeueSubmission, report_jobs
from diagpro.application.transitions import change_submission
from diagpro.domain.actions import ActionKind, OperatorAction, operator_name
from diagpro.domain.errors import AlreadyRefunded, PaymentProviderError, RefundRefused
from diagpro.domain.jobs import JobState
from diagpro.domain.ports import Clock, JobAnnouncer, JobQueue, Meter, Refunds, SubmissionStore
from diagpro.domain.submission import Status, Submission

log = logging.getLogger("diagpro.operator")

CANCELLED_BY_REFUND = "cancelled: the order was refunded by an operator"
DELIVERED = (
    "the customer has the report; a delivered report is refunded in the Stripe dashboard "
    "(diagpro records the refund from Stripe's event)"
)


@dataclass(frozen=True)
class ActionDone:
    submission: Submission  # as stored afterwards, the action recorded on it
    action: OperatorAction


def _record(submissions: SubmissionStore, submission_id: str, action: OperatorAction) -> ActionDone:
    stored, _ = change_submission(submissions, submission_id, lambda s: s.record_action(action))
    detail = f": {action.detail}" if action.detail else ""
    log.warning(
        "operator action: %s %s by %s%s", action.what.value, submission_id, action.by, detail
    )
    return ActionDone(stored, action)


class RequeueOrder:
    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        clock: Clock,
        requeue: RequeueSubmission,
        announcer: JobAnnouncer | None = None,
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._clock = clock
        self._requeue = requeue
        self._announcer = announcer  # None: no dispatch to tell (workers poll the store)

    def __call__(self, submission_id: str, by: str) -> ActionDone:
        """Run the order's report now, or again. Raises JobLeased (a worker is on it),
        IllegalTransition (pending or refunded), ReportErased, SubmissionNotFound."""
        who = operator_name(by)
        current = self._submissions.get(submission_id)
        if current.status in (Status.PAID, Status.PROCESSING) and current.erased_at is None:
            ran = self._run_now(current, who)
            if ran is not None:
                return ran
        stored = self._requeue(submission_id)
        queued = [j for j in report_jobs(self._jobs, stored.id) if j.state is JobState.QUEUED]
        job = f"job {queued[-1].id}" if queued else "its job"
        if current.status == Status.FAILED:
            detail = f"the failed order was queued again as {job}"
        elif current.status == Status.READY:
            detail = f"its report file was lost: {job} makes it again from the kept analysis"
        else:
            detail = f"it had no queued report job: queued {job}"
        now = self._clock.now()
        return _record(
            self._submissions, stored.id, OperatorAction(now, ActionKind.REQUEUED, who, detail)
        )

    def _run_now(self, current: Submission, who: str) -> ActionDone | None:
        """Make its queued report job due now and announce it; None when it has none."""
        before = {j.id: j for j in report_jobs(self._jobs, current.id)}
        now = self._clock.now()
        job = self._jobs.make_due(current.id, now)  # JobLeased: a worker is on it
        if job is None:
            return None
        was = before.get(job.id)
        if was is not None and was.not_before > now:
            why = f"it waited for its retry at {was.not_before:%Y-%m-%d %H:%M:%S} UTC"
        elif was is not None and was.lease_until is not None:
            why = f"the lease of {was.lease_owner} ran out at {was.lease_until:%H:%M:%S} UTC"
        else:
            why = "it was due already"
        detail = f"job {job.id} due now ({why})"
        if self._announcer is not None:
            # Push mode's workers hear of a job only through a message. A failed publish is no
            # loss: the job is due in the store, and the sweep (`diagpro sweep`) announces it.
            announced = self._announcer.announce(job)
            detail += "; announced" if announced else "; not announced, the next sweep sends it"
        return _record(
            self._submissions, current.id, OperatorAction(now, ActionKind.RAN_NOW, who, detail)
        )


class RefundOrder:
    def __init__(
        self,
        submissions: SubmissionStore,
        jobs: JobQueue,
        refunds: Refunds | None,
        clock: Clock,
        meter: Meter,
    ) -> None:
        self._submissions = submissions
        self._jobs = jobs
        self._refunds = refunds
        self._clock = clock
        self._meter = meter

    def __call__(self, submission_id: str, by: str) -> ActionDone:
        """Refund the order's payment in full. Raises AlreadyRefunded, RefundRefused (ready, never
        paid), PaymentProviderError (the provider refused or failed: nothing changed),
        SubmissionNotFound."""
        who = operator_name(by)
        current = self._submissions.get(submission_id)
        if current.status == Status.REFUNDED:
            raise AlreadyRefunded(current.id, current.refund_id or ", ".join(current.refund_ids))
        if current.status == Status.READY:
            raise RefundRefused(current.id, current.status.value, DELIVERED)
        if current.status == Status.PENDING or current.payment is None:
            raise RefundRefused(current.id, current.status.value, "it was never paid")
        try:
            refunded = refund_in_full(
                current,
                submissions=self._submissions,
                refunds=self._refunds,
                clock=self._clock,
                meter=self._meter,
                emails=self._jobs,
            )
        except PaymentProviderError as exc:
            log.error(
                "operator refund of %s by %s failed, the order is unchanged: %s",
                current.id,
                who,
                exc.message,
            )
            raise
        detail = f"refund {refunded.refund_id}" if refunded.refund_id else "refunded"
        cancelled = self._jobs.cancel(current.id, CANCELLED_BY_REFUND)
        if cancelled is not None:
            detail += f"; report job {cancelled.id} cancelled"
        if refunded.ready_at != current.ready_at:
            detail += "; its report was made while the refund was under way"
        action = OperatorAction(self._clock.now(), ActionKind.REFUNDED, who, detail)
        return _record(self._submissions, current.id, action)
