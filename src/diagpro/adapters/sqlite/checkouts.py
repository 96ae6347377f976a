"""The local checkout's sessions, kept in the embedded database so a session opened by one
process (the CLI, the server) can be paid from another."""

from __future__ import annotations

from datetime import datetime

from diagpro.adapters.sqlite.db import Database
from diagpro.domain.payment import CheckoutSession, CheckoutStatus, PaymentStatus

_DDL = """
CREATE TABLE IF NOT EXISTS local_checkout_sessions (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    url TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_status TEXT NOT NULL,
    amount_total INTEGER NOT NULL,
    currency TEXT NOT NULL,
    customer_email TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS local_checkout_sessions_by_submission
    ON local_checkout_sessions (submission_id);
"""


class SqliteCheckoutBook:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate(_DDL)

    def get(self, session_id: str) -> CheckoutSession | None:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM local_checkout_sessions WHERE id = ?", (session_id,)
            ).fetchone()
        return _session(row) if row else None

    def by_key(self, idempotency_key: str) -> CheckoutSession | None:
        with self._db.connect() as conn:
            row = conn.execute(
                "SELECT * FROM local_checkout_sessions WHERE idempotency_key = ?",
                (idempotency_key,),
            ).fetchone()
        return _session(row) if row else None

    def put(self, session: CheckoutSession, idempotency_key: str = "") -> None:
        with self._db.transaction() as conn:
            conn.execute(
                """INSERT INTO local_checkout_sessions
                   (id, idempotency_key, url, submission_id, status, payment_status,
                    amount_total, currency, customer_email, expires_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(idempotency_key) DO NOTHING
                   ON CONFLICT(id) DO UPDATE SET
                     status = excluded.status, payment_status = excluded.payment_status""",
                (
                    session.id,
                    idempotency_key or None,
                    session.url,
                    session.submission_id,
                    session.status.value,
                    session.payment_status.value,
                    session.amount_total,
                    session.currency,
                    session.customer_email,
                    session.expires_at.isoformat(),
                ),
            )

    def forget_email(self, submission_id: str) -> int:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE local_checkout_sessions SET customer_email = ''"
                " WHERE submission_id = ? AND customer_email != ''",
                (submission_id,),
            )
        return cursor.rowcount


def _session(row: object) -> CheckoutSession:
    r = dict(row)  # type: ignore[call-overload]
    return CheckoutSession(
        id=r["id"],
        url=r["url"],
        submission_id=r["submission_id"],
        status=CheckoutStatus(r["status"]),
        payment_status=PaymentStatus(r["payment_status"]),
        amount_total=r["amount_total"],
        currency=r["currency"],
        customer_email=r["customer_email"],
        expires_at=datetime.fromisoformat(r["expires_at"]),
    )
