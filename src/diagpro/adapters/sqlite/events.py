"""The embedded default ProcessedEvents: one row per handled payment event.

The event id is the primary key and ``record`` is ``INSERT OR IGNORE``, so the database decides
which of two concurrent deliveries of the same event is first, across threads and processes; the
first outcome is never overwritten. The other columns keep what an operator needs to trace a
payment (type, submission, checkout session, amount) without the provider's dashboard.
"""

from __future__ import annotations

from datetime import datetime

from diagpro.adapters.codec import encode_datetime
from diagpro.adapters.sqlite.db import Database
from diagpro.domain.payment import PaymentEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (
    event_id             TEXT PRIMARY KEY,
    type                 TEXT NOT NULL,
    submission_id        TEXT NOT NULL,
    checkout_session_id  TEXT NOT NULL,
    amount_total         INTEGER NOT NULL,
    currency             TEXT NOT NULL,
    event_created        TEXT NOT NULL,
    outcome              TEXT NOT NULL,
    recorded_at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processed_events_by_submission
    ON processed_events (submission_id, recorded_at);
"""


class SqliteProcessedEvents:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate(SCHEMA)

    def record(self, event: PaymentEvent, outcome: str, at: datetime) -> bool:
        row = {
            "event_id": event.id,
            "type": event.type,
            "submission_id": event.submission_id,
            "checkout_session_id": event.checkout_session_id,
            "amount_total": event.amount_total,
            "currency": event.currency,
            "event_created": encode_datetime(event.created),
            "outcome": outcome,
            "recorded_at": encode_datetime(at),
        }
        with self._db.write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO processed_events (event_id, type, submission_id,"
                " checkout_session_id, amount_total, currency, event_created, outcome,"
                " recorded_at) VALUES (:event_id, :type, :submission_id, :checkout_session_id,"
                " :amount_total, :currency, :event_created, :outcome, :recorded_at)",
                row,
            )
            return cursor.rowcount == 1

    def outcome(self, event_id: str) -> str | None:
        with self._db.connect() as conn:
            found = conn.execute(
                "SELECT outcome FROM processed_events WHERE event_id = ?", (event_id,)
            ).fetchone()
        return None if found is None else str(found["outcome"])
