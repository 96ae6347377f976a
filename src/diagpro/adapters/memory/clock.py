"""A clock tests move by hand, and ids they can predict."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from diagpro.domain.ids import format_submission_id


class FixedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now


class CountingIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def submission_id(self, now: datetime) -> str:
        return format_submission_id(now, f"{next(self._counter):024x}")

    def token(self) -> str:
        return f"{next(self._counter):016x}"
