"""The embedded database's writer thread: several calls per commit, each answered only once its
batch is committed, a failing call undoing only its own writes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.adapters.sqlite.writer import SqliteWriter
from diagpro.domain.errors import StoreUnavailable, SubmissionNotFound
from tests.builders import make_submission


def _ids_on_disk(path: Path) -> set[str]:
    """What another connection (another process) sees: only committed rows."""
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM submissions")}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "diagpro.sqlite3")
    yield database
    database.close()


def test_every_answer_comes_after_its_commit(db: Database) -> None:
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)
    path = Path(db.path)
    seen_at_answer: dict[str, bool] = {}

    async def save(n: int) -> None:
        submission = make_submission(id=f"diag_1796305569000_{n:08x}")
        await writer(store.add, submission)
        seen_at_answer[submission.id] = submission.id in _ids_on_disk(path)

    async def main() -> None:
        await asyncio.gather(*(save(n) for n in range(60)))

    asyncio.run(main())
    assert len(seen_at_answer) == 60
    assert all(seen_at_answer.values()), "an answer came before its row was committed"


def test_calls_that_arrive_together_share_a_commit(db: Database) -> None:
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)
    commits = 0
    real_batch = db.batch

    @contextmanager
    def counted() -> Iterator[Any]:
        nonlocal commits
        with real_batch() as part:
            yield part
        commits += 1

    db.batch = counted  # type: ignore[method-assign]

    async def main() -> None:
        await asyncio.gather(
            *(
                writer(store.add, make_submission(id=f"diag_1796305569000_{n:08x}"))
                for n in range(40)
            )
        )

    asyncio.run(main())
    assert len(_ids_on_disk(Path(db.path))) == 40
    assert commits < 40


def test_a_failing_call_undoes_only_its_own_writes(db: Database) -> None:
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)

    def save_then_fail(n: int) -> None:
        store.add(make_submission(id=f"diag_1796305569000_{n:08x}"))
        raise ValueError("refused after writing")

    async def main() -> list[Any]:
        return await asyncio.gather(
            writer(store.add, make_submission(id="diag_1796305569000_00000001")),
            writer(save_then_fail, 2),
            writer(store.add, make_submission(id="diag_1796305569000_00000003")),
            return_exceptions=True,
        )

    answers = asyncio.run(main())
    assert isinstance(answers[1], ValueError)
    assert _ids_on_disk(Path(db.path)) == {
        "diag_1796305569000_00000001",
        "diag_1796305569000_00000003",
    }


def test_a_refusal_reaches_its_caller_as_it_was_raised(db: Database) -> None:
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)
    with pytest.raises(SubmissionNotFound):
        asyncio.run(writer(store.get, "diag_1796305569000_deadbeef"))


def test_a_compare_and_set_inside_a_batch_sees_the_writes_before_it(db: Database) -> None:
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)
    first = make_submission(id="diag_1796305569000_0000000a")

    def add_then_change() -> int:
        store.add(first)
        store.update(replace(first, version=first.version + 1))  # a transaction inside the batch
        return store.get(first.id).version

    assert asyncio.run(writer(add_then_change)) == first.version + 1
    assert SqliteSubmissionStore(Database(db.path)).get(first.id).version == first.version + 1


class _CommitFails(Database):
    """A database whose batch commit fails, as a full disk would make it."""

    @contextmanager
    def batch(self) -> Iterator[Any]:
        with super().batch() as part:
            yield part
            raise StoreUnavailable("The embedded database did not answer (disk full)")


def test_when_the_commit_fails_no_caller_is_told_its_write_was_kept(tmp_path: Path) -> None:
    db = _CommitFails(tmp_path / "diagpro.sqlite3")
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(
                writer(store.add, make_submission(id=f"diag_1796305569000_{n:08x}"))
                for n in range(5)
            ),
            return_exceptions=True,
        )

    answers = asyncio.run(main())
    assert all(isinstance(a, StoreUnavailable) for a in answers), answers
    assert _ids_on_disk(Path(db.path)) == set()
    db.close()


def test_the_writer_keeps_serving_after_a_failed_batch(tmp_path: Path) -> None:
    db = Database(tmp_path / "diagpro.sqlite3")
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)

    def broken() -> None:
        raise RuntimeError("a bug in one call")

    async def main() -> None:
        with pytest.raises(RuntimeError):
            await writer(broken)
        await writer(store.add, make_submission(id="diag_1796305569000_000000ff"))

    asyncio.run(main())
    assert _ids_on_disk(Path(db.path)) == {"diag_1796305569000_000000ff"}
    db.close()


def test_the_writer_s_commits_are_checkpointed_in_the_background(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's connection has automatic checkpoints off; the checkpoint thread runs one
    within a second of the last commit, so the -wal file is copied back without a request
    waiting for it."""
    import time

    from diagpro.adapters.sqlite import checkpoints

    runs: list[float] = []
    real = checkpoints.Checkpointer._checkpoint

    def counted(self: checkpoints.Checkpointer, conn: sqlite3.Connection) -> None:
        real(self, conn)
        runs.append(time.monotonic())

    monkeypatch.setattr(checkpoints.Checkpointer, "_checkpoint", counted)
    store = SqliteSubmissionStore(db)
    writer = SqliteWriter(db)
    asyncio.run(writer(store.add, make_submission(id="diag_1796305569000_000000c1")))
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # others keep it
    deadline = time.monotonic() + 5
    while not runs and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runs, "no checkpoint ran after the writer's commit"


def test_the_columns_an_operator_queries_agree_with_the_document(db: Database) -> None:
    """status, created_at and updated_at are columns beside the JSON document: written from the
    submission, they must say what the document says, in UTC even for a time in another zone."""
    from datetime import datetime, timedelta, timezone

    store = SqliteSubmissionStore(db)
    paris = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    store.add(replace(make_submission(), updated_at=paris))
    with sqlite3.connect(db.path) as conn:
        row = conn.execute(
            "SELECT status, created_at, updated_at, json_extract(doc, '$.status'),"
            " json_extract(doc, '$.created_at'), json_extract(doc, '$.updated_at') FROM submissions"
        ).fetchone()
    assert row[:3] == row[3:]
    assert row[2] == "2026-12-01T09:30:00Z"


def test_an_sqlite_too_old_for_the_queue_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(RuntimeError, match=r"SQLite 3\.35\.0 or newer; this Python uses 3\.34\.1"):
        Database(tmp_path / "diagpro.sqlite3")
