"""What a hostile client can do to a served diagpro over a real socket: pick the address it is
rate limited as, hide in the log, or flood it."""

from __future__ import annotations

import httpx
import pytest

from tests.server import Server, json_lines

pytestmark = pytest.mark.process

INTAKE = {
    "equipmentType": "automotive",
    "make": "Ford",
    "model": "F-150",
    "year": "2015",
    "problemDescription": "Rough idle and shaking at stops, worse when cold",
    "fullName": "Pat Example",
    "email": "pat.owner@example.com",
}


def _save(server: Server, forwarded_for: str) -> int:
    answer = httpx.post(
        f"{server.url}/saveSubmission",
        json={"payload": INTAKE},
        headers={"x-api-key": server.api_key(), "x-forwarded-for": forwarded_for},
        timeout=10,
    )
    return answer.status_code


def test_a_forged_forwarded_for_does_not_buy_a_fresh_rate_limit(serve, env):
    # uvicorn's proxy_headers (on by default, trusting 127.0.0.1) rewrote the client address
    # from X-Forwarded-For before diagpro saw it, whatever DIAGPRO_TRUSTED_PROXIES said.
    env["DIAGPRO_SUBMISSIONS_PER_MINUTE"] = "1"
    server = serve()
    assert _save(server, "198.51.100.1") == 200
    assert _save(server, "198.51.100.2") == 429  # same socket peer, same bucket
    server.stop()


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client(serve, env):
    env["DIAGPRO_SUBMISSIONS_PER_MINUTE"] = "1"
    env["DIAGPRO_TRUSTED_PROXIES"] = "1"
    server = serve()
    assert _save(server, "198.51.100.1") == 200
    assert _save(server, "198.51.100.1") == 429
    assert _save(server, "6.6.6.6, 198.51.100.2") == 200  # another customer behind the proxy
    server.stop()


def test_the_served_log_names_misses_and_never_an_email_in_a_path(serve):
    server = serve()
    httpx.get(f"{server.url}/view/alice@example.com", timeout=5)
    httpx.get(f"{server.url}/.env", headers={"x-dp-reqid": "scan-42"}, timeout=5)
    httpx.delete(f"{server.url}/healthz", timeout=5)
    server.stop()
    access = [e for e in json_lines(server.stderr()) if e["logger"] == "diagpro.access"]
    seen = {(e["method"], e["path"], e["status"]) for e in access}
    assert {("GET", "/.env", 404), ("DELETE", "/healthz", 405)} <= seen
    assert any(e["path"] == "/view/a***@example.com" for e in access)
    assert any(e["request_id"] == "scan-42" for e in access)
    assert "alice@example.com" not in server.stderr()
