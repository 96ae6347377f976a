"""Who a request comes from, for rate limiting, when the service sits behind proxies.

Behind Cloud Run (and API Gateway) every request arrives from Google's front ends, so the peer
address would put all customers in one rate-limit bucket. Each trusted proxy appends the address
it saw to ``X-Forwarded-For``; the entry ``trusted`` places from the right is the one the first
trusted proxy saw. Entries further left are written by the client and can be forged, so they are
never used.
"""

from __future__ import annotations

from collections.abc import Callable

from litestar.types import Scope

_FORWARDED_FOR = b"x-forwarded-for"


def client_address(trusted_proxies: int) -> Callable[[Scope], str]:
    """Who sent the request whose ASGI scope this is (read from the scope, so the rate limiter
    needs no Request object)."""

    def identify(scope: Scope) -> str:
        client = scope.get("client")
        peer = str(client[0]) if client else "127.0.0.1"
        if trusted_proxies <= 0:
            return peer
        # Several X-Forwarded-For lines are one list, in order (RFC 9110, section 5.3).
        lines = [bytes(v).decode("latin-1") for n, v in scope["headers"] if n == _FORWARDED_FOR]
        hops = [h.strip() for h in ",".join(lines).split(",")]
        hops = [h for h in hops if h]
        if len(hops) < trusted_proxies:
            return peer  # fewer hops than proxies we trust: not from behind them
        return hops[-trusted_proxies]

    return identify
