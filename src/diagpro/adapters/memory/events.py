"""An in-memory ProcessedEvents for tests and the single-process demo."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from diagpro.adapters.codec import encode_datetime
from diagpro.domain.payment import PaymentEvent


@dataclass(frozen=True)
class _Record:
    type: str
    submission_id: str
    checkout_session_id: str
    amount_total: int
    currency: str
    outcome: str
    at: str


class MemoryProcessedEvents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, _Record] = {}

    def record(self, event: PaymentEvent, outcome: str, at: datetime) -> bool:
        record = _Record(
            type=event.type,
            submission_id=event.submission_id,
            checkout_session_id=event.checkout_session_id,
            amount_total=event.amount_total,
            currency=event.currency,
            outcome=outcome,
            at=encode_datetime(at),  # refuses a naive time, as the SQLite adapter does
        )
        with self._lock:
            if event.id in self._records:
                return False
            self._records[event.id] = record
            return True

    def outcome(self, event_id: str) -> str | None:
        with self._lock:
            record = self._records.get(event_id)
        return None if record is None else record.outcome
