"""Where ``diagpro serve`` listens: ``--port`` wins, then Cloud Run's ``$PORT`` (on every
interface, since the platform sends traffic to the container's address), then 8000 on loopback."""

import pytest

from diagpro.entrypoints.cli import _linkable, _listen_address


@pytest.mark.parametrize(
    ("env_port", "host", "port", "expected"),
    [
        (0, None, None, ("127.0.0.1", 8000)),  # a laptop: loopback only
        (8080, None, None, ("0.0.0.0", 8080)),  # Cloud Run
        (8080, None, 9000, ("0.0.0.0", 9000)),  # --port wins
        (8080, "127.0.0.1", None, ("127.0.0.1", 8080)),  # --host wins
        (0, "0.0.0.0", 9000, ("0.0.0.0", 9000)),
    ],
)
def test_the_listen_address(env_port, host, port, expected):
    assert _listen_address(env_port, host, port) == expected


def test_links_never_point_at_the_wildcard_address():
    assert _linkable("0.0.0.0") == "127.0.0.1"
    assert _linkable("192.0.2.7") == "192.0.2.7"
