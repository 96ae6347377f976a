"""Where a customer's order stands, in the words the success page and its status poll use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagpro.application.status import StatusView
from diagpro.domain.submission import Status

# After this long without a report the success page says so honestly and polls slower.
SLOW_AFTER_SECONDS = 180
# "Try again" on a failed report; past this an operator looks at it (diagpro requeue).
MAX_CUSTOMER_RETRIES = 3

STEPS = ("Payment confirmed", "Analysing your description", "Writing your report", "Ready")

STATUS_LABELS = {
    Status.PENDING: "Awaiting payment",
    Status.PAID: "Paid",
    Status.PROCESSING: "Being prepared",
    Status.READY: "Report ready",
    Status.FAILED: "Needs attention",
    Status.REFUNDED: "Refunded",
}


def download_path(submission_id: str) -> str:
    """The pages' stable download address (a redirect to a fresh signed link)."""
    return f"/download/{submission_id}"


def view_path(submission_id: str) -> str:
    return f"/view/{submission_id}"  # the API's public redirect to a fresh inline link


@dataclass(frozen=True)
class Progress:
    submission_id: str
    status: str
    step: int  # index into STEPS of the step under way; len(STEPS) when done
    headline: str
    explanation: str
    failure_reason: str
    can_retry: bool
    elapsed_seconds: int  # since the payment was confirmed (or a lost report was queued)
    slow: bool
    erased: bool = False  # its details and report were erased: nothing left to download

    @property
    def finished(self) -> bool:
        return self.erased or self.status in (Status.READY, Status.FAILED, Status.REFUNDED)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "submissionId": self.submission_id,
            "status": self.status,
            "step": self.step,
            "headline": self.headline,
            "explanation": self.explanation,
            "elapsedSeconds": self.elapsed_seconds,
            "slow": self.slow,
        }
        if self.erased:
            body["erased"] = True
        elif self.status == Status.READY:
            body["downloadUrl"] = download_path(self.submission_id)
            body["viewUrl"] = view_path(self.submission_id)
        if self.status == Status.FAILED:
            body["failureReason"] = self.failure_reason
            body["canRetry"] = self.can_retry
        return body


def progress_of(view: StatusView, now: datetime) -> Progress:
    sub = view.submission
    # A ready report whose file was lost is back to paid and queued (DescribeSubmission did
    # that); should it be lost once more as it was looked at, it still reads as on its way: the
    # page polls on and never offers a download that cannot work.
    status = Status.PAID if view.report_missing else sub.status
    started = sub.payment.paid_at if sub.payment is not None else now
    if view.remaking and view.queued_at is not None:
        started = view.queued_at  # made again long after payment: "slow" counts from now on
    elapsed = max(0, int((now - started).total_seconds()))
    writing = (2, "Writing your report")
    step, headline = {
        Status.PENDING: (0, "Waiting for your payment to be confirmed"),
        Status.PAID: (
            writing
            if sub.analysis is not None
            else (1, "Payment received: your analysis is queued")
        ),
        Status.PROCESSING: (
            writing if sub.analysis is not None else (1, "Analysing your description")
        ),
        Status.READY: (len(STEPS), "Your report is ready"),
        Status.FAILED: (1, "We could not finish your report"),
        Status.REFUNDED: (0, "This order was refunded"),
    }[status]
    if sub.erased:
        headline = "Your details and report were erased"
    return Progress(
        submission_id=sub.id,
        status=status.value,
        step=step,
        headline=headline,
        explanation=view.explanation,
        failure_reason=view.customer_failure,
        can_retry=may_retry(view) and not sub.erased,
        elapsed_seconds=elapsed,
        slow=status in (Status.PAID, Status.PROCESSING) and elapsed >= SLOW_AFTER_SECONDS,
        erased=sub.erased,
    )


def may_retry(view: StatusView) -> bool:
    sub = view.submission
    return sub.status == Status.FAILED and sub.requeue_count < MAX_CUSTOMER_RETRIES
