"""Rate limiting keys on the client, not on the proxy in front of us, and never on an address
the client wrote itself."""

from typing import Any

from diagpro.entrypoints.http.client_address import client_address


def peer(host: str) -> tuple[str, int]:
    return (host, 50000)


def scope_of(client: tuple[str, int] | None, headers: dict[str, str] | None = None) -> Any:
    """The ASGI scope a server hands over: header names in lower case, as bytes."""
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return {"type": "http", "client": client, "headers": raw}


def test_without_trusted_proxies_the_peer_is_the_client():
    request = scope_of(peer("10.0.0.9"), {"x-forwarded-for": "203.0.113.7"})
    assert client_address(0)(request) == "10.0.0.9"


def test_behind_one_proxy_the_address_it_appended_is_the_client():
    # The client forged the first entry; Cloud Run appended the real one.
    request = scope_of(peer("169.254.1.1"), {"x-forwarded-for": "1.2.3.4, 198.51.100.23"})
    assert client_address(1)(request) == "198.51.100.23"


def test_behind_two_proxies_the_first_trusted_proxys_entry_is_used():
    request = scope_of(
        peer("169.254.1.1"), {"x-forwarded-for": "6.6.6.6, 198.51.100.23, 35.191.0.1"}
    )
    assert client_address(2)(request) == "198.51.100.23"


def test_too_few_hops_falls_back_to_the_peer():
    assert client_address(2)(scope_of(peer("10.0.0.9"), {"x-forwarded-for": "1.2.3.4"})) == (
        "10.0.0.9"
    )
    assert client_address(1)(scope_of(None)) == "127.0.0.1"


def test_several_forwarded_for_lines_are_one_list():
    scope = scope_of(peer("169.254.1.1"))
    scope["headers"] = [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"198.51.100.23")]
    assert client_address(1)(scope) == "198.51.100.23"
    assert client_address(2)(scope) == "6.6.6.6"


def test_doctor_warns_when_a_deployment_trusts_no_proxy():
    from diagpro.config import load_settings
    from diagpro.entrypoints.doctor.local_checks import client_addresses

    cloud = {
        "REPORT_BUCKET": "diagpro-reports",
        "GCP_PROJECT": "demo-proj",
        "REPORT_SIGNER_EMAIL": "signer@demo-proj.iam.gserviceaccount.com",
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example.com",
        "DIAGPRO_API_KEYS": "dpk_doctor_test_key_0123456789",
    }
    found = client_addresses(load_settings(cloud))
    assert (found.ok, found.severity) == (False, "warning")
    assert "DIAGPRO_TRUSTED_PROXIES=1" in found.fix
    behind_run = client_addresses(load_settings({**cloud, "DIAGPRO_TRUSTED_PROXIES": "1"}))
    assert behind_run.ok
    assert "1 trusted proxy" in behind_run.detail
    assert client_addresses(load_settings({})).ok  # the embedded defaults: the peer is the client
