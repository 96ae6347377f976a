"""ProcessedEvents on Firestore: ``stripeEvents/{event_id}``, written once with ``create()``.

The server decides which of two concurrent deliveries of one event is first (the second
``create()`` fails with ``AlreadyExists``), so the first outcome is never overwritten. The other
fields keep what an operator needs to trace a payment; times are Firestore timestamps.
"""

from __future__ import annotations

from datetime import datetime

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore

from diagpro.adapters.firestore._edge import RPC_TIMEOUT, translated
from diagpro.adapters.job_rules import utc
from diagpro.domain.payment import PaymentEvent


class FirestoreProcessedEvents:
    def __init__(self, client: firestore.Client, collection: str = "stripeEvents") -> None:
        self._collection = client.collection(collection)

    def record(self, event: PaymentEvent, outcome: str, at: datetime) -> bool:
        fields = {
            "event_id": event.id,
            "type": event.type,
            "submission_id": event.submission_id,
            "checkout_session_id": event.checkout_session_id,
            "amount_total": event.amount_total,
            "currency": event.currency,
            "event_created": utc(event.created),
            "outcome": outcome,
            "recorded_at": utc(at),  # refuses a naive time before any I/O
        }
        with translated("record event"):
            try:
                self._collection.document(event.id).create(fields, timeout=RPC_TIMEOUT)
            except api_exceptions.Conflict:  # AlreadyExists: recorded before, first one kept
                return False
        return True

    def outcome(self, event_id: str) -> str | None:
        with translated("read event"):
            snapshot = self._collection.document(event_id).get(timeout=RPC_TIMEOUT)
        if not snapshot.exists:
            return None
        return str(snapshot.get("outcome"))
