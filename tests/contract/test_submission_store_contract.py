"""The SubmissionStore contract: every implementation passes the same suite.

Add an implementation by adding a branch to the ``store`` fixture. The Firestore adapter runs
against the official emulator (marked ``emulator``; the emulator starts on first use).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.codec import FORMAT_VERSION
from diagpro.adapters.firestore import FirestoreSubmissionStore
from diagpro.adapters.memory.submissions import MemorySubmissionStore
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.domain.actions import ActionKind, OperatorAction
from diagpro.domain.email import AttemptState, EmailEvent
from diagpro.domain.errors import ConcurrentUpdate, SubmissionExists, SubmissionNotFound
from diagpro.domain.ports import SubmissionStore
from diagpro.domain.submission import Status, Submission
from tests.builders import (
    T0,
    make_analysis,
    make_event,
    make_intake,
    make_payment,
    make_rich_submission,
    make_submission,
    new_submission_id,
    payment_for,
)

THREADS = 8


def _memory(_: Path) -> SubmissionStore:
    return MemorySubmissionStore()


def _sqlite(tmp_path: Path) -> SubmissionStore:
    return SqliteSubmissionStore(Database(tmp_path / "diagpro.sqlite3"))


FIRESTORE = pytest.param("firestore", id="firestore", marks=pytest.mark.emulator)


@pytest.fixture(params=[_memory, _sqlite, FIRESTORE], ids=["memory", "sqlite", "firestore"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SubmissionStore]:
    if request.param == "firestore":
        yield FirestoreSubmissionStore(request.getfixturevalue("firestore_client"))
        return
    factory: Callable[[Path], SubmissionStore] = request.param
    yield factory(tmp_path)


def test_implements_the_port(store: SubmissionStore) -> None:
    assert isinstance(store, SubmissionStore)


def test_a_rich_submission_round_trips_equal(store: SubmissionStore) -> None:
    original = make_rich_submission()
    store.add(original)

    got = store.get(original.id)

    assert got == original
    assert got is not original
    # The parts equality alone would not catch: types and time zones survive.
    assert type(got.status) is Status and got.status is Status.FAILED
    assert got.created_at.tzinfo is not None and got.created_at.utcoffset() == timedelta(0)
    assert got.updated_at == T0 + timedelta(hours=1, microseconds=123456)
    assert got.updated_at.tzinfo is not None
    assert isinstance(got.intake.symptoms, tuple)
    assert isinstance(got.intake.details, tuple)
    assert all(isinstance(pair, tuple) for pair in got.intake.details)
    assert got.intake.detail("fuelType") == "gasoline"
    assert got.payment is not None and got.payment.paid_at.tzinfo is not None
    assert got.checkout is not None and got.checkout.expires_at.tzinfo is not None
    assert got.analysis is not None
    assert got.analysis.causes == original.analysis.causes  # type: ignore[union-attr]
    assert isinstance(got.analysis.causes[0].evidence_for, tuple)
    assert got.analysis.urgency == original.analysis.urgency  # type: ignore[union-attr]
    assert got.analysis.quote_check == original.analysis.quote_check  # type: ignore[union-attr]
    assert type(got.analysis.urgency.level) is type(original.analysis.urgency.level)  # type: ignore[union-attr]
    assert got.analysis.detected_codes == original.analysis.detected_codes  # type: ignore[union-attr]
    assert type(got.analysis.detected_codes[0].family) is type(
        original.analysis.detected_codes[0].family  # type: ignore[union-attr]
    )
    assert got.failure_reason == original.failure_reason
    assert got.payment_problem == original.payment_problem  # non-ASCII kept
    assert got.analysis.check() == got.analysis


def test_email_attempts_round_trip_with_their_enums_and_times(store: SubmissionStore) -> None:
    sub = make_submission()
    sending = sub.begin_email(EmailEvent.READY, f"<{sub.id}.ready@x.example>", T0)
    assert sending is not None
    failed = sending.finish_email(1, T0 + timedelta(seconds=1), error="421 try later")
    assert failed is not None
    again = failed.begin_email(EmailEvent.READY, f"<{sub.id}.ready@x.example>", T0, resend=True)
    assert again is not None
    store.add(again)

    got = store.get(sub.id)

    assert got.emails == again.emails
    assert type(got.emails[0].event) is EmailEvent and type(got.emails[0].state) is AttemptState
    assert got.emails[0].finished_at == T0 + timedelta(seconds=1)
    assert got.emails[1].finished_at is None and got.emails[1].resend


def test_operator_actions_round_trip_and_are_added_under_compare_and_set(
    store: SubmissionStore,
) -> None:
    sub = make_submission(**_paid(Status.PROCESSING, 100))
    store.add(sub)
    first = OperatorAction(T0, ActionKind.RAN_NOW, "ana", "job j1 due now")
    store.update(store.get(sub.id).record_action(first))
    second = OperatorAction(T0 + timedelta(seconds=1), ActionKind.REFUNDED, "bo", "refund re_1")
    store.update(store.get(sub.id).record_action(second))

    got = store.get(sub.id)

    assert got.actions == (first, second)
    assert type(got.actions[0].what) is ActionKind
    assert got.last_action == second


def test_a_non_utc_time_comes_back_as_the_same_instant_in_utc(store: SubmissionStore) -> None:
    from datetime import timezone

    local = T0.astimezone(timezone(timedelta(hours=-5)))
    original = make_submission(created_at=local, updated_at=local)
    store.add(original)

    got = store.get(original.id)

    assert got == original
    assert got.created_at.utcoffset() == timedelta(0)
    assert got.created_at.tzinfo == UTC


def test_a_naive_time_is_refused_and_nothing_is_stored(store: SubmissionStore) -> None:
    original = make_submission(created_at=T0.replace(tzinfo=None))

    with pytest.raises(ValueError, match="naive"):
        store.add(original)

    with pytest.raises(SubmissionNotFound):
        store.get(original.id)


def test_what_get_returns_does_not_alias_what_is_stored(store: SubmissionStore) -> None:
    original = make_rich_submission()
    store.add(original)

    got = store.get(original.id)
    changed = replace(
        got,
        status=Status.READY,
        failure_reason="",
        intake=replace(got.intake, symptoms=(*got.intake.symptoms, "smoke")),
    )
    del changed  # changed and never saved

    again = store.get(original.id)
    assert again == original
    assert again is not got


def test_changing_what_was_added_does_not_change_what_is_stored(store: SubmissionStore) -> None:
    original = make_submission()
    store.add(original)
    # Frozen values cannot be changed in place; a new value built from them is not stored.
    replace(original, failure_reason="never saved")

    assert store.get(original.id).failure_reason == ""


def test_adding_an_existing_id_raises_and_keeps_the_first(store: SubmissionStore) -> None:
    first = make_submission()
    store.add(first)

    with pytest.raises(SubmissionExists):
        store.add(replace(first, failure_reason="second"))

    assert store.get(first.id) == first


def test_getting_a_missing_id_raises(store: SubmissionStore) -> None:
    with pytest.raises(SubmissionNotFound) as raised:
        store.get(new_submission_id())
    assert raised.value.code == "SUBMISSION_NOT_FOUND"


def test_submissions_are_kept_apart(store: SubmissionStore) -> None:
    one, two = make_submission(), make_submission()
    store.add(one)
    store.add(two)

    paid = one.mark_paid(payment_for(make_event()), T0 + timedelta(minutes=1))
    assert paid is not None
    store.update(paid)

    assert store.get(one.id) == paid
    assert store.get(two.id) == two


def test_update_with_the_next_version_stores_it(store: SubmissionStore) -> None:
    original = make_submission()
    store.add(original)

    paid = original.mark_paid(payment_for(make_event()), T0 + timedelta(minutes=1))
    assert paid is not None and paid.version == original.version + 1
    store.update(paid)

    got = store.get(original.id)
    assert got == paid
    assert got.version == 2
    assert got.status is Status.PAID


def test_a_stale_update_raises_concurrent_update_and_changes_nothing(
    store: SubmissionStore,
) -> None:
    original = make_submission()
    store.add(original)
    first = original.mark_paid(payment_for(make_event()), T0 + timedelta(minutes=1))
    assert first is not None
    store.update(first)

    # A second writer that read version 1 too.
    late = original.mark_paid(payment_for(make_event()), T0 + timedelta(minutes=2))
    assert late is not None
    with pytest.raises(ConcurrentUpdate) as raised:
        store.update(late)
    assert raised.value.code == "CONFLICT"
    assert store.get(original.id) == first


def test_an_update_that_skips_a_version_raises_concurrent_update(store: SubmissionStore) -> None:
    original = make_submission()
    store.add(original)

    with pytest.raises(ConcurrentUpdate):
        store.update(replace(original, version=3, failure_reason="skipped"))
    with pytest.raises(ConcurrentUpdate):
        store.update(original)  # same version: not a new one
    assert store.get(original.id) == original


def test_updating_a_missing_submission_raises_not_found(store: SubmissionStore) -> None:
    with pytest.raises(SubmissionNotFound):
        store.update(replace(make_submission(), version=2))


def test_the_whole_lifecycle_through_the_store(store: SubmissionStore) -> None:
    submission = make_submission()
    store.add(submission)
    event = make_event(submission_id=submission.id)

    def step(change: Callable[[Submission], Submission | None], minutes: int) -> Submission:
        current = store.get(submission.id)
        moved = change(current)
        assert moved is not None, f"no move from {current.status}"
        assert moved.updated_at == T0 + timedelta(minutes=minutes)
        store.update(moved)
        return moved

    step(lambda s: s.mark_paid(payment_for(event), T0 + timedelta(minutes=1)), 1)
    step(lambda s: s.start_processing(T0 + timedelta(minutes=2)), 2)
    analysis = make_analysis()
    ready = step(
        lambda s: s.mark_ready(f"reports/{s.id}.pdf", analysis, T0 + timedelta(minutes=3)), 3
    )

    got = store.get(submission.id)
    assert got == ready
    assert got.status is Status.READY
    assert got.version == 4
    assert got.payment == payment_for(event)
    assert got.analysis == analysis
    assert got.report_path == f"reports/{submission.id}.pdf"
    assert got.created_at == T0


def test_concurrent_writers_from_the_same_version_exactly_one_wins(
    store: SubmissionStore,
) -> None:
    submission = make_submission()
    store.add(submission)
    barrier = threading.Barrier(THREADS)
    won: list[Submission] = []
    lost: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        try:
            current = store.get(submission.id)
            barrier.wait(timeout=10)  # everyone has read version 1 before anyone writes
            paid = current.mark_paid(
                payment_for(make_event(id=f"evt_race_{n}")), T0 + timedelta(seconds=n)
            )
            assert paid is not None
            try:
                store.update(paid)
            except ConcurrentUpdate:
                with lock:
                    lost.append(n)
            else:
                with lock:
                    won.append(paid)
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors, errors
    assert len(won) == 1, f"{len(won)} writers won"
    assert len(lost) == THREADS - 1
    assert store.get(submission.id) == won[0]
    assert store.get(submission.id).version == 2


# SQLite only: the file is what separate processes (CLI, worker, server) share.


def test_a_second_sqlite_store_on_the_same_file_sees_the_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    writer = SqliteSubmissionStore(Database(path))
    reader = SqliteSubmissionStore(Database(path))  # creating the table again is harmless
    submission = make_rich_submission()

    writer.add(submission)
    assert reader.get(submission.id) == submission

    moved = reader.get(submission.id).requeue(T0 + timedelta(hours=2))
    reader.update(moved)
    assert writer.get(submission.id) == moved

    with pytest.raises(ConcurrentUpdate):
        writer.update(submission.requeue(T0 + timedelta(hours=3)))  # read before reader's write
    with pytest.raises(SubmissionExists):
        reader.add(submission)


def test_sqlite_columns_mirror_the_document(tmp_path: Path) -> None:
    db = Database(tmp_path / "diagpro.sqlite3")
    store = SqliteSubmissionStore(db)
    submission = make_rich_submission()
    store.add(submission)

    with db.connect() as conn:
        row = conn.execute(
            "SELECT status, version, created_at, updated_at,"
            " json_extract(doc, '$.format_version') AS format,"
            " json_extract(doc, '$.intake.symptoms[0]') AS symptom"
            " FROM submissions WHERE id = ?",
            (submission.id,),
        ).fetchone()

    assert row["status"] == "failed"
    assert row["version"] == 7
    assert row["created_at"] == "2026-11-26T12:00:00Z"
    assert row["updated_at"] == "2026-11-26T13:00:00.123456Z"
    assert row["format"] == FORMAT_VERSION
    assert row["symptom"] == submission.intake.symptoms[0]


# -- retention: the orders due for erasure, and one customer's orders --------------------------

DAY = timedelta(days=1)


def _stored(store: SubmissionStore, **overrides: object) -> Submission:
    submission = make_submission(**overrides)
    store.add(submission)
    return submission


def _paid(status: Status, days_ago: int, **overrides: object) -> dict[str, object]:
    when = T0 - days_ago * DAY
    return {"status": status, "payment": make_payment(), "updated_at": when, **overrides}


def test_due_for_erasure_lists_finished_orders_changed_before_the_time_oldest_first(
    store: SubmissionStore,
) -> None:
    ready = _stored(store, **_paid(Status.READY, 100))
    refunded = _stored(store, **_paid(Status.REFUNDED, 120))
    failed = _stored(store, **_paid(Status.FAILED, 95))
    never_paid = _stored(store, updated_at=T0 - 200 * DAY)
    _stored(store, **_paid(Status.READY, 10))  # changed since: its period runs on

    due = store.due_for_erasure(T0 - 90 * DAY, 10)

    assert [s.id for s in due] == [never_paid.id, refunded.id, ready.id, failed.id]
    assert due[2] == ready  # whole submissions, as stored


def test_an_order_in_flight_is_never_due_however_old(store: SubmissionStore) -> None:
    _stored(store, **_paid(Status.PAID, 400))
    _stored(store, **_paid(Status.PROCESSING, 400))

    assert store.due_for_erasure(T0, 10) == []


def test_an_erased_order_is_not_due_again(store: SubmissionStore) -> None:
    old = _stored(store, **_paid(Status.READY, 100))
    erased = old.erase_personal_data(T0 - 99 * DAY)
    assert erased is not None
    store.update(erased)

    assert store.due_for_erasure(T0, 10) == []
    assert store.get(old.id).erased_at == T0 - 99 * DAY


def test_due_for_erasure_reads_at_most_limit_and_compares_times_exactly(
    store: SubmissionStore,
) -> None:
    cutoff = T0 - 90 * DAY
    oldest = _stored(store, updated_at=cutoff - timedelta(seconds=2))
    second = _stored(store, updated_at=cutoff - timedelta(microseconds=500_000))
    _stored(store, updated_at=cutoff)  # at the time, not before it: not due
    _stored(store, updated_at=cutoff + timedelta(microseconds=1))

    assert [s.id for s in store.due_for_erasure(cutoff, 1)] == [oldest.id]
    assert [s.id for s in store.due_for_erasure(cutoff, 10)] == [oldest.id, second.id]


def test_an_order_that_finishes_becomes_due_and_one_that_is_paid_again_stops_being_due(
    store: SubmissionStore,
) -> None:
    failed = _stored(store, **_paid(Status.FAILED, 100))
    assert [s.id for s in store.due_for_erasure(T0, 10)] == [failed.id]

    store.update(failed.requeue(T0 - 99 * DAY))  # back to paid: in flight

    assert store.due_for_erasure(T0, 10) == []


def test_with_email_finds_every_order_of_that_customer_ignoring_case(
    store: SubmissionStore,
) -> None:
    first = _stored(store, created_at=T0 - 3 * DAY)
    second = _stored(store, created_at=T0 - DAY, **_paid(Status.READY, 1))
    _stored(store, intake=replace(make_intake(), email="someone.else@example.com"))
    upper = replace(make_intake(), email="Pat@Example.COM")
    third = _stored(store, created_at=T0, intake=upper)

    found = store.with_email("PAT@example.com")

    assert [s.id for s in found] == [first.id, second.id, third.id]
    assert store.with_email("  pat@example.com ") == found
    assert store.with_email("nobody@example.com") == []


def test_an_erased_order_is_not_found_by_its_old_email(store: SubmissionStore) -> None:
    ready = _stored(store, **_paid(Status.READY, 1))
    erased = ready.erase_personal_data(T0)
    assert erased is not None
    store.update(erased)

    assert store.with_email("pat@example.com") == []
    assert store.with_email("") == []


@pytest.mark.emulator
def test_firestore_documents_written_before_the_retention_fields_are_found(
    firestore_client: Any,
) -> None:
    """A document an older release wrote has no ``erasable``/``emailKey``: the first retention
    query gives it them, so it is purged and found by email like any other."""
    from diagpro.adapters.codec import submission_to_document

    old = make_submission(**_paid(Status.READY, 100))
    document = submission_to_document(old)
    document["intake"]["details"] = [{"_list": pair} for pair in document["intake"]["details"]]
    document.update(createdAt=old.created_at, updatedAt=old.updated_at)  # as the old release
    firestore_client.collection("diagnosticSubmissions").document(old.id).set(document)
    store = FirestoreSubmissionStore(firestore_client)

    assert [s.id for s in store.due_for_erasure(T0, 10)] == [old.id]
    assert [
        s.id for s in FirestoreSubmissionStore(firestore_client).with_email("PAT@example.com")
    ] == [old.id]


@pytest.mark.emulator
def test_a_firestore_document_written_before_operator_actions_reads_with_none(
    firestore_client: Any,
) -> None:
    from diagpro.adapters.codec import submission_to_document

    old = make_submission(**_paid(Status.PROCESSING, 100))
    store = FirestoreSubmissionStore(firestore_client)
    store.add(old)
    ref = firestore_client.collection("diagnosticSubmissions").document(old.id)
    document = ref.get().to_dict()
    assert "actions" in document and "actions" in submission_to_document(old)
    del document["actions"]  # as the release before wrote it
    ref.set(document)

    assert store.get(old.id).actions == ()
    store.update(
        store.get(old.id).record_action(OperatorAction(T0, ActionKind.RAN_NOW, "ana", "now"))
    )
    assert [a.by for a in store.get(old.id).actions] == ["ana"]


def test_a_sqlite_row_written_before_operator_actions_reads_with_none(tmp_path: Path) -> None:
    import json

    db = Database(tmp_path / "diagpro.sqlite3")
    store = SqliteSubmissionStore(db)
    old = make_submission(**_paid(Status.PROCESSING, 100))
    store.add(old)
    with db.transaction() as conn:
        (doc,) = conn.execute("SELECT doc FROM submissions WHERE id = ?", (old.id,)).fetchone()
        document = json.loads(doc)
        del document["actions"]  # as the release before wrote it
        conn.execute("UPDATE submissions SET doc = ? WHERE id = ?", (json.dumps(document), old.id))

    assert SqliteSubmissionStore(db).get(old.id).actions == ()


# -- the operator's view of orders --------------------------------------------------------------

MINUTE = timedelta(minutes=1)


def test_recent_lists_the_most_recently_changed_first_up_to_the_limit(
    store: SubmissionStore,
) -> None:
    oldest = _stored(store, updated_at=T0 - 3 * DAY)
    newest = _stored(store, **_paid(Status.READY, 0))
    middle = _stored(store, updated_at=T0 - DAY)

    assert [s.id for s in store.recent(10)] == [newest.id, middle.id, oldest.id]
    assert [s.id for s in store.recent(2)] == [newest.id, middle.id]
    assert store.recent(10)[0] == newest  # whole submissions, as stored


def test_recent_keeps_only_those_changed_since_the_time_compared_exactly(
    store: SubmissionStore,
) -> None:
    since = T0 - DAY
    at = _stored(store, updated_at=since)
    after = _stored(store, updated_at=since + timedelta(microseconds=500_000))
    _stored(store, updated_at=since - timedelta(microseconds=1))
    _stored(store, updated_at=since - timedelta(microseconds=500_000))

    assert [s.id for s in store.recent(10, changed_since=since)] == [after.id, at.id]
    assert [s.id for s in store.recent(1, changed_since=since)] == [after.id]


def test_recent_keeps_only_the_statuses_asked_for(store: SubmissionStore) -> None:
    failed = _stored(store, **_paid(Status.FAILED, 1))
    paid = _stored(store, **_paid(Status.PAID, 2))
    _stored(store, **_paid(Status.READY, 0))
    _stored(store)  # pending
    old_failed = _stored(store, **_paid(Status.FAILED, 30))

    wanted = frozenset({Status.FAILED, Status.PAID})
    assert [s.id for s in store.recent(10, statuses=wanted)] == [failed.id, paid.id, old_failed.id]
    assert [s.id for s in store.recent(2, statuses=wanted)] == [failed.id, paid.id]
    recent_failed = store.recent(
        10, changed_since=T0 - 7 * DAY, statuses=frozenset({Status.FAILED})
    )
    assert [s.id for s in recent_failed] == [failed.id]


def test_awaiting_report_lists_every_paid_order_without_its_report_longest_paid_first(
    store: SubmissionStore,
) -> None:
    late = _stored(store, **_paid(Status.PAID, 0, payment=make_payment(paid_at=T0 - MINUTE)))
    early = make_payment(paid_at=T0 - 90 * MINUTE)
    working = _stored(store, **_paid(Status.PROCESSING, 0, payment=early))
    _stored(store, **_paid(Status.READY, 0))
    _stored(store, **_paid(Status.FAILED, 0))
    _stored(store, **_paid(Status.REFUNDED, 0))
    _stored(store)  # pending: not paid

    awaiting = store.awaiting_report()

    assert [s.id for s in awaiting] == [working.id, late.id]
    assert awaiting[0] == working


def test_an_order_made_ready_stops_awaiting_its_report(store: SubmissionStore) -> None:
    paid = _stored(store, **_paid(Status.PROCESSING, 0))
    assert [s.id for s in store.awaiting_report()] == [paid.id]

    ready = paid.mark_ready(f"reports/{paid.id}.pdf", make_analysis(), T0)
    assert ready is not None
    store.update(ready)

    assert store.awaiting_report() == []
    assert [s.id for s in store.recent(10, statuses=frozenset({Status.READY}))] == [paid.id]
