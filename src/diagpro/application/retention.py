"""Personal data kept only as long as it must be: the purge, and forgetting one customer.

Erasing one submission is two steps, in this order:

1. every ``Eraser`` removes what is kept elsewhere for it (its report file; a later eraser can
   add e-mails sent about it);
2. the submission blanks its personal fields and records ``erased_at`` (``erase_personal_data``),
   saved under compare-and-set.

An eraser that fails, or a crash between the steps, leaves the submission unerased and so still
due: the next purge (or ``forget``) runs the erasers again (each is harmless when there is nothing
left) and finishes it. A submission that changed meanwhile (a late refund restarts its clock, a
request queued its report again) is left as it is now and not counted as erased.

Nothing here logs what was erased, only ids and counts: the log outlives the data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from diagpro.application.transitions import change_submission
from diagpro.domain.errors import (
    DomainError,
    ReportStorageError,
    StoreUnavailable,
    SubmissionNotFound,
)
from diagpro.domain.ids import is_submission_id
from diagpro.domain.ports import Clock, ErasedTextScrub, Eraser, ReportStore, SubmissionStore
from diagpro.domain.retention import erase_before
from diagpro.domain.submission import Submission

log = logging.getLogger("diagpro.retention")

BATCH = 200  # submissions read and erased per store query


class ReportEraser:
    """The stored PDF (local folder or Cloud Storage), through the ReportStore port."""

    name = "report"

    def __init__(self, reports: ReportStore) -> None:
        self._reports = reports

    def erase(self, submission_id: str) -> int:
        return int(self._reports.delete(submission_id))


class NothingToForget(DomainError):
    code = "NOTHING_TO_FORGET"


@dataclass
class ErasureRun:
    """What one purge or forget did, in ids and counts only (never the data)."""

    erased: list[str] = field(default_factory=list)
    due: list[str] = field(default_factory=list)  # a dry run: what would be erased
    already_erased: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # paid and not finished: kept for now
    changed: list[str] = field(default_factory=list)  # changed meanwhile: no longer due
    failed: dict[str, str] = field(default_factory=dict)  # id -> why (the next run retries)
    removed: dict[str, int] = field(default_factory=dict)  # eraser name -> things removed
    more: bool = False  # a full batch was read: more may be due (the purge runs again)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.held

    def summary(self) -> dict[str, object]:
        return {
            "erased": len(self.erased),
            "due": len(self.due),
            "alreadyErased": len(self.already_erased),
            "held": len(self.held),
            "changed": len(self.changed),
            "failed": len(self.failed),
            "removed": dict(self.removed),
            "erasedIds": list(self.erased),
            "dueIds": list(self.due),
            "heldIds": list(self.held),
            "failedIds": sorted(self.failed),
        }


class _Erasure:
    """Erase one submission: the erasers, then the submission itself (the module docstring)."""

    def __init__(
        self,
        submissions: SubmissionStore,
        erasers: Sequence[Eraser],
        clock: Clock,
        scrub: ErasedTextScrub | None = None,
    ) -> None:
        self._submissions = submissions
        self._erasers = tuple(erasers)
        self._clock = clock
        self._scrub = scrub

    def scrub(self, run: ErasureRun) -> None:
        """After a run that erased something: the store's own copies of the erased rows (the
        embedded database's journal) are overwritten too. A failure leaves the erasure as it is
        (the rows are blank) and is logged; the next erasure tries again."""
        if self._scrub is None or not (run.erased or run.already_erased):
            return
        try:
            self._scrub()
        except StoreUnavailable as exc:
            log.warning("erased rows' old copies not yet overwritten: %s", exc.message)

    def erasers_only(self, submission_id: str, run: ErasureRun) -> bool:
        try:
            for eraser in self._erasers:
                count = eraser.erase(submission_id)
                run.removed[eraser.name] = run.removed.get(eraser.name, 0) + count
        except (ReportStorageError, StoreUnavailable) as exc:
            run.failed[submission_id] = exc.message
            log.error("submission %s: erasing its data failed: %s", submission_id, exc.message)
            return False
        return True

    def __call__(
        self, sub: Submission, run: ErasureRun, changed_before: datetime | None = None
    ) -> None:
        if not self.erasers_only(sub.id, run):
            return
        now = self._clock.now()

        def erase(current: Submission) -> Submission | None:
            if current.erased or current.in_flight:
                return None
            if changed_before is not None and current.updated_at >= changed_before:
                return None  # changed since it was found: its period starts again
            return current.erase_personal_data(now)

        try:
            stored, changed = change_submission(self._submissions, sub.id, erase, known=sub)
        except StoreUnavailable as exc:
            run.failed[sub.id] = exc.message
            log.error("submission %s: recording its erasure failed: %s", sub.id, exc.message)
            return
        if changed:
            run.erased.append(stored.id)
            log.info("submission %s: personal data erased", stored.id)
        elif stored.erased:
            run.already_erased.append(stored.id)
        else:
            run.changed.append(stored.id)


class PurgeExpiredData:
    """Erase every submission whose retention period has passed (domain/retention.py)."""

    def __init__(
        self,
        submissions: SubmissionStore,
        erasers: Sequence[Eraser],
        clock: Clock,
        retention_days: int,
        scrub: ErasedTextScrub | None = None,
    ) -> None:
        self._submissions = submissions
        self._clock = clock
        self._retention_days = retention_days
        self._erase = _Erasure(submissions, erasers, clock, scrub)

    def __call__(self, *, dry_run: bool = False, limit: int = BATCH) -> ErasureRun:
        """One batch of at most ``limit`` submissions; ``more`` says whether to call again."""
        changed_before = erase_before(self._clock.now(), self._retention_days)
        due = self._submissions.due_for_erasure(changed_before, limit)
        run = ErasureRun(more=len(due) == limit)
        for sub in due:
            if dry_run:
                run.due.append(sub.id)
            else:
                self._erase(sub, run, changed_before)
        self._erase.scrub(run)
        if run.erased or run.failed:
            log.info(
                "purge: %d submission(s) erased, %d failed; removed %s",
                len(run.erased),
                len(run.failed),
                run.removed,
            )
        return run

    def until_done(self, *, dry_run: bool = False) -> ErasureRun:
        """Every due submission, batch after batch, until a batch makes no progress."""
        total = ErasureRun()
        while True:
            run = self(dry_run=dry_run)
            _merge(total, run)
            if dry_run or not run.more or not run.erased:
                total.more = run.more
                return total


def _merge(total: ErasureRun, run: ErasureRun) -> None:
    total.erased += run.erased
    total.due += run.due
    total.already_erased += run.already_erased
    total.held += run.held
    total.changed += run.changed
    total.failed.update(run.failed)
    for name, count in run.removed.items():
        total.removed[name] = total.removed.get(name, 0) + count


class ForgetCustomer:
    """A customer asks to be forgotten: erase at once every submission of theirs (one id, or
    every submission under one email), whatever its retention clock says. A paid order not yet
    finished is held (its report is made from that data): the run says so, and forgetting again
    once it is ready, failed or refunded erases it."""

    def __init__(
        self,
        submissions: SubmissionStore,
        erasers: Sequence[Eraser],
        clock: Clock,
        scrub: ErasedTextScrub | None = None,
    ) -> None:
        self._submissions = submissions
        self._erase = _Erasure(submissions, erasers, clock, scrub)

    def __call__(self, who: str) -> ErasureRun:
        """Raises NothingToForget when no submission matches."""
        who = who.strip()
        run = ErasureRun()
        for sub in self._matching(who):
            if sub.in_flight:
                run.held.append(sub.id)
                log.warning("forget: submission %s is paid and not finished; held", sub.id)
            elif sub.erased:
                # Erased already: clear anything an earlier, interrupted run left behind.
                if self._erase.erasers_only(sub.id, run):
                    run.already_erased.append(sub.id)
            else:
                self._erase(sub, run)
        self._erase.scrub(run)
        log.info(
            "forget: %d submission(s) erased, %d already erased, %d held, %d failed; removed %s",
            len(run.erased),
            len(run.already_erased),
            len(run.held),
            len(run.failed),
            run.removed,
        )
        return run

    def _matching(self, who: str) -> list[Submission]:
        if is_submission_id(who):
            try:
                return [self._submissions.get(who)]
            except SubmissionNotFound:
                raise NothingToForget(f"no submission has the id {who}") from None
        if "@" not in who:
            raise NothingToForget(
                "give a submission id (diag_<13 digits>_<hex>) or the email address the "
                "customer gave"
            )
        found = self._submissions.with_email(who)
        if not found:
            # Erased submissions hold no email any more: they cannot be found by it.
            raise NothingToForget(
                "no submission holds that email address (an erased one holds none)"
            )
        return found
