"""An in-memory SubmissionStore for tests and the single-process demo.

It keeps each submission in its encoded form (the same JSON document every other store keeps),
so what a caller gets is always a fresh copy and nothing it holds can alias what is stored; it
also means a submission the codec cannot store fails here first, not only in production.
"""

from __future__ import annotations

import threading
from datetime import datetime

from diagpro.adapters.codec import submission_from_json, submission_to_json
from diagpro.domain.errors import ConcurrentUpdate, SubmissionExists, SubmissionNotFound
from diagpro.domain.intake import email_key
from diagpro.domain.submission import Status, Submission, paid_order


class MemorySubmissionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        # id -> (stored version, encoded document)
        self._rows: dict[str, tuple[int, bytes]] = {}

    def add(self, submission: Submission) -> None:
        encoded = submission_to_json(submission)
        with self._lock:
            if submission.id in self._rows:
                raise SubmissionExists(submission.id)
            self._rows[submission.id] = (submission.version, encoded)

    def get(self, submission_id: str) -> Submission:
        with self._lock:
            row = self._rows.get(submission_id)
        if row is None:
            raise SubmissionNotFound(submission_id)
        return submission_from_json(row[1])

    def update(self, submission: Submission) -> None:
        encoded = submission_to_json(submission)
        with self._lock:
            row = self._rows.get(submission.id)
            if row is None:
                raise SubmissionNotFound(submission.id)
            if row[0] != submission.version - 1:
                raise ConcurrentUpdate(submission.id)
            self._rows[submission.id] = (submission.version, encoded)

    def due_for_erasure(self, changed_before: datetime, limit: int) -> list[Submission]:
        due = [
            sub
            for sub in self._all()
            if sub.erased_at is None and not sub.in_flight and sub.updated_at < changed_before
        ]
        return sorted(due, key=lambda sub: (sub.updated_at, sub.id))[:limit]

    def with_email(self, email: str) -> list[Submission]:
        wanted = email_key(email)
        found = [s for s in self._all() if s.intake.email and email_key(s.intake.email) == wanted]
        return sorted(found, key=lambda sub: (sub.created_at, sub.id))

    def recent(
        self,
        limit: int,
        *,
        changed_since: datetime | None = None,
        statuses: frozenset[Status] = frozenset(),
    ) -> list[Submission]:
        found = [
            sub
            for sub in self._all()
            if (changed_since is None or sub.updated_at >= changed_since)
            and (not statuses or sub.status in statuses)
        ]
        return sorted(found, key=lambda sub: (sub.updated_at, sub.id), reverse=True)[:limit]

    def awaiting_report(self) -> list[Submission]:
        return sorted((s for s in self._all() if s.in_flight), key=paid_order)

    def _all(self) -> list[Submission]:
        with self._lock:
            rows = list(self._rows.values())
        return [submission_from_json(encoded) for _, encoded in rows]

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)
