"""An erased order's words are gone from the SQLite file itself, not only from what it returns:
with ``secure_delete`` SQLite zeroes the old row's bytes (https://www.sqlite.org/pragma.html).
Debian builds SQLite with it on by default; the store turns it on itself, so a build without
that default cannot leave the words in freed pages."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.domain.submission import Status
from tests.builders import T0, make_intake, make_payment, make_submission

NAME = "Zebulon Quixote-Marchetti"
VIN = "5YJ3E1EA7KF317000"


def test_the_erased_words_are_not_left_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "diagpro.sqlite3"
    db = Database(path)
    store = SqliteSubmissionStore(db)
    # A long description spills the row onto overflow pages, which the erasure frees: without
    # secure_delete a freed page keeps its old bytes in the file.
    story = " ".join(["The engine stalls when hot."] * 150) + f" Call {NAME}, VIN {VIN}."
    intake = replace(make_intake(), full_name=NAME, serial_number=VIN, problem_description=story)
    order = make_submission(intake=intake, status=Status.READY, payment=make_payment())
    store.add(order)
    erased = order.erase_personal_data(T0)
    assert erased is not None

    store.update(erased)
    with db.connect() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL's frames into the file
    db.close()

    on_disk = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.is_file())
    assert NAME.encode() not in on_disk
    assert VIN.encode() not in on_disk


def test_every_connection_zeroes_what_it_deletes(tmp_path: Path) -> None:
    db = Database(tmp_path / "diagpro.sqlite3")
    with db.connect() as conn:
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    db.close()
