"""The ``x-api-key`` guard on the JSON API (everything but the webhook, health and pages)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

API_KEY_HEADER = "x-api-key"


class ApiKeys:
    """The keys the API accepts. Shared by the guard and the rate limiter, which runs before the
    guard and must count only calls made with a key we accept."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._encoded = [k.encode() for k in keys]

    def accepts(self, given: str) -> bool:
        raw = given.encode()
        # Compare against every key, always: the time taken says nothing about which matched.
        matched = False
        for key in self._encoded:
            matched |= hmac.compare_digest(raw, key)
        return bool(raw) and matched


def key_fingerprint(key: str) -> str:
    """A short stand-in for a key where it is kept beside other data (the rate limit's bucket
    names): the key itself is never stored outside its own setting."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def api_key_guard(keys: tuple[str, ...]) -> Any:
    accepted = ApiKeys(keys)

    # async: Litestar runs a sync guard in a worker thread, a hop on every API call.
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        given = connection.headers.get(API_KEY_HEADER, "")
        if not given:
            raise NotAuthorizedException("Missing x-api-key header")
        if not accepted.accepts(given):
            raise NotAuthorizedException("Invalid API key")

    return guard
