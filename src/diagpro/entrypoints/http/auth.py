"""The ``x-api-key`` check on the JSON API (everything but the webhook, health and pages).

An ASGI middleware on the API's router rather than a Litestar guard: Litestar hands every guard
a copy of the route handler (``copy(self)``, on every request), which cost more than the check;
and as the router's outermost middleware it runs before the rate limiter, so a request with a bad
key is refused before it can spend anyone's quota.
"""

from __future__ import annotations

import hashlib
import hmac

from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.base import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

API_KEY_HEADER = "x-api-key"
_HEADER = API_KEY_HEADER.encode()


class ApiKeys:
    """The keys the API accepts, and a short stand-in for each (``fingerprint``)."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fingerprints = {k.encode(): key_fingerprint(k) for k in keys}

    def accepts(self, given: bytes) -> bool:
        """Whether ``given`` (the header's bytes) is one of the keys."""
        # Compare against every key, always: the time taken says nothing about which matched.
        matched = False
        for key in self._fingerprints:
            matched |= hmac.compare_digest(given, key)
        return bool(given) and matched

    def fingerprint(self, accepted: bytes) -> str | None:
        """The fingerprint of a key ``accepts`` said yes to (computed once per key), else None.

        A dictionary lookup, not constant-time: only for keys ``accepts`` already compared."""
        return self._fingerprints.get(accepted)


def key_fingerprint(key: str) -> str:
    """A short stand-in for a key where it is kept beside other data (the rate limit's bucket
    names): the key itself is never stored outside its own setting."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def given_key(scope: Scope) -> bytes:
    """The request's ``x-api-key``, as sent (ASGI servers give header names in lower case)."""
    for name, value in scope["headers"]:
        if name == _HEADER:
            return bytes(value).strip()
    return b""


class ApiKeyCheck:
    """ASGI middleware: a request without a key the API accepts is answered 401."""

    def __init__(self, app: ASGIApp, keys: ApiKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            given = given_key(scope)
            if not given:
                raise NotAuthorizedException("Missing x-api-key header")
            if not self.keys.accepts(given):
                raise NotAuthorizedException("Invalid API key")
        await self.app(scope, receive, send)


def api_key_check(keys: ApiKeys) -> DefineMiddleware:
    """The check, for a router's ``middleware`` (first in the list, so it runs first)."""
    return DefineMiddleware(ApiKeyCheck, keys=keys)
