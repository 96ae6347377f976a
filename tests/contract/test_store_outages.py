"""A store that does not answer raises StoreUnavailable, the error the store ports declare: no
sqlite3 or Google SDK error leaves an adapter."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from google.api_core import exceptions as api_exceptions

from diagpro.adapters.firestore._edge import translated
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.events import SqliteProcessedEvents
from diagpro.adapters.sqlite.jobs import SqliteJobQueue
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.domain.errors import StoreUnavailable
from tests.builders import T0, make_event, make_submission
from tests.doubles import CountingIds

BUSY_SECONDS = 0.05


@pytest.fixture
def locked(tmp_path: Path):
    """A database file whose write lock another process holds (here: another connection)."""
    path = tmp_path / "diagpro.sqlite3"
    db = Database(path, busy_timeout_seconds=BUSY_SECONDS)
    stores = (
        SqliteSubmissionStore(db),
        SqliteProcessedEvents(db),
        SqliteJobQueue(db, CountingIds()),
    )
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield stores
    holder.execute("ROLLBACK")
    holder.close()


def test_a_write_lock_held_past_the_busy_timeout_is_store_unavailable(locked) -> None:
    submissions, events, jobs = locked
    with pytest.raises(StoreUnavailable, match="database is locked"):
        submissions.add(make_submission())
    with pytest.raises(StoreUnavailable):
        events.record(make_event(), "fulfilled", T0)
    with pytest.raises(StoreUnavailable):
        jobs.enqueue("diag_1", T0)


def test_the_store_works_again_once_the_lock_is_released(tmp_path: Path) -> None:
    path = tmp_path / "diagpro.sqlite3"
    store = SqliteSubmissionStore(Database(path, busy_timeout_seconds=BUSY_SECONDS))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    submission = make_submission()
    with pytest.raises(StoreUnavailable):
        store.add(submission)
    holder.execute("ROLLBACK")
    holder.close()
    store.add(submission)  # the failed transaction left this thread's connection usable
    assert store.get(submission.id) == submission


def test_wrong_sql_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    db = Database(tmp_path / "diagpro.sqlite3")
    with pytest.raises(sqlite3.OperationalError), db.connect() as conn:
        conn.execute("SELECT * FROM no_such_table")


@pytest.mark.parametrize(
    "sdk_error",
    [
        api_exceptions.ServiceUnavailable("firestore is down"),
        api_exceptions.DeadlineExceeded("too slow"),
        api_exceptions.PermissionDenied("no role"),
    ],
)
def test_a_firestore_sdk_error_leaves_the_adapter_as_store_unavailable(sdk_error) -> None:
    with (
        pytest.raises(StoreUnavailable, match="Firestore get submission failed"),
        translated("get submission"),
    ):
        raise sdk_error
