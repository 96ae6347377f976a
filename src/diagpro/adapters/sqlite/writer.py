"""The order path on the embedded database: one thread, several requests per commit.

Saving a submission, recording a payment and reading a status are a few SQLite statements each,
and a commit is most of their cost: the pages it changed are appended to the ``-wal`` file. The
HTTP handlers hand these use cases to this thread and await the answer. The thread takes every
call waiting, runs each in a savepoint of one transaction (a call that fails undoes only its own
writes), commits once, and only then answers each caller: an answer still means "committed", and
thirty calls that arrive together cost one commit, not thirty ("group commit").

Why a thread of its own: the event loop never waits on the disk or on another process holding
the database's lock, the Python work of the use cases still runs one at a time (there is one
writer in SQLite anyway), and handing a call over costs far less than the thread pool's hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from diagpro.adapters.sqlite.db import Database

log = logging.getLogger("diagpro.sqlite")

T = TypeVar("T")

# Enough to share a commit among every request a busy server has in flight, few enough that one
# commit never holds the answers of a long queue.
MAX_BATCH = 64


@dataclass
class _Call:
    use_case: Callable[..., Any]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None


def _settle(call: _Call) -> None:
    if call.answer.cancelled():  # the client went away; the work is done (and committed) anyway
        return
    if call.error is not None:
        call.answer.set_exception(call.error)
    else:
        call.answer.set_result(call.result)


class SqliteWriter:
    """``await writer(use_case, *args)``: the use case run in the writer thread, its answer once
    its batch is committed (or the error that stopped it or the commit)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def __call__(self, use_case: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        call = _Call(use_case, args, loop, loop.create_future())
        self._calls.put(call)
        if self._thread is None or not self._thread.is_alive():
            self._start()
        result: T = await call.answer
        return result

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._serve, name="diagpro-sqlite-writer", daemon=True
                )
                self._thread.start()

    def _serve(self) -> None:
        while True:
            batch = [self._calls.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._calls.get_nowait())
                except queue.Empty:
                    break
            try:
                self._run(batch)
            finally:  # every caller gets an answer, whatever happened
                for call in batch:
                    # RuntimeError: its event loop is closed, nobody is waiting any more.
                    with contextlib.suppress(RuntimeError):
                        call.loop.call_soon_threadsafe(_settle, call)

    def _run(self, batch: list[_Call]) -> None:
        try:
            with self._db.batch() as part:
                for call in batch:
                    try:
                        with part():
                            call.result = call.use_case(*call.args)
                    except Exception as exc:  # the caller's to handle: its part is undone
                        call.error = exc
        except BaseException as exc:
            # Not committed (the disk, the lock, a damaged file): no call's writes were kept, so
            # none may answer as if they were.
            log.warning("a batch of %d calls was not committed: %s", len(batch), exc)
            for call in batch:
                call.result, call.error = None, exc
            if not isinstance(exc, Exception):
                raise
