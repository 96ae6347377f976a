"""The embedded default SubmissionStore: one row per submission in the shared SQLite file.

``doc`` holds the whole submission as the codec's JSON document (the source of truth); ``status``,
``version`` and the two times are copies of it kept in columns so an operator (or a later query)
can filter without decoding. Every write sets the columns and the document in one statement.

``update`` is a compare-and-set in the database itself (``WHERE id = ? AND version = ?``), so it
holds across threads, processes and store instances sharing the file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from diagpro.adapters.codec import encode_datetime, submission_from_json, submission_to_json
from diagpro.adapters.sqlite.db import Database
from diagpro.domain.errors import ConcurrentUpdate, SubmissionExists, SubmissionNotFound
from diagpro.domain.intake import email_key
from diagpro.domain.submission import Status, Submission, paid_order

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions (status, updated_at);
CREATE INDEX IF NOT EXISTS submissions_to_erase ON submissions (updated_at)
    WHERE status NOT IN ('paid', 'processing') AND json_extract(doc, '$.erased_at') IS NULL;
CREATE INDEX IF NOT EXISTS submissions_by_change ON submissions (updated_at);
CREATE INDEX IF NOT EXISTS submissions_by_email
    ON submissions (lower(json_extract(doc, '$.intake.email')));
"""

# The retention queries. Their WHERE repeats the partial index's terms word for word: SQLite uses
# a partial index only for a query whose WHERE implies the index's
# (https://www.sqlite.org/partialindex.html, "Queries Using Partial Indexes"), and an expression
# index only for the same expression (https://www.sqlite.org/expridx.html).
_DUE_FOR_ERASURE = (
    "SELECT doc FROM submissions INDEXED BY submissions_to_erase"
    " WHERE status NOT IN ('paid', 'processing') AND json_extract(doc, '$.erased_at') IS NULL"
    " AND updated_at < ? ORDER BY updated_at, id LIMIT ?"
)
_WITH_EMAIL = (
    "SELECT doc FROM submissions INDEXED BY submissions_by_email"
    " WHERE lower(json_extract(doc, '$.intake.email')) = ? ORDER BY created_at, id"
)

# The operator's list: by status through submissions_by_status (status, updated_at), else through
# submissions_by_change. The times are text ("…00Z", "…00.5Z"): their order is exact between
# seconds (the first 19 characters) but not within one, where "…00.5Z" sorts before "…00Z". So
# the time bound is applied to whole seconds in SQL and exactly to the decoded times, and the
# rows of the last second read are read whole before the result is sorted by the decoded times.
_SECOND = len("2026-11-26T12:00:00")

_AWAITING_REPORT = (
    "SELECT doc FROM submissions INDEXED BY submissions_by_status"
    " WHERE status IN ('paid', 'processing')"
)


def _row(submission: Submission) -> dict[str, object]:
    doc = submission_to_json(submission)  # refuses a naive time before any I/O
    return {
        "id": submission.id,
        "status": submission.status.value,
        "version": submission.version,
        "created_at": encode_datetime(submission.created_at),
        "updated_at": encode_datetime(submission.updated_at),
        # TEXT, not BLOB, so SQLite's JSON functions can read it in an operator's query.
        "doc": doc.decode(),
    }


class SqliteSubmissionStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate(SCHEMA)

    def add(self, submission: Submission) -> None:
        row = _row(submission)
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO submissions"
                " (id, status, version, created_at, updated_at, doc)"
                " VALUES (:id, :status, :version, :created_at, :updated_at, :doc)",
                row,
            )
        if cursor.rowcount != 1:
            raise SubmissionExists(submission.id)

    def get(self, submission_id: str) -> Submission:
        with self._db.connect() as conn:
            found = conn.execute(
                "SELECT doc FROM submissions WHERE id = ?", (submission_id,)
            ).fetchone()
        if found is None:
            raise SubmissionNotFound(submission_id)
        return submission_from_json(found["doc"])

    def update(self, submission: Submission) -> None:
        row = _row(submission)
        row["expected"] = submission.version - 1
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE submissions SET status = :status, version = :version,"
                " created_at = :created_at, updated_at = :updated_at, doc = :doc"
                " WHERE id = :id AND version = :expected",
                row,
            )
            if cursor.rowcount == 1:
                return
            # Still inside BEGIN IMMEDIATE: nobody can add or remove the row between the two.
            exists = conn.execute(
                "SELECT 1 FROM submissions WHERE id = ?", (submission.id,)
            ).fetchone()
        if exists is None:
            raise SubmissionNotFound(submission.id)
        raise ConcurrentUpdate(submission.id)

    def due_for_erasure(self, changed_before: datetime, limit: int) -> list[Submission]:
        with self._db.connect() as conn:
            rows = conn.execute(_DUE_FOR_ERASURE, (encode_datetime(changed_before), limit))
            found = [submission_from_json(row["doc"]) for row in rows.fetchall()]
        # The column is text: within one second "…00.5Z" sorts before "…00Z"; the exact
        # comparison is made on the decoded time.
        return [sub for sub in found if sub.updated_at < changed_before]

    def recent(
        self,
        limit: int,
        *,
        changed_since: datetime | None = None,
        statuses: frozenset[Status] = frozenset(),
    ) -> list[Submission]:
        where: list[str] = []
        values: list[object] = []
        if statuses:
            wanted = sorted(status.value for status in statuses)
            where.append(f"status IN ({', '.join('?' for _ in wanted)})")
            values.extend(wanted)
        if changed_since is not None:
            where.append("updated_at >= ?")
            values.append(encode_datetime(changed_since)[:_SECOND])  # from its whole second
        index = "submissions_by_status" if statuses else "submissions_by_change"
        rows = self._recent_rows(index, where, values, limit)
        if len(rows) == limit and rows:
            # The last row's second may hold more rows the text order put after it: read them.
            second = rows[-1]["updated_at"][:_SECOND]
            within = [*where, "updated_at BETWEEN ? AND ?"]
            rows += self._recent_rows(index, within, [*values, second, second + "Z"], None)
        found = {
            sub.id: sub
            for sub in (submission_from_json(row["doc"]) for row in rows)
            if changed_since is None or sub.updated_at >= changed_since
        }
        ordered = sorted(found.values(), key=lambda sub: (sub.updated_at, sub.id), reverse=True)
        return ordered[:limit]

    def _recent_rows(
        self, index: str, where: list[str], values: list[object], limit: int | None
    ) -> list[Any]:
        # Only fixed text is formatted in (an index name, column terms); every value is bound.
        sql = (
            f"SELECT updated_at, doc FROM submissions INDEXED BY {index}"  # noqa: S608
            f"{' WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY updated_at DESC, id DESC"
        )
        with self._db.connect() as conn:
            if limit is None:
                return list(conn.execute(sql, values).fetchall())
            return list(conn.execute(sql + " LIMIT ?", (*values, limit)).fetchall())

    def awaiting_report(self) -> list[Submission]:
        with self._db.connect() as conn:
            rows = conn.execute(_AWAITING_REPORT).fetchall()
        return sorted((submission_from_json(row["doc"]) for row in rows), key=paid_order)

    def with_email(self, email: str) -> list[Submission]:
        key = email_key(email)
        if not key:
            return []
        with self._db.connect() as conn:
            rows = conn.execute(_WITH_EMAIL, (key,)).fetchall()
        return [submission_from_json(row["doc"]) for row in rows]
