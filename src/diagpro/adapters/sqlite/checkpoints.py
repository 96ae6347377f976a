"""WAL checkpoints from a thread of their own, not inside a customer's request.

In WAL mode a commit appends to the ``-wal`` file, and by default the commit that takes it past
1000 pages also copies it back into the database and syncs the file to disk: one request in a few
hundred waited several milliseconds for that. The connection of the order path's writer thread
(``Database.batch()``, ``writer.py``) has automatic checkpoints off, and this thread runs a
PASSIVE checkpoint after every 256 of its commits, or a second after the last one; PASSIVE never
waits for a reader or a writer (https://www.sqlite.org/wal.html#ckpt). Every other connection
keeps SQLite's automatic checkpoints, so a process without a writer thread (the CLI,
``diagpro worker``) still keeps the ``-wal`` file short.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger("diagpro.sqlite")

EVERY_WRITES = 256
AT_MOST_SECONDS_AFTER_A_WRITE = 1.0


class Checkpointer:
    def __init__(self, path: str) -> None:
        self._path = path
        self._writes = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_warning = 0.0

    def wrote(self) -> None:
        """A write committed with automatic checkpoints off (counted without a lock: a count
        that is off by one only moves a checkpoint by one write)."""
        self._writes += 1
        if self._thread is None:
            self._start()
        if self._writes >= EVERY_WRITES:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="diagpro-sqlite-checkpoints", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Checkpoint what is left and end the thread; the next write starts it again."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._wake.set()
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
            self._stop.clear()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            while not self._stop.is_set():
                self._wake.wait(AT_MOST_SECONDS_AFTER_A_WRITE)
                self._wake.clear()
                if self._writes:
                    self._writes = 0
                    self._checkpoint(conn)
            if self._writes:
                self._checkpoint(conn)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            # The next write's checkpoint tries again; the -wal file only grows meanwhile.
            now = time.monotonic()
            if now - self._last_warning >= 60:
                self._last_warning = now
                log.warning("checkpoint of %s failed: %s", self._path, exc)
