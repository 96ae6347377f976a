"""Small parts the order path leans on: the rate limit's memory, batched ids, log times."""

from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime

from diagpro.adapters.system import SecretIds
from diagpro.domain.ids import is_submission_id
from diagpro.entrypoints.http.observability import JsonFormatter
from diagpro.entrypoints.http.rate_limits import Histories


def test_a_bucket_counts_within_its_window_and_starts_again_after() -> None:
    histories = Histories(window_seconds=60)
    first = histories.get("api:k:10.0.0.1", now=1000)
    assert first.history == [] and first.reset == 1060
    first.history = [1000, *first.history]
    histories.put("api:k:10.0.0.1", first, now=1000)
    assert histories.get("api:k:10.0.0.1", now=1059).history == [1000]
    assert histories.get("api:k:10.0.0.1", now=1060).history == []


def test_buckets_of_clients_gone_quiet_are_dropped_once_a_window() -> None:
    histories = Histories(window_seconds=60)
    for n in range(1000):
        bucket = histories.get(f"form:10.0.{n // 256}.{n % 256}", now=1000)
        bucket.history = [1000]
        histories.put(f"form:10.0.{n // 256}.{n % 256}", bucket, now=1000)
    assert len(histories) == 1000
    late = histories.get("form:10.9.9.9", now=1061)
    histories.put("form:10.9.9.9", late, now=1061)
    assert len(histories) == 1


def test_buckets_are_not_walked_by_the_garbage_collector() -> None:
    histories = Histories(window_seconds=60)
    bucket = histories.get("api:k:10.0.0.1", now=1000)
    bucket.history = [1000, 999]
    histories.put("api:k:10.0.0.1", bucket, now=1000)
    gc.collect()
    gc.collect()  # a tuple is untracked by the pass that finds everything inside it untracked
    kept = histories._by_key["api:k:10.0.0.1"]
    assert not gc.is_tracked(kept)


def test_batched_ids_are_unguessable_and_never_repeat() -> None:
    ids = SecretIds()
    now = datetime(2026, 12, 3, tzinfo=UTC)
    made = [ids.submission_id(now) for _ in range(3 * SecretIds.BATCH)]
    assert len(set(made)) == len(made)
    assert all(is_submission_id(i) for i in made)
    tokens = [ids.token() for _ in range(2000)]
    assert len(set(tokens)) == len(tokens) and all(len(t) == 16 for t in tokens)


def test_log_times_are_utc_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    for created, shown in (
        (1796305569.25, "2026-12-03T13:46:09.250Z"),
        (1796305569.999, "2026-12-03T13:46:09.999Z"),
        (1796305570.0, "2026-12-03T13:46:10.000Z"),
    ):
        record = logging.LogRecord("diagpro", logging.INFO, "", 0, "hello", None, None)
        record.created, record.msecs = created, (created - int(created)) * 1000
        assert f'"time":"{shown}"' in formatter.format(record)
