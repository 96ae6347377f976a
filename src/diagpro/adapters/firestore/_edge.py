"""The edge between the ports and the Firestore SDK: errors, transactions and times.

Nothing SDK-typed leaves an adapter: ``google.api_core`` errors that are not a domain answer
(``AlreadyExists`` on ``create`` is one, handled where it happens) become ``FirestoreUnavailable``;
Firestore's ``DatetimeWithNanoseconds`` comes back as a plain aware-UTC ``datetime``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from google.api_core import exceptions as api_exceptions
from google.cloud import firestore

from diagpro.domain.errors import StoreUnavailable

T = TypeVar("T")

# Our own retry loop around each transaction (the SDK's only retries an Aborted *commit*; the
# emulator's pessimistic locks can also abort a read). Jittered backoff keeps contending
# transactions from aborting each other in lock-step.
ATTEMPTS = 12
BACKOFF_BASE = 0.02
BACKOFF_MAX = 0.5

# Every call we make names its deadline (google-api-core's ``timeout=``, seconds): the SDK's
# defaults let one streamed read wait 300 s, and a read inside a transaction waits for the
# emulator's pessimistic lock, so twelve contended attempts could block a thread for an hour
# (seen once: a concurrent-enqueue test stuck in a futex for over six minutes). A read past its
# deadline raises DeadlineExceeded, a GoogleAPIError, so it leaves as FirestoreUnavailable.
RPC_TIMEOUT = 10.0
# And the retries of one transaction stop after this long, however many attempts are left: a
# caller waits at most about this plus one attempt's calls, never for ever.
TRANSACTION_DEADLINE = 30.0


class FirestoreUnavailable(StoreUnavailable):
    """Firestore did not answer, refused the request, or stayed contended past our retries.

    A StoreUnavailable, the error the store ports declare, so callers never see the SDK."""


@contextlib.contextmanager
def translated(action: str) -> Iterator[None]:
    """Turn any SDK/transport error raised inside into ``FirestoreUnavailable``."""
    try:
        yield
    except (api_exceptions.GoogleAPIError, api_exceptions.RetryError) as exc:
        raise FirestoreUnavailable(f"Firestore {action} failed: {exc}") from exc


class Contended(Exception):
    """A transaction kept aborting; the caller decides what that means for its port."""


def _aborted(exc: BaseException) -> bool:
    if isinstance(exc, api_exceptions.Aborted):
        return True
    # The SDK wraps a commit that kept aborting in ValueError("Failed to commit ...").
    return isinstance(exc, ValueError) and isinstance(exc.__cause__, api_exceptions.Aborted)


def run_transaction(client: firestore.Client, work: Callable[[Any], T], action: str) -> T:
    """Run ``work(transaction)`` (reads first, then writes, nothing else) with retries.

    Domain errors raised by ``work`` roll the transaction back and pass through unchanged.
    Raises Contended when it kept aborting, FirestoreUnavailable on any other SDK error.
    """
    wrapped = firestore.transactional(work)
    give_up_at = time.monotonic() + TRANSACTION_DEADLINE
    for attempt in range(ATTEMPTS):
        transaction = client.transaction(max_attempts=1)
        try:
            with translated(action):
                try:
                    result: T = wrapped(transaction)
                    return result
                except (api_exceptions.Aborted, ValueError) as exc:
                    if not _aborted(exc):
                        raise
        except FirestoreUnavailable:
            raise
        delay = min(BACKOFF_MAX, BACKOFF_BASE * (2**attempt))
        if time.monotonic() + delay > give_up_at:
            break
        time.sleep(random.uniform(0, delay))  # jitter, not security
    raise Contended(
        f"Firestore {action}: still contended after {attempt + 1} attempts"
        f" ({TRANSACTION_DEADLINE:.0f} s at most)"
    )


def plain_utc(value: Any) -> datetime:
    """A stored Firestore timestamp as a plain ``datetime`` in UTC (microseconds kept)."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise FirestoreUnavailable(f"stored value {value!r} is not a timestamp")
    moment = value.astimezone(UTC)
    return datetime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond,
        tzinfo=UTC,
    )
