"""One SQLite file holds the embedded default's state: submissions, events, jobs, checkouts.

WAL lets the CLI, a worker and the HTTP server read while one of them writes. Each thread keeps
one connection of its own for the life of the Database: opening a connection costs far more than
the statements a webhook needs (0.7 ms each, six per payment event), and a connection is never
shared between threads, so every adapter is safe to call from any thread.

Writers in this process take turns on a lock of ours before SQLite's: SQLite's own wait for a
busy database sleeps in steps of milliseconds (https://www.sqlite.org/c3ref/busy_timeout.html),
so forty threads writing at once spent more time asleep than writing; a Python lock hands over
as soon as the writer before is done. Other processes (the CLI, ``diagpro worker``) still meet
SQLite's busy wait, up to the busy timeout.

``batch()`` holds one transaction open across several use cases (the order path's writer thread,
``writer.py``): inside it, each ``transaction()`` and ``write()`` is a SAVEPOINT, released into
the batch or rolled back alone (https://www.sqlite.org/lang_savepoint.html), and the batch is
committed once.

An outage (the write lock still held by another process after the 30 s busy timeout, a disk
that fails or is full, a file that cannot be opened or written) leaves every adapter as
``StoreUnavailable``, the error the ports declare; a file that is not a database, or whose pages
are damaged, as ``StoreDamaged`` (one line naming the file and what to do); any other SQLite
error is a bug and passes unchanged.

The file holds customers' descriptions and e-mail addresses, so it is private to the user that
runs diagpro: the folder is made 0700 and the database 0600 before SQLite first opens it. SQLite
gives the ``-wal`` and ``-shm`` files it makes later the permissions of the database file itself
(https://www.sqlite.org/tempfiles.html, "the same permissions as the original database"), so
they are 0600 too.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from diagpro.adapters.sqlite.checkpoints import Checkpointer
from diagpro.domain.errors import StoreDamaged, StoreUnavailable

# sqlite3 error messages that mean "not now" rather than "wrong SQL", with what an operator can
# do about each (the result codes SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL,
# SQLITE_CANTOPEN, SQLITE_READONLY: https://www.sqlite.org/rescode.html).
_OUTAGES = {
    "database is locked": "another process holds its write lock",
    "database table is locked": "another process holds its write lock",
    "disk i/o error": "check the disk",
    "database or disk is full": "free space on its disk",
    "unable to open database file": "check the folder exists and this user may write it",
    "attempt to write a readonly database": "give this user write access to it and its folder",
}
# SQLITE_NOTADB and SQLITE_CORRUPT: the file is not ours to read, and retrying cannot help.
_DAMAGED = ("file is not a database", "database disk image is malformed")

# RETURNING (jobs.py) came in SQLite 3.35 (https://www.sqlite.org/lang_returning.html). Python
# uses the system's SQLite on Linux: an older one is refused when the database opens, at start,
# rather than found by the first paid order's job.
OLDEST_SQLITE = (3, 35, 0)

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def _close_all(connections: list[sqlite3.Connection], checkpoints: Checkpointer) -> None:
    checkpoints.stop()
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
        if sqlite3.sqlite_version_info < OLDEST_SQLITE:
            raise RuntimeError(
                f"the embedded database needs SQLite {'.'.join(map(str, OLDEST_SQLITE))} or "
                f"newer; this Python uses {sqlite3.sqlite_version} (upgrade the system's "
                "libsqlite3 or use a Python built with a newer one)"
            )
        _make_private(Path(self.path))
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Held by this process's writer: re-entrant, so a write inside a write cannot deadlock.
        self._writing = threading.RLock()
        self._checkpoints = Checkpointer(self.path)  # for batch(), the writer thread
        self._finalizer = weakref.finalize(self, _close_all, self._opened, self._checkpoints)
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
            # An erased order's old text must not linger in the file's free pages: with
            # secure_delete, content that is deleted or overwritten is zeroed
            # (https://www.sqlite.org/pragma.html#pragma_secure_delete).
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
            self._local.savepoints = 0
            self._local.checkpoints_elsewhere = False  # until batch() turns them off
            with self._lock:
                self._opened.append(conn)
        return conn

    @contextmanager
    def _outage_as_unavailable(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise self._translated(exc) from exc

    def _translated(self, exc: sqlite3.DatabaseError) -> Exception:
        text = str(exc).lower()
        if text.startswith(_DAMAGED):
            return StoreDamaged(
                f"The embedded database {self.path} is damaged ({exc}): stop diagpro, move it "
                "and its -wal and -shm files aside, then restore a backup or start empty"
            )
        for start, remedy in _OUTAGES.items():
            if text.startswith(start):
                return StoreUnavailable(
                    f"The embedded database {self.path} did not answer ({exc}): {remedy}"
                )
        return exc

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with self._outage_as_unavailable():
            yield self._connection()

    @contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """This process's writers one at a time (re-entrant: a batch's writes are inside it)."""
        with self._writing:
            yield

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One statement that writes, committed on its own (autocommit), or a savepoint of the
        batch this thread is in."""
        with self._turn_to_write(), self._outage_as_unavailable():
            conn = self._connection()
            if conn.in_transaction:
                with self._savepoint(conn):
                    yield conn
            else:
                yield conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front; rolls back on error. Inside
        ``batch()``, a savepoint of the batch's transaction."""
        with self._turn_to_write(), self._outage_as_unavailable():
            conn = self._connection()
            if conn.in_transaction:
                with self._savepoint(conn):
                    yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also after a failed COMMIT: the next BEGIN must work
                    conn.execute("ROLLBACK")
                raise

    @contextmanager
    def batch(self) -> Iterator[Callable[[], AbstractContextManager[None]]]:
        """One transaction for several callers, committed once at the end; yields ``part``, the
        savepoint each caller runs in, so a caller that fails undoes only its own writes. The
        connection checkpoints in the background (checkpoints.py), not in the commit."""
        with self._turn_to_write(), self._outage_as_unavailable():
            conn = self._connection()
            if not self._local.checkpoints_elsewhere:  # once a connection
                conn.execute("PRAGMA wal_autocheckpoint=0")
                self._local.checkpoints_elsewhere = True
            self._local.batch_lost = False
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield lambda: self._savepoint(conn)
                self._refuse_a_lost_batch()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._local.batch_lost = False
        self._checkpoints.wrote()

    def _refuse_a_lost_batch(self) -> None:
        if getattr(self._local, "batch_lost", False):
            raise StoreUnavailable(
                f"The embedded database {self.path} rolled back a whole transaction after an "
                "error in it; nothing of it was kept"
            )

    @contextmanager
    def _savepoint(self, conn: sqlite3.Connection) -> Iterator[None]:
        self._refuse_a_lost_batch()
        depth = self._local.savepoints = self._local.savepoints + 1
        name = f"part{depth}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            else:
                # SQLite rolled the whole transaction back itself, as it may on a full disk or an
                # I/O error ("Response To Errors Within A Transaction",
                # https://www.sqlite.org/lang_transaction.html): the batch is lost.
                self._local.batch_lost = True
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._local.savepoints = depth - 1

    def empty_journal(self) -> bool:
        """Copy the ``-wal`` file into the database and truncate it to nothing, so the text of
        rows changed or deleted since (an erased order's) is in neither file any more: in the
        database its pages were overwritten (``secure_delete`` zeroes freed ones), and the
        journal, which a PASSIVE checkpoint leaves as it is, is emptied. TRUNCATE waits, up to
        the busy timeout, for readers of older snapshots (https://www.sqlite.org/pragma.html
        #pragma_wal_checkpoint). False when a reader held on past it: the journal is left for
        the next try."""
        with self._outage_as_unavailable():
            busy, _, _ = self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def migrate(self, ddl: str) -> None:
        with self.write() as conn:
            conn.executescript(ddl)

    def close(self) -> None:
        """Close every thread's connection (tests, shutdown); the next use opens new ones."""
        with self._lock:
            _close_all(self._opened, self._checkpoints)
        self._local = threading.local()


def _make_private(path: Path) -> None:
    """Create the folder (0700) and the database file (0600) ourselves, before SQLite does.

    An empty file is a valid empty database (https://www.sqlite.org/fileformat2.html), so
    creating it here only decides its mode. A file left by an older version is narrowed to
    0600; a folder that already exists keeps its mode (it may be shared, like /tmp).
    """
    path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    except OSError:
        return  # a folder we may not write: SQLite's own open says so, as an outage
    else:
        os.close(fd)
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if stat.S_IMODE(name.stat().st_mode) & 0o077:
                name.chmod(PRIVATE_FILE)
        except OSError:
            continue  # not there yet, or not ours: SQLite copies the database file's mode
