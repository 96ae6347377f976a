"""The ``x-api-key`` guard on the JSON API (everything but the webhook, health and pages)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

API_KEY_HEADER = "x-api-key"


def api_key_guard(keys: tuple[str, ...]) -> Any:
    encoded = [k.encode() for k in keys]

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        given = connection.headers.get(API_KEY_HEADER, "").encode()
        # Compare against every key, always: the time taken says nothing about which matched.
        matched = False
        for key in encoded:
            matched |= hmac.compare_digest(given, key)
        if not given:
            raise NotAuthorizedException("Missing x-api-key header")
        if not matched:
            raise NotAuthorizedException("Invalid API key")

    return guard
