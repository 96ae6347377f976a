"""Refunding a paid order in full through the Refunds port: one way, whoever asks.

The worker refunds automatically after a permanent failure (DIAGPRO_AUTO_REFUND, or the
``refund`` model fallback: application/processing.py); an operator refunds from the operator page
or ``diagpro refund`` (application/operator_actions.py). Both go through ``refund_in_full``: the
provider first, then the order records it (``mark_refunded``, the refund id kept), is counted and
owes the customer the refund email. The provider's refund is idempotent on the payment, so a
retry after a crash between the two steps never pays out twice; the ``charge.refunded`` webhook
that follows finds the order refunded already (application/payments.py, ``ALREADY_REFUNDED``).
"""

from __future__ import annotations

from diagpro.application.emails import queue_email
from diagpro.application.transitions import change_submission
from diagpro.domain.errors import PaymentProviderError
from diagpro.domain.ports import Clock, JobQueue, Meter, Refunds, SubmissionStore
from diagpro.domain.submission import Status, Submission


def refund_in_full(
    submission: Submission,
    *,
    submissions: SubmissionStore,
    refunds: Refunds | None,
    clock: Clock,
    meter: Meter,
    emails: JobQueue | None,
) -> Submission:
    """Refund ``submission``'s payment in full and record it; the order as stored afterwards.

    Raises PaymentProviderError when there is nothing to refund with (no payment on record, no
    refund provider configured) or the provider refused: nothing is recorded then, the order
    stays as it was. ``emails`` is where the refund email is queued (None: no customer
    emails)."""
    if submission.payment is None:
        raise PaymentProviderError("the submission has no payment on record")
    if refunds is None:
        raise PaymentProviderError("no refund provider is configured")
    refund_id = refunds.refund(submission.payment)
    now = clock.now()
    ended = False  # this write ended the order (not the refund's own webhook before it)

    def record(current: Submission) -> Submission | None:
        nonlocal ended
        ended = current.status != Status.REFUNDED
        return current.mark_refunded(now, refund_id)

    refunded, _ = change_submission(submissions, submission.id, record)
    if ended:
        meter.order("refunded")
        if emails is not None:
            queue_email(emails, refunded, clock.now())
    return refunded
