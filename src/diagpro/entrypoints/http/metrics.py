"""``GET /metrics``: this process's counters in the Prometheus text format, for operators.

Protected by DIAGPRO_OPERATOR_KEYS, sent as ``Authorization: Bearer <key>`` (what a Prometheus
scrape config's ``authorization`` block sends,
https://prometheus.io/docs/prometheus/latest/configuration/configuration/#scrape_config), and
compared in constant time like the API keys (auth.py). Without an operator key the route answers
404 saying how to turn it on: metrics are off, not forbidden to this caller. Not in the API
Gateway config: a scraper calls the service directly, as Pub/Sub and Cloud Scheduler do.

What a scrape shows is this process's counts (``prometheus_client`` in one process, no
multiprocess mode): the inline worker's and the push-mode jobs' work is counted here; a
``diagpro worker`` process (pull mode) keeps its own counts, served on DIAGPRO_METRICS_PORT
(entrypoints/metrics_port.py), as this process's are too when it is set. The gauge
of paid orders without a report is counted from the store at each scrape, so every instance
shows the same figure.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from diagpro.config import Settings
from diagpro.entrypoints.http.auth import ApiKeys
from diagpro.entrypoints.http.errors import ApiError
from diagpro.entrypoints.http.tasks import INTERNAL

log = logging.getLogger("diagpro.metrics")

_BEARER = "bearer "


def bearer_token(authorization: str) -> bytes:
    """The token of an ``Authorization: Bearer <token>`` header (the scheme in any case, RFC
    7235 §2.1); empty for any other scheme."""
    if authorization[: len(_BEARER)].lower() != _BEARER:
        return b""
    return authorization[len(_BEARER) :].strip().encode()


@get("/metrics", status_code=HTTP_200_OK, include_in_schema=False, opt=INTERNAL)
async def metrics(
    request: Request[Any, Any, Any],
    settings: NamedDependency[Settings],
    metrics_registry: NamedDependency[CollectorRegistry],
) -> Response[bytes]:
    """This process's metrics, for a key of DIAGPRO_OPERATOR_KEYS."""
    if not settings.operator_keys:
        raise ApiError(
            HTTP_404_NOT_FOUND,
            "NOT_FOUND",
            "metrics are off: set DIAGPRO_OPERATOR_KEYS and scrape with "
            "Authorization: Bearer <key>",
        )
    # Built per scrape (a hash per key, every 15 s or so): the keys are the settings' of now.
    keys = ApiKeys(settings.operator_keys)
    token = bearer_token(request.headers.get("authorization", ""))
    if not keys.accepts(token):
        log.warning("metrics scrape refused: %s", "wrong key" if token else "no bearer key")
        # A 401 names the scheme it wants (RFC 9110 section 11.6.1, RFC 6750 section 3).
        raise NotAuthorizedException(
            "the bearer key is not one of DIAGPRO_OPERATOR_KEYS"
            if token
            else "send a key of DIAGPRO_OPERATOR_KEYS as Authorization: Bearer <key>",
            headers={"WWW-Authenticate": 'Bearer realm="diagpro metrics"'},
        )
    # The format the scraper asks for (Accept): Prometheus's text format 0.0.4 by default, or
    # OpenMetrics.
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    # Collecting may ask the store (the paid orders without a report): off the event loop.
    body = await anyio.to_thread.run_sync(encode, metrics_registry)
    # Litestar adds "; charset=utf-8" to a text/ media type itself: not twice.
    media_type = (
        content_type.replace("; charset=utf-8", "")
        if content_type.startswith("text/")
        else content_type
    )
    return Response(body, media_type=media_type, status_code=HTTP_200_OK)
