"""CORS for a browser frontend on another origin (DIAGPRO_CORS_ORIGINS).

A page on ``https://shop.example.com`` calling the JSON API with its ``x-api-key`` header makes
the browser send a preflight ``OPTIONS`` first (Fetch standard, "CORS-preflight request"). The
API Gateway config forwards those without a key (``diagpro gateway-spec --cors``), and Litestar's
CORS middleware answers them before any route or guard runs. Only the listed origins are
answered; with none, no CORS header is ever sent and only the service's own pages can call it.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

from diagpro.entrypoints.http.auth import API_KEY_HEADER
from diagpro.entrypoints.http.observability import FRONTEND_REQUEST_ID_HEADER, REQUEST_ID_HEADER

# What the API's clients send and may read: the key, JSON bodies and a request id in (the original
# frontend sends its id as x-dp-reqid); the request id, and the rate limit's and the outage's
# waits, out.
ALLOW_HEADERS = ["content-type", API_KEY_HEADER, REQUEST_ID_HEADER, FRONTEND_REQUEST_ID_HEADER]
EXPOSE_HEADERS = [
    REQUEST_ID_HEADER,
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
]
# The browser caches a preflight this long (seconds), saving one round trip per call.
MAX_AGE = 600


def cors_config(origins: tuple[str, ...]) -> CORSConfig | None:
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=ALLOW_HEADERS,
        expose_headers=EXPOSE_HEADERS,
        allow_credentials=False,
        max_age=MAX_AGE,
    )
