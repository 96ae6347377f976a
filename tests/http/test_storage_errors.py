"""A storage fault shows the customer a plain sentence, never a server path: the detail goes to the
log, under the request id the answer carries."""

from __future__ import annotations

import io
import logging
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from dependency_injector import providers

from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.domain.errors import RenderFailed, ReportStorageError
from tests.http.conftest import AUTOMOTIVE, Api, assert_error


@pytest.fixture
def server_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.fixture
def locked_database(sqlite_api: Api) -> Iterator[Path]:
    """The service's own database file, its write lock held by another process past the busy
    timeout (here: another connection), as a stuck writer or a full disk leaves it."""
    path = Path(sqlite_api.settings.database_path)
    store = SqliteSubmissionStore(Database(path, busy_timeout_seconds=0.05))
    sqlite_api.container.submissions.override(providers.Object(store))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()
    sqlite_api.container.submissions.reset_last_overriding()


def _looping_report(api: Api) -> tuple[str, str, Path]:
    """A ready report whose file the disk can no longer read (a symlink loop: ELOOP)."""
    sid = api.ready()
    link = str(api.post("/getDownloadUrl", {"submissionId": sid}).json()["downloadUrl"])
    path = Path(api.settings.data_dir) / "reports" / f"{sid}.pdf"
    os.unlink(path)
    os.symlink(path, path)
    return sid, link, path


def test_an_unreadable_report_answers_503_without_its_path(
    sqlite_api: Api, server_log: io.StringIO
) -> None:
    _, link, path = _looping_report(sqlite_api)
    refused = sqlite_api.client.get(link, headers={"x-request-id": "disk-1"})
    body = assert_error(refused, 503, "REPORT_STORAGE_ERROR")
    assert refused.headers["retry-after"] == "5"
    assert str(path.parent) not in refused.text
    assert "Errno" not in refused.text
    assert "Nothing was lost" in body["error"]
    assert str(path) in server_log.getvalue()  # the operator's detail is in the log


def test_a_locked_database_answers_503_without_its_path(
    sqlite_api: Api, locked_database: Path, server_log: io.StringIO
) -> None:
    refused = sqlite_api.post("/saveSubmission", {"payload": AUTOMOTIVE})
    body = assert_error(refused, 503, "STORE_UNAVAILABLE")
    assert str(locked_database) not in refused.text
    assert "sqlite" not in refused.text.lower()
    assert "did not answer" in body["error"]
    assert str(locked_database) in server_log.getvalue()


class FailingReports:
    """A report store whose every call fails the way ``fail`` says."""

    def __init__(self, fail: Exception) -> None:
        self._fail = fail

    def links(self, submission_id: str, ttl_seconds: int, now: datetime) -> None:
        raise self._fail


def test_the_download_page_says_briefly_unavailable_without_the_path(api: Api) -> None:
    sid = api.ready()
    fault = ReportStorageError("Could not read the report: [Errno 5] I/O error: '/srv/var/x.pdf'")
    api.container.reports.override(providers.Object(FailingReports(fault)))
    try:
        page = api.client.get(f"/download/{sid}")
        assert page.status_code == 503
        assert page.headers["retry-after"] == "5"
        assert "briefly unavailable" in page.text
        assert "/srv/var" not in page.text
        refused = api.post("/getDownloadUrl", {"submissionId": sid})
        assert_error(refused, 503, "REPORT_STORAGE_ERROR")
        assert "/srv/var" not in refused.text
    finally:
        api.container.reports.reset_last_overriding()


def test_a_failure_of_the_work_shows_no_internal_detail(api: Api) -> None:
    sid = api.ready()

    fault = RenderFailed("WeasyPrint crashed in /srv/diagpro/templates/report.html")
    api.container.reports.override(providers.Object(FailingReports(fault)))
    try:
        refused = api.post("/getDownloadUrl", {"submissionId": sid})
        assert_error(refused, 500, "RENDER_FAILED")
        assert "/srv/diagpro" not in refused.text
        page = api.client.get(f"/download/{sid}")
        assert page.status_code == 500
        assert "Something went wrong on our side" in page.text
        assert "/srv/diagpro" not in page.text
    finally:
        api.container.reports.reset_last_overriding()
