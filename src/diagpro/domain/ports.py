"""The ports: what the lifecycle needs from the outside world, in its own words.

Every adapter (memory fakes, the embedded SQLite/local-file defaults, the cloud adapters) passes
the same contract suite in tests/contract for the port it implements. Docstrings say what an
implementation may raise; anything else escaping an adapter is a bug in that adapter.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

from diagpro.domain.analysis import Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.email import EmailEvent, Letter, OutgoingEmail
from diagpro.domain.intake import Intake
from diagpro.domain.jobs import Job, JobKind
from diagpro.domain.payment import CheckoutRequest, CheckoutSession, PaymentEvent, SignedEvent
from diagpro.domain.report import DownloadLinks, ReportDocument, ReportFile
from diagpro.domain.submission import Payment, Status, Submission


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@runtime_checkable
class IdSource(Protocol):
    def submission_id(self, now: datetime) -> str:
        """A new ``diag_<ms>_<hex>`` id with at least 80 random bits."""
        ...

    def token(self) -> str:
        """A random hex token (job ids, worker ids)."""
        ...


@runtime_checkable
class SubmissionStore(Protocol):
    """Every method may raise StoreUnavailable when the store does not answer (outage, lock)."""

    def add(self, submission: Submission) -> None:
        """Store a new submission. Raises SubmissionExists if the id is taken."""
        ...

    def get(self, submission_id: str) -> Submission:
        """Raises SubmissionNotFound. Returns a copy: changing it changes nothing stored."""
        ...

    def update(self, submission: Submission) -> None:
        """Compare-and-set: store ``submission`` only if the stored version is
        ``submission.version - 1``. Raises ConcurrentUpdate if it is not, SubmissionNotFound
        if there is nothing to update."""
        ...

    # -- retention: finding the orders whose personal data must go (domain/retention.py) -------

    def due_for_erasure(self, changed_before: datetime, limit: int) -> list[Submission]:
        """At most ``limit`` submissions not yet erased, not in flight (paid or processing),
        whose last change (``updated_at``) is before ``changed_before``; least recently changed
        first. Reads only such submissions (an index), never every stored one."""
        ...

    def with_email(self, email: str) -> list[Submission]:
        """Every submission (erased ones excluded: they hold no email) whose intake's email is
        ``email``, compared without regard to case; oldest first."""
        ...

    # -- the operator's view of orders (application/orders.py) ----------------------------------

    def recent(
        self,
        limit: int,
        *,
        changed_since: datetime | None = None,
        statuses: frozenset[Status] = frozenset(),
    ) -> list[Submission]:
        """At most ``limit`` submissions, most recently changed (``updated_at``) first: only
        those changed at or after ``changed_since`` when given, only those whose status is in
        ``statuses`` when it is not empty. Reads through an index, never every stored one."""
        ...

    def awaiting_report(self) -> list[Submission]:
        """Every paid submission whose report is not made yet (status paid or processing),
        longest paid first (``payment.paid_at``). They are few by nature (each is being worked
        or waits for a worker), so there is no limit: a count of stuck orders must see all."""
        ...


@runtime_checkable
class PaymentGateway(Protocol):
    def open_checkout(self, request: CheckoutRequest) -> CheckoutSession:
        """Create a checkout session (idempotent on ``request.idempotency_key``).
        Raises PaymentProviderError."""
        ...

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        """Raises CheckoutNotFound, PaymentProviderError."""
        ...

    def expire_checkout(self, session_id: str) -> None:
        """Close an open session so it can no longer be paid. Raises CheckoutNotFound."""
        ...

    def verify_event(self, payload: bytes, signature: str) -> PaymentEvent:
        """Check the signature over the raw bytes and translate the event.
        Raises PaymentEventInvalid (bad or stale signature, malformed event)."""
        ...


@runtime_checkable
class Refunds(Protocol):
    def refund(self, payment: Payment) -> str:
        """Refund ``payment`` in full and return the refund id. Idempotent: refunding the same
        payment again never pays out twice. Raises PaymentProviderError."""
        ...


@runtime_checkable
class ProcessedEvents(Protocol):
    """Every method may raise StoreUnavailable when the store does not answer (outage, lock)."""

    def record(self, event: PaymentEvent, outcome: str, at: datetime) -> bool:
        """Remember a handled event. True the first time, False if it was already recorded
        (the first outcome is kept). Safe under concurrent calls with the same event."""
        ...

    def outcome(self, event_id: str) -> str | None:
        """What happened to an event, or None if it was never recorded."""
        ...


@runtime_checkable
class JobQueue(Protocol):
    """Every method may raise StoreUnavailable when the store (or the dispatch in front of it)
    does not answer."""

    def enqueue(self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT) -> Job:
        """Queue work of ``kind`` for a submission. While a job of that kind for it is queued or
        leased, returns that job instead of adding another (so duplicate payment events make
        one report job, and duplicate ready/failed/refunded moves one email job). Jobs of
        different kinds never stand in each other's way."""
        ...

    def claim(self, worker: str, now: datetime, lease_seconds: float) -> Job | None:
        """Lease the oldest due job (``not_before <= now``, no live lease) to ``worker``,
        counting an attempt; None when nothing is due. Two workers never get the same lease."""
        ...

    def renew(self, job: Job, now: datetime, lease_seconds: float) -> Job:
        """Extend the lease ``job`` holds to ``now + lease_seconds`` (the worker's heartbeat
        while it works, so a lease can be short and a dead worker's job is retaken soon).
        Returns the job as leased now. Raises LeaseLost if ``job.lease_owner`` no longer holds
        it (it ran out and another worker took the job, or the job was finished)."""
        ...

    def complete(self, job: Job, now: datetime) -> None:
        """Mark a leased job done. Raises LeaseLost if ``job.lease_owner`` no longer holds it."""
        ...

    def retry_later(self, job: Job, not_before: datetime, error: str) -> None:
        """Release the lease and wait until ``not_before``. Raises LeaseLost."""
        ...

    def bury(self, job: Job, error: str) -> None:
        """Give up on a job for good. Raises LeaseLost."""
        ...

    # -- an operator's hand on a submission's queued job --------------------------------------

    def make_due(
        self, submission_id: str, now: datetime, kind: JobKind = JobKind.REPORT
    ) -> Job | None:
        """Make the submission's queued job of ``kind`` due at ``now`` (an operator's "run
        now"): a later ``not_before`` (a retry's backoff) becomes ``now``, and a lease that ran
        out (its worker died) is cleared; its attempts are kept. Returns the job as stored now;
        None when no job of that kind is queued. Raises JobLeased when a live lease holds it."""
        ...

    def cancel(self, submission_id: str, error: str, kind: JobKind = JobKind.REPORT) -> Job | None:
        """Give up for good on the submission's queued job of ``kind``, leased or not (its order
        was refunded): it becomes dead with ``error``. A worker holding it has lost its lease
        (its next renew, complete, retry_later or bury raises LeaseLost). Returns the job as
        stored now; None when none was queued."""
        ...

    def jobs_for(self, submission_id: str) -> list[Job]:
        """Every job ever queued for a submission, oldest first."""
        ...

    def next_due(self) -> datetime | None:
        """When the earliest waiting job becomes due (or its lease runs out); None if none."""
        ...

    # A job is *due* at ``not_before`` while it waits, and at ``lease_until`` while leased (a
    # worker that died holding it frees it then). ``claim`` and ``due`` read only due jobs,
    # earliest first, through an index on that time, never every queued job.

    def due(self, now: datetime, limit: int) -> list[Job]:
        """At most ``limit`` queued jobs that could be claimed at ``now``, earliest due first
        (ties in order of arrival)."""
        ...

    def claim_job(
        self, job_id: str, worker: str, now: datetime, lease_seconds: float
    ) -> Job | None:
        """Lease this one job as ``claim`` would (counting an attempt) if it is queued, due and
        not leased; else None, and ``job`` says why."""
        ...

    def job(self, job_id: str) -> Job | None:
        """The job as stored now; None for an unknown id."""
        ...


@runtime_checkable
class EmailSender(Protocol):
    """Hands a finished email to whatever delivers it (a mail server, a folder of files)."""

    def send(self, email: OutgoingEmail) -> str:
        """Send it from the configured sender address; returns what the sender calls the
        message (the server's queue id when it says one, else the Message-ID; the file
        written). Raises EmailUnavailable (worth retrying: unreachable, busy, a 4xx answer) or
        EmailRejected (never worth retrying: a 5xx answer, a refused login)."""
        ...


@runtime_checkable
class EmailWriter(Protocol):
    """Writes what an email says, in the customer's language."""

    def write(self, event: EmailEvent, submission: Submission, report_sha256: str) -> Letter:
        """The letter for ``event``. A ready report's letter links to its long-lived
        ``/view/{id}`` page (never to a signed link, which would expire before it is read) and
        quotes ``report_sha256``, the PDF's digest (empty for the other events)."""
        ...


@runtime_checkable
class StoreProbe(Protocol):
    """Proves a store still does its job, for ``/healthz`` and for start-up: a store that opens
    but cannot be written (a full or read-only disk, a damaged file) must not look healthy."""

    def probe(self, now: datetime) -> None:
        """Write one tiny record (always the same one, so probing never grows the store) and
        read it back. Raises StoreUnavailable (StoreDamaged when what the store holds cannot be
        read at all) or ReportStorageError, with the reason an operator can act on."""
        ...


@runtime_checkable
class Analyzer(Protocol):
    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        """Write the 15-section analysis, its amounts in ``currency`` (the submission's, which
        the shop quote is in) where the analyzer can, else in the one ``Analysis.currency``
        names. Raises AnalysisUnavailable (worth retrying), AnalysisInvalid (the answer had the
        wrong shape; also retried, never printed), AnalysisMisconfigured (only an operator can
        fix it: not retried) or AnalysisRefused (the model will not answer this request: not
        retried)."""
        ...


@runtime_checkable
class ReportRenderer(Protocol):
    def render(self, document: ReportDocument) -> bytes:
        """The PDF bytes. Raises RenderFailed. Must not touch the network."""
        ...


@runtime_checkable
class ReportStore(Protocol):
    def save(self, submission_id: str, pdf: bytes) -> str:
        """Store the report at ``reports/{id}.pdf`` and return that path. A finished report is
        never overwritten: saving again keeps the first and returns its path.
        Raises ReportStorageError."""
        ...

    def exists(self, submission_id: str) -> bool: ...

    def read(self, submission_id: str) -> bytes:
        """Raises ReportMissing."""
        ...

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        """Fresh signed links (download and inline view) valid for ``ttl_seconds``.
        Raises ReportMissing."""
        ...

    def delete(self, submission_id: str) -> bool:
        """Remove the stored report for good (its retention period ended, or the customer asked).
        True when a report was removed, False when there was none (so deleting twice is
        harmless). Raises ReportStorageError."""
        ...


@runtime_checkable
class Eraser(Protocol):
    """One more place a submission's personal data is kept outside the submission itself (its
    report file; later e-mails sent about it). The purge and ``forget`` call every eraser for a
    submission *before* the submission records its erasure, so a failed or interrupted run
    leaves it due and the next run finishes it."""

    name: str  # one of what it erases, for the operator's summary ("report", "email")

    def erase(self, submission_id: str) -> int:
        """Remove what is kept for ``submission_id``; how many things were removed (0 when
        there was nothing left, so running it again is harmless). May raise StoreUnavailable or
        ReportStorageError; the caller reports the failure and the next run tries again."""
        ...


@runtime_checkable
class ErasedTextScrub(Protocol):
    """Where a store keeps copies of rows it changed (a journal), overwrite them, so text an
    erasure blanked is gone from disk too, not only from the current row."""

    def __call__(self) -> None:
        """May raise StoreUnavailable; the erasure stands, and the next run tries again."""
        ...


# -- capabilities only the embedded defaults have ---------------------------------------------
# The container hands these out when the embedded default is wired and None when a cloud adapter
# (Stripe, Cloud Storage) replaces it: Stripe has its own checkout page, a bucket its own links.


@runtime_checkable
class SelfCheckout(Protocol):
    """The checkout we host ourselves when no Stripe key is set: its page shows a session, and
    the customer's Pay or Cancel produces the signed event Stripe would have sent."""

    def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        """Raises CheckoutNotFound."""
        ...

    def pay(self, session_id: str) -> SignedEvent:
        """The customer pays: the session completes. Raises CheckoutNotFound, or
        PaymentProviderError when the session is no longer open."""
        ...

    def cancel(self, session_id: str) -> SignedEvent:
        """The customer gives up: the session expires. Raises CheckoutNotFound."""
        ...


@runtime_checkable
class ReportFiles(Protocol):
    """Reports kept as files on this machine, handed out behind signed links."""

    def read_linked(
        self, path: str, disposition: str, expires: str, signature: str, now: datetime
    ) -> ReportFile:
        """The report a signed link names (``path`` is the URL path after ``/files/``, the
        other values are the link's query values as sent). Raises LinkInvalid for a link we did
        not sign or whose time is up, ReportMissing when no such report is stored."""
        ...

    def file_path(self, submission_id: str) -> Path:
        """Where the report is (or would be) on this machine's disk. Raises ReportMissing for an
        id that can never name a report."""
        ...


@runtime_checkable
class JobAnnouncer(Protocol):
    """Tells the machines that work jobs that one is due (Pub/Sub). Only news: the job itself
    stays in the JobQueue, so a lost or repeated announcement is harmless."""

    def announce(self, job: Job) -> bool:
        """Publish that ``job`` is due; False when the publish failed (the adapter logs why)."""
        ...


@runtime_checkable
class TaskCallers(Protocol):
    """Who may call the task routes (Pub/Sub push, Cloud Scheduler)."""

    def refusal(self, authorization: str) -> str | None:
        """Why a call carrying this ``Authorization`` header value is refused, in words an
        operator can act on; None when it may go on."""
        ...


@runtime_checkable
class Meter(Protocol):
    """What an operator counts and times (``/metrics``). Labels are the short stable strings
    given here; never a submission id, an email address or anything else unbounded. Must not
    raise: counting never stops an order."""

    def order(self, outcome: str) -> None:
        """An order reached ``outcome``: saved, paid, ready, failed or refunded."""
        ...

    def payment_event(self, event_type: str, outcome: str) -> None:
        """A verified payment event was handled (``outcome``: the application's Outcome, or
        ``duplicate`` for one seen before)."""
        ...

    def model_call(self, outcome: str, seconds: float, tokens_in: int, tokens_out: int) -> None:
        """One analysis by the analyzer (``outcome``: ok, or the kind of failure)."""
        ...

    def render(self, outcome: str, seconds: float) -> None:
        """One report rendered to PDF (ok or failed)."""
        ...

    def email(self, event: str, outcome: str) -> None:
        """One attempt at the customer's ``event`` email: sent, unavailable or rejected."""
        ...

    def paid_to_ready(self, seconds: float) -> None:
        """How long a paid order waited for its report."""
        ...

    def webhook(self, seconds: float) -> None:
        """How long one payment webhook request took to handle (answered or refused)."""
        ...
