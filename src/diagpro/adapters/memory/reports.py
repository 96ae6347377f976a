"""An in-memory ReportStore that behaves like LocalReportFolder (same contract suite).

Links are signed by the same module the HTTP server verifies with, so a test can follow one.
"""

from __future__ import annotations

import threading
from datetime import datetime

from diagpro.adapters.signed_links import is_safe_report_id, report_links
from diagpro.domain.errors import ReportMissing, ReportStorageError
from diagpro.domain.report import DownloadLinks, report_path


class MemoryReportStore:
    def __init__(self, base_url: str, secret: bytes) -> None:
        if not secret:
            raise ValueError("a report store needs a non-empty link secret")
        self._base_url = base_url
        self._secret = secret
        self._lock = threading.Lock()
        self._reports: dict[str, bytes] = {}

    def save(self, submission_id: str, pdf: bytes) -> str:
        if not is_safe_report_id(submission_id):
            raise ReportStorageError(f"Refusing to store a report under {submission_id!r}")
        with self._lock:
            # The first finished report wins; saving again keeps it.
            self._reports.setdefault(submission_id, bytes(pdf))
        return report_path(submission_id)

    def exists(self, submission_id: str) -> bool:
        with self._lock:
            return submission_id in self._reports

    def read(self, submission_id: str) -> bytes:
        with self._lock:
            found = self._reports.get(submission_id)
        if found is None:
            raise ReportMissing(submission_id)
        return found

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        if not self.exists(submission_id):
            raise ReportMissing(submission_id)
        return report_links(self._base_url, self._secret, submission_id, ttl_seconds, now)

    def delete(self, submission_id: str) -> bool:
        with self._lock:
            return self._reports.pop(submission_id, None) is not None
