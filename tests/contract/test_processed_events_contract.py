"""The ProcessedEvents contract: every implementation passes the same suite."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from diagpro.adapters.firestore import FirestoreProcessedEvents
from diagpro.adapters.memory.events import MemoryProcessedEvents
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.events import SqliteProcessedEvents
from diagpro.domain.payment import EventKind
from diagpro.domain.ports import ProcessedEvents
from tests.builders import T0, make_event

THREADS = 10


def _memory(_: Path) -> ProcessedEvents:
    return MemoryProcessedEvents()


def _sqlite(tmp_path: Path) -> ProcessedEvents:
    return SqliteProcessedEvents(Database(tmp_path / "diagpro.sqlite3"))


FIRESTORE = pytest.param("firestore", id="firestore", marks=pytest.mark.emulator)


@pytest.fixture(params=[_memory, _sqlite, FIRESTORE], ids=["memory", "sqlite", "firestore"])
def events(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProcessedEvents]:
    if request.param == "firestore":
        yield FirestoreProcessedEvents(request.getfixturevalue("firestore_client"))
        return
    factory: Callable[[Path], ProcessedEvents] = request.param
    yield factory(tmp_path)


def test_implements_the_port(events: ProcessedEvents) -> None:
    assert isinstance(events, ProcessedEvents)


def test_an_unknown_event_has_no_outcome(events: ProcessedEvents) -> None:
    assert events.outcome("evt_never_seen") is None


def test_the_first_record_is_new_and_a_second_is_not(events: ProcessedEvents) -> None:
    event = make_event()

    assert events.record(event, "fulfilled", T0) is True
    assert events.record(event, "fulfilled", T0 + timedelta(seconds=1)) is False
    assert events.outcome(event.id) == "fulfilled"


def test_the_first_outcome_is_kept(events: ProcessedEvents) -> None:
    event = make_event()
    events.record(event, "fulfilled", T0)

    assert events.record(event, "ignored: duplicate", T0 + timedelta(minutes=1)) is False
    assert events.outcome(event.id) == "fulfilled"


def test_events_are_kept_apart(events: ProcessedEvents) -> None:
    paid = make_event()
    expired = make_event(kind=EventKind.EXPIRED, type=EventKind.EXPIRED.value)

    assert events.record(paid, "fulfilled", T0) is True
    assert events.record(expired, "checkout closed", T0) is True
    assert events.outcome(paid.id) == "fulfilled"
    assert events.outcome(expired.id) == "checkout closed"


def test_the_same_id_is_the_same_event_whatever_else_differs(events: ProcessedEvents) -> None:
    event = make_event()
    events.record(event, "fulfilled", T0)

    redelivered = make_event(id=event.id, amount_total=1)
    assert events.record(redelivered, "refused: wrong amount", T0) is False
    assert events.outcome(event.id) == "fulfilled"


def test_a_naive_time_is_refused(events: ProcessedEvents) -> None:
    event = make_event()

    with pytest.raises(ValueError, match="naive"):
        events.record(event, "fulfilled", T0.replace(tzinfo=None))
    assert events.outcome(event.id) is None


def test_concurrent_deliveries_of_one_event_record_it_once(events: ProcessedEvents) -> None:
    event = make_event()
    barrier = threading.Barrier(THREADS)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def deliver(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            first = events.record(event, f"outcome {n}", T0 + timedelta(seconds=n))
            with lock:
                results[n] = first
        except BaseException as exc:  # surfaced below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    winners = [n for n, first in results.items() if first]
    assert len(results) == THREADS
    assert len(winners) == 1
    assert events.outcome(event.id) == f"outcome {winners[0]}"


# SQLite only.


def test_a_second_sqlite_instance_on_the_same_file_sees_the_record(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    one = SqliteProcessedEvents(Database(path))
    two = SqliteProcessedEvents(Database(path))
    event = make_event()

    assert one.record(event, "fulfilled", T0) is True
    assert two.outcome(event.id) == "fulfilled"
    assert two.record(event, "again", T0) is False


def test_sqlite_keeps_what_an_operator_needs_to_trace_a_payment(tmp_path: Path) -> None:
    db = Database(tmp_path / "diagpro.sqlite3")
    events = SqliteProcessedEvents(db)
    event = make_event(submission_id="diag_1764158400000_000000000000000000000001")
    events.record(event, "fulfilled", T0 + timedelta(minutes=6))

    with db.connect() as conn:
        row = conn.execute(
            "SELECT * FROM processed_events WHERE event_id = ?", (event.id,)
        ).fetchone()

    assert dict(row) == {
        "event_id": event.id,
        "type": "checkout.session.completed",
        "submission_id": event.submission_id,
        "checkout_session_id": event.checkout_session_id,
        "amount_total": 499,
        "currency": "usd",
        "event_created": "2026-11-26T12:05:00Z",
        "outcome": "fulfilled",
        "recorded_at": "2026-11-26T12:06:00Z",
    }
