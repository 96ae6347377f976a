"""Errors the customer, the operator or Stripe can see.

Each carries a stable ``code``: entrypoints map the type to a status once (HTTP, CLI exit code)
and never parse the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class DomainError(Exception):
    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldProblem:
    """One bad intake field: which one, and why, in words a customer can act on."""

    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}"


class IntakeInvalid(DomainError):
    code = "VALIDATION_ERROR"

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("Validation failed: " + "; ".join(str(p) for p in problems))


class SubmissionNotFound(DomainError):
    code = "SUBMISSION_NOT_FOUND"

    def __init__(self, submission_id: str) -> None:
        self.submission_id = submission_id
        super().__init__(f"No submission with id {submission_id!r}")


class SubmissionExists(DomainError):
    code = "SUBMISSION_EXISTS"

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"A submission with id {submission_id!r} already exists")


class IllegalTransition(DomainError):
    """The submission's state forbids the action (e.g. paying for a ready report)."""

    code = "INVALID_STATUS"

    def __init__(self, submission_id: str, current: str, wanted: str) -> None:
        self.current = current
        self.wanted = wanted
        super().__init__(f"Submission {submission_id} is {current}; it cannot become {wanted}")


class ConcurrentUpdate(DomainError):
    """Someone else changed the submission between our read and our write (compare-and-set lost).

    Use cases reload and decide again; callers outside the application layer never see it.
    """

    code = "CONFLICT"

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"Submission {submission_id} changed while it was being updated")


class ReportNotReady(DomainError):
    code = "REPORT_NOT_READY"

    def __init__(self, submission_id: str, status: str) -> None:
        self.status = status
        super().__init__(f"The report for {submission_id} is not ready (status: {status})")


class ReportBeingRemade(ReportNotReady):
    """A ready report's stored file was lost and is being made again from the kept analysis.
    Not ready for now, like any report on its way; never "not found": the order is intact."""

    def __init__(self, submission_id: str, status: str) -> None:
        DomainError.__init__(
            self,
            f"The report for {submission_id} is being prepared: its file was lost from storage "
            "and is being made again from the analysis already done. Ask again in a minute.",
        )
        self.status = status


class ReportErased(DomainError):
    """The order's personal data was erased (its retention period ended, or the customer asked
    to be forgotten): its report is gone for good and is never made again."""

    code = "REPORT_ERASED"

    def __init__(self, submission_id: str, erased_at: datetime) -> None:
        self.erased_at = erased_at.isoformat()
        super().__init__(
            f"The report for {submission_id} and the details it was made from were erased on "
            f"{erased_at:%Y-%m-%d %H:%M} UTC (diagpro keeps personal data only for a limited time)"
        )


class PaymentEventInvalid(DomainError):
    """A payment event whose signature or shape we cannot trust. Never fulfilled.

    Raised as such when the ``Stripe-Signature`` header does not match the body (wrong secret,
    altered body, older than the tolerance); the subclasses name the other refusals, each with
    its own code, so a sender can tell "sign it" from "send an event"."""

    code = "INVALID_SIGNATURE"


class PaymentSignatureMissing(PaymentEventInvalid):
    """No ``Stripe-Signature`` header at all: not sent by Stripe, or stripped on the way."""

    code = "MISSING_SIGNATURE"


class PaymentEventMalformed(PaymentEventInvalid):
    """Correctly signed, but not a Stripe event object diagpro can read (a JSON list, a string,
    an object without ``type`` or ``data.object``...). Only a holder of the webhook secret can
    send one, so it means a sender bug or a changed event format, never a forgery."""

    code = "INVALID_PAYLOAD"


class CheckoutNotFound(DomainError):
    code = "CHECKOUT_SESSION_NOT_FOUND"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"No checkout session with id {session_id!r}")


class PaymentProviderError(DomainError):
    """The payment provider refused or failed a call (bad key, outage). Loud, never swallowed."""

    code = "PAYMENT_PROVIDER_ERROR"


class AnalysisUnavailable(DomainError):
    """The analyzer could not answer this time (timeout, 429, 5xx, invalid output): retry later."""

    code = "ANALYSIS_UNAVAILABLE"


class AnalysisInvalid(DomainError):
    """An analysis that does not have the report's shape (missing sections, bad confidence)."""

    code = "ANALYSIS_INVALID"


class AnalysisMisconfigured(DomainError):
    """The analyzer cannot work as configured (model not found, response schema rejected,
    permission denied, bad credentials): no retry can fix it, only an operator. The job fails at
    once instead of spending its retry budget, and the service reports itself degraded."""

    code = "ANALYSIS_MISCONFIGURED"

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(f"{message}: {fix}" if fix else message)
        self.problem = message
        self.fix = fix  # what the operator should change, for the doctor


class AnalysisRefused(DomainError):
    """The model will not answer this request as asked (a safety stop, or an answer that does
    not fit even in a larger output cap). Asking again gives the same answer and is billed
    again, so the job fails at once."""

    code = "ANALYSIS_REFUSED"


class RenderFailed(DomainError):
    code = "RENDER_FAILED"


class ReportStorageError(DomainError):
    code = "REPORT_STORAGE_ERROR"


class ReportMissing(DomainError):
    code = "REPORT_NOT_FOUND"

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"No stored report for {submission_id}")


class LeaseLost(DomainError):
    """A worker tried to finish a job another worker has since taken over."""

    code = "LEASE_LOST"


class JobLeased(DomainError):
    """An operator asked to run a job now that a worker is working right now (a live lease):
    says who holds it and until when (the worker renews it while it works)."""

    code = "JOB_LEASED"

    def __init__(self, job_id: str, owner: str, until: datetime) -> None:
        self.job_id = job_id
        self.owner = owner
        self.until = until
        super().__init__(
            f"Job {job_id} is being worked now by {owner} (its lease runs until "
            f"{until:%Y-%m-%d %H:%M:%S} UTC and is renewed while it works): let it finish"
        )


class RefundRefused(DomainError):
    """An operator's refund the order's state does not allow (never paid, report delivered)."""

    code = "REFUND_REFUSED"

    def __init__(self, submission_id: str, status: str, reason: str) -> None:
        self.submission_id = submission_id
        self.current = status
        super().__init__(f"Submission {submission_id} is {status}: {reason}")


class AlreadyRefunded(RefundRefused):
    code = "ALREADY_REFUNDED"

    def __init__(self, submission_id: str, refund_id: str) -> None:
        self.refund_id = refund_id
        refund = f" (refund {refund_id})" if refund_id else ""
        super().__init__(submission_id, "refunded", f"it was refunded already{refund}")


class NotPaid(DomainError):
    """Paid work (the analysis, the report) asked for a submission nobody has paid for."""

    code = "NOT_PAID"

    def __init__(self, submission_id: str) -> None:
        self.submission_id = submission_id
        self.status = "pending"
        super().__init__("This submission has not been paid for")


class LinkInvalid(DomainError):
    """A report link whose signature does not match, or whose time is up."""

    code = "FORBIDDEN"

    def __init__(self) -> None:
        super().__init__("This download link is invalid or has expired")


class StoreUnavailable(DomainError):
    """A store (the database, Firestore, the queue) did not answer this time: an outage or a
    lock held too long, not a refusal. Worth retrying later; nothing was half-written."""

    code = "STORE_UNAVAILABLE"


class StoreDamaged(StoreUnavailable):
    """The store answered, but what it holds is not readable as ours (a corrupt or foreign
    database file). Retrying cannot help: an operator must restore or move it aside; the message
    names the file and what to do. A StoreUnavailable, so every caller that backs off on an
    outage also survives this one."""

    code = "STORE_DAMAGED"


class EmailUnavailable(DomainError):
    """The mail server did not take the message this time (unreachable, a 4xx answer, a
    timeout): worth another attempt."""

    code = "EMAIL_UNAVAILABLE"


class EmailRejected(DomainError):
    """The mail server refused the message for good (a 5xx answer: a refused recipient or
    sender, failed authentication): retrying the same message cannot help."""

    code = "EMAIL_REJECTED"
