"""The counters on a port of their own (DIAGPRO_METRICS_PORT), beside `serve` or `worker`.

A pull-mode ``diagpro worker`` does the paid work (model calls, renders, emails, paid -> ready)
and serves no HTTP, so without this its counts would be exported nowhere; on Cloud Run the
Managed Service for Prometheus sidecar scrapes a port of the instance without credentials
(deploy/run-monitoring.yaml). prometheus_client serves it: its own WSGI app and
threaded server, so the exposition (text format, OpenMetrics on ``Accept``, gzip) is the
library's, not ours. On a loopback address that is ``start_http_server`` itself; elsewhere the
same app behind a Bearer check of the operator keys (config/metrics_port.py says why).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app, start_http_server
from prometheus_client.exposition import ThreadingWSGIServer

from diagpro.config.settings import MetricsPortSettings
from diagpro.entrypoints.http.auth import ApiKeys
from diagpro.entrypoints.http.metrics import bearer_token

log = logging.getLogger("diagpro.metrics")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class MetricsPortError(Exception):
    """The port could not be opened (in use, not allowed); the message names it."""


def require_bearer(app: WsgiApp, operator_keys: tuple[str, ...]) -> WsgiApp:
    """``app`` for a request carrying one of ``operator_keys`` as a Bearer key; 401 otherwise,
    naming the scheme it wants (RFC 9110 section 11.6.1, RFC 6750 section 3)."""
    keys = ApiKeys(operator_keys)

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if keys.accepts(bearer_token(environ.get("HTTP_AUTHORIZATION", ""))):
            return app(environ, start_response)
        log.warning("metrics port: scrape refused without an operator key")
        start_response(
            "401 Unauthorized",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("WWW-Authenticate", 'Bearer realm="diagpro metrics"'),
            ],
        )
        return [b"send a key of DIAGPRO_OPERATOR_KEYS as Authorization: Bearer <key>\n"]

    return guarded


class _ThreadingWSGIServerV6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """wsgiref logs each request to stderr in its own format; a scrape every 15 s is noise."""

    def log_message(self, format: str, *args: Any) -> None:
        return


def start_metrics_port(
    endpoint: MetricsPortSettings, registry: CollectorRegistry, operator_keys: tuple[str, ...]
) -> WSGIServer | None:
    """Serve ``registry`` on the configured port in a daemon thread; None when it is off.
    Raises MetricsPortError when the port cannot be opened."""
    if not endpoint.enabled:
        return None
    try:
        if endpoint.needs_key:
            server = _keyed_server(endpoint, registry, operator_keys)
        else:
            server, _ = start_http_server(endpoint.port, addr=endpoint.address, registry=registry)
    except OSError as exc:
        raise MetricsPortError(
            f"DIAGPRO_METRICS_PORT {endpoint.port} on {endpoint.address} cannot be opened: "
            f"{exc.strerror or exc}"
        ) from exc
    kind = "an operator key as Bearer" if endpoint.needs_key else "no key (loopback)"
    log.info(
        "metrics served on http://%s/metrics, %s",
        _host_port(endpoint.address, server.server_port),
        kind,
    )
    return server


def _keyed_server(
    endpoint: MetricsPortSettings, registry: CollectorRegistry, operator_keys: tuple[str, ...]
) -> WSGIServer:
    ipv6 = ipaddress.ip_address(endpoint.address).version == 6
    app = require_bearer(make_wsgi_app(registry), operator_keys)
    server = make_server(
        endpoint.address,
        endpoint.port,
        app,
        _ThreadingWSGIServerV6 if ipv6 else ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="diagpro-metrics", daemon=True)
    thread.start()
    return server


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
