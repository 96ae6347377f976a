"""Who may use up whose quota: one bucket per API key and client, one per client for the form.

Litestar runs a route's middleware before its guards, so the limiter sees a request before the
``x-api-key`` guard refuses it. Counting every request would let anyone with the client's address
(or behind the same proxy) spend a customer's quota with bad keys. So on the API only calls with
a key we accept are counted (``check_throttle_handler``), in a bucket named by that key and the
client's address: a key shared by a shop's pages (the original frontend sends its key from the
browser) is not one bucket all its customers empty together. The intake form has no key; its
bucket is the client's address alone, and separate from the API's.

A refused request answers 429 with ``Retry-After`` (RFC 6585, section 4; RFC 9110, section
10.2.3) beside Litestar's ``RateLimit-*`` headers (draft-ietf-httpapi-ratelimit-headers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import DurationUnit, RateLimitConfig, RateLimitMiddleware
from litestar.types import Receive, Scope, Send

from diagpro.entrypoints.http.auth import API_KEY_HEADER, ApiKeys, key_fingerprint
from diagpro.entrypoints.http.client_address import client_address

RETRY_AFTER_HEADER = "Retry-After"
WINDOW: DurationUnit = "minute"


class CustomerRateLimit(RateLimitMiddleware):
    """Litestar's limiter, whose 429 also says when to come back in the standard header."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as refused:
            headers = dict(refused.headers or {})
            wait = headers.get(self.config.rate_limit_reset_header_key, "60")
            headers[RETRY_AFTER_HEADER] = str(max(1, int(wait)))
            raise TooManyRequestsException(
                detail=f"Too many requests: try again in {headers[RETRY_AFTER_HEADER]} s",
                headers=headers,
            ) from None


def api_rate_limit(
    keys: tuple[str, ...], per_minute: int, trusted_proxies: int
) -> DefineMiddleware:
    """Calls with an accepted key, counted per key and client address."""
    accepted = ApiKeys(keys)
    address = client_address(trusted_proxies)

    def authenticated(request: Request[Any, Any, Any]) -> bool:
        return accepted.accepts(request.headers.get(API_KEY_HEADER, ""))

    def bucket(request: Request[Any, Any, Any]) -> str:
        key = request.headers.get(API_KEY_HEADER, "")
        return f"api:{key_fingerprint(key)}:{address(request)}"

    return _limit(per_minute, bucket, authenticated)


def form_rate_limit(per_minute: int, trusted_proxies: int) -> DefineMiddleware:
    """The public intake form, counted per client address, apart from the API."""
    address = client_address(trusted_proxies)
    return _limit(per_minute, lambda request: f"form:{address(request)}", None)


def _limit(
    per_minute: int,
    bucket: Callable[[Request[Any, Any, Any]], str],
    counted: Callable[[Request[Any, Any, Any]], bool] | None,
) -> DefineMiddleware:
    return RateLimitConfig(
        rate_limit=(WINDOW, per_minute),
        identifier_for_request=bucket,
        check_throttle_handler=counted,
        middleware_class=CustomerRateLimit,
    ).middleware
