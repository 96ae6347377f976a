"""Who a request comes from, for rate limiting, when the service sits behind proxies.

Behind Cloud Run (and API Gateway) every request arrives from Google's front ends, so the peer
address would put all customers in one rate-limit bucket. Each trusted proxy appends the address
it saw to ``X-Forwarded-For``; the entry ``trusted`` places from the right is the one the first
trusted proxy saw. Entries further left are written by the client and can be forged, so they are
never used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request


def client_address(trusted_proxies: int) -> Callable[[Request[Any, Any, Any]], str]:
    def identify(request: Request[Any, Any, Any]) -> str:
        peer = request.client.host if request.client else "127.0.0.1"
        if trusted_proxies <= 0:
            return peer
        hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) < trusted_proxies:
            return peer  # fewer hops than proxies we trust: not from behind them
        return hops[-trusted_proxies]

    return identify
