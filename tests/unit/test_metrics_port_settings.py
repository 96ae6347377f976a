"""DIAGPRO_METRICS_PORT and DIAGPRO_METRICS_ADDRESS (config/metrics_port.py): off unless a port
is given, loopback without a key, anywhere else only with operator keys to ask for."""

from __future__ import annotations

import pytest

from diagpro.config import ConfigError, load_settings
from diagpro.config.settings import MetricsPortSettings

OPERATOR_KEY = "op_metrics_port_key_0123"


def test_off_unless_a_port_is_given() -> None:
    assert load_settings({}).metrics_port == MetricsPortSettings(0, "127.0.0.1", needs_key=False)
    assert not load_settings({}).metrics_port.enabled


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.53", "::1"])
def test_a_loopback_address_needs_no_key(address: str) -> None:
    port = load_settings(
        {"DIAGPRO_METRICS_PORT": "9464", "DIAGPRO_METRICS_ADDRESS": address}
    ).metrics_port
    assert (port.enabled, port.port, port.address, port.needs_key) == (True, 9464, address, False)


@pytest.mark.parametrize("address", ["0.0.0.0", "10.0.0.7", "::"])
def test_any_other_address_is_refused_without_operator_keys(address: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"DIAGPRO_METRICS_PORT": "9464", "DIAGPRO_METRICS_ADDRESS": address})
    message = str(refused.value)
    assert f"DIAGPRO_METRICS_ADDRESS={address} is not a loopback address" in message
    assert "Set DIAGPRO_OPERATOR_KEYS" in message and "listen on 127.0.0.1" in message


def test_with_operator_keys_another_address_asks_for_one() -> None:
    port = load_settings(
        {
            "DIAGPRO_METRICS_PORT": "9464",
            "DIAGPRO_METRICS_ADDRESS": "0.0.0.0",
            "DIAGPRO_OPERATOR_KEYS": OPERATOR_KEY,
        }
    ).metrics_port
    assert port.needs_key and port.address == "0.0.0.0"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DIAGPRO_METRICS_PORT": "70000"}, "DIAGPRO_METRICS_PORT='70000' must be a TCP port"),
        ({"DIAGPRO_METRICS_PORT": "nine"}, "DIAGPRO_METRICS_PORT='nine' is not a number"),
        (
            {"DIAGPRO_METRICS_PORT": "9464", "DIAGPRO_METRICS_ADDRESS": "localhost"},
            "DIAGPRO_METRICS_ADDRESS='localhost' must be an IP address",
        ),
        (
            {"DIAGPRO_METRICS_ADDRESS": "127.0.0.1"},
            "DIAGPRO_METRICS_ADDRESS is set but DIAGPRO_METRICS_PORT is not",
        ),
        (
            {"DIAGPRO_METRICS_PORT": "8080", "PORT": "8080"},
            "DIAGPRO_METRICS_PORT=8080 is the service's own PORT",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match="Configuration is not usable") as refused:
        load_settings(env)
    assert named in str(refused.value)


# -- what `diagpro doctor` says about it -----------------------------------------------------


def test_the_doctor_shows_where_the_counters_are_served() -> None:
    from diagpro.entrypoints.doctor.local_checks import metrics_port

    loopback = metrics_port(load_settings({"DIAGPRO_METRICS_PORT": "9464"}))
    assert loopback.ok
    assert loopback.detail.startswith("counters on http://127.0.0.1:9464/metrics, no key")
    keyed = metrics_port(
        load_settings(
            {
                "DIAGPRO_METRICS_PORT": "9464",
                "DIAGPRO_METRICS_ADDRESS": "::",
                "DIAGPRO_OPERATOR_KEYS": OPERATOR_KEY,
            }
        )
    )
    assert keyed.ok and "http://[::]:9464/metrics, answered only with an operator key" in (
        keyed.detail
    )
    off = metrics_port(load_settings({}))
    assert off.ok and "GET /metrics is off too" in off.detail


def test_the_doctor_warns_when_pull_workers_export_their_counts_nowhere() -> None:
    from diagpro.entrypoints.doctor.local_checks import metrics_port

    found = metrics_port(load_settings({"DIAGPRO_WORK_MODE": "pull"}))
    assert (found.ok, found.severity) == (False, "warning")
    assert "exported nowhere" in found.detail and "DIAGPRO_METRICS_PORT" in found.fix
