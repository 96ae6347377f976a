"""After an erasure, the embedded database's journal is emptied, so the erased text is not on disk.

In WAL mode a changed row's earlier version stays in the ``-wal`` file until that part of the
file is written over, which a PASSIVE checkpoint (checkpoints.py) never forces: without this, an
erased customer's words could sit in the journal for as long as the server runs.
"""

from __future__ import annotations

import logging

from diagpro.adapters.sqlite.db import Database

log = logging.getLogger("diagpro.retention")


class JournalScrub:
    """The ErasedTextScrub of the embedded database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __call__(self) -> None:
        if not self._db.empty_journal():
            log.warning(
                "the journal of %s still holds erased text: a reader kept it past the busy "
                "timeout; the next erasure empties it",
                self._db.path,
            )
