"""A Refunds fake that records every refund it is asked for and fails on command.

On its own it answers ``re_memory_…`` ids (one per payment: asking twice returns the same id, as
the real adapters do); given an ``inner`` Refunds it passes the refund on and records it too.
"""

from __future__ import annotations

import threading

from diagpro.domain.ports import Refunds
from diagpro.domain.submission import Payment


class RecordingRefunds:
    def __init__(self, inner: Refunds | None = None) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._failures: list[Exception] = []
        self._issued: dict[str, str] = {}  # checkout session id -> refund id
        self.asked: list[Payment] = []

    def fail_next(self, *errors: Exception) -> None:
        with self._lock:
            self._failures.extend(errors)

    @property
    def issued(self) -> dict[str, str]:
        """Refunds made, by checkout session id."""
        with self._lock:
            return dict(self._issued)

    def refund(self, payment: Payment) -> str:
        with self._lock:
            self.asked.append(payment)
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            raise failure
        if self._inner is not None:
            refund_id = self._inner.refund(payment)
        else:
            refund_id = f"re_memory_{payment.checkout_session_id}"
        with self._lock:
            self._issued.setdefault(payment.checkout_session_id, refund_id)
            return self._issued[payment.checkout_session_id]
