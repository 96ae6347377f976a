"""An in-memory SubmissionStore for tests and the single-process demo.

It keeps each submission in its encoded form (the same JSON document every other store keeps),
so what a caller gets is always a fresh copy and nothing it holds can alias what is stored; it
also means a submission the codec cannot store fails here first, not only in production.
"""

from __future__ import annotations

import threading

from diagpro.adapters.codec import submission_from_json, submission_to_json
from diagpro.domain.errors import ConcurrentUpdate, SubmissionExists, SubmissionNotFound
from diagpro.domain.submission import Submission


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

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)
