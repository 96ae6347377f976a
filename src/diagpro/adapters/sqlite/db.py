"""One SQLite file holds the embedded default's state: submissions, events, jobs, checkouts.

WAL lets the CLI, a worker and the HTTP server read while one of them writes. Each thread keeps
one connection of its own for the life of the Database: opening a connection costs far more than
the statements a webhook needs (0.7 ms each, six per payment event), and a connection is never
shared between threads, so every adapter is safe to call from any thread.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()
    connections.clear()


class Database:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path == ":memory:" or not self.path:
            # Each thread opens its own connection, and each would get an empty database.
            raise ValueError("the embedded database needs a file path; use the memory adapters")
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._opened)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so a read-then-write is
            # one locked step (the compare-and-set), never a deferred transaction upgraded
            # mid-way. check_same_thread=False only so close() may run from another thread.
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        yield self._connection()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front; rolls back on error."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def migrate(self, ddl: str) -> None:
        with self.connect() as conn:
            conn.executescript(ddl)

    def close(self) -> None:
        """Close every thread's connection (tests, shutdown); the next use opens new ones."""
        with self._lock:
            _close_all(self._opened)
        self._local = threading.local()
