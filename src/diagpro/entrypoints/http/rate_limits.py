"""Who may use up whose quota: one bucket per API key and client, one per client for the form.

Counting a request with a bad key would let anyone with the client's address (or behind the same
proxy) spend a customer's quota. The API's key check (auth.py) is the router's outermost
middleware, so only calls with a key we accept reach the limiter, and a key the check did not
accept is never counted here either. They count in a bucket named by that key and the client's
address: a key shared by a shop's pages (the original frontend sends its key from the browser) is
not one bucket all its customers empty together. The intake form has no key; its bucket is the
client's address alone, and separate from the API's.

A refused request answers 429 with ``Retry-After`` (RFC 6585, section 4; RFC 9110, section
10.2.3) beside Litestar's ``RateLimit-*`` headers (draft-ietf-httpapi-ratelimit-headers).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    CacheObject,
    DurationUnit,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from diagpro.entrypoints.http.auth import ApiKeys, given_key
from diagpro.entrypoints.http.client_address import client_address

RETRY_AFTER_HEADER = "Retry-After"
WINDOW: DurationUnit = "minute"

# The bucket a request counts in, read from its ASGI scope; None: not counted.
Bucket = Callable[[Scope], "str | None"]


class Histories:
    """Each bucket's recent request times, kept in this process's memory.

    Litestar's limiter keeps them in a ``Store`` as JSON, decoded and encoded again on every
    request; its default store is this process's memory too, so counting here changes nothing
    but the cost. A bucket is kept as a tuple of ints, which Python's garbage collector stops
    tracking (https://devguide.python.org/internals/garbage-collector/, "Optimization: delay
    tracking containers"): a flood of new clients is hundreds of thousands of buckets, and as
    objects the collector would walk them all, pausing every request. Buckets whose window is
    over are dropped once a window, so they hold memory for one window at most.
    """

    def __init__(self, window_seconds: int) -> None:
        self._window = window_seconds
        self._by_key: dict[str, tuple[int, tuple[int, ...]]] = {}
        self._next_sweep = 0

    def get(self, key: str, now: int) -> CacheObject:
        found = self._by_key.get(key)
        if found is None or found[0] <= now:
            return CacheObject(history=[], reset=now + self._window)
        return CacheObject(history=list(found[1]), reset=found[0])

    def put(self, key: str, history: CacheObject, now: int) -> None:
        self._by_key[key] = (history.reset, tuple(history.history))
        if now >= self._next_sweep:
            self._by_key = {k: h for k, h in self._by_key.items() if h[0] > now}
            self._next_sweep = now + self._window

    def __len__(self) -> int:
        return len(self._by_key)


@dataclass
class CustomerRateLimitConfig(RateLimitConfig):
    """Litestar's config, with the histories its middleware counts in (one per config, so every
    route under one limit shares its buckets) and the bucket of a request."""

    histories: Histories = field(default_factory=lambda: Histories(DURATION_VALUES[WINDOW]))
    bucket: Bucket = lambda scope: None  # the default counts nothing


class CustomerRateLimit(RateLimitMiddleware):
    """Litestar's limiter, counting in ``Histories``, whose 429 also says when to come back in
    the standard header."""

    def __init__(self, app: ASGIApp, config: CustomerRateLimitConfig) -> None:
        super().__init__(app, config)
        self.histories = config.histories
        self.bucket = config.bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Litestar's own steps (RateLimitMiddleware.__call__) with two costs left out. Its anyio
        # lock keeps two requests from interleaving between an awaited read of the store and an
        # awaited write; here the count and the write are one step with no await between them,
        # on the event loop's only thread, so nothing can come between (the lock cost two trips
        # through the loop). And the bucket is read from the scope, without building a Request
        # and its parsed headers for a key and an address.
        key = self.bucket(scope)
        if key is not None:
            now = int(time.time())
            history = self.histories.get(key, now)
            if len(history.history) >= self.max_requests:
                raise self._refusal(history)
            history.history = [now, *history.history]
            self.histories.put(key, history, now)
            if self.config.set_rate_limit_headers:
                send = self.create_send_wrapper(send=send, cache_object=history)
        await self.app(scope, receive, send)

    def _refusal(self, history: CacheObject) -> TooManyRequestsException:
        headers = self.create_response_headers(cache_object=history)
        wait = headers.get(self.config.rate_limit_reset_header_key, "60")
        headers[RETRY_AFTER_HEADER] = str(max(1, int(wait)))
        return TooManyRequestsException(
            detail=f"Too many requests: try again in {headers[RETRY_AFTER_HEADER]} s",
            headers=headers,
        )

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        # Appended as they are: no response of ours sets them, so nothing needs replacing.
        added = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in self.create_response_headers(cache_object=cache_object).items()
        ]

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        return send_with_limits


def api_rate_limit(keys: ApiKeys, per_minute: int, trusted_proxies: int) -> DefineMiddleware:
    """Calls with an accepted key, counted per key and client address."""
    address = client_address(trusted_proxies)

    def bucket(scope: Scope) -> str | None:
        # Only keys the check (auth.py) accepted get this far; any other is not counted.
        fingerprint = keys.fingerprint(given_key(scope))
        return None if fingerprint is None else f"api:{fingerprint}:{address(scope)}"

    return _limit(per_minute, bucket)


def form_rate_limit(per_minute: int, trusted_proxies: int) -> DefineMiddleware:
    """The public intake form, counted per client address, apart from the API."""
    address = client_address(trusted_proxies)
    return _limit(per_minute, lambda scope: f"form:{address(scope)}")


def _limit(per_minute: int, bucket: Bucket) -> DefineMiddleware:
    return CustomerRateLimitConfig(
        rate_limit=(WINDOW, per_minute),
        bucket=bucket,
        middleware_class=CustomerRateLimit,
    ).middleware
