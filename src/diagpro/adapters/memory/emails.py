"""An in-memory EmailSender that keeps every message it was given (same contract suite as the
outbox folder and SMTP): tests read ``sent``."""

from __future__ import annotations

import threading
from email.message import EmailMessage

from diagpro.adapters.email.mime import sender_address, to_message
from diagpro.domain.email import OutgoingEmail
from diagpro.domain.ports import Clock


class MemoryEmailSender:
    def __init__(self, sender: str, clock: Clock) -> None:
        sender_address(sender)
        self._sender = sender
        self._clock = clock
        self._lock = threading.Lock()
        self.sent: list[EmailMessage] = []

    def send(self, email: OutgoingEmail) -> str:
        message = to_message(email, self._sender, self._clock.now())
        with self._lock:
            self.sent.append(message)
            return f"memory:{len(self.sent)}"
