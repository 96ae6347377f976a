"""The order path's use cases in the thread pool: for stores that answer over the network.

Firestore and Cloud Storage calls take milliseconds and wait on the network, so each request's
use case runs in a worker thread of its own (anyio's pool, as Litestar's sync handlers do);
those stores batch nothing. The embedded database has its writer thread instead
(``sqlite/writer.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")


async def in_worker_thread(use_case: Callable[..., T], *args: Any) -> T:
    return await anyio.to_thread.run_sync(functools.partial(use_case, *args))
