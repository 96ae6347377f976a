"""The real clock and the real randomness."""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

from diagpro.domain.ids import RANDOM_HEX_CHARS, format_submission_id


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecretIds:
    """Unguessable ids from the operating system's randomness (``secrets``), read 4 KiB at a
    time: one read serves hundreds of ids instead of a system call for each. Every byte is
    handed out once."""

    BATCH = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch, self._used = b"", 0

    def _hex(self, size: int) -> str:
        with self._lock:
            if self._used + size > len(self._batch):
                self._batch, self._used = secrets.token_bytes(self.BATCH), 0
            start = self._used
            self._used += size
            return self._batch[start : start + size].hex()

    def submission_id(self, now: datetime) -> str:
        return format_submission_id(now, self._hex(RANDOM_HEX_CHARS // 2))

    def token(self) -> str:
        return self._hex(8)
