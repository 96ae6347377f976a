"""``DIAGPRO_METRICS_PORT`` and ``DIAGPRO_METRICS_ADDRESS``: the counters on a port of their own.

On a loopback address the port asks for no key: only this machine (on Cloud Run, this instance's
containers, which share its network) can reach it, and the Cloud Run Prometheus sidecar scrapes
with no credentials at all (its RunMonitoring endpoints have a port, a path and an interval, and
no authorization: https://cloud.google.com/stackdriver/docs/managed-prometheus/cloudrun-sidecar).
Anywhere else the counters (orders, model cost) would be open to a network, so the port then
answers only an operator key as ``Authorization: Bearer <key>``, the same as ``GET /metrics``,
and start-up is refused when there is no key to ask for.
"""

from __future__ import annotations

import ipaddress

from diagpro.config import declarations as d
from diagpro.config.settings import MetricsPortSettings
from diagpro.config.values import Values


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def metrics_port_settings(values: Values) -> MetricsPortSettings:
    port, address = values[d.METRICS_PORT], values[d.METRICS_ADDRESS]
    if not port:
        if values.given(d.METRICS_ADDRESS):
            values.refuse(
                "DIAGPRO_METRICS_ADDRESS is set but DIAGPRO_METRICS_PORT is not: set the port "
                "to serve the metrics on, or leave both out"
            )
        return MetricsPortSettings(0, address, needs_key=False)
    if port == values[d.PORT]:
        values.refuse(
            f"DIAGPRO_METRICS_PORT={port} is the service's own PORT: the metrics need a port "
            "of their own (the service's /metrics already answers there, with a key)"
        )
    needs_key = not is_loopback(address)
    if needs_key and not values[d.OPERATOR_KEYS]:
        values.refuse(
            f"DIAGPRO_METRICS_ADDRESS={address} is not a loopback address: the metrics port would "
            "be open to the network. Set DIAGPRO_OPERATOR_KEYS (the port then answers only "
            "Authorization: Bearer <key>), or listen on 127.0.0.1"
        )
    return MetricsPortSettings(port, address, needs_key)
