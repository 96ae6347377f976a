"""One SQLite file holds the embedded default's state: submissions, events, jobs, checkouts.

WAL lets the CLI, a worker and the HTTP server read while one of them writes. Each thread keeps
one connection of its own for the life of the Database: opening a connection costs far more than
the statements a webhook needs (0.7 ms each, six per payment event), and a connection is never
shared between threads, so every adapter is safe to call from any thread.

An outage (the write lock still held by another process after the 30 s busy timeout, a disk
that fails or is full, a file that cannot be opened) leaves every adapter as ``StoreUnavailable``,
the error the ports declare; any other SQLite error is a bug and passes unchanged.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from diagpro.domain.errors import StoreUnavailable

# sqlite3.OperationalError messages that mean "not now" rather than "wrong SQL"
# (the result codes SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN:
# https://www.sqlite.org/rescode.html).
_OUTAGES = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
)


def _close_all(connections: list[sqlite3.Connection]) -> None:
    for conn in connections:
        conn.close()
    connections.clear()


class Database:
    def __init__(self, path: Path | str, busy_timeout_seconds: float = 30.0) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout_seconds
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
                self.path,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def _outage_as_unavailable(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if not str(exc).lower().startswith(_OUTAGES):
                raise
            raise StoreUnavailable(
                f"The embedded database {self.path} did not answer: {exc}"
            ) from exc

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with self._outage_as_unavailable():
            yield self._connection()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front; rolls back on error."""
        with self._outage_as_unavailable():
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also after a failed COMMIT: the next BEGIN must work
                    conn.execute("ROLLBACK")
                raise

    def migrate(self, ddl: str) -> None:
        with self.connect() as conn:
            conn.executescript(ddl)

    def close(self) -> None:
        """Close every thread's connection (tests, shutdown); the next use opens new ones."""
        with self._lock:
            _close_all(self._opened)
        self._local = threading.local()
