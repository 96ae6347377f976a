"""SubmissionStore on Firestore: ``diagnosticSubmissions/{submission_id}``.

Each document is the codec's document (``diagpro.adapters.codec``: the source of truth, the same
layout as the memory and SQLite stores, ``status`` and ``version`` already top-level), plus
``createdAt``/``updatedAt`` as Firestore timestamps so an operator can query and sort by time in
the console, and two fields the retention queries read (``erasable``: not erased and not in
flight, with ``updatedAt`` behind an index declared in indexes.py; ``emailKey``: the email as
``forget`` looks it up, on Firestore's automatic single-field index). A document written before
those fields existed is invisible to a query on them (Firestore indexes only the fields a
document has), so the first retention query of a process makes sure, once per database, that
every document has them (``_backfill_retention_fields``; a marker document records it is done).

Firestore forbids an array directly inside an array, so a list inside a list (the
intake's detail pairs) is stored as a one-key map ``{"_list": [...]}`` and unwrapped on read.

``add`` is ``create()`` (the server refuses a second one); ``update`` is a transaction that reads
the stored version and writes only if it is ``submission.version - 1`` — nothing but that read and
that write happens inside it, since Firestore may run it more than once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from diagpro.adapters.codec import submission_from_document, submission_to_document
from diagpro.adapters.firestore._edge import (
    RPC_TIMEOUT,
    Contended,
    run_transaction,
    translated,
)
from diagpro.adapters.firestore.indexes import ERASABLE_SUBMISSIONS, RECENT_BY_STATUS
from diagpro.domain.errors import ConcurrentUpdate, SubmissionExists, SubmissionNotFound
from diagpro.domain.intake import email_key
from diagpro.domain.submission import IN_FLIGHT, Status, Submission, paid_order

NESTED_LIST_KEY = "_list"
_QUERY_FIELDS = ("createdAt", "updatedAt", "erasable", "emailKey")


def _wrap(value: Any, inside_list: bool = False) -> Any:
    if isinstance(value, dict):
        return {key: _wrap(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_wrap(item, inside_list=True) for item in value]
        return {NESTED_LIST_KEY: items} if inside_list else items
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {NESTED_LIST_KEY}:
            return [_unwrap(item) for item in value[NESTED_LIST_KEY]]
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def _fields(submission: Submission) -> dict[str, Any]:
    document = submission_to_document(submission)  # refuses naive times before any I/O
    fields: dict[str, Any] = _wrap(document)
    fields["createdAt"] = submission.created_at
    fields["updatedAt"] = submission.updated_at
    fields["erasable"] = not submission.erased and not submission.in_flight
    fields["emailKey"] = email_key(submission.intake.email)
    return fields


def _submission(fields: dict[str, Any]) -> Submission:
    document = {key: value for key, value in fields.items() if key not in _QUERY_FIELDS}
    return submission_from_document(_unwrap(document))


# Where one-off upgrades of stored data record that they are done.
MIGRATIONS = "diagproMigrations"
RETENTION_FIELDS = "submissionRetentionFields"


class FirestoreSubmissionStore:
    def __init__(self, client: firestore.Client, collection: str = "diagnosticSubmissions") -> None:
        self._client = client
        self._collection = client.collection(collection)
        self._marker = client.collection(MIGRATIONS).document(f"{collection}-{RETENTION_FIELDS}")
        self._fields_checked = False

    def add(self, submission: Submission) -> None:
        fields = _fields(submission)
        with translated("add submission"):
            try:
                self._collection.document(submission.id).create(fields, timeout=RPC_TIMEOUT)
            except api_exceptions.Conflict as exc:  # AlreadyExists is a Conflict
                raise SubmissionExists(submission.id) from exc

    def get(self, submission_id: str) -> Submission:
        with translated("get submission"):
            snapshot = self._collection.document(submission_id).get(timeout=RPC_TIMEOUT)
        if not snapshot.exists:
            raise SubmissionNotFound(submission_id)
        return _submission(snapshot.to_dict() or {})

    def update(self, submission: Submission) -> None:
        fields = _fields(submission)
        expected = submission.version - 1
        ref = self._collection.document(submission.id)

        def compare_and_set(transaction: Any) -> None:
            snapshot = ref.get(transaction=transaction, timeout=RPC_TIMEOUT)
            if not snapshot.exists:
                raise SubmissionNotFound(submission.id)
            if snapshot.get("version") != expected:
                raise ConcurrentUpdate(submission.id)
            transaction.set(ref, fields)

        try:
            run_transaction(self._client, compare_and_set, "update submission")
        except Contended as exc:
            # Others kept writing it: the caller reloads and decides again, as on a lost race.
            raise ConcurrentUpdate(submission.id) from exc

    # -- retention ------------------------------------------------------------------------------

    def erasure_query(self, changed_before: datetime, limit: int) -> Any:
        """The query ``ERASABLE_SUBMISSIONS`` declares (the doctor runs it too)."""
        query: Any = self._collection
        for field in ERASABLE_SUBMISSIONS.equal:  # erasable == true
            query = query.where(filter=FieldFilter(field, "==", True))
        cutoff = FieldFilter(ERASABLE_SUBMISSIONS.ordered[0], "<", changed_before)
        query = query.where(filter=cutoff)
        for field in ERASABLE_SUBMISSIONS.ordered:
            query = query.order_by(field)
        return query.limit(limit)

    def _backfill_retention_fields(self) -> None:
        """Give every document written before ``erasable``/``emailKey`` existed those fields:
        once per database (the marker), checked once per process."""
        if self._fields_checked:
            return
        with translated("backfill the retention fields"):
            if not self._marker.get(timeout=RPC_TIMEOUT).exists:
                # Only the one field is read of each document; the few without it are read whole.
                for snapshot in self._collection.select(["erasable"]).stream(timeout=RPC_TIMEOUT):
                    if "erasable" not in (snapshot.to_dict() or {}):
                        self._add_retention_fields(snapshot.reference)
                self._marker.set({"done": True}, timeout=RPC_TIMEOUT)
        self._fields_checked = True

    def _add_retention_fields(self, ref: Any) -> None:
        snapshot = ref.get(timeout=RPC_TIMEOUT)
        if not snapshot.exists:
            return
        fields = _fields(_submission(snapshot.to_dict() or {}))
        retention = {"erasable": fields["erasable"], "emailKey": fields["emailKey"]}
        try:
            # Only if nobody wrote it meanwhile: any write since gave it the fields already.
            option = self._client.write_option(last_update_time=snapshot.update_time)
            ref.update(retention, option=option, timeout=RPC_TIMEOUT)
        except api_exceptions.FailedPrecondition:
            pass

    def due_for_erasure(self, changed_before: datetime, limit: int) -> list[Submission]:
        self._backfill_retention_fields()
        with translated("list submissions due for erasure"):
            snapshots = list(self.erasure_query(changed_before, limit).stream(timeout=RPC_TIMEOUT))
        return [_submission(snapshot.to_dict() or {}) for snapshot in snapshots]

    def with_email(self, email: str) -> list[Submission]:
        key = email_key(email)
        if not key:
            return []  # erased submissions hold an empty key: never "found" by an empty email
        self._backfill_retention_fields()
        query = self._collection.where(filter=FieldFilter("emailKey", "==", key))
        with translated("find submissions by email"):
            snapshots = list(query.stream(timeout=RPC_TIMEOUT))
        found = [_submission(snapshot.to_dict() or {}) for snapshot in snapshots]
        return sorted(found, key=lambda sub: (sub.created_at, sub.id))

    # -- the operator's view of orders ----------------------------------------------------------

    def recent_query(
        self, limit: int, changed_since: datetime | None, status: Status | None
    ) -> Any:
        """``RECENT_BY_STATUS`` for one status; without a status, the same on ``updatedAt``
        alone (Firestore's automatic single-field index serves either direction)."""
        query: Any = self._collection
        if status is not None:
            for field in RECENT_BY_STATUS.equal:  # status == s
                query = query.where(filter=FieldFilter(field, "==", status.value))
        changed = RECENT_BY_STATUS.ordered[0]
        if changed_since is not None:
            query = query.where(filter=FieldFilter(changed, ">=", changed_since))
        for field in RECENT_BY_STATUS.ordered:
            query = query.order_by(field, direction=firestore.Query.DESCENDING)
        return query.limit(limit)

    def recent(
        self,
        limit: int,
        *,
        changed_since: datetime | None = None,
        statuses: frozenset[Status] = frozenset(),
    ) -> list[Submission]:
        wanted: list[Status | None] = [*sorted(statuses)] if statuses else [None]
        found: list[Submission] = []
        with translated("list recent submissions"):
            for status in wanted:  # at most six statuses: one query each, merged here
                query = self.recent_query(limit, changed_since, status)
                found += [_submission(s.to_dict() or {}) for s in query.stream(timeout=RPC_TIMEOUT)]
        ordered = sorted(found, key=lambda sub: (sub.updated_at, sub.id), reverse=True)
        return ordered[:limit]

    def awaiting_report(self) -> list[Submission]:
        in_flight = sorted(status.value for status in IN_FLIGHT)
        query = self._collection.where(filter=FieldFilter("status", "in", in_flight))
        with translated("list paid submissions awaiting their report"):
            snapshots = list(query.stream(timeout=RPC_TIMEOUT))
        return sorted((_submission(s.to_dict() or {}) for s in snapshots), key=paid_order)
