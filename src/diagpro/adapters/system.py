"""The real clock and the real randomness."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from diagpro.domain.ids import RANDOM_HEX_CHARS, format_submission_id


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecretIds:
    def submission_id(self, now: datetime) -> str:
        return format_submission_id(now, secrets.token_hex(RANDOM_HEX_CHARS // 2))

    def token(self) -> str:
        return secrets.token_hex(8)
