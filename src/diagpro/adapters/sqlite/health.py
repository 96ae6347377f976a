"""The embedded database's StoreProbe: one row, written and read back.

``/healthz`` and start-up ask it whether the database still takes writes, so a full or
read-only disk, or a damaged file, is reported instead of answering "ok" until a paid job fails.
The row is always the same one (``id = 1``), so probing never grows the file.
"""

from __future__ import annotations

from datetime import datetime

from diagpro.adapters.codec import encode_datetime
from diagpro.adapters.sqlite.db import Database
from diagpro.domain.errors import StoreUnavailable

SCHEMA = """
CREATE TABLE IF NOT EXISTS health_probe (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at  TEXT NOT NULL
);
"""


class SqliteStoreProbe:
    def __init__(self, db: Database) -> None:
        self._db = db

    def probe(self, now: datetime) -> None:
        stamp = encode_datetime(now)
        with self._db.transaction() as conn:
            # Made here, not at start: a database that is already read-only must be reported
            # by the probe, not break the construction of the container.
            conn.execute(SCHEMA)
            conn.execute(
                "INSERT INTO health_probe (id, checked_at) VALUES (1, ?)"
                " ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at",
                (stamp,),
            )
            row = conn.execute("SELECT checked_at FROM health_probe WHERE id = 1").fetchone()
        if row is None or row["checked_at"] != stamp:
            raise StoreUnavailable(f"The embedded database {self._db.path} lost a write")
