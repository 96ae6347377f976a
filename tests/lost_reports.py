"""Lose a stored report the way a failing disk or a careless operator does: behind diagpro's back.

The ReportStore port has no delete (diagpro never deletes a report), so each store is reached
where its bytes live: the file in the local folder, the in-memory fake's dict.
"""

from __future__ import annotations

from datetime import datetime

from diagpro.adapters.memory.reports import MemoryReportStore
from diagpro.container import Container
from diagpro.domain.errors import ReportMissing
from diagpro.domain.ports import ReportStore
from diagpro.domain.report import DownloadLinks


def lose_report(container: Container, submission_id: str) -> None:
    report_files = container.report_files()
    if report_files is not None:
        report_files.file_path(submission_id).unlink()
        return
    store = container.reports()
    assert isinstance(store, MemoryReportStore), f"cannot lose a report from {store!r}"
    with store._lock:
        del store._reports[submission_id]
    assert not store.exists(submission_id)


class VanishingReports:
    """A store whose file is there when asked whether it exists and gone when a link is made
    (the file lost in the instant between): the order must still read as on its way."""

    def __init__(self, inner: ReportStore) -> None:
        self._inner = inner

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> DownloadLinks:
        raise ReportMissing(submission_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)
