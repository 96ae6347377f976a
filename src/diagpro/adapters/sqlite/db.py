"""One SQLite file holds the embedded default's state: submissions, events, jobs, checkouts.

WAL lets the CLI, a worker and (later) the HTTP server read while one of them writes. Each
operation opens its own short-lived connection: connections are cheap, and this keeps every
adapter safe to call from any thread without sharing a connection across them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path == ":memory:" or not self.path:
            # Every operation opens its own connection, and each would get an empty database.
            raise ValueError("the embedded database needs a file path; use the memory adapters")
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    def _open(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so a read-then-write is one
        # locked step (the compare-and-set), never a deferred transaction upgraded mid-way.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front; rolls back on error."""
        conn = self._open()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def migrate(self, ddl: str) -> None:
        with self.connect() as conn:
            conn.executescript(ddl)
