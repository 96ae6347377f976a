"""What every JobQueue adapter checks the same way, so the fake and SQLite cannot disagree."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: the job queue needs timezone-aware times")
    return moment.astimezone(UTC)


def check_claim(worker: str, lease_seconds: float) -> None:
    if not worker:
        raise ValueError("a worker needs a name to hold a lease")
    if lease_seconds <= 0:
        raise ValueError("lease_seconds must be positive")
